"""Our side of an import: server files written deterministically, --update merges, catalog.yaml.

Server files are dumped from the validated model in model order with only
non-default values, so the same upstream entry always gives the same bytes.
catalog.yaml is curated by hand: a missing category is inserted as text into
its `categories` list, so that its comments and layout survive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.errors import UsageError
from generator.importers.mapping import UNDESCRIBED_TOOL
from generator.importers.write import SCHEMA_FILES, NewFile, holds_only_an_interrupted_import
from generator.models import Server
from generator.render.api.schemas import schema_bytes
from generator.source.load import CATALOG_FILE
from generator.source.yamlsafe import YamlRefused, load_mapping

SERVER_HEADER = "# yaml-language-server: $schema=../schemas/server.schema.json\n"
# Facts that follow upstream on --update; every other key is the curator's and is kept.
UPSTREAM_KEYS = (
    "version", "status", "repository", "updated", "transport", "image", "digest", "port",
    "args", "env", "permissions", "remote", "packages", "tools", "provenance",
)
# Facts a format may have no way to say (a server.json carries no tools, egress or arguments
# without ToolHive's publisher block, and no digest; many entries list no variables): where
# upstream says nothing, the curator's value stays; a container's, while upstream still gives an
# image; one image build's, while it gives the same image.
KEPT_WHEN_UPSTREAM_SILENT = ("tools", "env")
KEPT_FOR_A_CONTAINER = ("args", "permissions")
KEPT_FOR_THE_SAME_IMAGE = ("digest", "provenance")
MINIMAL_CATALOG = """\
# yaml-language-server: $schema=schemas/catalog.schema.json
# Created by `mcp-catalog import`: set title, description, namespace and publisher before publishing.
title: Imported MCP servers
description: MCP servers imported from existing registries, to be reviewed by the catalog team.
version: 0.1.0
namespace: com.example.mcp
last_updated: {last_updated}
categories:
{categories}"""


try:
    _BaseDumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - libyaml is part of the wheels we install
    _BaseDumper = yaml.SafeDumper  # type: ignore[assignment, misc]


class _Dumper(_BaseDumper):  # type: ignore[valid-type, misc]
    """libyaml's emitter (a 1,000-entry import must take seconds), never writing anchors or
    aliases: our loader refuses them (alias bombs)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def server_yaml(server: Server) -> str:
    """The source file text of `server`: schema line, then non-default fields in model order."""
    data = server.model_dump(mode="python", exclude_defaults=True)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    return SERVER_HEADER + body


def merge_server(existing: Mapping[str, Any], upstream: Mapping[str, Any]) -> dict[str, Any]:
    """The curator's file with upstream facts replaced (UPSTREAM_KEYS); curated text inside tools and env kept,
    and the curator's facts where upstream says nothing (see KEPT_WHEN_UPSTREAM_SILENT)."""
    merged = {key: value for key, value in existing.items() if key not in UPSTREAM_KEYS}
    for key in UPSTREAM_KEYS:
        if key in upstream:
            merged[key] = upstream[key]
        elif key in existing and _kept_in_silence(key, existing, upstream):
            merged[key] = existing[key]
    if "tools" in upstream:
        merged["tools"] = _merge_named(existing.get("tools"), upstream["tools"], ("description", "annotations", "input_schema"))
    if "env" in upstream:
        merged["env"] = _merge_named(existing.get("env"), upstream["env"], ("description",))
    return merged


def _kept_in_silence(key: str, existing: Mapping[str, Any], upstream: Mapping[str, Any]) -> bool:
    if key in KEPT_FOR_A_CONTAINER:
        return "image" in upstream
    if key in KEPT_FOR_THE_SAME_IMAGE:
        return "image" in upstream and upstream["image"] == existing.get("image")
    return key in KEPT_WHEN_UPSTREAM_SILENT


