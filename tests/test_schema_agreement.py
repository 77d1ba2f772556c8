"""The editor's JSON Schemas and `mcp-catalog validate` give the same verdict.

A curator trusts the squiggles the YAML language server draws from `catalog-source/schemas/`.
Real source files are mutated one value at a time (wrong type, a value outside the enum, one
character over a length limit and the limit itself, a pattern broken, a tab or line break, an
unknown key, a required key left out, a key added); each mutant is checked with the `jsonschema`
library against the shipped schema and by `read_catalog` (what `validate` runs) in a source folder
of its own. The verdicts must agree, or the disagreement must be one of `CHECKED_BEYOND`: a rule
across fields, items or files that the schema's own description says `validate` adds.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from generator.errors import SourceInvalid
from generator.limits import output_limits
from generator.render.api.schemas import source_schema
from generator.source.validate import read_catalog
from generator.source.yamlsafe import load_mapping

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "catalog-source"
DELETE = object()

# (value path as dotted text, mutation) -> the words of the schema's description that state the rule.
CHECKED_BEYOND: list[tuple[str, str, str]] = [
    (r".*", "ctrl", "control character"),
    (r"name", r".*", "`name` equals the file name"),
    (r"category", r"len=63", "declared in catalog.yaml"),
    (r"replaced_by", r"add", "`replaced_by` names another server"),
    (r"(tools|env)", r"duplicate", "tool and variable names are unique"),
    (r"(categories|registries)", r"duplicate", "are unique"),
]


def editor_view(value: Any) -> Any:
    """The values as an editor's YAML 1.2 reading gives them to the schema: dates are text."""
    if isinstance(value, dict):
        return {key: editor_view(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [editor_view(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    # Editors run patterns as ECMA-262, whose `$` is the end of the text; Python's also matches
    # before a final line break, which would let "web\n" pass a label pattern here and nowhere else.
    if isinstance(instance, str) and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
            raise ValueError(value)
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


EditorValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


def shipped_schema(kind: str) -> dict[str, Any]:
    shipped = json.loads((SOURCE / "schemas" / f"{kind}.schema.json").read_text())
    assert shipped == source_schema(kind), f"regenerate: mcp-catalog schema --kind {kind}"  # type: ignore[arg-type]
    return shipped


def _branches(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    while "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    if "anyOf" in schema:
        return [b for branch in schema["anyOf"] for b in _branches(branch, root) if b.get("type") != "null"]
    return [schema]


def _sample(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    branch = (_branches(schema, root) or [{}])[0]
    if "enum" in branch:
        return branch["enum"][-1]
    return {"string": "x", "integer": 1, "boolean": True, "array": [], "object": {}}.get(branch.get("type"), "x")


def mutations(value: Any, schema: dict[str, Any], root: dict[str, Any], at: tuple) -> Iterator[tuple[tuple, str, Any]]:
    """(value path, what, new value) for the value at `at` and everything under it."""
    branch = (_branches(schema, root) or [{}])[0]
    kind = branch.get("type")
    if at:
        yield at, "null", None
    if kind == "string":
        yield from ((at, what, new) for what, new in (("int", 12345), ("list", ["x"]), ("bool", True)))
        if "enum" in branch:
            yield at, "enum", "bogus-value"
        if "maxLength" in branch:
            limit, seed = branch["maxLength"], value if isinstance(value, str) and value else "a"
            fits = (seed * (limit // len(seed) + 2))[:limit]
            yield at, f"len={limit}", fits
            yield at, f"len={limit + 1}", fits + seed[0]
        if "minLength" in branch:
            yield at, "empty", ""
        if "pattern" in branch:
            yield at, "pattern", "Not Valid!"
        if isinstance(value, str):
            for what, new in (("tab", value + "\tx"), ("newline", value + "\nx"), ("trailing-newline", value + "\n"),
                              ("leading-space", " " + value), ("ctrl", value + "\x1b")):
                yield at, what, new
        if branch.get("format") == "date":
            yield at, "no-such-date", "2026-02-30"
        if branch.get("format") == "date-time":
            yield from ((at, what, new) for what, new in (("date-only", "2026-11-20"), ("no-zone", "2026-11-20T09:00:00")))
    elif kind == "integer":
        yield from ((at, what, new) for what, new in (("quoted", "80"), ("float", 1.5), ("bool", True)))
        for bound, step in (("minimum", -1), ("maximum", 1)):
            if bound in branch:
                yield at, bound, branch[bound]
                yield at, f"{bound}{step:+d}", branch[bound] + step
    elif kind == "boolean":
        yield from ((at, what, new) for what, new in (("quoted", "true"), ("int", 1)))
    elif kind == "array" and isinstance(value, list):
        yield from ((at, what, new) for what, new in (("text", "x"), ("empty", []), ("mapping", {"a": 1})))
        if value:
            yield at, "duplicate", [*value, copy.deepcopy(value[0])]
        for index, item in enumerate(value[:2]):
            yield from mutations(item, branch.get("items", {}), root, (*at, index))
    elif kind == "object" and isinstance(value, dict):
        if at:
            yield from ((at, what, new) for what, new in (("text", "x"), ("list", [1])))
        yield (*at, "bogus_key"), "unknown-key", "x"
        for key in branch.get("required", []):
            if key in value:
                yield (*at, key), "missing", DELETE
        properties = branch.get("properties", {})
        values_schema = branch.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                yield from mutations(item, properties[key], root, (*at, key))
            elif isinstance(values_schema, dict):
                yield from mutations(item, values_schema, root, (*at, key))
        if "propertyNames" in branch:
            yield (*at, "Bad Key!"), "bad-key", "x"
        for key, property_schema in properties.items():
            if key not in value and len(at) <= 3:
                yield (*at, key), "add", _sample(property_schema, root)


def mutated(data: dict[str, Any], at: tuple, new: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    container: Any = data
    for step in at[:-1]:
        container = container[step]
    if new is DELETE:
        del container[at[-1]]
    else:
        container[at[-1]] = new
    return data


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def validate_verdict(source: Path, kind: str, data: dict[str, Any], name: str) -> tuple[bool, list[str]]:
    """Whether `validate` accepts the file, and its errors."""
    text = yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=1 << 20)
    if kind == "server":
        for old in (source / "servers").iterdir():
            old.unlink()
        (source / "servers" / f"{name}.yaml").write_text(text, encoding="utf-8")
        (source / "servers" / f"{name}.md").write_text("Overview.\n", encoding="utf-8")
    else:
        (source / "catalog.yaml").write_text(text, encoding="utf-8")
    try:
        read_catalog(source, keep_parsed=False, output_limits=output_limits)
    except SourceInvalid as invalid:
        errors = [d.format() for d in invalid.diagnostics if d.severity == "error"]
        return not errors, errors
    return True, []


def disagreements(kind: str, files: list[Path], source: Path) -> list[str]:
    schema = shipped_schema(kind)
    validator = EditorValidator(schema, format_checker=_FORMATS)
    seen: set[tuple] = set()
    found = []
    for path in files:
        data = _plain(load_mapping(path.read_bytes()).data)
        name = data.get("name", "")
        for at, what, new in [((), "unchanged", None), *mutations(data, schema, schema, ())]:
            key = (tuple("[]" if isinstance(step, int) else step for step in at), what)
            if key in seen:
                continue
            seen.add(key)
            mutant = data if what == "unchanged" else mutated(data, at, new)
            editor = validator.is_valid(editor_view(mutant))
            accepted, errors = validate_verdict(source, kind, mutant, name)
            if editor == accepted:
                continue
            dotted = ".".join(map(str, at))
            # Only the schema accepting what validate refuses can be a rule the schema cannot state.
            documented = [words for where, how, words in CHECKED_BEYOND
                          if editor and re.fullmatch(where, dotted) and re.fullmatch(how, what)]
            if documented and all(words in schema["description"] for words in documented):
                continue
            verdicts = f"schema {'accepts' if editor else 'refuses'}, validate {'accepts' if accepted else 'refuses'}"
            found.append(f"{path.name}: {dotted} {what}: {verdicts} {errors[:1]}")
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@pytest.fixture
def catalog_source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    (source / "servers").mkdir(parents=True)
    shutil.copy(SOURCE / "catalog.yaml", source / "catalog.yaml")
    return source


def test_server_schema_and_validate_agree(catalog_source: Path) -> None:
    # A container over stdio with env, permissions, resources, provenance, tools and a review;
    # a remote with headers; a container over HTTP with a port.
    files = [SOURCE / "servers" / f"{name}.yaml" for name in ("github", "atlassian-remote", "k8s")]
    assert disagreements("server", files, catalog_source) == []


def test_catalog_schema_and_validate_agree(catalog_source: Path) -> None:
    shutil.copy(SOURCE / "servers" / "fetch.yaml", catalog_source / "servers" / "fetch.yaml")
    assert disagreements("catalog", [SOURCE / "catalog.yaml"], catalog_source) == []
