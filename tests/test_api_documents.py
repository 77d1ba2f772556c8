"""The static JSON documents: our api/v1, the MCP Registry v0.1 mirror and the ToolHive registry files.

Every document of the default build is validated against its schema: ours against
the schemas we publish, the mirror and the ToolHive files against the reference
schemas in ../shared (remote $refs resolved from local copies, never the network).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from api_schemas import LEGACY, MCP_SERVER_SCHEMA, PUBLISHER, UPSTREAM, errors
from catalog_lists import indexed_responses
from conftest import CATALOG_YAML, DEFAULT_SOURCE, FETCH_YAML
from generator.errors import OutputError, SourceInvalid
from generator.render.api import documents as catalog_api
from generator.render.registry import mirror as mcp_registry
from generator.render.registry import toolhive
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

OFFICIAL = "io.modelcontextprotocol.registry/official"
PUBLISHER_KEY = "io.modelcontextprotocol.registry/publisher-provided"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
API_BASES = ["", "registry/production/", "registry/sandbox/"]
REFERENCE_YAML = """\
name: everything-ref
title: Everything (reference)
description: A reference entry known only by its npm package.
version: 2.1.0
category: web
tier: community
transport: stdio
packages:
  - registry_type: npm
    identifier: "@example/everything"
    version: 2.1.0
tools:
  - name: echo
    description: Echo the input.
"""


def load(site: Path, relative: str) -> Any:
    return json.loads((site / relative).read_text(encoding="utf-8"))


def json_files(site: Path, under: str) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in (site / under).rglob("*.json"))


# --- our api/v1 --------------------------------------------------------------------

SCHEMA_OF = {
    "api/v1/index.json": "index",
    "api/v1/servers.json": "servers",
    "api/v1/categories.json": "categories",
    "api/v1/tags.json": "tags",
    "api/v1/tools.json": "tools",
}


def our_schema(site: Path, kind: str) -> Draft202012Validator:
    schema = load(site, f"api/v1/schemas/{kind}.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_every_api_document_validates_against_our_published_schema(default_site: Path) -> None:
    documents = dict(SCHEMA_OF)
    documents.update({path: "server" for path in json_files(default_site, "api/v1/servers")})
    documents.update({path: "registry" for path in json_files(default_site, "api/v1/registries")})
    assert len([k for k in documents.values() if k == "server"]) == 36
    for path, kind in documents.items():
        found = [e.message for e in our_schema(default_site, kind).iter_errors(load(default_site, path))]
        assert found == [], f"{path}: {found[:3]}"


def test_our_schemas_reject_a_broken_document(default_site: Path) -> None:
    summary = load(default_site, "api/v1/servers.json")
    del summary["servers"][0]["registry_name"]
    assert not our_schema(default_site, "servers").is_valid(summary)


def test_index_links_every_document_with_its_sha256(default_site: Path) -> None:
    index = load(default_site, "api/v1/index.json")
    listed = {doc["path"]: doc["sha256"] for doc in index["documents"]}
    for path, digest in listed.items():
        assert hashlib.sha256((default_site / path).read_bytes()).hexdigest() == digest, path
    expected = set(json_files(default_site, "api/v1")) - {"api/v1/index.json"}
    expected |= {"registry.json", "registry-legacy.json", "openapi.yaml", "registry/production/openapi.yaml"}
    expected |= set(json_files(default_site, "v0.1")) | set(json_files(default_site, "registry"))
    assert expected <= set(listed)
    assert index["last_updated"] == "2026-11-20T09:00:00Z"
    assert index["counts"]["servers"] == 36 and index["counts"]["containers"] == 26 and index["counts"]["remotes"] == 10


def test_server_export_carries_everything_needed_to_deploy(default_site: Path) -> None:
    export = load(default_site, "api/v1/servers/github.json")
    assert export["server"]["image"].startswith("ghcr.io/")
    assert export["deploy_image"] == export["server"]["image"]
    assert any(env.get("secret") for env in export["server"]["env"])
    assert export["server"]["tools"][0]["description"]
    assert export["links"]["manifests"] == "bundles/servers/github/kustomization.yaml"
    assert export["registry_name"] == "com.example.mcp/github"
    assert "sandbox" in export["profiles"]


def test_openapi_json_describes_each_document_kind(default_site: Path) -> None:
    openapi = load(default_site, "api/v1/openapi.json")
    assert openapi["openapi"] == "3.1.0"
    refs = {op["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] for op in openapi["paths"].values()}
    for ref in refs:
        assert (default_site / "api/v1" / ref).is_file(), ref
    assert len(refs) == 7


# `production` withholds tools by name: `fetch`'s one tool (so it is not shipped) and `wiper`'s `wipe`;
# `bare` declares none, so it is shipped with every tool it has. `sandbox` withholds by hint: `wipe`
# by its undeclared destructiveHint, and `bare` whole (not shipped: any tool it has may be destructive);
# it lists `pkg`, a reference entry declaring no tools, which runs nothing (not "with every tool").
WITHHOLDING_CATALOG = CATALOG_YAML.replace(
    "    include:\n      tiers: [validated]\n",
    "    include:\n      tiers: [validated]\n    tools:\n      exclude_names: [fetch, wipe]\n",
).replace("    namespace: mcp-sandbox\n", "    namespace: mcp-sandbox\n    tools:\n      exclude_annotations: [destructiveHint]\n")
BARE_YAML = FETCH_YAML[:FETCH_YAML.index("tools:")].replace("name: fetch", "name: bare")
WIPER_YAML = FETCH_YAML.replace("name: fetch", "name: wiper", 1).replace("- name: fetch", "- name: read") + """\
  - name: wipe
    description: Delete everything.
