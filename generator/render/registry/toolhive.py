"""ToolHive registry files: `registry.json` (current format) and `registry-legacy.json`.

The current format wraps MCP server.json documents as
`{$schema, version, meta{last_updated}, data{servers[]}}`; `thv config set-registry`
and the registry server's `file:` source read it. The legacy format (`servers` /
`remote_servers` maps) is for clusters still running ToolHive releases from before
the switch. Only deployable servers go in: thv silently drops an entry with
neither remotes nor exactly one `oci` package, so reference-only entries are
listed by the catalog API and the MCP mirror instead.

The files are spliced from each server's encoded entry (`upstream_registry_bytes`,
`legacy_registry_bytes`, which the Kubernetes bundles also embed in ConfigMaps);
`upstream_registry` and `legacy_registry` give the same documents as plain data, which the
tests compare with the written files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from generator import derived, paths
from generator.models import EnvVar, Header, RegistryProfile, Server, Tool
from generator.output import OutputFile
from generator.render.context import RenderContext
from generator.render.encoding import json_piece, spliced
from generator.render.kind import Fragment, OutputKind, render_kind
from generator.render.registry.server_json import (
    TOOLHIVE_TIER,
    last_updated,
    permissions,
    encoded_server_json,
    server_json,
    server_json_key,
    tool_definition,
    toolhive_tool_names,
    updated_at,
)

UPSTREAM_SCHEMA = (
    "https://raw.githubusercontent.com/stacklok/toolhive-core/main/registry/types/data/upstream-registry.schema.json"
)
# The version of the registry file format (not of the catalog): both formats are at 1.0.0.
FORMAT_VERSION = "1.0.0"
# Limits of the legacy schema that our source format does not impose.
_LEGACY_DESCRIPTION = (10, 500)
_LEGACY_FIELD_DESCRIPTION = (5, 200)
# Header names the legacy schema accepts; others (legal HTTP tokens) are left out of this format only.
_LEGACY_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def deployable(servers: Sequence[Server]) -> list[Server]:
    """The servers ToolHive can run: containers and remotes, never reference-only entries."""
    return [server for server in servers if server.kind != "reference"]


def _tools(profile: RegistryProfile | None, server: Server) -> Sequence[Tool]:
    return server.tools if profile is None else derived.profile_tools(profile, server)


def upstream_registry(
    context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None
) -> dict[str, Any]:
    """ToolHive's current registry document ({$schema, version, meta, data{servers}}) for `servers`.

    With `profile`, each server lists only the tools the profile's tool policy keeps.
    """
    return {
        "$schema": UPSTREAM_SCHEMA,
        "version": FORMAT_VERSION,
        "meta": {"last_updated": last_updated(context)},
        "data": {"servers": [server_json(context, s, _tools(profile, s)) for s in deployable(servers)]},
    }


def legacy_registry(
    context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None
) -> dict[str, Any]:
    """ToolHive's legacy registry document ({servers, remote_servers}) for `servers`.

    The legacy schema requires at least one tool per entry, so a server whose tools
    are all withheld (or that declares none) is left out of this format only.
    """
    containers: dict[str, Any] = {}
    remotes: dict[str, Any] = {}
    for server in deployable(servers):
        tools = _tools(profile, server)
        if not toolhive_tool_names(tools):
            continue
        if server.kind == "remote":
            remotes[server.name] = _legacy_remote(context, server, tools)
        else:
            containers[server.name] = _legacy_container(context, server, tools)
    return {
        "version": FORMAT_VERSION,
        "last_updated": last_updated(context),
        "servers": containers,
        "remote_servers": remotes,
    }


def _legacy_common(context: RenderContext, server: Server, tools: Sequence[Tool]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "title": server.title,
        "description": _fit(server.description, _LEGACY_DESCRIPTION, f"{server.title} MCP server"),
        "status": "Active" if server.status == "active" else "Deprecated",
        "tier": TOOLHIVE_TIER[server.tier],
        "transport": server.transport,
        "tools": toolhive_tool_names(tools),
        "tool_definitions": [tool_definition(tool) for tool in tools],
        "metadata": {"last_updated": updated_at(context, server)},
    }
    if server.tags:
        entry["tags"] = list(dict.fromkeys(server.tags))
    if server.repository:
        entry["repository_url"] = server.repository
    overview = context.catalog.overviews.get(server.name)
    if overview:
        entry["overview"] = overview
    return entry


def _legacy_container(context: RenderContext, server: Server, tools: Sequence[Tool]) -> dict[str, Any]:
    entry = _legacy_common(context, server, tools)
    # The legacy schema's image pattern has no room for a digest, so the tag reference is given.
    unpinned = server.model_copy(update={"digest": None})
    entry["image"] = derived.deploy_image(context.catalog.meta, unpinned, context.image_mirror)
    if server.port is not None:
        entry["target_port"] = server.port
    if server.args:
        entry["args"] = list(server.args)
    if server.env:
        entry["env_vars"] = [_legacy_env(env) for env in server.env]
    if server.permissions is not None:
        entry["permissions"] = permissions(server)
    if server.provenance is not None:
        entry["provenance"] = server.provenance.model_dump(exclude_none=True)
    return entry


def _legacy_remote(context: RenderContext, server: Server, tools: Sequence[Tool]) -> dict[str, Any]:
    assert server.remote is not None
    entry = _legacy_common(context, server, tools)
    entry["url"] = server.remote.url
    headers = [_legacy_header(item) for item in server.remote.headers if _legacy_header_name_ok(item)]
    if headers:
        entry["headers"] = headers
    return entry


def _legacy_env(env: EnvVar) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": env.name,
        "description": _fit(env.description, _LEGACY_FIELD_DESCRIPTION, f"Value of {env.name}"),
        "required": env.required,
        "secret": env.secret,
    }
    if env.default is not None:
        item["default"] = env.default
    return item


def _legacy_header(source: Header) -> dict[str, Any]:
    return {
        "name": source.name,
        "description": _fit(source.description, _LEGACY_FIELD_DESCRIPTION, f"Value of the {source.name} header"),
        "required": source.required,
        "secret": source.secret,
    }


def _legacy_header_name_ok(source: Header) -> bool:
    return _LEGACY_HEADER_NAME.fullmatch(source.name) is not None


def _fit(text: str, limits: tuple[int, int], fallback: str) -> str:
    """`text` within the legacy schema's length limits: too short gets `fallback` prepended, too long is cut."""
    shortest, longest = limits
    if len(text) < shortest:
        text = f"{fallback}: {text}" if text else fallback
    if len(text) < shortest:
        text = text.ljust(shortest, ".")
    return text if len(text) <= longest else text[: longest - 1] + "…"


