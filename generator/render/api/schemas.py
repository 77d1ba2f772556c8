"""JSON Schemas of the source format, published in the site under `schemas/`.

Editors use them to autocomplete and check server files
(`# yaml-language-server: $schema=...`); `mcp-catalog schema` prints the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel

from generator.models import CatalogMeta, Server
from generator.output import OutputFile
from generator.render.context import RenderContext
from generator.paths import source_schema as source_schema_path
from generator.render.encoding import json_bytes
from generator.render.kind import PROGRAM_ONLY, Deferred, OutputKind, render_kind

SchemaKind = Literal["server", "catalog"]
_MODELS: dict[SchemaKind, type[BaseModel]] = {"server": Server, "catalog": CatalogMeta}
_TITLES = {"server": "mcp-catalog server file (servers/<name>.yaml)", "catalog": "mcp-catalog catalog.yaml"}


def source_schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one source file kind."""
    schema = _MODELS[kind].model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": _TITLES[kind]}


def schema_bytes(kind: SchemaKind) -> bytes:
    """`source_schema(kind)` as pretty JSON, as published and printed."""
    return json_bytes(source_schema(kind), pretty=True)


def schema_files(context: RenderContext) -> Iterator[Deferred]:
    """Yield `schemas/server.schema.json` and `schemas/catalog.schema.json`, made only when the
    program changed (pydantic's schema generation is a sixth of a 1,000-server rebuild)."""
    for kind in _MODELS:
        yield Deferred(source_schema_path(kind), PROGRAM_ONLY, partial(schema_bytes, kind))


KIND = OutputKind("schemas", schema_files)


def render(context: RenderContext) -> Iterator[OutputFile]:
    return render_kind(KIND, context)
