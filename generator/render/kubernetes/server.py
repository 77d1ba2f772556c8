"""The Kubernetes objects that deploy one catalog server through the ToolHive operator.

Container servers become an MCPServer whose `mcp` container meets the Pod
Security Standards `restricted` profile; remote servers become an
MCPRemoteProxy. Both get an MCPToolConfig (the tools a profile keeps, by their
deployed names, since ToolHive filters after renaming), an egress
NetworkPolicy and, when they need credentials, a Secret *template* that never
holds a value. The same builders serve the current (v1beta1) and the legacy
(v1alpha1) API versions: the field names these objects use are the same in both,
except the remote proxy's URL (`remote_url_field`).

Builders return plain dicts in the order a reader expects (apiVersion, kind,
metadata, spec); they never read the clock and never build a path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from generator.derived import deploy_image, endpoint_class
from generator.models import CatalogMeta, ClusterDns, EnvVar, Header, Server, Tool
from generator.render.kubernetes.manifests import MANAGED_BY
from generator.render.kubernetes.names import MCPSERVER_PROXY_APP, ServerNames, header_secret_key, secret_entries

TOOLHIVE_API_GROUP = "toolhive.stacklok.dev"
CURRENT_API = f"{TOOLHIVE_API_GROUP}/v1beta1"
LEGACY_API = f"{TOOLHIVE_API_GROUP}/v1alpha1"
# ToolHive's proxy listens here; the operator's Service forwards to it.
PROXY_PORT = 8080
# The port an HTTP server's container listens on when its MCPServer names no `mcpPort`
# (the operator's default, MCPServer.GetMCPPort in stacklok/toolhive v0.44.0).
DEFAULT_MCP_PORT = 8080
# The container of the MCP server's pod: the name ToolHive's proxy runner gives it and fills in
# (image, args), and the one our podTemplateSpec configures.
MCP_CONTAINER = "mcp"
# The environment variables ToolHive's proxy runner adds to the MCP server's container besides the
# MCPServer's `env` and its Secrets' entries (pkg/runtime/setup.go, v0.44.0: the transport, and for
# SSE and streamable HTTP the port and host the server listens on).
TRANSPORT_ENV = ("MCP_TRANSPORT", "MCP_PORT", "FASTMCP_PORT", "MCP_HOST")
# The labels ToolHive puts on the pods it runs, as the operator's source sets them
# (stacklok/toolhive v0.44.0). Every pod it runs for an MCPServer or MCPRemoteProxy carries
# `toolhive: "true"` and `toolhive-name: <name>`. The proxy runner's pods (the Deployment the
# operator creates: labelsForMCPServer in cmd/thv-operator/controllers/mcpserver_controller.go,
# labelsForMCPRemoteProxy in mcpremoteproxy_controller.go) also carry `app.kubernetes.io/name`,
# `mcpserver` or `mcpremoteproxy`. The MCP server container's pods (the StatefulSet the proxy
# runner creates: DeployWorkload in pkg/container/kubernetes/client.go, with the labels of
# pkg/labels/labels.go) carry `app: <name>` and `toolhive-*` labels, never `app.kubernetes.io/name`,
# unless the MCPServer's podTemplateSpec adds it (the bundles' never does). v0.15.0 and v0.16.0,
# which legacy/ targets, set the same labels.
POD_NAME_LABEL = "toolhive-name"
TOOLHIVE_LABEL = "toolhive"
PERMISSIONS_KEY = "permissions.json"
# The annotation the registry server's `kubernetes:` source selects workloads by.
REGISTRY_EXPORT = f"{TOOLHIVE_API_GROUP}/registry-export"


def metadata(name: str, namespace: str | None, server: Server | None = None) -> dict[str, Any]:
    """Object metadata: name, the namespace when a profile fixes it, and our labels."""
    labels = dict(MANAGED_BY)
    if server is not None:
        labels["app.kubernetes.io/name"] = server.name
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels
    return meta


def restricted_container_security() -> dict[str, Any]:
    """The container securityContext the Pod Security Standards `restricted` profile demands."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security() -> dict[str, Any]:
    """The pod-level securityContext of the `restricted` profile."""
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def pod_template(server: Server, pull_secrets: Sequence[str] = ()) -> dict[str, Any]:
    """A podTemplateSpec whose `mcp` container is restricted, with writable emptyDirs.

    The root filesystem is read-only, so /tmp and every path the server declares
    it writes get an emptyDir (users who need the data kept swap in a volume).
    """
    # "/data/" and "/data" are one mount point: compare them without the trailing slash.
    declared = {path.rstrip("/") for path in (server.permissions.write if server.permissions else [])}
    writable = ["/tmp", *sorted(declared - {"/tmp"})]
    volumes = [{"name": f"writable-{index}", "emptyDir": {}} for index in range(len(writable))]
    mounts = [{"name": f"writable-{index}", "mountPath": path} for index, path in enumerate(writable)]
    spec: dict[str, Any] = {"securityContext": restricted_pod_security()}
    if pull_secrets:
        spec["imagePullSecrets"] = secret_references(pull_secrets)
    spec["containers"] = [{"name": MCP_CONTAINER, "securityContext": restricted_container_security(), "volumeMounts": mounts}]
    spec["volumes"] = volumes
    return {"spec": spec}