# Encoded registry entries, per server and per profile (the catalog-wide files use "").
def _legacy_key(profile: RegistryProfile | None) -> str:
    return f"toolhive-legacy:{profile.name if profile else ''}"


def _legacy_entry(context: RenderContext, server: Server, profile: RegistryProfile | None) -> bytes:
    """`"name":{...}` of the legacy maps, or nothing when the format cannot hold the server."""
    tools = _tools(profile, server)
    if not toolhive_tool_names(tools):
        return b""
    entry = _legacy_remote(context, server, tools) if server.kind == "remote" else _legacy_container(context, server, tools)
    return json_piece({server.name: entry})[1:-1]


def upstream_registry_bytes(
    context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None
) -> bytes:
    """`json_bytes(upstream_registry(...))`, spliced from each server's encoded entry."""
    # Each entry is the server.json the MCP mirror's per-server half encoded (see server_json_key).
    key = server_json_key(profile)
    entries = (context.fragment(s, key, lambda s=s: encoded_server_json(context, s, profile)) for s in deployable(servers))
    start, end = _upstream_frame(context)
    return spliced(start, entries, end)


def upstream_registry_size(context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None) -> int:
    """`len(upstream_registry_bytes(...))` from the entries' sizes, reading and joining nothing."""
    key = server_json_key(profile)
    sizes = [context.fragment_size(s, key, lambda s=s: encoded_server_json(context, s, profile)) for s in deployable(servers)]
    start, end = _upstream_frame(context)
    return len(start) + _joined_size(sizes) + len(end)


