"""JSON Schemas of our api/v1 documents and the OpenAPI 3.1 description that serves them.

Written by hand, next to the code that shapes the documents (`catalog_api`), except
the source entry inside a server export, which is the `Server` model's own schema
so that the two can never drift. Tests validate every emitted document against
these published schemas.
"""

from __future__ import annotations

from typing import Any, get_args

from generator import paths
from generator.derived import NOTICE_LABELS, NotOffered
from generator.models import Server, ToolPolicy

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DOCUMENT_KINDS = ("index", "servers", "server", "categories", "tags", "tools", "registry")
_STR = {"type": "string"}
_NAMES = {"type": "array", "items": _STR}
_LINKS = {"type": "object", "additionalProperties": _STR}
_KIND = {"enum": ["container", "remote", "reference"]}
_REVIEW = {"enum": ["approved", "expired", "under-review", "rejected", "not-reviewed"]}
_NOTICES = {"type": "array", "items": {
    "type": "object", "required": ["kind", "message"], "additionalProperties": False,
    "properties": {"kind": {"enum": list(NOTICE_LABELS)}, "message": _STR, "replaced_by": _STR},
}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        "properties": properties,
    }


def _list_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": item}})


def _index() -> dict[str, Any]:
    document = _object({"path": _STR, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "bytes": {"type": "integer", "minimum": 0}})
    counts = _object({key: {"type": "integer", "minimum": 0} for key in (
        "servers", "containers", "remotes", "references", "tools", "categories", "tags", "registries")})
    catalog = _object({key: _STR for key in ("title", "description", "version", "namespace", "publisher")})
    return _object({
        "catalog": catalog,
        "last_updated": {"type": "string", "format": "date-time"},
        "counts": counts,
        "documents": {"type": "array", "items": document},
    })


def _summary() -> dict[str, Any]:
    return _object({
        "name": _STR, "registry_name": _STR, "title": _STR,
        "description": {"type": "string", "maxLength": 100}, "version": _STR, "category": _STR, "tags": _NAMES,
        "tier": {"enum": ["validated", "community"]}, "status": {"enum": ["active", "deprecated"]}, "kind": _KIND,
        "transport": {"enum": ["stdio", "sse", "streamable-http"]}, "review": _REVIEW, "notices": _NOTICES,
        "updated": {"type": "string", "format": "date"}, "tools": {"type": "integer", "minimum": 0}, "links": _LINKS,
    })


def _server() -> dict[str, Any]:
    model = Server.model_json_schema(ref_template="#/$defs/{model}")
    definitions = model.pop("$defs", {})
    schema = _object({
        "server": {"$ref": "#/$defs/Server"}, "registry_name": _STR, "kind": _KIND, "review": _REVIEW,
        "notices": _NOTICES, "updated": {"type": "string", "format": "date-time"}, "deploy_image": {"type": ["string", "null"]},
        "profiles": _NAMES, "offered_in": _NAMES, "overview": {"type": ["string", "null"]}, "links": _LINKS,
    })
    schema["$defs"] = {**definitions, "Server": model}
    return schema


def _tools() -> dict[str, Any]:
    return _list_of("tools", _object({
        "server": _STR, "name": _STR, "source_name": _STR, "description": _STR,
        "annotations": {"type": "object", "additionalProperties": {"type": "boolean"}},
    }))


def _registry() -> dict[str, Any]:
    hints = {"type": "array", "items": ToolPolicy.model_json_schema()["properties"]["exclude_annotations"]["items"]}
    withheld = _object({"name": _STR, "source_name": _STR, "by_name": {"type": "boolean"}, "hints": hints, "defaulted_hints": hints})
    server = _object({
        "name": _STR,
        "offered": {"type": "boolean"},
        "not_offered_because": {"enum": list(get_args(NotOffered))},
        "every_tool": {"type": "boolean"},
        "tools": _NAMES,
        "withheld": {"type": "array", "items": withheld},
    }, required=["name", "offered", "every_tool", "tools", "withheld"])
    # The three cases the document exists to tell apart: not offered (and why); offered with every
    # tool it has (it declares none: nothing to filter); offered with the tools kept.
    unexplained = {"not": {"required": ["not_offered_because"]}}
    server["oneOf"] = [
        {"required": ["not_offered_because"],
         "properties": {"offered": {"const": False}, "every_tool": {"const": False}, "tools": {"maxItems": 0}}},
        {**unexplained, "properties": {"offered": {"const": True}, "every_tool": {"const": True},
                                       "tools": {"maxItems": 0}, "withheld": {"maxItems": 0}}},
        {**unexplained, "properties": {"offered": {"const": True}, "every_tool": {"const": False}, "tools": {"minItems": 1}}},
    ]
    return _object({
        "profile": {"type": "object", "required": ["name", "namespace"]},
        "servers": {"type": "array", "items": server},
        "links": _LINKS,
    })


def document_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one api/v1 document kind."""
    bodies = {
        "index": _index,
        "servers": lambda: _object({"count": {"type": "integer", "minimum": 0}, "servers": {"type": "array", "items": _summary()}}),
        "server": _server,
        "categories": lambda: _list_of("categories", _object({"slug": _STR, "title": _STR, "description": _STR, "servers": _NAMES})),
        "tags": lambda: _list_of("tags", _object({"tag": _STR, "servers": _NAMES})),
        "tools": _tools,
        "registry": _registry,
    }
    return {"$schema": DRAFT, "$id": paths.api_schema(kind), "title": f"mcp-catalog api/v1 {kind} document", **bodies[kind]()}


def _get(path: str, kind: str, summary: str, parameter: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {
                "description": summary,
                # Relative to api/v1/openapi.json, where the schemas are published.
                "content": {"application/json": {"schema": {"$ref": f"schemas/{kind}.schema.json"}}},
            },
            "404": {"description": "No such document"},
        },
    }
    if parameter:
        operation["parameters"] = [{"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}}]
    return {path: {"get": operation}}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 description of api/v1: static files, GET only, served from `api/v1/` under the site."""
    operations: dict[str, Any] = {}
    operations.update(_get("/index.json", "index", "Catalog metadata, counts and every document with its SHA-256"))
    operations.update(_get("/servers.json", "servers", "A summary of every server"))
    operations.update(_get("/servers/{name}.json", "server", "The complete export of one server", "name"))
    operations.update(_get("/categories.json", "categories", "Every category with its servers"))
    operations.update(_get("/tags.json", "tags", "Every tag in use with its servers"))
    operations.update(_get("/tools.json", "tools", "Every tool with its server"))
    operations.update(_get("/registries/{profile}.json", "registry", "One registry profile", "profile"))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mcp-catalog static catalog API",
            "version": "1.0.0",
            "description": "Read-only JSON documents written when the catalog is built; no query parameters.",
        },
        "servers": [{"url": "./"}],
        "paths": operations,
    }
