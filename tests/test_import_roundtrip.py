"""Round trips: import a real registry, validate, build, and find the same facts in the build's outputs.

Compared field by field per server: image, transport, tool names, env var names and network
permissions, against the normalised `api/v1/catalog.json` and ToolHive's `registry-legacy.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED
from generator.build import build
from generator.cli import main
from generator.paths import CATALOG_JSON, TOOLHIVE_LEGACY_REGISTRY
from generator.source.validate import read_catalog

LEGACY = SHARED / "toolhive" / "registry.json"
UPSTREAM = SHARED / "toolhive" / "examples" / "upstream-registry.json"
TOOLHIVE_META = ("io.modelcontextprotocol.registry/publisher-provided", "io.github.stacklok")


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is missing: the shared reference data (../shared/reference) is needed for this test")


def _imported_site(tmp_path_factory: pytest.TempPathFactory, source_file: Path) -> Path:
    """Import `source_file` into an empty folder with the CLI, validate it, build it; return the site."""
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("roundtrip")
    result = CliRunner().invoke(main, ["import", str(source_file), "--into", str(root / "src"), "--quiet"])
    assert result.exit_code == 0, result.output
    fill_in_unknown_versions(root / "src")
    read_catalog(root / "src")
    build(root / "src", root / "site")
    return root / "site"


def fill_in_unknown_versions(source: Path) -> None:
    """Do what the importer asks of its user where upstream has no version (a `latest` image).

    The version is not among the facts compared: any specific one will do."""
    for path in (source / "servers").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if "\nversion: FILL-IN\n" in text:
            path.write_text(text.replace("\nversion: FILL-IN\n", "\nversion: 1.0.0\n"), encoding="utf-8")


def _network(permissions: Any) -> dict[str, Any] | None:
    """Network permissions with ToolHive's defaults filled in, so that absent == empty."""
    network = (permissions or {}).get("network")
    if network is None:
        return None
    outbound = network.get("outbound") or {}
    return {
        "allow_host": list(outbound.get("allow_host") or []),
        "allow_port": list(outbound.get("allow_port") or []),
        "insecure_allow_all": bool(outbound.get("insecure_allow_all")),
    }


def _facts_of_ours(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "image": server.get("image"),
        "transport": server["transport"],
        "tools": [t["name"] for t in server.get("tools", [])],
        "env": [e["name"] for e in server.get("env", [])],
        "network": _network(server.get("permissions")),
    }


def _legacy_facts(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "image": entry.get("image"),
        "transport": entry["transport"],
        "tools": list(entry.get("tools") or []),
        "env": [e["name"] for e in entry.get("env_vars") or []],
        "network": _network(entry.get("permissions")),
    }


def _upstream_facts(server: dict[str, Any]) -> dict[str, Any]:
    package = server["packages"][0]
    extension = next(iter(server["_meta"][TOOLHIVE_META[0]][TOOLHIVE_META[1]].values()))
    return {
        "image": package["identifier"],
        "transport": package["transport"]["type"],
        "tools": list(extension.get("tools") or []),
        "env": [e["name"] for e in package.get("environmentVariables") or []],
        "network": _network(extension.get("permissions")),
    }


def _legacy_output(site: Path) -> dict[str, Any]:
    path = site / TOOLHIVE_LEGACY_REGISTRY
    if not path.is_file():
        pytest.skip(f"the build wrote no {TOOLHIVE_LEGACY_REGISTRY}: generator/render/registry/toolhive.py is not implemented yet")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def legacy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need(LEGACY)
    return _imported_site(tmp_path_factory, LEGACY)


@pytest.fixture(scope="module")
def upstream_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need(UPSTREAM)
    return _imported_site(tmp_path_factory, UPSTREAM)


def test_legacy_registry_round_trips_through_catalog_json(legacy_site):
    upstream = json.loads(LEGACY.read_text())
    entries = {**upstream["servers"], **upstream["remote_servers"]}
    ours = {s["name"]: s for s in json.loads((legacy_site / CATALOG_JSON).read_text())["servers"]}
    assert sorted(ours) == sorted(entries)
    for name, entry in entries.items():
        assert _facts_of_ours(ours[name]) == _legacy_facts(entry), name
    for name, entry in upstream["remote_servers"].items():
        assert ours[name]["remote"]["url"] == entry["url"]


def test_legacy_registry_round_trips_through_registry_legacy_json(legacy_site):
    upstream = json.loads(LEGACY.read_text())
    written = _legacy_output(legacy_site)
    for section in ("servers", "remote_servers"):
        assert sorted(written[section]) == sorted(upstream[section]), section
        for name, entry in upstream[section].items():
            assert _legacy_facts(written[section][name]) == _legacy_facts(entry), name
    for name, entry in upstream["remote_servers"].items():
        assert written["remote_servers"][name]["url"] == entry["url"]


def test_current_toolhive_format_round_trips(upstream_site):
    servers = json.loads(UPSTREAM.read_text())["data"]["servers"]
    ours = {s["name"]: s for s in json.loads((upstream_site / CATALOG_JSON).read_text())["servers"]}
    written = _legacy_output(upstream_site)["servers"]
    assert len(ours) == len(servers) == len(written)
    for server in servers:
        name = server["name"].split("/")[-1]
        assert _facts_of_ours(ours[name]) == _upstream_facts(server), name
        assert _legacy_facts(written[name]) == _upstream_facts(server), name
