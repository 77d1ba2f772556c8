"""What the default catalog's MCP mirror must list per base, computed from catalog-source/ (not from the site)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from conftest import DEFAULT_SOURCE
from generator import derived
from generator.models import Server
from generator.source.validate import read_catalog

PROFILES = ("production", "sandbox")
BASES = ("", *(f"registry/{p}/" for p in PROFILES))


@dataclass(frozen=True)
class Listed:
    """A server as the catalog says a base lists it."""

    name: str
    version: str
    updated: dt.date
    description: str


def catalog_lists() -> dict[str, list[Listed]]:
    """Per base ("" or "registry/<profile>/"), the servers it lists, by name."""
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    meta = catalog.meta

    def listed(servers: list[Server]) -> list[Listed]:
        found = [Listed(derived.registry_name(meta, s), s.version, derived.updated(meta, s), s.description) for s in servers]
        return sorted(found, key=lambda item: item.name)

    lists = {"": listed(catalog.servers)}
    for profile in meta.registries:
        lists[f"registry/{profile.name}/"] = listed(derived.profile_servers(catalog, profile))
    return lists
