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
# What `mcp-catalog validate` checks beyond each schema, which states the rules across the fields of
# one file that JSON Schema can (each model's `allOf`, see `generator.schema_rules`): rules across
# files, comparisons of two values and a few single values an editor cannot check exactly
# (tests/test_schema_agreement.py and tests/test_schema_rules.py hold the schema and the validator to this).
_CHECKED_BEYOND = {
    "server": "Its `allOf` lists hold the rules across fields: exactly one of `image`, `remote` and `packages`; "
    "a remote server has no container fields and is not stdio, a stdio server has no `port`; only a deprecated "
    "server has `replaced_by`; only a container's variables have `profiles`; a secret variable has no `default` "
    "or `profiles`; an approved review names `by` and `date`. `mcp-catalog validate` checks more than this "
    "schema: `name` equals the file name; `category` is declared in catalog.yaml; `replaced_by` names another "
    "server; `profiles` name declared registry profiles; tool and variable names are unique; registry names "
    "and ToolHive Service names are unique in the catalog, and `mcpserver` and `mcpremoteproxy` are no names; "
    "a review `expires` on or after its `date`; `version` is not `latest` or a range; a name is no Windows "
    "device name; `registry_name` and permission paths have no `.` or `..` part; the registry `_meta` fits "
    "`toolhive.max_meta_size`; no value holds a control character or `FILL-IN`. See docs/source-format.md.",
    "catalog": "Its `allOf` lists hold the rules across fields: `toolhive.cluster_dns` names `pods` or `cidrs`. "
    "`mcp-catalog validate` checks more than this schema: category slugs, profile names and namespaces are "
    "unique; profiles name declared categories and existing servers; an image pull secret is not named like "
    "another Secret of its namespaces; the DNS pods' namespace is no profile's; each profile's admission "
    "policies fit the API server's limits; `cidrs` are address blocks, `issuer` a valid https URL and a name no "
    "Windows device name; no value holds a control character or `FILL-IN`. See docs/source-format.md.",
}


def source_schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one source file kind."""
    schema = _MODELS[kind].model_json_schema()
    description = f"{schema['description']} {_CHECKED_BEYOND[kind]}"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": _TITLES[kind], "description": description}


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
