"""`mcp-catalog import` as a user meets it: formats, rejections, bad input, --update, catalog.yaml."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import DEFAULT_SOURCE
from generator.build import build
from generator.cli import main
from generator.errors import SourceInvalid
from generator.paths import CATALOG_JSON, TOOLHIVE_LEGACY_REGISTRY
from generator.source.validate import read_catalog

DIGEST = "sha256:" + "ab" * 32
LONG = (
    "Searches the weather archive of every station on the planet and returns forecasts, alerts and "
    "history as tables.\n\nSecond paragraph with details."
)


def _toolhive_block(key: str, tools: list[str]) -> dict[str, Any]:
    """ToolHive's publisher extension: the only place a server.json carries tool names."""
    block = {"status": "Active", "tier": "Official", "tools": tools, "tags": ["Weather_Data"]}
    return {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {key: block}}}


def _server_json(style: str) -> list[dict[str, Any]]:
    """Three servers (OCI, remote with headers, npm-only) in the current or the pre-2025-09 schema."""
    camel = style == "camel"

    def k(name: str) -> str:
        return name if camel else {"registryType": "registry_type", "environmentVariables": "environment_variables",
                                   "isRequired": "is_required", "isSecret": "is_secret",
                                   "registryBaseUrl": "registry_base_url"}[name]

    return [
        {
            "name": "io.github.acme/weather",
            "description": LONG,
            "title": "Weather",
            "version": "2.1.0",
            "repository": {"url": "https://github.com/acme/weather", "source": "github"},
            "packages": [{
                k("registryType"): "oci",
                "identifier": f"ghcr.io/acme/weather:2.1.0@{DIGEST}",
                "transport": {"type": "streamable-http", "url": "http://localhost:9000/mcp"},
                k("environmentVariables"): [
                    {"name": "WEATHER_TOKEN", "description": "API token", k("isRequired"): True, k("isSecret"): True},
                    {"name": "UNITS", "default": "metric"},
                ],
            }],
            "_meta": _toolhive_block(f"ghcr.io/acme/weather:2.1.0@{DIGEST}", ["forecast"]),
        },
        {
            "name": "com.example/hosted-docs",
            "description": "Searches the vendor's hosted documentation.",
            "version": "1.0.0",
            "remotes": [{"type": "sse", "url": "https://docs.example.com/sse",
                         "headers": [{"name": "X-Api-Key", "description": "Key", k("isRequired"): True, k("isSecret"): True}]}],
            "_meta": _toolhive_block("https://docs.example.com/sse", ["search_docs"]),
        },
        {
            "name": "io.github.acme/notes-js",
            "description": "Keeps notes in a local SQLite file.",
            "version": "0.4.0",
            "packages": [{k("registryType"): "npm", "identifier": "@acme/notes-mcp", "version": "0.4.0",
                          "transport": {"type": "stdio"}}],
        },
    ]


def _import(runner, tmp_path: Path, payload: Any, *extra: str, name: str = "input.json", into: Path | None = None):
    source = tmp_path / name
    source.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    target = into or tmp_path / "src"
    return runner.invoke(main, ["import", str(source), "--into", str(target), *extra]), target


def _server(target: Path, name: str) -> dict[str, Any]:
    text = (target / "servers" / f"{name}.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/server.schema.json\n")
    return yaml.safe_load(text)


