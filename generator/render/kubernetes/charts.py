"""Helm values for the official ToolHive charts: the operator, and the registry server per profile.

The operator chart (`toolhive-operator`) injects three images into the workloads it
creates through env vars (proxy runner, vMCP, registry API); its values here point
those, and the operator's own image, at the catalog's image mirror and name the pull
secrets. The registry server chart (`toolhive-registry-server`) is the recommended
replacement for the deprecated MCPRegistry: its values here serve one profile's
registry from the ConfigMaps the profile's `base/` creates (`file:` sources), plus a
`kubernetes:` source listing the servers running in the namespace, with PostgreSQL
passwords read from a Secret, never from the ConfigMap the chart renders, and the same `auth`
as the MCPRegistry's (`registry_auth`: reads open, writes only from the profile's registry-admin).
Builders return plain dicts; they read no files and never run Helm (the tests do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator import derived
from generator.models import Catalog, CatalogMeta, RegistryProfile
from generator.render.kubernetes.profile import (
    MOUNT_ROOT,
    POSTGRES_PORT,
    POSTGRES_SSL_MODE,
    REGISTRY_KEY,
    REGISTRY_POD_LABEL,
    RegistryPart,
    file_sources,
)
from generator.render.kubernetes.database import APP_USER, DATABASE, MIGRATION_USER
from generator.render.kubernetes.registry_auth import auth_config
from generator.render.kubernetes.server import restricted_container_security, restricted_pod_security, secret_references
from generator.render.kubernetes.names import database_secret_name, registry_resource_name, registry_service_name, resource_name

OPERATOR_CHART = "oci://ghcr.io/stacklok/toolhive/toolhive-operator"
OPERATOR_CRDS_CHART = "oci://ghcr.io/stacklok/toolhive/toolhive-operator-crds"
REGISTRY_SERVER_CHART = "oci://ghcr.io/stacklok/toolhive-registry-server/toolhive-registry-server"
OPERATOR_NAMESPACE = "toolhive-system"
# The user IDs the charts' own defaults run as (both images are built for them).
OPERATOR_UID = 1000
REGISTRY_SERVER_UID = 65535


def operator_values(meta: CatalogMeta, mirror: str | None) -> dict[str, Any]:
    """Values for the operator chart: every image at the mirror, pull secrets, `restricted` pods."""
    secrets = derived.pull_secrets(meta, None)
    operator: dict[str, Any] = {
        "image": derived.toolhive_image(meta, "operator", mirror),
        "toolhiveRunnerImage": derived.toolhive_image(meta, "proxy_runner", mirror),
        "vmcpImage": derived.toolhive_image(meta, "vmcp", mirror),
        "imagePullPolicy": "IfNotPresent",
        "imagePullSecrets": secret_references(secrets),
        # The operator passes these to every workload it creates (TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS).
        "defaultImagePullSecrets": list(secrets),
        "podSecurityContext": restricted_pod_security(),
        "containerSecurityContext": {**restricted_container_security(), "runAsUser": OPERATOR_UID},
    }
    return {"operator": operator, "registryAPI": {"image": derived.toolhive_image(meta, "registry_api", mirror)}}


def registry_server_name(profile: RegistryProfile) -> str:
    """The chart's full name: `<registry>-api`, the Service name MCPRegistry's operator would create,
    so clients find the API at the same address whichever path the cluster takes."""
    return registry_service_name(profile)


def registry_server_config(catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart]) -> dict[str, Any]:
    """The registry server's config file (the chart's `config:`): the ConfigMaps as `file:` sources,
    the namespace's annotated workloads as a `kubernetes:` source, PostgreSQL without passwords, `auth`."""
    sources = file_sources(catalog, profile, parts)
    running = resource_name(profile.name, "-running")
    sources.append({"name": running, "kubernetes": {"namespaces": [profile.namespace]}})
    return {
        "sources": sources,
        "registries": [{"name": profile.name, "sources": [source["name"] for source in sources]}],
        "database": {
            "host": "postgres",
            "port": POSTGRES_PORT,
            "user": APP_USER,
            "migrationUser": MIGRATION_USER,
            "database": DATABASE,
            "sslMode": POSTGRES_SSL_MODE,
            "maxMetaSize": catalog.meta.toolhive.max_meta_size,
        },
        "auth": auth_config(catalog.meta.toolhive.registry_auth, profile),
    }


def registry_server_values(
    catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart], mirror: str | None
) -> dict[str, Any]:
    """Values for the registry server chart, installed into the profile's namespace."""
    name = registry_server_name(profile)
    secret = database_secret_name(profile)
    return {
        "fullnameOverride": name,
        "image": {"registryServerUrl": derived.toolhive_image(catalog.meta, "registry_server", mirror), "pullPolicy": "IfNotPresent"},
        "imagePullSecrets": secret_references(derived.pull_secrets(catalog.meta, profile)),
        "serviceAccount": {"create": True, "name": name},
        "podLabels": dict(REGISTRY_POD_LABEL),
        "podSecurityContext": restricted_pod_security(),
        "securityContext": {**restricted_container_security(), "runAsUser": REGISTRY_SERVER_UID},
        "config": registry_server_config(catalog, profile, parts),
        "extraEnv": [
            _secret_env("THV_REGISTRY_DATABASE_PASSWORD", secret, "app-password"),
            _secret_env("THV_REGISTRY_DATABASE_MIGRATIONPASSWORD", secret, "migration-password"),
        ],
        "extraVolumes": [
            {"name": part.configmap, "configMap": {"name": part.configmap, "items": [{"key": REGISTRY_KEY, "path": REGISTRY_KEY}]}}
            for part in parts
        ],
        "extraVolumeMounts": [
            {"name": part.configmap, "mountPath": f"{MOUNT_ROOT}/{part.configmap}", "readOnly": True} for part in parts
        ],
        "rbac": {"scope": "namespace", "allowedNamespaces": [profile.namespace]},
    }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def without_mcpregistry(profile: RegistryProfile) -> dict[str, Any]:
    """A kustomize patch removing the profile's MCPRegistry: the chart serves the registry instead."""
    return {
        "patch": (
            "$patch: delete\napiVersion: toolhive.stacklok.dev/v1beta1\nkind: MCPRegistry\n"
            f"metadata:\n  name: {registry_resource_name(profile)}\n  namespace: {profile.namespace}\n"
        ),
    }
