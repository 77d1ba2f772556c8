"""The shipped catalog is real, varied and valid: what a new user sees on the first run."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import DEFAULT_SOURCE, SHARED
from generator.source.validate import read_catalog


@pytest.fixture(scope="module")
def catalog():
    return read_catalog(DEFAULT_SOURCE).catalog


def test_default_catalog_is_large_and_varied(catalog):
    servers = catalog.servers
    assert len(servers) >= 30
    assert len({s.category for s in servers}) >= 6
    assert {s.tier for s in servers} == {"validated", "community"}
    assert sum(s.is_remote for s in servers) >= 5 and sum(not s.is_remote for s in servers) >= 20
    assert len(catalog.meta.registries) >= 2
    assert all(s.tools for s in servers), "every server lists its tools"


def test_every_category_is_used(catalog):
    used = Counter(s.category for s in catalog.servers)
    assert {c.slug for c in catalog.meta.categories} == set(used)


def test_facts_match_the_toolhive_reference_registry(catalog):
    """Images, transports, ports, env names and egress come from ToolHive's registry."""
    reference = SHARED / "toolhive" / "registry.json"
    if not reference.exists():
        pytest.skip(f"{reference} is absent: clone the shared reference folder beside this repository")
    registry = json.loads(reference.read_text())
    checked = 0
    for server in catalog.servers:
        entry = registry["servers"].get(server.name) or registry["remote_servers"].get(server.name)
        if entry is None:
            continue
        checked += 1
        assert server.transport == entry["transport"], server.name
        if server.is_remote:
            assert server.remote.url == entry["url"], server.name
            continue
        assert server.image == entry["image"], server.name
        assert server.port == entry.get("target_port"), server.name
        assert [e.name for e in server.env] == [e["name"] for e in entry.get("env_vars", [])], server.name
        upstream = entry.get("permissions", {}).get("network", {}).get("outbound", {})
        ours = server.permissions.network.outbound if server.permissions and server.permissions.network else None
        assert ours is not None, server.name
        assert sorted(ours.allow_host) == sorted(upstream.get("allow_host", [])), server.name
        assert sorted(ours.allow_port) == sorted(upstream.get("allow_port", [])), server.name
        assert ours.insecure_allow_all == upstream.get("insecure_allow_all", False), server.name
        assert set(t.name for t in server.tools) <= set(entry["tools"]), server.name
    assert checked >= 30


def test_descriptions_are_our_own_words(catalog):
    reference = SHARED / "toolhive" / "registry.json"
    if not reference.exists():
        pytest.skip(f"{reference} is absent: clone the shared reference folder beside this repository")
    registry = json.loads(reference.read_text())
    upstream = {**registry["servers"], **registry["remote_servers"]}
    for server in catalog.servers:
        if server.name in upstream:
            assert server.description != upstream[server.name]["description"], server.name