def secret_references(names: Sequence[str]) -> list[dict[str, str]]:
    """`imagePullSecrets` entries (LocalObjectReference) for Secret names."""
    return [{"name": name} for name in names]


def proxy_overrides(pull_secrets: Sequence[str]) -> dict[str, Any]:
    """`resourceOverrides` giving the operator's proxy runner pod the pull secrets (its image is mirrored too)."""
    return {"proxyDeployment": {"imagePullSecrets": secret_references(pull_secrets)}}


def proxy_service_url(server: Server, namespace: str) -> str:
    """The in-cluster URL of the proxy the operator puts in front of a server (its Service, then
    `/sse` or `/mcp`; stdio servers are proxied as streamable HTTP, the operator's default)."""
    service = f"mcp-{server.name}-remote-proxy" if server.remote is not None else f"mcp-{server.name}-proxy"
    path = "sse" if server.transport == "sse" else "mcp"
    return f"http://{service}.{namespace}.svc.cluster.local:{PROXY_PORT}/{path}"


def registry_export_annotations(server: Server, tools: Sequence[Tool], namespace: str) -> dict[str, str]:
    """The annotations the registry server's `kubernetes:` source reads, so that a namespace's
    running servers list themselves in its registry (export, URL and description are required)."""
    return {
        REGISTRY_EXPORT: "true",
        f"{TOOLHIVE_API_GROUP}/registry-url": proxy_service_url(server, namespace),
        f"{TOOLHIVE_API_GROUP}/registry-description": server.description,
        f"{TOOLHIVE_API_GROUP}/registry-title": server.title,
        f"{TOOLHIVE_API_GROUP}/tools": json.dumps(sorted({tool.deployed_name for tool in tools}), separators=(",", ":")),
    }


def permission_profile(server: Server) -> dict[str, Any] | None:
    """ToolHive's permission-profile JSON for the server, or None when a builtin profile fits.

    Undeclared permissions get nothing (builtin `none`): restricted by default.
    """
    permissions = server.permissions
    if permissions is None:
        return None
    outbound = permissions.network.outbound if permissions.network else None
    paths = permissions.read or permissions.write
    if not paths and (outbound is None or not (outbound.allow_host or outbound.allow_port)):
        return None
    profile: dict[str, Any] = {"read": sorted(set(permissions.read)), "write": sorted(set(permissions.write))}
    profile["network"] = {
        "outbound": {
            "insecure_allow_all": bool(outbound and outbound.insecure_allow_all),
            "allow_host": sorted(set(outbound.allow_host)) if outbound else [],
            "allow_port": sorted(set(outbound.allow_port)) if outbound else [],
        }
    }
    return profile


def builtin_profile(server: Server) -> str:
    """`network` for a server that may reach anything and touches no paths, else `none`."""
    permissions = server.permissions
    outbound = permissions.network.outbound if permissions and permissions.network else None
    return "network" if outbound and outbound.insecure_allow_all else "none"


def permission_configmap(server: Server, names: ServerNames, namespace: str | None) -> dict[str, Any] | None:
    """The ConfigMap holding the server's generated permission profile, when it has one."""
    profile = permission_profile(server)
    if profile is None:
        return None
    text = json.dumps(profile, indent=2, sort_keys=False) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(names.permissions, namespace, server),
        "data": {PERMISSIONS_KEY: text},
    }