"""


@pytest.fixture
def withholding(write_tree: Callable[..., Path]) -> Any:
    pkg = REFERENCE_YAML[:REFERENCE_YAML.index("tools:")].replace("name: everything-ref", "name: pkg")
    source = write_tree({"fetch.yaml": FETCH_YAML, "bare.yaml": BARE_YAML, "wiper.yaml": WIPER_YAML, "pkg.yaml": pkg},
                        catalog=WITHHOLDING_CATALOG)
    return read_catalog(source).catalog


def registry_validator() -> Draft202012Validator:
    from generator.render.api.document_schemas import document_schema

    schema = document_schema("registry")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_a_profile_document_tells_a_server_it_does_not_ship_from_one_it_ships_with_every_tool(withholding: Any) -> None:
    document = catalog_api.profile_document(withholding, "production")
    assert list(registry_validator().iter_errors(document)) == []
    servers = {server["name"]: server for server in document["servers"]}
    assert servers["fetch"] == {
        "name": "fetch", "kind": "container", "offered": False, "not_offered_because": "every-tool-withheld",
        "every_tool": False, "tools": [],
        "withheld": [{"name": "fetch", "source_name": "fetch", "by_name": True, "hints": [], "defaulted_hints": []}],
    }
    assert servers["bare"] == {"name": "bare", "kind": "container", "offered": True, "every_tool": True, "tools": [], "withheld": []}
    assert servers["wiper"]["offered"] is True and servers["wiper"]["tools"] == ["read"]
    assert servers["wiper"]["withheld"] == [
        {"name": "wipe", "source_name": "wipe", "by_name": True, "hints": [], "defaulted_hints": []}]
    sandbox_document = catalog_api.profile_document(withholding, "sandbox")
    assert list(registry_validator().iter_errors(sandbox_document)) == []
    sandbox = {server["name"]: server for server in sandbox_document["servers"]}
    assert sandbox["bare"] == {"name": "bare", "kind": "container", "offered": False,
                               "not_offered_because": "no-tools-declared", "every_tool": False, "tools": [], "withheld": []}
    assert sandbox["pkg"] == {"name": "pkg", "kind": "reference", "offered": True, "every_tool": False, "tools": [],
                              "withheld": []}
    assert sandbox["wiper"]["withheld"] == [
        {"name": "wipe", "source_name": "wipe", "by_name": False, "hints": ["destructiveHint"], "defaulted_hints": ["destructiveHint"]}]


def test_the_registry_schema_refuses_an_entry_that_hides_whether_the_server_is_shipped(withholding: Any) -> None:
    validator = registry_validator()
    document = catalog_api.profile_document(withholding, "production")
    servers = {server["name"]: server for server in document["servers"]}
    sandbox = {server["name"]: server for server in catalog_api.profile_document(withholding, "sandbox")["servers"]}
    ambiguous = [
        {**servers["fetch"], "withheld": []},  # "every tool withheld", yet none is
        {**sandbox["bare"], "withheld": servers["fetch"]["withheld"]},  # "no tools declared", yet one is withheld
        {**servers["fetch"], "offered": True},  # "shipped" with nothing kept and no every_tool: the old reading
        {key: value for key, value in servers["fetch"].items() if key != "not_offered_because"},
        {**servers["bare"], "every_tool": False},
        {**servers["bare"], "not_offered_because": "no-tools-declared"},
        {**servers["wiper"], "every_tool": True},
        {**sandbox["pkg"], "every_tool": True},  # a reference entry "runs with every tool it has"
        {**sandbox["pkg"], "kind": "container"},  # offered with no tools kept and no every_tool
        {**sandbox["bare"], "kind": "reference"},  # a reference entry is never left out for declaring no tools
    ]
    for entry in ambiguous:
        assert not validator.is_valid({**document, "servers": [entry]}), entry


def test_a_server_export_names_the_profiles_offering_it(withholding: Any) -> None:
    context = RenderContext(withholding)
    exports = {server.name: catalog_api.server_export(context, server, ["production", "sandbox"]) for server in withholding.servers}
    assert (exports["fetch"]["profiles"], exports["fetch"]["offered_in"]) == (["production", "sandbox"], ["sandbox"])
    assert exports["bare"]["offered_in"] == ["production"]
    assert exports["wiper"]["offered_in"] == ["production", "sandbox"]


# --- MCP Registry v0.1 mirror ----------------------------------------------------------


@pytest.mark.parametrize("base", API_BASES)
def test_mirror_lists_are_server_lists_of_valid_server_json(default_site: Path, base: str) -> None:
    listing = load(default_site, f"{base}v0.1/servers/index.json")
    everything = indexed_responses(default_site, base)
    assert [item["server"]["name"] for item in everything] == sorted(item["server"]["name"] for item in everything)
    # The static list is the first page of the official default size, never the whole catalog.
    assert listing["servers"] == everything[:30]
    assert listing["metadata"] == ({"nextCursor": f"{everything[29]['server']['name']}:{everything[29]['server']['version']}",
                                    "count": 30} if len(everything) >= 30 else {"count": len(everything)})
    for item in everything:
        assert errors(MCP_SERVER_SCHEMA, item["server"]) == [], item["server"]["name"]
        assert errors(PUBLISHER, item["server"]["_meta"][PUBLISHER_KEY]) == []
        official = item["_meta"][OFFICIAL]
        assert official["isLatest"] is True and official["status"] in {"active", "deprecated"}
        for stamp in (official["publishedAt"], official["updatedAt"]):
            assert RFC3339.match(stamp), stamp


def test_mirror_has_versions_files_for_every_server(default_site: Path, plain_site: Path) -> None:
    for item in indexed_responses(default_site, ""):
        name, version = item["server"]["name"], item["server"]["version"]
        assert load(default_site, f"v0.1/servers/{name}/versions/{version}/index.json") == item
        # `latest` is the same document again, and the list of versions that document wrapped:
        # files only for plain file servers (test_registry_copies.py).
        assert load(plain_site, f"v0.1/servers/{name}/versions/latest/index.json") == item
        assert load(plain_site, f"v0.1/servers/{name}/versions/index.json") == {"servers": [item], "metadata": {"count": 1}}


def test_profile_mirror_holds_only_the_profile_servers_and_kept_tools(default_site: Path) -> None:
    production = indexed_responses(default_site, "registry/production/")
    names = {item["server"]["name"].split("/")[1] for item in production}
    profile = load(default_site, "api/v1/registries/production.json")
    assert names == {s["name"] for s in profile["servers"] if s["offered"]}
    everything = {i["server"]["name"] for i in indexed_responses(default_site, "")}
    assert len(names) < len(everything)
    for item in production:
        for block in item["server"]["_meta"][PUBLISHER_KEY]["io.github.stacklok"].values():
            assert block["tier"] == "Official"
            assert not any(t.get("annotations", {}).get("destructiveHint") for t in block["tool_definitions"])


@pytest.mark.parametrize("base", API_BASES)
def test_each_base_serves_an_openapi_the_registry_server_accepts(default_site: Path, base: str) -> None:
    import yaml

    document = yaml.safe_load((default_site / f"{base}openapi.yaml").read_text(encoding="utf-8"))
    assert document["info"]["version"] == "1.0.0"
    assert "https://github.com/modelcontextprotocol/registry" in document["info"]["description"]
    assert set(document["paths"]) == {
        "/v0.1/servers", "/v0.1/servers/{serverName}/versions", "/v0.1/servers/{serverName}/versions/{version}"
    }


# --- ToolHive registry files ----------------------------------------------------------


@pytest.mark.parametrize("path", ["registry.json", "registries/production/registry.json", "registries/sandbox/registry.json"])
def test_registry_json_is_what_thv_accepts(default_site: Path, path: str) -> None:
    document = load(default_site, path)
    assert errors(UPSTREAM, document) == []
    # thv treats any of these top-level keys as the legacy format and refuses the file.
    assert not {"servers", "remote_servers", "groups"} & set(document)
    servers = document["data"]["servers"]
    assert servers
    for server in servers:
        oci = [p for p in server.get("packages", []) if p["registryType"] == "oci"]
        assert server.get("remotes") or len(oci) == 1, server["name"]
        stacklok = server["_meta"][PUBLISHER_KEY]["io.github.stacklok"]
        key, block = next(iter(stacklok.items()))
        assert key in {p["identifier"] for p in oci} | {r["url"] for r in server.get("remotes", [])}
        assert block["tier"] in {"Official", "Community"} and block["tools"]


def test_registry_tiers_map_validated_to_official(default_site: Path) -> None:
    catalog = {s["name"]: s for s in load(default_site, "api/v1/servers.json")["servers"]}
    for server in load(default_site, "registry.json")["data"]["servers"]:
        block = next(iter(server["_meta"][PUBLISHER_KEY]["io.github.stacklok"].values()))
        tier = catalog[server["name"].split("/")[1]]["tier"]
        assert block["tier"] == {"validated": "Official", "community": "Community"}[tier]


@pytest.mark.parametrize("path", ["registry-legacy.json", "registries/production/registry-legacy.json"])
def test_legacy_registry_validates(default_site: Path, path: str) -> None:
    document = load(default_site, path)
    assert errors(LEGACY, document) == []
    assert document["servers"] and document["remote_servers"]


def test_reference_schemas_catch_a_broken_registry(default_site: Path) -> None:
    document = load(default_site, "registry.json")
    document["data"]["servers"][0]["description"] = "x" * 101
    assert any("too long" in line for line in errors(UPSTREAM, document))


def test_public_registry_functions_match_the_files(default_site: Path) -> None:
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    context = RenderContext(catalog)
    assert toolhive.upstream_registry(context, catalog.servers) == load(default_site, "registry.json")
    assert toolhive.legacy_registry(context, catalog.servers) == load(default_site, "registry-legacy.json")
    production = catalog.meta.registries[0]
    admitted = [server for server in catalog.servers if server.name in {"github", "fetch"}]
    files = load(default_site, "registries/production/registry.json"), load(default_site, "registries/production/registry-legacy.json")
    assert toolhive.upstream_registry(context, admitted, production)["data"]["servers"] == [
        entry for entry in files[0]["data"]["servers"] if entry["name"].rsplit("/", 1)[1] in {"github", "fetch"}]
    assert toolhive.legacy_registry(context, admitted, production)["servers"] == {
        name: entry for name, entry in files[1]["servers"].items() if name in {"github", "fetch"}}


def test_a_value_a_profile_requires_is_the_default_in_its_registries(default_site: Path) -> None:
    """github.yaml requires GITHUB_READ_ONLY=1 in production: every registry of that profile gives it
    as the variable's default (ToolHive's two formats, the MCP mirror); the catalog's and the sandbox's give none."""
    def read_only(entry: dict[str, Any], key: str) -> dict[str, Any]:
        found = [item for item in entry[key] if item["name"] == "GITHUB_READ_ONLY"]
        assert len(found) == 1
        return found[0]

    def registries(profile: str) -> list[dict[str, Any]]:
        prefix = f"registries/{profile}/" if profile else ""
        base = f"registry/{profile}/" if profile else ""
        upstream = next(s for s in load(default_site, f"{prefix}registry.json")["data"]["servers"] if s["name"].endswith("/github"))
        mirrored = next(i["server"] for i in indexed_responses(default_site, base) if i["server"]["name"].endswith("/github"))
        legacy = load(default_site, f"{prefix}registry-legacy.json")["servers"]["github"]
        return [read_only(upstream["packages"][0], "environmentVariables"),
                read_only(mirrored["packages"][0], "environmentVariables"), read_only(legacy, "env_vars")]

    assert all(variable.get("default") == "1" for variable in registries("production"))
    assert not any("default" in variable for variable in registries("") + registries("sandbox"))


# --- small catalogs: reference entries, hostile text, determinism ----------------------


@pytest.fixture
def small_site(write_tree: Callable[..., Path], tmp_path: Path) -> Path:
    hostile = FETCH_YAML.replace("title: Fetch", "title: \"<script>alert(1)</script>\"")
    source = write_tree({"fetch.yaml": hostile, "everything-ref.yaml": REFERENCE_YAML})
    out = tmp_path / "site"
    catalog = read_catalog(source).catalog
    context = RenderContext(catalog)
    # Only this renderers: the small site must not depend on the HTML templates.
    from generator.output import OutputTree
    from generator.render.api import catalog_json

    with OutputTree(out) as tree:
        for render in (catalog_json.render, catalog_api.render, mcp_registry.render, toolhive.render):
            for item in render(context):
                tree.write(item)
        for item in catalog_api.render_index(context, dict(tree.written)):
            tree.write(item)
    return out


def test_reference_entries_stay_out_of_toolhive_files(small_site: Path) -> None:
    registry = load(small_site, "registry.json")
    assert [s["name"] for s in registry["data"]["servers"]] == ["com.example.test/fetch"]
    assert "everything-ref" not in load(small_site, "registry-legacy.json")["servers"]
    mirrored = load(small_site, "v0.1/servers/com.example.test/everything-ref/versions/2.1.0/index.json")["server"]
    assert mirrored["packages"] == [
        {"registryType": "npm", "identifier": "@example/everything", "transport": {"type": "stdio"}, "version": "2.1.0"}
    ]
    assert errors(MCP_SERVER_SCHEMA, mirrored) == []
    assert load(small_site, "api/v1/servers/everything-ref.json")["kind"] == "reference"


def test_hostile_text_is_escaped_in_the_browse_page(small_site: Path) -> None:
    page = (small_site / "api/v1/index.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert load(small_site, "api/v1/servers/fetch.json")["server"]["title"] == "<script>alert(1)</script>"


def test_the_api_pages_of_links_stay_small_and_link_every_document(large_site: Path) -> None:
    """api/v1/index.html links to the catalog's documents and the first servers'; its pages link to the
    rest (one page of every link was 3.3 MB at 10,000 servers). Following the pages' links from the first
    reaches every document index.json lists, each server's on one page, and nothing else."""
    site = large_site.resolve()
    published = {"api/v1/index.json"} | {doc["path"] for doc in load(site, "api/v1/index.json")["documents"]}
    linked: list[str] = []
    pages: list[Path] = []
    waiting = [site / "api/v1/index.html"]
    while waiting:
        page = waiting.pop()
        if page in pages:
            continue
        pages.append(page)
        assert page.stat().st_size < 150_000, page
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            target = (page.parent / href).resolve()
            if target.suffix == ".html":
                waiting.append(target)
            else:
                linked.append(target.relative_to(site).as_posix())
    assert sorted(linked) == sorted(published)
    from generator.render.api.browse import SERVERS_PER_PAGE

    assert len(pages) == -(-1000 // SERVERS_PER_PAGE)
    assert all(page.parent == site / "api/v1" or page.parent.parent == site / "api/v1/page" for page in pages)


def test_digest_pins_the_oci_identifier_and_mirror_rewrites_it(write_tree: Callable[..., Path]) -> None:
    catalog = read_catalog(write_tree({"fetch.yaml": FETCH_YAML})).catalog
    context = RenderContext(catalog, image_mirror="mirror.corp/mcp")
    server = toolhive.upstream_registry(context, catalog.servers)["data"]["servers"][0]
    identifier = server["packages"][0]["identifier"]
    assert identifier == "mirror.corp/mcp/stackloklabs/gofetch/server:1.0.3@sha256:" + "0" * 63 + "1"
    assert list(server["_meta"][PUBLISHER_KEY]["io.github.stacklok"]) == [identifier]
    legacy = toolhive.legacy_registry(context, catalog.servers)["servers"]["fetch"]
    assert legacy["image"] == "mirror.corp/mcp/stackloklabs/gofetch/server:1.0.3"


def test_a_dot_segment_registry_name_is_refused(write_tree: Callable[..., Path]) -> None:
    climbing = FETCH_YAML + "registry_name: com.example/..\n"
    source = write_tree({"fetch.yaml": climbing})
    with pytest.raises(SourceInvalid, match="validation failed"):
        read_catalog(source)
    # The renderer keeps its own check, for catalogs built in code rather than read from files.
    (source / "servers" / "fetch.yaml").write_text(FETCH_YAML)
    catalog = read_catalog(source).catalog
    fetch = catalog.servers[0].model_copy(update={"registry_name": "com.example/.."})
    with pytest.raises(OutputError, match="cannot be served as files"):
        list(mcp_registry.render(RenderContext(catalog.model_copy(update={"servers": (fetch,)}))))


def test_two_renders_give_identical_bytes(write_tree: Callable[..., Path]) -> None:
    catalog = read_catalog(write_tree()).catalog
    first = [(f.path, f.content) for r in (catalog_api.render, mcp_registry.render, toolhive.render) for f in r(RenderContext(catalog))]
    second = [(f.path, f.content) for r in (catalog_api.render, mcp_registry.render, toolhive.render) for f in r(RenderContext(catalog))]
    assert first == second
    assert all(content.endswith(b"\n") for path, content in first if path.endswith(".json"))


def test_default_build_matches_an_in_memory_render(default_site: Path) -> None:
    context = RenderContext(read_catalog(DEFAULT_SOURCE).catalog)
    for render in (catalog_api.render, mcp_registry.render, toolhive.render):
        for item in render(context):
            assert (default_site / item.path).read_bytes() == item.content, item.path



def test_the_index_is_written_as_json_would_indent_it(small_site: Path) -> None:
    from generator.render.encoding import json_bytes

    written = (small_site / "api/v1/index.json").read_bytes()
    index = json.loads(written)
    assert len(index["documents"]) > 10
    assert written == json_bytes(index, pretty=True)
    odd = {**index, "documents": [{"path": "api/v1/ünïcode \"quoted\".json", "sha256": "ab", "bytes": 0}]}
    assert catalog_api.index_bytes(odd) == json_bytes(odd, pretty=True)
    assert catalog_api.index_bytes({**index, "documents": []}) == json_bytes({**index, "documents": []}, pretty=True)


@pytest.mark.parametrize("members", [[], [{"a": 1}], [{"a": 1}, [2, "x"], "\u2028 </script>", None]])
def test_a_spliced_document_is_the_bytes_of_encoding_the_whole(members: list[object]) -> None:
    """Registry documents and lists are spliced from encoded members taken one at a time."""
    from generator.render.encoding import json_bytes, json_piece, spliced

    whole = json_bytes({"head": True, "servers": members, "count": len(members)})
    made = spliced(b'{"head":true,"servers":[', (json_piece(m) for m in members), b'],"count":%d}\n' % len(members))
    assert made == whole
    assert spliced(b"[", iter(()), b",", [b"1"], b"]") == b"[,1]"  # empty and one-member runs get no commas