@pytest.mark.parametrize("style", ["camel", "snake"])
@pytest.mark.parametrize("shape", ["single", "array", "list-response"])
def test_official_server_json_in_every_shape_and_schema(runner, tmp_path, style, shape):
    servers = _server_json(style)
    payload: Any = {
        "single": servers[0],
        "array": servers,
        "list-response": {"servers": [{"server": s, "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": "2026-03-01T10:00:00Z", "updatedAt": "2026-04-02T10:00:00Z"}}}
            for s in servers], "metadata": {"count": 3}},
    }[shape]
    result, target = _import(runner, tmp_path, payload)
    assert result.exit_code == 0, result.output
    read_catalog(target)
    weather = _server(target, "weather")
    assert weather["image"] == "ghcr.io/acme/weather:2.1.0" and weather["digest"] == DIGEST
    assert weather["transport"] == "streamable-http" and weather["port"] == 9000
    assert weather["env"] == [{"name": "WEATHER_TOKEN", "description": "API token", "required": True, "secret": True},
                              {"name": "UNITS", "default": "metric"}]
    assert weather["tools"] == [{"name": "forecast", "description": "Not described upstream."}]
    assert weather["tags"] == ["weather-data"] and weather["tier"] == "community"
    assert len(weather["description"]) <= 100 and weather["description"].endswith("…")
    assert (target / "servers" / "weather.md").read_text() == LONG + "\n"
    assert "warning: weather: description shortened" in result.output
    if shape == "list-response":
        assert str(weather["updated"]) == "2026-04-02"
    if shape != "single":
        docs = _server(target, "hosted-docs")
        assert docs["remote"] == {"url": "https://docs.example.com/sse",
                                  "headers": [{"name": "X-Api-Key", "description": "Key", "required": True, "secret": True}]}
        assert docs["transport"] == "sse"
        notes = _server(target, "notes-js")
        assert notes["packages"] == [{"registry_type": "npm", "identifier": "@acme/notes-mcp", "version": "0.4.0"}]
        assert "image" not in notes and "remote" not in notes


@pytest.mark.parametrize("style", ["camel", "snake"])
def test_an_oci_package_keeps_the_registry_its_base_url_names(runner, tmp_path, style):
    """The 2025-09/10 schemas split an image into registryBaseUrl and identifier: `acme/kb` alone is
    Docker Hub's docker.io/acme/kb, another image than ghcr.io's (the import wrote that one)."""
    base = "registryBaseUrl" if style == "camel" else "registry_base_url"
    kind = "registryType" if style == "camel" else "registry_type"
    entries = [
        {"name": "io.github.acme/kb", "description": "Searches the knowledge base.", "version": "3.1.4",
         "packages": [{kind: "oci", base: "https://ghcr.io", "identifier": "acme/kb-mcp", "version": "3.1.4"}]},
        {"name": "io.github.acme/named", "description": "Names its registry itself.", "version": "1.0.0",
         "packages": [{kind: "oci", base: "https://docker.io", "identifier": "quay.io/acme/named:1.0.0"}]},
        {"name": "io.github.acme/odd", "description": "A base URL naming no registry.", "version": "1.0.0",
         "packages": [{kind: "oci", base: "file:///srv/images", "identifier": "acme/odd", "version": "1.0.0"}]},
        {"name": "io.github.acme/pathed", "description": "A base URL with a path.", "version": "1.0.0",
         "packages": [{kind: "oci", base: "https://quay.io/acme", "identifier": "pathed", "version": "1.0.0"}]},
    ]
    result, target = _import(runner, tmp_path, entries)
    assert result.exit_code == 0, result.output
    assert _server(target, "kb")["image"] == "ghcr.io/acme/kb-mcp:3.1.4"
    assert _server(target, "named")["image"] == "quay.io/acme/named:1.0.0"
    assert ("input.json: [2]: odd: has OCI registryBaseUrl 'file:///srv/images', "
            "which names no registry host alone") in result.output
    assert ("input.json: [3]: pathed: has OCI registryBaseUrl 'https://quay.io/acme', "
            "which names no registry host alone") in result.output
    assert "image 'quay.io/acme/named:1.0.0' names registry 'quay.io', its registryBaseUrl 'docker.io'" in result.output
    read_catalog(target)


def test_reference_entries_are_listed_but_not_in_toolhive_files(runner, tmp_path):
    result, target = _import(runner, tmp_path, _server_json("camel"))
    assert result.exit_code == 0, result.output
    build(target, tmp_path / "site")
    ours = {s["name"]: s for s in json.loads((tmp_path / "site" / CATALOG_JSON).read_text())["servers"]}
    assert sorted(ours) == ["hosted-docs", "notes-js", "weather"]
    legacy_file = tmp_path / "site" / TOOLHIVE_LEGACY_REGISTRY
    if not legacy_file.is_file():
        pytest.skip("generator/render/registry/toolhive.py writes no registry-legacy.json yet")
    legacy = json.loads(legacy_file.read_text())
    assert sorted(legacy["servers"]) == ["weather"] and sorted(legacy["remote_servers"]) == ["hosted-docs"]
    # The legacy schema has no room for a digest: the renderer gives the tag reference.
    assert legacy["servers"]["weather"]["image"] == "ghcr.io/acme/weather:2.1.0"
    assert [e["name"] for e in legacy["servers"]["weather"]["env_vars"]] == ["WEATHER_TOKEN", "UNITS"]
    assert legacy["servers"]["weather"]["tools"] == ["forecast"] and legacy["servers"]["weather"]["transport"] == "streamable-http"
    assert legacy["remote_servers"]["hosted-docs"]["url"] == "https://docs.example.com/sse"