def mcp_server(
    meta: CatalogMeta, server: Server, names: ServerNames, *, api: str, namespace: str | None,
    mirror: str | None, with_tools: bool, pull_secrets: Sequence[str] = (), annotations: dict[str, str] | None = None,
    env: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The MCPServer for a container server; `env` is what it sets (`derived.env_values`)."""
    spec: dict[str, Any] = {
        "image": deploy_image(meta, server, mirror), "transport": server.transport, "proxyPort": PROXY_PORT,
    }
    if server.port:
        spec["mcpPort"] = server.port
    if server.args:
        spec["args"] = list(server.args)
    if env:
        spec["env"] = [{"name": name, "value": value} for name, value in env]
    secret_vars = secret_env(server)
    if secret_vars:
        spec["secrets"] = [{"name": names.secret, "key": var.name, "targetEnvName": var.name} for var in secret_vars]
    if permission_profile(server) is not None:
        spec["permissionProfile"] = {"type": "configmap", "name": names.permissions, "key": PERMISSIONS_KEY}
    else:
        spec["permissionProfile"] = {"type": "builtin", "name": builtin_profile(server)}
    if server.resources:
        spec["resources"] = server.resources.model_dump(mode="json", exclude_none=True)
    if with_tools:
        spec["toolConfigRef"] = {"name": names.tools}
    if pull_secrets and api == CURRENT_API:  # operators up to v0.16 (strict field validation) lack the field
        spec["resourceOverrides"] = proxy_overrides(pull_secrets)
    spec["podTemplateSpec"] = pod_template(server, pull_secrets)
    return {"apiVersion": api, "kind": "MCPServer", "metadata": annotated(metadata(names.workload, namespace, server), annotations), "spec": spec}


def secret_env(server: Server) -> list[EnvVar]:
    """The variables an MCPServer takes from the server's Secret (`spec.secrets`): its required secret
    ones (an optional one is not wired in, see `secret_entries`)."""
    return [var for var in server.env if var.secret and var.required]


def mcp_server_secrets(server: Server) -> list[str]:
    """The Secrets an MCPServer's `spec.secrets` names for `server` (ToolHive reads them into the MCP
    container's environment): its own `<server>-secrets` when it takes any variable from it, else none."""
    return [ServerNames.of(server).secret] if server.kind == "container" and secret_env(server) else []


def annotated(meta: dict[str, Any], annotations: dict[str, str] | None) -> dict[str, Any]:
    """`meta` with `annotations` added after the labels, when there are any."""
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def remote_url_field(api: str) -> str:
    """The MCPRemoteProxy's URL field: `remoteURL` in the operators up to v0.16 (v1alpha1), `remoteUrl` since."""
    return "remoteURL" if api == LEGACY_API else "remoteUrl"


def forwarded_secret_headers(server: Server) -> list[Header]:
    """The headers a remote server's proxy adds from its Secret: the required secret ones (an
    optional one is not wired in, see `secret_entries`); none for a container server."""
    if server.remote is None:
        return []
    return [header for header in server.remote.headers if header.secret and header.required]


def mcp_remote_proxy(
    server: Server, names: ServerNames, *, api: str, namespace: str | None, with_tools: bool,
    pull_secrets: Sequence[str] = (), annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The MCPRemoteProxy that fronts a remote server's URL inside the cluster.

    A URL on a private or cluster-internal host gets `allowPrivateEndpoint` (the operator refuses
    it otherwise; validation warns about each such server).
    """
    assert server.remote is not None
    spec: dict[str, Any] = {remote_url_field(api): server.remote.url, "transport": server.transport, "proxyPort": PROXY_PORT}
    if endpoint_class(server.remote.url) == "private" and api == CURRENT_API:
        spec["allowPrivateEndpoint"] = True
    secret_headers = forwarded_secret_headers(server)
    if secret_headers:
        spec["headerForward"] = {
            "addHeadersFromSecret": [
                {"headerName": header.name, "valueSecretRef": {"name": names.secret, "key": header_secret_key(header.name)}}
                for header in secret_headers
            ]
        }
    if with_tools:
        spec["toolConfigRef"] = {"name": names.tools}
    if pull_secrets and api == CURRENT_API:
        spec["resourceOverrides"] = proxy_overrides(pull_secrets)
    meta = annotated(metadata(names.workload, namespace, server), annotations)
    return {"apiVersion": api, "kind": "MCPRemoteProxy", "metadata": meta, "spec": spec}


def mcp_tool_config(
    server: Server, names: ServerNames, tools: Sequence[Tool], *, api: str, namespace: str | None
) -> dict[str, Any]:
    """The MCPToolConfig exposing exactly `tools`, by the names clients see, with overrides."""
    spec: dict[str, Any] = {"toolsFilter": sorted({tool.deployed_name for tool in tools})}
    overrides = {}
    for tool in sorted(tools, key=lambda item: item.name):
        if tool.override and (tool.override.name or tool.override.description):
            entry: dict[str, str] = {}
            if tool.override.name:
                entry["name"] = tool.override.name
            if tool.override.description:
                entry["description"] = tool.override.description
            overrides[tool.name] = entry
    if overrides:
        spec["toolsOverride"] = overrides
    return {"apiVersion": api, "kind": "MCPToolConfig", "metadata": metadata(names.tools, namespace, server), "spec": spec}


def egress_ports(server: Server) -> list[int] | None:
    """TCP ports the server may reach; None means any port (declared insecure_allow_all)."""
    if server.remote is not None:
        parts = urlsplit(server.remote.url)
        return [parts.port or (443 if parts.scheme == "https" else 80)]
    permissions = server.permissions
    outbound = permissions.network.outbound if permissions and permissions.network else None
    if outbound is None:
        return []
    if outbound.insecure_allow_all:
        return None
    return sorted(set(outbound.allow_port))


def dns_egress(dns: ClusterDns) -> dict[str, Any]:
    """The egress rule reaching the cluster's DNS and nothing else: its pods, its address blocks,
    on its ports (UDP and TCP each). Port 53 to any address would let a compromised MCP container
    talk to a server of its choosing, whatever else its policies refuse."""
    peers: list[dict[str, Any]] = []
    if dns.pods is not None:
        peers.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dns.pods.namespace}},
                      "podSelector": {"matchLabels": dict(sorted(dns.pods.labels.items()))}})
    peers += [{"ipBlock": {"cidr": cidr}} for cidr in dict.fromkeys(dns.cidrs)]
    assert peers, "ClusterDns names a peer: a rule without one would reach every address"
    ports = [{"protocol": protocol, "port": port} for port in sorted(set(dns.ports)) for protocol in ("UDP", "TCP")]
    return {"to": peers, "ports": ports}


def egress_policy(server: Server, names: ServerNames, namespace: str | None, dns: ClusterDns) -> dict[str, Any]:
    """A NetworkPolicy letting the server's pods reach only the cluster's DNS and their declared ports."""
    egress: list[dict[str, Any]] = [dns_egress(dns)]
    ports = egress_ports(server)
    if ports is None:
        egress.append({})
    elif ports:
        egress.append({"ports": [{"protocol": "TCP", "port": port} for port in ports]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(names.egress, namespace, server),
        "spec": {
            "podSelector": {"matchLabels": {POD_NAME_LABEL: names.workload}},
            "policyTypes": ["Egress"],
            "egress": egress,
        },
    }


def own_proxy_pods(workload: str) -> dict[str, Any]:
    """The pods of MCPServer `workload`'s proxy, by the operator's labelsForMCPServer."""
    return {"matchLabels": {TOOLHIVE_LABEL: "true", "app.kubernetes.io/name": MCPSERVER_PROXY_APP,
                            "app.kubernetes.io/instance": workload}}


def ingress_policy(server: Server, names: ServerNames, namespace: str | None) -> dict[str, Any] | None:
    """A NetworkPolicy letting only the server's own proxy reach its MCP container (None for a remote
    server, which has none): on the container's port for an HTTP transport, not at all for stdio,
    which the proxy drives through the Kubernetes API. Another server's proxy, taken over, would
    otherwise call this server's tools past its tool filter, with its credentials.

    It selects the container's pod (ToolHive's `toolhive-name: <name>` without a proxy's
    `app.kubernetes.io/name`) and admits the pods of the operator's labelsForMCPServer(<name>)
    (cmd/thv-operator/controllers/mcpserver_controller.go, v0.44.0 and v0.16.0), which no other
    workload carries (the profile's admission refuses them on a proxy runner's StatefulSet)."""
    if server.kind != "container":
        return None
    ingress = []
    if server.transport != "stdio":
        ingress.append({"from": [{"podSelector": own_proxy_pods(names.workload)}],
                        "ports": [{"protocol": "TCP", "port": server.port or DEFAULT_MCP_PORT}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(names.ingress, namespace, server),
        "spec": {
            "podSelector": {"matchLabels": {POD_NAME_LABEL: names.workload},
                            "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "DoesNotExist"}]},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def secret_keys(server: Server) -> list[str]:
    """The keys the server's Secret must hold: its required secret env vars or remote headers."""
    return [entry.key for entry in secret_entries(server) if entry.required]


def secret_template(server: Server, names: ServerNames, namespace: str | None) -> dict[str, Any] | None:
    """An empty Secret naming the keys to fill in: a template, never a value."""
    keys = secret_keys(server)
    if not keys:
        return None
    meta = metadata(names.secret, namespace, server)
    meta["annotations"] = {"mcp-catalog/required-keys": ",".join(keys)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}


def secret_note(server: Server, names: ServerNames) -> str:
    """The comment above the Secret template: what to create, and how, without any value."""
    lines = [
        "TEMPLATE, not applied by kustomization.yaml: create the Secret yourself, never commit values.",
        f"kubectl -n NAMESPACE create secret generic {names.secret} \\",
    ]
    keys = secret_keys(server)
    continuation = [" \\"] * (len(keys) - 1) + [""]
    lines += [f"  --from-literal={key}=...{tail}" for key, tail in zip(keys, continuation)]
    optional = [entry for entry in secret_entries(server) if not entry.required]
    if optional:
        lines.append("Optional keys, not referenced by this bundle (add a secrets entry in an overlay to use one):")
        lines += [f"  {entry.key}: {entry.description}" for entry in optional]
    return "\n".join(lines)
