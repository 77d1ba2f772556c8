"""MCP Registry clients written by others (from PyPI) against the site behind the shipped nginx config.

- mcp-lookup (CLI): takes `--base-url`; nothing patched. Its `get` falls back to
  `?search=<name>&limit=1` after a 404, the case that once printed the wrong server.
- mcp-registry-cli (CLI): hard-codes the public host in `MCPRegistryAPI.BASE_URL`; the
  test sets that one attribute before running its click entry point, nothing else.
  It prints errors and exits 0 whatever happens, so "not found" is read from its output.
- langchain-mcp-registry (SDK): takes `registry_url`; nothing patched.

Every answer is compared with what the catalog says (tests/catalog_lists.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_lists import BASES, Listed, catalog_lists
from webservers import nginx_serving

MISSING = "com.example.mcp/no-such"
NAME = re.compile(r"com\.example\.mcp/[a-z0-9-]+")


@pytest.fixture(scope="module", name="catalog_lists")
def catalog_lists_fixture() -> dict[str, list[Listed]]:
    return catalog_lists()


@pytest.fixture(scope="module")
def nginx(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nginx_serving(default_site, tmp_path_factory.mktemp("nginx-clients")) as url:
        yield url


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120, env=environment)


# --- mcp-lookup ---------------------------------------------------------------------------


def lookup(base_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mcp_lookup", reason="pip install mcp-lookup")
    return run("-m", "mcp_lookup", "--base-url", base_url, "--source", "registry", *argv)


@pytest.mark.parametrize("base", BASES)
def test_mcp_lookup_missing_name_is_not_found(nginx, base):
    result = lookup(f"{nginx}/{base}", "get", MISSING, "--no-enrich")
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip() == f"No server found for: {MISSING}"
    assert result.stdout == ""


@pytest.mark.parametrize("base", BASES)
def test_mcp_lookup_gets_each_listed_server_and_version(nginx, catalog_lists, base):
    for item in catalog_lists[base][:4]:
        latest = lookup(f"{nginx}/{base}", "get", item.name, "--no-enrich")
        assert latest.returncode == 0, latest.stderr
        assert json.loads(latest.stdout)["server"]["name"] == item.name
        exact = lookup(f"{nginx}/{base}", "get", item.name, "--version", item.version, "--no-enrich")
        assert json.loads(exact.stdout)["server"]["version"] == item.version


def test_mcp_lookup_profile_base_does_not_find_what_it_withholds(nginx, catalog_lists):
    # Its fallback search is a substring search, so take a name no admitted name contains.
    admitted = [i.name for i in catalog_lists["registry/production/"]]
    withheld = [i.name for i in catalog_lists[""] if not any(i.name in name for name in admitted)]
    result = lookup(f"{nginx}/registry/production", "get", withheld[0], "--no-enrich")
    assert result.returncode == 1 and result.stderr.strip() == f"No server found for: {withheld[0]}"


@pytest.mark.parametrize("search", ["git", "com.example.mcp/fetch", "REMOTE"])
@pytest.mark.parametrize("base", BASES)
def test_mcp_lookup_search(nginx, catalog_lists, base, search):
    result = lookup(f"{nginx}/{base}", "search", search, "--limit", "5", "--json")
    expected = [i.name for i in catalog_lists[base] if search.lower() in i.name.lower()][:5]
    assert result.returncode == (0 if expected else 1), result.stderr
    assert [entry["server"]["name"] for entry in json.loads(result.stdout)] == expected


def test_mcp_lookup_search_for_nothing(nginx):
    result = lookup(nginx, "search", "no-such-server-anywhere")
    assert result.returncode == 1 and result.stdout.strip() == "(no results)"


# --- mcp-registry-cli ---------------------------------------------------------------------

PATCH_BASE_URL = (
    "import sys; from mcp_registry_cli import api; api.MCPRegistryAPI.BASE_URL = sys.argv.pop(1); "
    "from mcp_registry_cli.cli import main; main()"
)


def registry_cli(base_url: str, *argv: str) -> str:
    pytest.importorskip("mcp_registry_cli", reason="pip install mcp-registry-cli")
    result = run("-c", PATCH_BASE_URL, base_url, *argv)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("base", BASES)
def test_mcp_registry_cli_pages_through_every_server_with_limit_5(nginx, catalog_lists, base):
    seen, cursor = [], None
    for _ in range(20):
        output = registry_cli(f"{nginx}/{base}".rstrip("/"), "list", "--limit", "5", *(["--cursor", cursor] if cursor else []))
        page = NAME.findall(output.split("Next cursor:")[0])
        if output == "No servers found.\n":
            break  # the empty page after a full last one, as the official registry pages
        assert len(page) <= 5 and f"Showing {len(page)} servers" in output
        seen += page
        found = re.search(r"Use --cursor (\S+) to see more", output)
        if not found:
            break
        cursor = found.group(1)
    assert seen == [i.name for i in catalog_lists[base]]


def test_mcp_registry_cli_search_filters_what_the_pages_hold(nginx, catalog_lists):
    output = registry_cli(nginx, "list", "--search", "git")
    expected = [i.name for i in catalog_lists[""] if "git" in i.name.lower() or "git" in i.description.lower()][:30]
    assert NAME.findall(output) == sorted(expected)


def test_mcp_registry_cli_show_uses_the_old_v0_lookup(nginx):
    found = registry_cli(nginx, "show", "com.example.mcp/fetch")
    assert "Name: com.example.mcp/fetch" in found
    missing = registry_cli(nginx, "show", MISSING)
    assert "Error: 404 Client Error: Not Found" in missing and "Name:" not in missing


# --- langchain-mcp-registry ---------------------------------------------------------------


def sdk_call(base_url: str, tmp_path: Path, method: str, *args: object, **kwargs: object) -> object:
    sdk = pytest.importorskip("langchain_mcp_registry", reason="pip install langchain-mcp-registry")

    async def call() -> object:
        async with sdk.MCPRegistryClient(registry_url=f"{base_url}/v0/servers", cache_enabled=False,
                                         cache_dir=str(tmp_path)) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(call())


@pytest.mark.parametrize("base", BASES)
def test_langchain_sdk_search_limit_version_and_updated_since(nginx, catalog_lists, base, tmp_path):
    url = f"{nginx}/{base}".rstrip("/")
    listed = catalog_lists[base]
    assert [s.name for s in sdk_call(url, tmp_path, "search_servers", limit=5)] == [i.name for i in listed[:5]]
    found = sdk_call(url, tmp_path, "search_servers", query="git", limit=100)
    assert [s.name for s in found] == [i.name for i in listed if "git" in i.name]
    assert sdk_call(url, tmp_path, "search_servers", query=MISSING, limit=1) == []
    version = listed[0].version
    found = sdk_call(url, tmp_path, "search_servers", version=version, limit=100)
    assert [s.name for s in found] == [i.name for i in listed if i.version == version]
    newest = max(i.updated for i in listed)
    assert sdk_call(url, tmp_path, "search_servers", updated_since=f"{newest}T00:00:00Z", limit=100) == []
    found = sdk_call(url, tmp_path, "search_servers", updated_since=f"{min(i.updated for i in listed)}T00:00:00Z", limit=100)
    assert [s.name for s in found] == [i.name for i in listed if i.updated > min(j.updated for j in listed)]


def test_langchain_sdk_lookups(nginx, catalog_lists, tmp_path):
    sdk = pytest.importorskip("langchain_mcp_registry", reason="pip install langchain-mcp-registry")
    item = catalog_lists[""][0]
    assert sdk_call(nginx, tmp_path, "get_server_details", item.name, item.version).version == item.version
    assert [s.name for s in sdk_call(nginx, tmp_path, "get_server_versions", item.name)] == [item.name]
    with pytest.raises(sdk.ServerNotFoundError):
        sdk_call(nginx, tmp_path, "get_server_details", MISSING)