def _docker_folder(root: Path) -> Path:
    servers = root / "servers"
    (servers / "fetchy").mkdir(parents=True)
    (servers / "fetchy" / "server.yaml").write_text(textwrap.dedent("""\
        name: fetchy
        image: mcp/fetchy
        type: server
        meta:
          category: web
          tags: [web, Fetch_Tools]
        about:
          title: Fetchy
          description: Fetches a URL and returns Markdown.
        source:
          project: https://github.com/acme/fetchy
        config:
          secrets:
            - name: fetchy.token
              env: FETCHY_TOKEN
              example: <TOKEN>
          env:
            - name: LOG_LEVEL
              example: info
        run:
          command: [--verbose]
          disableNetwork: true
        """))
    (servers / "fetchy" / "tools.json").write_text(json.dumps([
        {"name": "fetch", "description": "Fetch one URL.", "arguments": [{"name": "url", "type": "string", "desc": "The URL"}],
         "annotations": {"readOnlyHint": True}},
    ]))
    (servers / "fetchy" / "readme.md").write_text("## Fetchy\n\nLonger words.\n")
    (servers / "saas").mkdir()
    (servers / "saas" / "server.yaml").write_text(textwrap.dedent("""\
        name: saas
        type: remote
        about:
          title: SaaS thing
          description: A hosted service.
        remote:
          transport_type: streamable-http
          url: https://saas.example.com/mcp
          headers:
            Authorization: "Bearer ${SAAS_TOKEN}"
        """))
    return servers


def test_docker_registry_folder(runner, tmp_path):
    servers = _docker_folder(tmp_path)
    result = runner.invoke(main, ["import", str(servers), "--into", str(tmp_path / "src")])
    assert result.exit_code == 0, result.output
    # Neither entry has a version (an untagged image, a remote): the importer asks for one.
    assert result.output.count("no version upstream: `version` is FILL-IN, put the real version there") == 2
    with pytest.raises(SourceInvalid) as refused:
        read_catalog(tmp_path / "src")
    assert [(Path(d.path).name, d.line, d.field, d.message) for d in refused.value.diagnostics] == [
        ("fetchy.yaml", 5, "version", "placeholder not filled in"), ("saas.yaml", 5, "version", "placeholder not filled in")]
    fetchy = _server(tmp_path / "src", "fetchy")
    assert fetchy["image"] == "mcp/fetchy" and fetchy["transport"] == "stdio" and fetchy["version"] == "FILL-IN"
    assert fetchy["tags"] == ["web", "fetch-tools"] and fetchy["args"] == ["--verbose"]
    assert fetchy["env"] == [{"name": "FETCHY_TOKEN", "description": "Secret fetchy.token", "required": True, "secret": True},
                             {"name": "LOG_LEVEL"}]
    assert fetchy["permissions"] == {"network": {}}
    assert fetchy["tools"] == [{"name": "fetch", "description": "Fetch one URL.", "annotations": {"readOnlyHint": True},
                                "input_schema": {"type": "object", "properties": {"url": {"type": "string", "description": "The URL"}}}}]
    assert (tmp_path / "src" / "servers" / "fetchy.md").read_text() == "## Fetchy\n\nLonger words.\n"
    saas = _server(tmp_path / "src", "saas")
    assert saas["remote"] == {"url": "https://saas.example.com/mcp",
                              "headers": [{"name": "Authorization", "required": True, "secret": True}]}


