"""Admission policy that lets only a profile's catalog servers run in its namespace.

Current ToolHive operators dropped the typed MCPRegistry's `enforceServers`,
so the bundles enforce the catalog with a Kubernetes ValidatingAdmissionPolicy
(CEL, admissionregistration.k8s.io/v1): an MCPServer must use one of the
profile's image references exactly (digest included when the catalog pins
one) and an MCPRemoteProxy one of its remote URLs. The lists are CEL string
literals built by `cel_string`, which escapes every character a hostile
source value could use to break out of the literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.render.k8s_server import TOOLHIVE_API_GROUP
from generator.render.k8s_yaml import MANAGED_BY, resource_name


def cel_string(text: str) -> str:
    """`text` as a double-quoted CEL string literal, non-printable and non-ASCII characters escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def cel_list(values: Sequence[str]) -> str:
    """A CEL list literal of strings."""
    return "[" + ", ".join(cel_string(value) for value in values) + "]"


def image_rule(images: Sequence[str]) -> str:
    """CEL: an MCPServer passes only with one of `images`; other resources are not its concern."""
    return (
        "request.resource.resource != 'mcpservers' || "
        f"(has(object.spec.image) && object.spec.image in {cel_list(images)})"
    )


def remote_rule(urls: Sequence[str]) -> str:
    """CEL: an MCPRemoteProxy passes only with one of `urls`."""
    return (
        "request.resource.resource != 'mcpremoteproxies' || "
        f"(has(object.spec.remoteUrl) && object.spec.remoteUrl in {cel_list(urls)})"
    )


def policy_name(namespace: str) -> str:
    """The cluster-wide name of a profile's policy (namespaces are unique, so these are)."""
    return resource_name(f"mcp-catalog-{namespace}", "-servers", limit=253)


def admission_policy(namespace: str, images: Sequence[str], urls: Sequence[str]) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy holding the profile's allowed images and URLs."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(namespace), "labels": dict(MANAGED_BY)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [TOOLHIVE_API_GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["mcpservers", "mcpremoteproxies"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": image_rule(sorted(set(images))),
                    "message": "this namespace runs only the catalog's MCP servers: use an image reference "
                    "from the registry profile exactly (digest included)",
                    "reason": "Forbidden",
                },
                {
                    "expression": remote_rule(sorted(set(urls))),
                    "message": "this namespace proxies only the catalog's remote MCP servers: use a URL "
                    "from the registry profile exactly",
                    "reason": "Forbidden",
                },
            ],
        },
    }


def admission_binding(namespace: str) -> dict[str, Any]:
    """The binding that applies the policy to the profile's namespace only, denying violations."""
    name = policy_name(namespace)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
