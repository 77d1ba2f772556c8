"""What the default catalog's MCP mirror must list per base, computed from catalog-source/ (not from the site)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

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

    lists = {"": listed([s for s in catalog.servers if derived.review_state(meta, s) != "rejected"])}  # "do not deploy"
    for profile in meta.registries:
        lists[f"registry/{profile.name}/"] = listed(derived.profile_servers(catalog, profile))
    return lists


def indexed_responses(site: Path, base: str) -> list[dict]:
    """Every ServerResponse of a base, read from the query index as the layer reads it (header, lines, blob)."""
    data = (site / base / "v0.1/servers/query.idx").read_bytes()
    header, _, rest = data.partition(b"\n")
    magic, count, digest = header.rsplit(b" ", 2)
    assert magic == b"mcp-catalog-query-index 1" and hashlib.sha256(rest).hexdigest().encode() == digest
    lines = rest.split(b"\n", int(count))
    blob = lines[-1]
    responses = []
    for line in lines[:-1]:
        name, version, _, offset, length = line.split(b"\t")
        response = json.loads(blob[int(offset):int(offset) + int(length)])
        assert (response["server"]["name"], response["server"]["version"]) == (name.decode(), version.decode())
        responses.append(response)
    return responses