def test_one_docker_server_folder_and_its_server_yaml(runner, tmp_path):
    servers = _docker_folder(tmp_path)
    for index, path in enumerate([servers / "fetchy", servers / "fetchy" / "server.yaml"]):
        target = tmp_path / f"src{index}"
        result = runner.invoke(main, ["import", str(path), "--into", str(target)])
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in (target / "servers").iterdir()) == ["fetchy.md", "fetchy.yaml"]


LEGACY_WITH_PROBLEMS = {
    "servers": {
        "good": {"description": "Works.", "transport": "stdio", "image": "ghcr.io/acme/good:1.0", "tools": ["a"]},
        "empty": {"description": "  ", "transport": "stdio", "image": "ghcr.io/acme/empty:1.0"},
        "odd-transport": {"description": "Odd.", "transport": "carrier-pigeon", "image": "ghcr.io/acme/odd:1.0"},
        "bad-image": {"description": "Bad.", "transport": "stdio", "image": "Not An Image"},
        "Bad Name!": {"description": "Hostile <script>alert(1)</script> name: yes", "transport": "stdio",
                      "image": "ghcr.io/acme/x:1.0", "env_vars": [{"name": "$(rm -rf)"}]},
        "../../evil": {"description": "Climbs.", "transport": "stdio", "image": "ghcr.io/acme/evil:1.0", "tools": ["a"]},
    },
    "remote_servers": {"no-url": {"description": "No URL.", "transport": "sse", "url": "ftp://x"}},
}


def test_rejected_entries_are_reported_with_position_and_reason(runner, tmp_path):
    result, target = _import(runner, tmp_path, LEGACY_WITH_PROBLEMS, name="registry.json")
    assert result.exit_code == 0, result.output
    source = tmp_path / "registry.json"
    assert f'rejected {source}: servers["empty"]: empty: has no description' in result.output
    assert f'rejected {source}: servers["odd-transport"]: odd-transport: has transport \'carrier-pigeon\'' in result.output
    assert f'rejected {source}: servers["bad-image"]: bad-image: has image \'Not An Image\'' in result.output
    assert f'rejected {source}: remote_servers["no-url"]: no-url: is a remote server without an http(s) `url`' in result.output
    assert result.output.strip().endswith("3 imported, 0 updated, 0 unchanged, 0 skipped, 4 rejected")
    assert sorted(p.name for p in (target / "servers").iterdir()) == ["bad-name.yaml", "evil.yaml", "good.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json", "src"]
    hostile = _server(target, "bad-name")
    assert hostile["description"] == "Hostile <script>alert(1)</script> name: yes" and "env" not in hostile
    assert "environment variable '$(rm -rf)' dropped" in result.output
    read_catalog(target)


def test_deleted_upstream_is_rejected_and_tier_option_applies(runner, tmp_path):
    servers = _server_json("camel")
    page = {"servers": [{"server": s, "_meta": {"io.modelcontextprotocol.registry/official": {"status": status}}}
                        for s, status in zip(servers, ["active", "deleted", "deprecated"])], "metadata": {}}
    result, target = _import(runner, tmp_path, page, "--tier", "validated", "--format", "mcp-registry", name="page.json")
    assert result.exit_code == 0, result.output
    assert f"rejected {tmp_path / 'page.json'}: servers[1]: hosted-docs: is marked deleted upstream" in result.output
    assert _server(target, "weather")["tier"] == "validated"
    assert _server(target, "notes-js")["status"] == "deprecated"


def test_everything_rejected_exits_1(runner, tmp_path):
    result, target = _import(runner, tmp_path, {"servers": {"x": {"description": "", "transport": "stdio"}}})
    assert result.exit_code == 1, result.output
    assert "0 imported" in result.output and "1 rejected" in result.output
    assert not (target / "servers").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cut.json", '{"servers": {"a": {"description": "x",', "not valid JSON: line 1, column 39: Expecting property name enclosed in double quotes (the file looks truncated)"),
        ("page.html", "<html>\n  <body>: [\n</html>", "not valid JSON or YAML: line 2:"),
        ("shape.json", "[1, 2, 3]", "not a registry file this command knows: expected a ToolHive registry"),
        ("other.json", '{"version": "1", "items": []}', "not a registry file this command knows"),
        ("empty.json", "  \n", "file is empty"),
    ],
)
def test_malformed_input_is_a_clear_message_and_exit_1(runner, tmp_path, name, content, message):
    result, target = _import(runner, tmp_path, content, name=name)
    assert result.exit_code == 1, result.output
    assert f"Error: {tmp_path / name}: {message}" in result.output
    assert "nothing imported: 1 input(s) could not be read" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (KeyError, TypeError, ValueError))
    assert not target.exists()


