"""The OpenAPI 3.1 description each MCP API base serves as `openapi.yaml`.

Written for this static mirror: only the GET operations we answer, no publishing.
ToolHive's registry server reads it before syncing from an `api:` source and
refuses a document whose `info.version` is not "1.0.0" or whose `info.description`
does not name the official registry project, so both are fixed here.
"""

from __future__ import annotations

from typing import Any

from generator.models import RegistryProfile
from generator.render.context import RenderContext
from generator.render.registry.server_json import SERVER_SCHEMA

OFFICIAL_PROJECT = "https://github.com/modelcontextprotocol/registry"


def openapi_document(context: RenderContext, profile: RegistryProfile | None) -> dict[str, Any]:
    """The description of one base (the whole catalog, or one registry profile)."""
    meta = context.catalog.meta
    scope = f"the registry profile `{profile.name}`" if profile else "the whole catalog, less the servers their review rejected,"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{meta.title}: MCP server registry (static mirror)",
            "version": "1.0.0",
            "description": (
                f"Read-only, static copy of {scope} in the shape of the MCP Registry API v0.1 "
                f"({OFFICIAL_PROJECT}), written when the catalog was built. Served with the shipped "
                "nginx or Apache configuration, the list honours search, version, updated_since, limit "
                "and cursor as the official registry does; a plain file server answers only the first page."
            ),
        },
        "paths": {
            "/v0.1/servers": {"get": _list_operation()},
            "/v0.1/servers/{serverName}/versions": {"get": _versions_operation()},
            "/v0.1/servers/{serverName}/versions/{version}": {"get": _version_operation()},
        },
        "components": {"schemas": _schemas()},
    }


def _query(name: str, kind: str, text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": kind}}


def _server_name() -> dict[str, Any]:
    return {
        "name": "serverName",
        "in": "path",
        "required": True,
        "description": "The server's full name with the slash percent-encoded, e.g. com.example.mcp%2Ffetch.",
        "schema": {"type": "string"},
    }


def _not_found() -> dict[str, Any]:
    # A fresh dict each time: a shared one would make PyYAML write anchors and aliases.
    return _json("#/components/schemas/Error", "No such server or version")


def _json(reference: str, text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": reference}}}}


def _list_operation() -> dict[str, Any]:
    return {
        "operationId": "listServers",
        "summary": "The servers of this base, a page at a time, by name",
        "parameters": [
            _query("cursor", "string", "The `nextCursor` of the previous page."),
            {**_query("limit", "integer", "Servers per page."), "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 30}},
            _query("search", "string", "Case-insensitive substring of the server name."),
            _query("version", "string", "`latest`, or an exact version."),
            {**_query("updated_since", "string", "Only servers updated after this RFC 3339 time."),
             "schema": {"type": "string", "format": "date-time"}},
            _query("include_deleted", "boolean", "Accepted; the catalog lists no deleted server."),
        ],
        "responses": {
            "200": _json("#/components/schemas/ServerList", "The servers, each with its registry metadata"),
            "400": _problem("A malformed updated_since"),
            "422": _problem("A limit or include_deleted the registry refuses"),
        },
    }


def _problem(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _versions_operation() -> dict[str, Any]:
    return {
        "operationId": "listServerVersions",
        "summary": "The versions of one server (always exactly one, the latest)",
        "parameters": [_server_name()],
        "responses": {"200": _json("#/components/schemas/ServerList", "The server's versions"), "404": _not_found()},
    }


def _version_operation() -> dict[str, Any]:
    version = {
        "name": "version",
        "in": "path",
        "required": True,
        "description": "An exact version, or `latest`.",
        "schema": {"type": "string"},
    }
    return {
        "operationId": "getServerVersion",
        "summary": "One version of one server",
        "parameters": [_server_name(), version],
        "responses": {"200": _json("#/components/schemas/ServerResponse", "The server and its metadata"), "404": _not_found()},
    }


def _schemas() -> dict[str, Any]:
    official = {
        "type": "object",
        "required": ["status", "publishedAt", "updatedAt", "isLatest"],
        "properties": {
            "status": {"type": "string", "enum": ["active", "deprecated", "deleted"]},
            "publishedAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "isLatest": {"type": "boolean"},
        },
    }
    return {
        "ServerDetail": {
            "type": "object",
            "description": f"An MCP server.json document ({SERVER_SCHEMA}).",
            "required": ["name", "description", "version"],
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string", "maxLength": 100},
                "version": {"type": "string"},
            },
        },
        "ServerResponse": {
            "type": "object",
            "required": ["server", "_meta"],
            "properties": {
                "server": {"$ref": "#/components/schemas/ServerDetail"},
                "_meta": {
                    "type": "object",
                    "properties": {"io.modelcontextprotocol.registry/official": official},
                },
            },
        },
        "ServerList": {
            "type": "object",
            "required": ["servers", "metadata"],
            "properties": {
                "servers": {"type": "array", "items": {"$ref": "#/components/schemas/ServerResponse"}},
                "metadata": {
                    "type": "object",
                    "properties": {"nextCursor": {"type": "string"}, "count": {"type": "integer"}},
                },
            },
        },
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Problem": {
            "type": "object",
            "required": ["title", "status", "detail"],
            "properties": {
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
