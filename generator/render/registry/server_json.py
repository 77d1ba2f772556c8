"""One server as an official MCP `server.json` (schema 2025-12-11), with ToolHive's publisher block.

The MCP Registry v0.1 mirror and ToolHive's current registry format both carry
servers in this shape, so both call `server_json`. The ToolHive-specific data
(status, tier, tools, permissions, provenance...) goes under
`_meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]`
keyed by the image reference or remote URL, as ToolHive's
`publisher-provided.schema.json` defines; our own facts (category, review
state, links) go beside it under the catalog's namespace. This module only
maps values: it never decides which servers are listed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from generator import derived, paths
from generator.models import EnvVar, Header, Package, Server, Tool
from generator.render.context import RenderContext
from generator.render.encoding import json_piece
from generator.render.memo import per_server

SERVER_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
PUBLISHER_PROVIDED = "io.modelcontextprotocol.registry/publisher-provided"
OFFICIAL = "io.modelcontextprotocol.registry/official"
STACKLOK = "io.github.stacklok"
TOOLHIVE_TIER = {"validated": "Official", "community": "Community"}
# ToolHive's schemas accept only these tool names; a name outside it would make thv refuse the file.
TOOLHIVE_TOOL_NAME = re.compile(r"^[\w-]+$", re.ASCII)
# Repository hosts the MCP registry knows by name; any other host is named by itself.
_FORGES = {"github.com": "github", "gitlab.com": "gitlab"}


def rfc3339(moment: dt.datetime | dt.date) -> str:
    """A UTC RFC 3339 timestamp; a date is taken at midnight UTC."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_updated(context: RenderContext) -> str:
    """The catalog's `last_updated` as RFC 3339: the only timestamp documents carry besides `updated`."""
    return rfc3339(context.catalog.meta.last_updated)


def updated_at(context: RenderContext, server: Server) -> str:
    """When the server's entry last changed, as RFC 3339."""
    return rfc3339(derived.updated(context.catalog.meta, server))


def toolhive_key(context: RenderContext, server: Server) -> str | None:
    """The key of the server's `io.github.stacklok` block: image reference or remote URL (None for reference entries)."""
    if server.remote is not None:
        return server.remote.url
    return derived.deploy_image(context.catalog.meta, server, context.image_mirror)


def toolhive_tool_names(tools: Sequence[Tool]) -> list[str]:
    """Names clients see after overrides, unique, limited to what ToolHive's schemas accept."""
    names = (tool.deployed_name for tool in tools)
    return list(dict.fromkeys(name for name in names if TOOLHIVE_TOOL_NAME.fullmatch(name)))  # linear: 20,000 tools


def tool_definition(tool: Tool) -> dict[str, Any]:
    """An MCP tool definition as deployed: the override's name and description win."""
    definition: dict[str, Any] = {
        "name": tool.deployed_name,
        "description": (tool.override.description if tool.override and tool.override.description else tool.description),
    }
    if tool.input_schema is not None:
        definition["inputSchema"] = tool.input_schema
    if tool.annotations is not None:
        definition["annotations"] = tool.annotations.model_dump(exclude_none=True)
    return definition


def stacklok_extensions(context: RenderContext, server: Server, tools: Sequence[Tool]) -> dict[str, Any]:
    """ToolHive's per-server extensions (publisher-provided.schema.json `server_extensions`)."""
    block: dict[str, Any] = {
        "status": "Active" if server.status == "active" else "Deprecated",
        "tier": TOOLHIVE_TIER[server.tier],
        "tools": toolhive_tool_names(tools),
        "tags": list(dict.fromkeys(server.tags)),
        "tool_definitions": [tool_definition(tool) for tool in tools],
        "metadata": {"last_updated": updated_at(context, server)},
    }
    overview = context.catalog.overviews.get(server.name)
    if overview:
        block["overview"] = overview
    if server.kind == "container":
        block.update(_container_extensions(server))
    return block