def test_missing_file_and_wrong_format_option(runner, tmp_path):
    result = runner.invoke(main, ["import", str(tmp_path / "nope.json"), "--into", str(tmp_path / "src")])
    assert result.exit_code == 1 and f"{tmp_path / 'nope.json'}: no such file" in result.output
    result, _ = _import(runner, tmp_path, LEGACY_WITH_PROBLEMS, "--format", "toolhive")
    assert result.exit_code == 1 and "does not have the shape of a toolhive file" in result.output


def test_into_a_non_empty_folder_without_catalog_yaml_is_refused(runner, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.txt").write_text("mine")
    result, _ = _import(runner, tmp_path, _server_json("camel"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'src'} has no catalog.yaml: import into an empty folder" in result.output


def test_import_into_existing_catalog_adds_category_and_keeps_comments(runner, tmp_path):
    import shutil

    target = tmp_path / "catalog-source"
    shutil.copytree(DEFAULT_SOURCE, target)
    before = (target / "catalog.yaml").read_text()
    result, _ = _import(runner, tmp_path, _server_json("camel"), "--category", "weather-data", into=target)
    assert result.exit_code == 0, result.output
    assert "added category 'weather-data' to catalog.yaml" in result.output
    after = (target / "catalog.yaml").read_text()
    assert after.replace("  - slug: weather-data\n    title: Weather data\n", "") == before
    catalog = read_catalog(target).catalog
    assert catalog.server("weather").category == "weather-data"
    result, _ = _import(runner, tmp_path, _server_json("camel"), "--category", "weather-data", into=target)
    assert (target / "catalog.yaml").read_text() == after
    assert "0 imported, 0 updated, 0 unchanged, 3 skipped" in result.output


def test_update_merges_upstream_facts_and_keeps_curated_fields(runner, tmp_path):
    servers = _server_json("camel")
    result, target = _import(runner, tmp_path, servers)
    assert result.exit_code == 0, result.output
    path = target / "servers" / "weather.yaml"
    curated = yaml.safe_load(path.read_text())
    curated.update(tier="validated", description="Our words.", tags=["weather"])
    curated["tools"] = [{"name": "forecast", "description": "Our forecast text.", "override": {"name": "wx_forecast"}}]
    path.write_text(yaml.safe_dump(curated, sort_keys=False))
    servers[0]["packages"][0]["identifier"] = "ghcr.io/acme/weather:2.2.0"
    servers[0]["version"] = "2.2.0"
    servers[0]["_meta"] = {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {
        "ghcr.io/acme/weather:2.2.0": {"status": "Active", "tools": ["forecast", "alerts"]}}}}
    edited = path.read_text()

    result, _ = _import(runner, tmp_path, servers, "--update", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would update weather: {path}: digest, image, tools, version" in result.output
    assert path.read_text() == edited

    result, _ = _import(runner, tmp_path, servers, "--update")
    assert result.exit_code == 0, result.output
    merged = _server(target, "weather")
    assert merged["image"] == "ghcr.io/acme/weather:2.2.0" and "digest" not in merged and merged["version"] == "2.2.0"
    assert merged["tier"] == "validated" and merged["description"] == "Our words." and merged["category"] == "imported"
    assert merged["tools"] == [
        {"name": "forecast", "description": "Our forecast text.", "override": {"name": "wx_forecast"}},
        {"name": "alerts", "description": "Not described upstream."},
    ]
    result, _ = _import(runner, tmp_path, servers, "--update")
    assert "0 imported, 0 updated, 3 unchanged" in result.output
    read_catalog(target)


def test_update_keeps_what_the_curator_added_where_upstream_says_nothing(runner, tmp_path):
    """A server.json cannot carry egress, args, tools or a pin, and this one lists no variables:
    --update dropped the curator's (the whole `env` block too)."""
    entry = {"name": "io.github.acme/geo", "description": "Geocoding.", "version": "1.0.0",
             "packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/geo:1.0.0", "transport": {"type": "stdio"}}]}
    result, target = _import(runner, tmp_path, entry)
    assert result.exit_code == 0, result.output
    path = target / "servers" / "geo.yaml"
    added = {
        "digest": "sha256:" + "1" * 64, "args": ["--read-only"],
        "permissions": {"network": {"outbound": {"allow_host": ["geo.acme.example", "tiles.acme.example"], "allow_port": [443]}}},
        "tools": [{"name": "geocode", "description": "Finds a place.", "annotations": {"readOnlyHint": True}}],
        "provenance": {"repository_uri": "https://github.com/acme/geo"},
        "env": [{"name": "GEO_TOKEN", "description": "API token.", "required": True, "secret": True},
                {"name": "GEO_REGION", "default": "eu"}],
    }
    path.write_text(path.read_text() + yaml.safe_dump(added, sort_keys=False))
    curated = _server(target, "geo")

    result, _ = _import(runner, tmp_path, {**entry, "description": "Geocoding, both ways."}, "--update")
    assert result.exit_code == 0, result.output
    assert f"unchanged geo: {path}" in result.output
    assert _server(target, "geo") == curated

    entry["version"], entry["packages"][0]["identifier"] = "1.1.0", "ghcr.io/acme/geo:1.1.0"
    result, _ = _import(runner, tmp_path, entry, "--update")
    assert f"updated geo: {path}: digest, image, provenance, version" in result.output
    kept = {key: value for key, value in curated.items() if key not in ("digest", "provenance")}  # the old image's
    assert _server(target, "geo") == {**kept, "version": "1.1.0", "image": "ghcr.io/acme/geo:1.1.0"}
    read_catalog(target)


