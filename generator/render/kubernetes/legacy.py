"""The typed MCPRegistry of ToolHive operators up to v0.16 (`toolhive.stacklok.dev/v1alpha1`).

Those operators read a registry from `spec.registries[]` entries that point at
a ConfigMap (`configMapRef`, `format: toolhive`, the legacy registry JSON) and
enforce the catalog themselves with `enforceServers: true`: an MCPServer whose
image is in no registry of the namespace is rejected. The operator runs the
registry API with PostgreSQL, whose passwords come from a Secret the user creates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.models import Catalog, RegistryProfile
from generator.render.kubernetes.profile import (
    empty_secret,
    REGISTRY_KEY,
    RegistryPart,
    exclusion_filter,
    registry_pod_template,
)
from generator.render.kubernetes.server import LEGACY_API, metadata
from generator.render.kubernetes.names import database_secret_name, registry_resource_name


def legacy_registry_resource(catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart]) -> dict[str, Any]:
    """The v1alpha1 MCPRegistry with one typed registry per ConfigMap and enforcement on."""
    filters = exclusion_filter(catalog, profile, registry_names=False)
    registries = []
    for part in parts:
        entry: dict[str, Any] = {
            "name": part.configmap,
            "format": "toolhive",
            "configMapRef": {"name": part.configmap, "key": REGISTRY_KEY},
            "syncPolicy": {"interval": profile.sync_interval},
        }
        if filters:
            entry["filter"] = filters
        registries.append(entry)
    secret = database_secret_name(profile)
    spec = {
        "displayName": f"{catalog.meta.title}: {profile.name}",
        "enforceServers": True,
        "registries": registries,
        "databaseConfig": {
            "dbAppUserPasswordSecretRef": {"name": secret, "key": "app-password"},
            "dbMigrationUserPasswordSecretRef": {"name": secret, "key": "migration-password"},
        },
        "podTemplateSpec": registry_pod_template(),
    }
    return {
        "apiVersion": LEGACY_API,
        "kind": "MCPRegistry",
        "metadata": metadata(registry_resource_name(profile), profile.namespace),
        "spec": spec,
    }


def database_template(profile: RegistryProfile) -> dict[str, Any]:
    """The database Secret as an empty template (the note above it says what goes in)."""
    return empty_secret(database_secret_name(profile), profile.namespace, ["app-password", "migration-password"])


def database_note(profile: RegistryProfile) -> str:
    """What the user must provide for the legacy registry's database."""
    return "\n".join(
        [
            "TEMPLATE, not applied by kustomization.yaml. The registry API needs PostgreSQL",
            "(operator defaults: host postgres, port 5432, database registry, users db_app and db_migrator).",
            f"kubectl -n {profile.namespace} create secret generic {database_secret_name(profile)} \\",
            "  --from-literal=app-password=... --from-literal=migration-password=...",
        ]
    )
