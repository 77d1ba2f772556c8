"""The rules across fields that the editor's schemas state, each held to `validate`.

Every rule of the shipped schemas' `allOf` lists (`generator.schema_rules`) is shown on a small
file that breaks it: the schema (the `jsonschema` library, draft 2020-12) refuses it by that rule
alone, and `mcp-catalog validate` refuses it with its `path:line: field: message`; a file that keeps
the rule passes both. Every server file of the default catalog and of the benchmark's synthetic
catalog passes the schema, and is refused once given a second kind (a container a `remote`).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conftest import CATALOG_YAML, DEFAULT_SOURCE, FETCH_YAML, REMOTE_YAML, synthetic_catalog
from generator.cli import main
from test_schema_agreement import editor_view, shipped_schema

PACKAGES = "packages:\n  - registry_type: npm\n    identifier: '@example/docs-mcp'\n    version: 2.0.0\n"
REFERENCE_YAML = REMOTE_YAML.replace("remote:\n  url: https://mcp.example.com/mcp\n", PACKAGES)


def fetch_with(*edits: tuple[str, str]) -> str:
    return _edited(FETCH_YAML, edits)


def remote_with(*edits: tuple[str, str]) -> str:
    return _edited(REMOTE_YAML, edits)


def _edited(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def added(text: str) -> tuple[str, str]:
    """An edit appending `text` to the file (after its last line, a tool's annotation)."""
    return ("      openWorldHint: true\n", "      openWorldHint: true\n" + text)


def _rule_places(schema: Any, at: tuple = ()) -> Iterator[tuple]:
    """The place of every rule: (path of an `allOf` list holding rules, index)."""
    if isinstance(schema, dict):
        for index, item in enumerate(schema.get("allOf", [])):
            if isinstance(item, dict) and "description" in item:
                yield (*at, "allOf"), index
        for key, value in schema.items():
            yield from _rule_places(value, (*at, key))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _rule_places(value, (*at, index))


def _rule_list(schema: dict[str, Any], place: tuple) -> list[Any]:
    found: Any = schema
    for step in place[0]:
        found = found[step]
    return found


def _with_rules(schema: dict[str, Any], keep: set[tuple]) -> dict[str, Any]:
    """`schema` with every rule but those in `keep` made `true` (indexes stay as they are)."""
    schema = copy.deepcopy(schema)
    for place in list(_rule_places(schema)):
        if place not in keep:
            _rule_list(schema, place)[place[1]] = True
    return schema


def rule_descriptions(schema: dict[str, Any]) -> list[str]:
    return [_rule_list(schema, place)[place[1]]["description"] for place in _rule_places(schema)]


def refusing_rules(kind: str, instance: dict[str, Any]) -> list[str]:
    """The descriptions of the rules that refuse `instance` each on its own, once the schema without
    its rules has accepted it (so the file breaks no other constraint)."""
    schema = shipped_schema(kind)
    assert Draft202012Validator(_with_rules(schema, set())).is_valid(instance), "the file breaks more than a rule"
    refusing = []
    for place in _rule_places(schema):
        if not Draft202012Validator(_with_rules(schema, {place})).is_valid(instance):
            refusing.append(_rule_list(schema, place)[place[1]]["description"])
    return refusing


def schema_accepts(kind: str, text: str) -> bool:
    return Draft202012Validator(shipped_schema(kind)).is_valid(editor_view(yaml.safe_load(text)))


def validate(runner: Any, write_tree: Any, servers: dict[str, str], catalog: str) -> tuple[Path, int, str]:
    """`mcp-catalog validate` on a folder of these files (each server with an overview): the folder, exit code and output."""
    overviews = {name.replace(".yaml", ".md"): "Overview.\n" for name in servers}
    source = write_tree({**servers, **overviews}, catalog)
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert "Traceback" not in result.output
    return source, result.exit_code, result.output


REPLACED = ("tier: validated\n", "tier: validated\nreplaced_by: docs-remote\n")
SECRET = "env:\n  - name: TOKEN\n    secret: true\n"
PROFILE_VALUE = "env:\n  - name: MODE\n    profiles:\n      production: strict\n"
APPROVED = "review:\n  status: approved\n"
NO_DNS = "toolhive:\n  cluster_dns:\n    pods: null\n"
STDIO = ("transport: streamable-http", "transport: stdio")


@dataclass(frozen=True)
class Rule:
    """A rule of a schema (words of its description) and files showing it: each of `breaks`
    (file, text, `validate`'s line without the folder) is refused, each of `keeps` (file, text) passes."""

    words: str
    kind: str
    breaks: list[tuple[str, str, str]]
    keeps: list[tuple[str, str]]


RULES = [
    Rule("exactly one of `image`", "server", breaks=[
        ("docs-remote.yaml", remote_with(("tools:\n", "image: ghcr.io/example/docs:2.0.0\ntools:\n")),
         "docs-remote.yaml:9: remote: a server has either `image` (container) or `remote`, not both"),
        ("docs-remote.yaml", remote_with(("remote:\n  url: https://mcp.example.com/mcp\n", "")),
         "docs-remote.yaml:1: a server needs `image` (container) or `remote` (hosted elsewhere)"),
        ("fetch.yaml", fetch_with(added(PACKAGES)), "fetch.yaml:26: packages: `packages` is for reference entries that have neither `image` nor `remote`"),
        ("docs-remote.yaml", remote_with(("tools:\n", PACKAGES + "tools:\n")),
         "docs-remote.yaml:11: packages: `packages` is for reference entries that have neither `image` nor `remote`"),
    ], keeps=[("fetch.yaml", FETCH_YAML), ("docs-remote.yaml", REMOTE_YAML), ("docs-remote.yaml", REFERENCE_YAML),
              ("docs-remote.yaml", remote_with(("tools:\n", "image: null\npackages: []\ntools:\n")))]),
    Rule("a remote server has no container fields", "server", breaks=[
        *[("docs-remote.yaml", remote_with(("tools:\n", f"{text}tools:\n")), f"docs-remote.yaml:11: {field}: a remote server runs no container, so it has no `{field}` (a container field)")
          for field, text in [("digest", f"digest: sha256:{'0' * 64}\n"), ("port", "port: 8080\n"), ("args", "args: [--debug]\n"),
                              ("permissions", "permissions: {}\n"), ("resources", "resources: {}\n"), ("provenance", "provenance: {}\n")]],
        ("docs-remote.yaml", remote_with(STDIO), "docs-remote.yaml:8: transport: a remote server is reached over sse or streamable-http, not stdio"),
    ], keeps=[("docs-remote.yaml", remote_with(("tools:\n", "digest: null\nport: null\nargs: []\npermissions: null\n"
                                                            "resources: null\nprovenance: null\ntools:\n"))),
              ("docs-remote.yaml", remote_with(("transport: streamable-http", "transport: sse")))]),
    Rule("a stdio server has none", "server", breaks=[
        ("fetch.yaml", fetch_with(STDIO), "fetch.yaml:14: port: `port` is for sse and streamable-http servers; a stdio server has none"),
    ], keeps=[("fetch.yaml", fetch_with(STDIO, ("port: 8080\n", ""))), ("fetch.yaml", fetch_with(STDIO, ("port: 8080", "port: null")))]),
    Rule("only a deprecated server", "server", breaks=[
        ("fetch.yaml", fetch_with(REPLACED),
         "fetch.yaml:8: replaced_by: only a deprecated server has a replacement: set `status: deprecated` or remove `replaced_by`"),
        ("fetch.yaml", fetch_with(REPLACED, ("tier: validated\n", "tier: validated\nstatus: active\n")),
         "fetch.yaml:9: replaced_by: only a deprecated server has a replacement: set `status: deprecated` or remove `replaced_by`"),
    ], keeps=[("fetch.yaml", fetch_with(REPLACED, ("tier: validated\n", "tier: validated\nstatus: deprecated\n"))),
              ("fetch.yaml", fetch_with(("tier: validated\n", "tier: validated\nreplaced_by: null\n")))]),
    Rule("no profile can set its environment", "server", breaks=[
        ("docs-remote.yaml", remote_with(("tools:\n", PROFILE_VALUE + "tools:\n")),
         "docs-remote.yaml:14: env[0].profiles.production: a remote server runs no container of the bundles, so no profile can set its environment"),
        ("docs-remote.yaml", _edited(REFERENCE_YAML, (("tools:\n", PROFILE_VALUE + "tools:\n"),)),
         "docs-remote.yaml:16: env[0].profiles.production: a reference server runs no container of the bundles, so no profile can set its environment"),
    ], keeps=[("fetch.yaml", fetch_with(added(PROFILE_VALUE))),
              ("docs-remote.yaml", remote_with(("tools:\n", "env:\n  - name: MODE\n    profiles: {}\ntools:\n")))]),
    Rule("a secret variable carries no default", "server", breaks=[
        ("fetch.yaml", fetch_with(added(SECRET + "    default: x\n")), "fetch.yaml:29: env[0].default: a secret variable must not carry a default value"),
        ("fetch.yaml", fetch_with(added(SECRET + "    profiles:\n      production: x\n")),
         "fetch.yaml:29: env[0].profiles: a secret variable must not carry profile values: its value comes from the Secret"),
    ], keeps=[("fetch.yaml", fetch_with(added(SECRET + "    default: null\n    profiles: {}\n"))),
              ("fetch.yaml", fetch_with(added(PROFILE_VALUE + "    secret: false\n    default: lax\n")))]),
    Rule("an approved review needs", "server", breaks=[
        ("fetch.yaml", fetch_with(added(APPROVED + text)), f"fetch.yaml:{at}: an approved review needs `by` and `date`")
        for text, at in (("  date: 2026-10-01\n", "26: review.by"), ("  by: Board\n", "26: review.date"),
                         ("  by: ''\n  date: 2026-10-01\n", "28: review.by"), ("  by: Board\n  date: null\n", "29: review.date"))
    ], keeps=[("fetch.yaml", fetch_with(added(APPROVED + "  by: Board\n  date: 2026-10-01\n"))),
              ("fetch.yaml", fetch_with(added("review:\n  status: under-review\n  by: ''\n")))]),
    Rule("names no DNS server", "catalog", breaks=[
        ("catalog.yaml", CATALOG_YAML + text,
         "catalog.yaml:19: toolhive.cluster_dns: names no DNS server: give `pods` or `cidrs`, or no pod could resolve a name")
        for text in (NO_DNS, NO_DNS + "    cidrs: []\n")
    ], keeps=[("catalog.yaml", CATALOG_YAML + NO_DNS + "    cidrs: [169.254.20.10]\n"),
              ("catalog.yaml", CATALOG_YAML + "toolhive:\n  cluster_dns:\n    cidrs: []\n")]),
]


def _source_files(rule: Rule, name: str, text: str) -> tuple[dict[str, str], str]:
    """The server files and catalog.yaml of a folder holding `text` as `name` (docs-remote is there
    for `replaced_by` to name)."""
    if rule.kind == "catalog":
        return {"fetch.yaml": FETCH_YAML}, text
    return {"docs-remote.yaml": REMOTE_YAML, name: text}, CATALOG_YAML


@pytest.mark.parametrize("rule", RULES, ids=[rule.words for rule in RULES])
def test_schema_and_validate_refuse_what_breaks_a_rule_and_pass_what_keeps_it(runner, write_tree, rule):
    for index, (name, text, expected) in enumerate(rule.breaks):
        refusing = refusing_rules(rule.kind, editor_view(yaml.safe_load(text)))
        assert len(refusing) == 1 and rule.words in refusing[0], (index, refusing)
        source, code, output = validate(runner, write_tree, *_source_files(rule, name, text))
        assert code == 1
        where = "" if rule.kind == "catalog" else "servers/"
        assert f"{source}/{where}{expected}" in output.splitlines(), (index, output)
        shutil.rmtree(source)
    for index, (name, text) in enumerate(rule.keeps):
        assert schema_accepts(rule.kind, text), index
        source, code, output = validate(runner, write_tree, *_source_files(rule, name, text))
        assert code == 0, (index, output)
        shutil.rmtree(source)


def test_every_rule_of_the_schemas_is_shown():
    for kind in ("server", "catalog"):
        Draft202012Validator.check_schema(shipped_schema(kind))
    stated = [(kind, description) for kind in ("server", "catalog") for description in rule_descriptions(shipped_schema(kind))]
    shown = [(kind, description) for kind, description in stated if any(rule.kind == kind and rule.words in description for rule in RULES)]
    assert stated == shown and len(stated) == len(RULES)


def test_every_real_server_file_passes_the_schema_and_fails_with_a_second_kind(tmp_path):
    files = sorted((DEFAULT_SOURCE / "servers").glob("*.yaml"))
    files += sorted((synthetic_catalog(tmp_path / "synthetic", 300, default_profiles=True) / "servers").glob("*.yaml"))
    validator = Draft202012Validator(shipped_schema("server"))
    kinds = set()
    for path in files:
        server = editor_view(yaml.safe_load(path.read_bytes()))
        assert [error.message for error in validator.iter_errors(server)] == [], path
        kind = "remote" if "remote" in server else "image" if "image" in server else "packages"
        kinds.add(kind)
        second = {"image": "registry.example.com/mcp/x:1.0"} if kind != "image" else {"remote": {"url": "https://mcp.example.com/mcp"}}
        assert not validator.is_valid({**server, **second}), path
    assert kinds == {"remote", "image"}