def test_only_and_colliding_names(runner, tmp_path):
    servers = _server_json("camel")
    twin = {**servers[2], "name": "io.github.zeta/weather", "description": "Another weather server."}
    for order, payload in enumerate([[twin, *servers], [*servers, twin]]):
        result, target = _import(runner, tmp_path, payload, into=tmp_path / f"src{order}")
        assert result.exit_code == 0, result.output
        assert _server(target, "weather")["image"] == "ghcr.io/acme/weather:2.1.0"
        assert _server(target, "weather-2")["description"] == "Another weather server."
        assert """  warning: weather-2: upstream name "weather" is another entry's too: named 'weather-2'""" in result.output
    result, target = _import(runner, tmp_path, servers, "--only", "hosted-docs", "--only", "nothing-here", into=tmp_path / "only")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (target / "servers").iterdir()) == ["hosted-docs.yaml"]
    assert "--only nothing-here: no such server in the input" in result.output


def test_a_name_made_into_a_label_is_reported_and_a_look_alike_never_updates_a_curated_server(runner, tmp_path):
    """A fullwidth "ｆｅｔｃｈ" folds to "fetch": with --update it replaced the curated fetch's image and egress."""
    curated = {"servers": {"fetch": {"description": "Fetches pages.", "transport": "stdio", "image": "ghcr.io/acme/fetch:1.0.0",
                                     "permissions": {"network": {"outbound": {"allow_host": ["example.com"]}}}}}}
    result, target = _import(runner, tmp_path, curated, name="registry.json")
    assert result.exit_code == 0, result.output
    before = (target / "servers" / "fetch.yaml").read_text()
    hostile = {"servers": {
        "\uff46\uff45\uff54\uff43\uff48": {"description": "Fetches pages.", "transport": "stdio", "image": "docker.io/evil/fetch:6.6.6"},
        "f\u0435tch": {"description": "Fetches pages.", "transport": "stdio", "image": "docker.io/evil/fetch:6.6.6"},
        "My Server": {"description": "Spaces in its name.", "transport": "stdio", "image": "ghcr.io/acme/my:1.0.0"},
    }}
    result, _ = _import(runner, tmp_path, hostile, "--update", name="registry.json", into=target)
    assert result.exit_code == 0, result.output
    assert (target / "servers" / "fetch.yaml").read_text() == before
    lines = result.output.splitlines()
    assert (f'rejected {tmp_path}/registry.json: servers["\\uff46\\uff45\\uff54\\uff43\\uff48"]: fetch: upstream name '
            '"\\uff46\\uff45\\uff54\\uff43\\uff48" is written with characters outside ASCII and only looks like '
            f"'fetch': not merged into {target}/servers/fetch.yaml (a look-alike never replaces a curated server)") in lines
    assert '  warning: ftch: upstream name "f\\u0435tch" is not a file name: named \'ftch\'' in lines
    assert '  warning: my-server: upstream name "My Server" is not a file name: named \'my-server\'' in lines