def _upstream_frame(context: RenderContext) -> tuple[bytes, bytes]:
    """What comes before and after the entries of a current-format registry document."""
    head = json_piece({"$schema": UPSTREAM_SCHEMA, "version": FORMAT_VERSION, "meta": {"last_updated": last_updated(context)}})
    return head[:-1] + b',"data":{"servers":[', b"]}}\n"


def legacy_registry_bytes(
    context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None
) -> bytes:
    """`json_bytes(legacy_registry(...))`, spliced from each server's encoded entry."""
    key = _legacy_key(profile)

    def entries(remote: bool) -> Iterator[bytes]:
        for server in deployable(servers):
            if (server.kind == "remote") == remote:
                entry = context.fragment(server, key, lambda s=server: _legacy_entry(context, s, profile))
                if entry:  # empty: the legacy format cannot hold the server
                    yield entry

    start, middle, end = _legacy_frame(context)
    return spliced(start, entries(remote=False), middle, entries(remote=True), end)


def legacy_registry_size(context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None) -> int:
    """`len(legacy_registry_bytes(...))` from the entries' sizes, reading and joining nothing."""
    key = _legacy_key(profile)
    sizes: dict[str, list[int]] = {"container": [], "remote": []}
    for server in deployable(servers):
        size = context.fragment_size(server, key, lambda s=server: _legacy_entry(context, s, profile))
        if size:
            sizes["remote" if server.kind == "remote" else "container"].append(size)
    return sum(map(len, _legacy_frame(context))) + _joined_size(sizes["container"]) + _joined_size(sizes["remote"])


def _legacy_frame(context: RenderContext) -> tuple[bytes, bytes, bytes]:
    """What comes before, between and after the two maps of a legacy registry document."""
    head = json_piece({"version": FORMAT_VERSION, "last_updated": last_updated(context)})
    return head[:-1] + b',"servers":{', b'},"remote_servers":{', b"}}\n"


def _joined_size(sizes: Sequence[int]) -> int:
    """The length of `b",".join(...)` of pieces of these sizes."""
    return sum(sizes) + max(0, len(sizes) - 1)


def entry_fragments(context: RenderContext, server: Server) -> Iterator[Fragment]:
    """The server's encoded entries of every legacy registry file listing it (catalog-wide and per profile)."""
    if server.kind == "reference":
        return
    for profile in (None, *derived.profiles_admitting(context.catalog.meta, server)):
        yield Fragment(_legacy_key(profile), _legacy_entry(context, server, profile))


def registry_files(context: RenderContext) -> Iterator[OutputFile]:
    """Yield registry.json, registry-legacy.json and the same two per registry profile."""
    catalog = context.catalog
    yield OutputFile(paths.TOOLHIVE_REGISTRY, upstream_registry_bytes(context, catalog.servers))
    yield OutputFile(paths.TOOLHIVE_LEGACY_REGISTRY, legacy_registry_bytes(context, catalog.servers))
    for profile in catalog.meta.registries:
        admitted = derived.profile_servers(catalog, profile)
        yield OutputFile(paths.profile_toolhive_registry(profile.name), upstream_registry_bytes(context, admitted, profile))
        yield OutputFile(
            paths.profile_toolhive_registry(profile.name, legacy=True), legacy_registry_bytes(context, admitted, profile)
        )


KIND = OutputKind("toolhive", registry_files, entry_fragments)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield registry.json, registry-legacy.json and the same two per registry profile."""
    return render_kind(KIND, context)