def _container_extensions(server: Server) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    if server.permissions is not None:
        extensions["permissions"] = permissions(server)
    if server.args:
        extensions["args"] = list(server.args)
    if server.provenance is not None:
        extensions["provenance"] = server.provenance.model_dump(exclude_none=True)
    return extensions


def permissions(server: Server) -> dict[str, Any]:
    """The permission profile in ToolHive's shape, duplicates removed (its schema wants unique items)."""
    assert server.permissions is not None
    profile: dict[str, Any] = {}
    network = server.permissions.network
    if network is not None:
        outbound = network.outbound
        profile["network"] = {
            "outbound": {
                "allow_host": list(dict.fromkeys(outbound.allow_host)),
                "allow_port": list(dict.fromkeys(outbound.allow_port)),
                "insecure_allow_all": outbound.insecure_allow_all,
            }
        }
    profile["read"] = list(dict.fromkeys(server.permissions.read))
    profile["write"] = list(dict.fromkeys(server.permissions.write))
    return profile


def catalog_extensions(context: RenderContext, server: Server) -> dict[str, Any]:
    """Our own facts about the server, under the catalog's namespace: what neither MCP nor ToolHive models."""
    meta = context.catalog.meta
    return {
        "category": server.category,
        "tier": server.tier,
        "review": derived.review_state(meta, server),
        "kind": server.kind,
        "publisher": server.publisher,
        "license": server.license,
        "links": {"export": paths.api_server(server.name), "page": paths.server_page(server.name)},
    }


def server_json(
    context: RenderContext, server: Server, tools: Sequence[Tool] | None = None, profile_name: str | None = None
) -> dict[str, Any]:
    """The server as an MCP server.json; `tools` (default: all) lets a profile withhold some, and
    `profile_name` gives the variables the values that profile requires (as their default)."""
    chosen = server.tools if tools is None else tools
    document: dict[str, Any] = {
        "$schema": SERVER_SCHEMA,
        "name": derived.registry_name(context.catalog.meta, server),
        "title": server.title,
        "description": server.description,
        "version": server.version,
    }
    if server.repository:
        document["repository"] = repository(server.repository)
    if server.kind == "remote":
        document["remotes"] = [remote(server)]
    elif server.kind == "container":
        document["packages"] = [oci_package(context, server, profile_name)]
    else:
        document["packages"] = [language_package(server, package) for package in server.packages]
    document["_meta"] = {PUBLISHER_PROVIDED: publisher_provided(context, server, chosen)}
    return document


def publisher_provided(context: RenderContext, server: Server, tools: Sequence[Tool]) -> dict[str, Any]:
    """The server's publisher-provided `_meta`: our facts under the catalog's namespace, ToolHive's beside them."""
    publisher: dict[str, Any] = {context.catalog.meta.namespace: catalog_extensions(context, server)}
    key = toolhive_key(context, server)
    if key is not None:
        publisher[STACKLOK] = {key: stacklok_extensions(context, server, tools)}
    return publisher


def meta_size_problem(context: RenderContext, server: Server) -> str | None:
    """Why the registry server would refuse the server's publisher-provided `_meta`, or None.

    One such server makes it reject the whole sync, so the source is refused instead of the
    cluster refusing the registry later. The document listing every tool is the largest the
    server has: a profile's copy withholds tools and changes nothing else in `_meta`. It is
    measured in `encoded_server_json`, the piece the registry outputs splice (a build has it
    already). A server its review rejected is in no registry, so it has no `_meta` to refuse.
    """
    if not derived.installable(context.catalog.meta, server):
        return None
    limit = context.catalog.meta.toolhive.max_meta_size
    size = encoded_meta_size(encoded_server_json(context, server))
    if size <= limit:
        return None
    return (f"the publisher-provided _meta of '{server.name}' is {size} bytes, more than the registry server's "
            f"maxMetaSize of {limit} bytes (toolhive.max_meta_size in catalog.yaml): shorten its tool descriptions, "
            "schemas and overview, or raise the limit to match your registry server")