@pytest.mark.parametrize("fmt", ["toolhive-legacy", "mcp-registry", "docker"])
def test_a_repository_that_is_not_an_http_url_is_dropped_with_a_warning(runner, tmp_path, fmt):
    hostile = "javascript:alert(document.cookie)"
    if fmt == "toolhive-legacy":
        payload, name = {"servers": {"db": {"description": "A database.", "transport": "stdio",
                                            "image": "ghcr.io/acme/db:1.0.0", "repository_url": hostile}}}, "registry.json"
    elif fmt == "mcp-registry":
        payload, name = {"name": "io.github.acme/db", "description": "A database.", "version": "1.0.0",
                         "repository": {"url": hostile, "source": "github"},
                         "remotes": [{"type": "sse", "url": "https://db.acme.example/sse"}]}, "server.json"
    else:
        payload, name = textwrap.dedent(f"""\
            name: db
            image: ghcr.io/acme/db:1.0.0
            type: server
            about: {{title: DB, description: A database.}}
            source: {{project: "{hostile}"}}
            """), "server.yaml"
    result, target = _import(runner, tmp_path, payload, name=name)
    assert result.exit_code == 0, result.output
    assert "  warning: db: repository 'javascript:alert(document.cookie)' dropped: not an http(s) URL" in result.output
    assert "repository" not in _server(target, "db")


def _deep_entry(levels: int, innermost: dict[str, Any]) -> dict[str, Any]:
    """A server.json whose one tool's input schema nests `levels` objects in one another."""
    schema = innermost
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    block = {"tools": ["t"], "tool_definitions": [{"name": "t", "description": "Deep.", "inputSchema": schema}]}
    return {"name": "io.github.acme/deep", "description": "Deep.", "version": "1.0.0",
            "packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/deep:1.0.0", "transport": {"type": "stdio"}}],
            "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {"ghcr.io/acme/deep:1.0.0": block}}}}


def test_an_entry_nested_deeper_than_a_source_file_may_be_is_rejected_and_nothing_written(runner, tmp_path):
    """The import wrote a file validate refuses (nested deeper than 64 levels), and deeper still it
    ended in a RecursionError traceback after creating catalog.yaml."""
    for levels, innermost in [(30, {"type": "string", "enum": ["a"]}), (400, {"type": "string"})]:
        result, target = _import(runner, tmp_path, _deep_entry(levels, innermost), name="server.json")
        assert result.exit_code == 1, result.output
        assert result.output.splitlines()[0] == (
            f"rejected {tmp_path}/server.json: deep: does not fit the source format: tools[0].input_schema: "
            "nested deeper than the 64 levels a source file may have"
        )
        assert not target.exists()
    result, target = _import(runner, tmp_path, _deep_entry(30, {"type": "string"}), name="server.json")
    assert result.exit_code == 0, result.output
    read_catalog(target)