def _merge_named(curated: Any, fresh: list[dict[str, Any]], kept_if_missing: tuple[str, ...]) -> list[dict[str, Any]]:
    """Upstream's entries in upstream order; a curator's override and upstream-missing text survive."""
    by_name = {e.get("name"): e for e in curated or [] if isinstance(e, Mapping)}
    result = []
    for entry in fresh:
        old = by_name.get(entry["name"], {})
        new = dict(entry)
        for key in kept_if_missing:
            if key in old and (key not in new or new[key] == UNDESCRIBED_TOOL):
                new[key] = old[key]
        if "override" in old:
            new["override"] = old["override"]
        result.append(new)
    return result


def read_server_file(path: Path) -> dict[str, Any]:
    """The plain data of an existing server file (hardened loader); UsageError when it cannot be read."""
    try:
        return load_mapping(path.read_bytes()).data
    except (YamlRefused, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot update, the file does not parse ({exc}); fix it or move it away") from None


# --- catalog.yaml ----------------------------------------------------------------


def check_target(into: Path) -> bool:
    """True when --into needs a new catalog.yaml (missing or empty folder); UsageError when unusable."""
    if (into / CATALOG_FILE).is_file():
        return False
    if into.exists() and (not into.is_dir() or not holds_only_an_interrupted_import(into)):
        raise UsageError(
            f"{into} has no {CATALOG_FILE}: import into an empty folder (one is created), "
            f"or copy catalog-source/{CATALOG_FILE} into {into} first"
        )
    return True


def new_catalog(into: Path, categories: list[str], last_updated: dt.date | None) -> list[NewFile]:
    """The editor schemas and a minimal catalog.yaml, for a new source folder, in the order they are put in place."""
    stamp = (last_updated or dt.date(1970, 1, 1)).isoformat() + "T00:00:00Z"
    text = MINIMAL_CATALOG.format(last_updated=stamp, categories=_category_items(categories, 2))
    schemas = [NewFile(into / "schemas" / name, schema_bytes(name.partition(".")[0]))  # type: ignore[arg-type]
               for name in SCHEMA_FILES]
    return [*schemas, NewFile(into / CATALOG_FILE, text.encode("utf-8"))]


def missing_categories(into: Path, wanted: list[str]) -> list[str]:
    """The slugs in `wanted` that catalog.yaml does not declare."""
    return _undeclared(_catalog_data(into), wanted)


def with_categories(into: Path, slugs: list[str]) -> NewFile:
    """catalog.yaml with category entries inserted, as text, at the end of its block `categories` list."""
    path = into / CATALOG_FILE
    text = path.read_text(encoding="utf-8")
    node = _categories_node(text)
    if node is None or node.flow_style or not node.value:
        raise UsageError(f"{path}: add categories {', '.join(slugs)} by hand (its `categories` is not a block list)")
    indent = node.value[0].start_mark.column - 2
    lines = text.splitlines(keepends=True)
    at = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
    if at >= len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines[at:at] = [_category_items(slugs, indent)]
    content = "".join(lines).encode("utf-8")
    try:
        undeclared = _undeclared(load_mapping(content).data, slugs)
    except YamlRefused:
        undeclared = slugs
    if undeclared:
        raise UsageError(f"{path}: could not add categories {', '.join(slugs)}; add them by hand")
    return NewFile(path, content)


def _undeclared(catalog: Mapping[str, Any], wanted: list[str]) -> list[str]:
    declared = {c.get("slug") for c in catalog.get("categories") or [] if isinstance(c, Mapping)}
    return [slug for slug in wanted if slug not in declared]


def _categories_node(text: str) -> yaml.SequenceNode | None:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "categories" and isinstance(value, yaml.SequenceNode):
            return value
    return None


def _category_items(slugs: list[str], indent: int) -> str:
    items = [{"slug": slug, "title": slug.replace("-", " ").capitalize()} for slug in slugs]
    text = yaml.dump(items, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return "".join(" " * indent + line for line in text.splitlines(keepends=True))


def _catalog_data(into: Path) -> dict[str, Any]:
    path = into / CATALOG_FILE
    try:
        return load_mapping(path.read_bytes()).data
    except (YamlRefused, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: does not parse ({exc}); run `mcp-catalog validate` and fix it first") from None