_META_MEMBER = b',"_meta":{' + json_piece(PUBLISHER_PROVIDED) + b":"


def encoded_meta_size(document: bytes) -> int:
    """The length of `json_piece(publisher)` in an encoded server.json, whose last member is
    `"_meta":{PUBLISHER_PROVIDED: publisher}`. No member before it holds that text: the keys
    before `_meta` are server.json's own, and a string holds no unescaped quote."""
    return len(document) - document.index(_META_MEMBER) - len(_META_MEMBER) - len(b"}}")


@per_server
def encoded_server_json(context: RenderContext, server: Server, profile_name: str | None = None) -> bytes:
    """`server_json` with the tools the profile `profile_name` keeps (all without one), as a compact JSON piece.

    The MCP mirror's responses and ToolHive's current registry files hold this same document;
    a profile keeping every tool serves the catalog's own (one piece, made once).
    """
    profile = derived.profile_named(context.catalog.meta, profile_name)
    tools = None if profile is None else derived.profile_tools(profile, server)
    if tools is not None and len(tools) == len(server.tools) and not derived.profile_sets_env(server, profile_name):
        return encoded_server_json(context, server)
    return json_piece(server_json(context, server, tools, profile_name))


def repository(url: str) -> dict[str, str]:
    """server.json `repository`: the URL and the forge that hosts it."""
    host = (urlsplit(url).hostname or "").lower()
    return {"url": url, "source": _FORGES.get(host, host or "unknown")}


def oci_package(context: RenderContext, server: Server, profile_name: str | None = None) -> dict[str, Any]:
    """A container server as an `oci` package, pinned by digest and rewritten to the mirror when configured."""
    package: dict[str, Any] = {
        "registryType": "oci",
        "identifier": derived.deploy_image(context.catalog.meta, server, context.image_mirror),
        "transport": local_transport(server),
    }
    if server.env:
        package["environmentVariables"] = [environment_variable(env, profile_name) for env in server.env]
    return package


def language_package(server: Server, source: Package) -> dict[str, Any]:
    """A reference entry's npm/PyPI/... package, run locally by the client."""
    package: dict[str, Any] = {
        "registryType": source.registry_type,
        "identifier": source.identifier,
        "transport": local_transport(server),
    }
    if source.version:
        package["version"] = source.version
    if source.registry_base_url:
        package["registryBaseUrl"] = source.registry_base_url
    if server.env:
        package["environmentVariables"] = [environment_variable(env) for env in server.env]
    return package


def local_transport(server: Server) -> dict[str, str]:
    """The package transport; HTTP servers are reached on localhost at their port, as ToolHive writes it."""
    if server.transport == "stdio":
        return {"type": "stdio"}
    return {"type": server.transport, "url": f"http://localhost:{server.port or 8080}"}


def remote(server: Server) -> dict[str, Any]:
    """A hosted server as a `remotes` entry."""
    assert server.remote is not None
    entry: dict[str, Any] = {"type": server.transport, "url": server.remote.url}
    if server.remote.headers:
        entry["headers"] = [header(item) for item in server.remote.headers]
    return entry


def environment_variable(env: EnvVar, profile_name: str | None = None) -> dict[str, Any]:
    """An `environmentVariables` item (KeyValueInput); its default is the one of the profile `profile_name`."""
    item: dict[str, Any] = {"name": env.name, "isRequired": env.required, "isSecret": env.secret}
    if env.description:
        item["description"] = env.description
    default = derived.env_default(env, profile_name)
    if default is not None:
        item["default"] = default
    return item


def header(source: Header) -> dict[str, Any]:
    """A remote's `headers` item (KeyValueInput)."""
    item: dict[str, Any] = {"name": source.name, "isRequired": source.required, "isSecret": source.secret}
    if source.description:
        item["description"] = source.description
    return item