def test_import_is_byte_identical_twice(runner, tmp_path):
    outputs = []
    for run in ("one", "two"):
        result, target = _import(runner, tmp_path, _server_json("snake"), into=tmp_path / run)
        assert result.exit_code == 0, result.output
        outputs.append({p.relative_to(target): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 7


def test_entries_with_wrongly_typed_values_are_rejected_not_fatal(runner, tmp_path):
    document = {
        "servers": {
            "numeric-image": {"image": 5, "description": "An image that is a number, as found in the wild",
                              "transport": "stdio"},
            "hosts-number": {"image": "ghcr.io/x/y:1", "description": "Allowed hosts given as a number instead",
                             "transport": "stdio", "permissions": {"network": {"outbound": {"allow_host": 5}}}},
        }
    }
    source = tmp_path / "shape.json"
    source.write_text(json.dumps(document))
    result = runner.invoke(main, ["import", str(source), "--into", str(tmp_path / "into")])
    assert "Traceback" not in result.output
    assert 'rejected shape.json: servers["numeric-image"]' in result.output.replace(str(tmp_path) + "/", "")
    assert "unexpected type" in result.output


def test_a_docker_entry_with_a_title_but_no_description_is_kept_with_a_warning(runner, tmp_path):
    """Grafana's entry in Docker's registry has a title and no description: one field to write, not an entry lost."""
    servers = _docker_folder(tmp_path)
    text = (servers / "saas" / "server.yaml").read_text().replace("  description: A hosted service.\n", "")
    (servers / "saas" / "server.yaml").write_text(text)
    result = runner.invoke(main, ["import", str(servers), "--into", str(tmp_path / "src")])
    assert result.exit_code == 0, result.output
    assert "warning: saas: has no description: its title is used; write one line saying what the server does" in result.output
    assert _server(tmp_path / "src", "saas")["description"] == "SaaS thing"
    # What is left to fill in is the versions Docker's entries lack, not the description.
    with pytest.raises(SourceInvalid) as refused:
        read_catalog(tmp_path / "src")
    assert {d.field for d in refused.value.diagnostics} == {"version"}


def test_the_cli_offers_exactly_the_formats_the_importer_recognises() -> None:
    from generator.importers import FORMAT_NAMES
    from generator.importers.inputs import FORMATS

    assert tuple(FORMATS) == FORMAT_NAMES


def test_control_characters_are_rejected_at_import_as_validate_would(runner, tmp_path):
    """An importer builds the models from JSON, past the YAML reader's check: an escape sequence in a
    description must be refused there, not written to a file `validate` then refuses."""
    entry = {"name": "io.github.acme/notes-js", "description": "Keeps notes \u001b[31min red.", "version": "0.4.0",
             "packages": [{"registryType": "npm", "identifier": "@acme/notes-mcp", "version": "0.4.0",
                           "transport": {"type": "stdio"}}]}
    result, target = _import(runner, tmp_path, [entry])
    assert "Traceback" not in result.output
    assert "holds \\u001b (1 control character): remove it" in result.output, result.output
    assert not (target / "servers" / "notes-js.yaml").exists()


def test_control_characters_nested_in_a_tool_schema_are_rejected_at_import(tmp_path):
    """A tool's input schema nests its strings: a property's description or key is checked at any depth."""
    from pydantic import ValidationError

    from generator.models import Tool
    for schema in ({"type": "object", "properties": {"q": {"type": "string", "description": "red \u001b[31m"}}},
                   {"type": "object", "properties": {"bell\u0007": {"type": "string"}}}):
        with pytest.raises(ValidationError, match="control character"):
            Tool.model_validate({"name": "search", "description": "Searches.", "input_schema": schema})
    Tool.model_validate({"name": "search", "description": "Searches.",
                         "input_schema": {"type": "object", "properties": {"q": {"description": "line one\nline two"}}}})


def test_what_an_oci_package_needs_and_the_import_cannot_map_is_named(runner, tmp_path):
    """The image's arguments, the runtime's options and a port given as a template variable are not
    mapped: each is a warning on the entry (docs/import.md: everything not mapped is reported)."""
    entries = [
        {"name": "io.github.acme/kb", "description": "Searches the knowledge base.", "version": "3.1.4",
         "packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/kb-mcp:3.1.4",
                       "transport": {"type": "streamable-http", "url": "http://localhost:{port}/mcp"},
                       "runtimeArguments": [{"type": "named", "name": "--mount", "value": "type=bind,src=/data,dst=/data"}],
                       "packageArguments": [{"type": "positional", "value": "--read-only"}]}]},
    ]
    result, _ = _import(runner, tmp_path, entries)
    assert "names no port the container listens on: set `port`" in result.output, result.output
    assert "runtime arguments (options of the container runtime) not imported" in result.output
    assert "package arguments (the image's command-line arguments) not imported: set `args` if it needs them" in result.output
