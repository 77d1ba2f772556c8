"""ToolHive registry files: `registry.json` (current format) and `registry-legacy.json`.

The current format wraps MCP server.json documents as
`{$schema, version, meta{last_updated}, data{servers[]}}`; `thv config set-registry`
and the registry server's `file:` source read it. The legacy format (`servers` /
`remote_servers` maps) is for clusters still running ToolHive releases from before
the switch. Only deployable servers go in (`derived.deployable`): thv silently drops
an entry with neither remotes nor exactly one `oci` package, so reference-only entries
are listed by the catalog API and the MCP mirror instead; a server its review rejected is
in no registry file, the catalog's or a profile's (its page and API document say why).

The files are spliced from each server's encoded entry (`upstream_registry_spliced`,
`legacy_registry_spliced`, which the Kubernetes bundles also embed in ConfigMaps);
`upstream_registry` and `legacy_registry` give the same documents as plain data, which the
tests compare with the written files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from generator import derived, paths
from generator.errors import LimitExceeded
from generator.models import EnvVar, Header, RegistryProfile, Server, Tool
from generator.output import OutputFile
from generator.render.context import RenderContext
from generator.render.encoding import Lazy, Spliced, json_piece
from generator.render.kind import OutputKind, render_kind
from generator.render.memo import per_server
from generator.render.registry.server_json import (
    TOOLHIVE_TIER,
    last_updated,
    meta_size_problem,
    permissions,
    encoded_server_json,
    server_json,
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


def deployable(context: RenderContext, servers: Sequence[Server]) -> list[Server]:
    """The servers ToolHive may run: containers and remotes, never reference-only entries nor rejected servers."""
    return [server for server in servers if derived.deployable(context.catalog.meta, server)]


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
        "data": {"servers": [server_json(context, s, _tools(profile, s), profile.name if profile else None) for s in deployable(context, servers)]},
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
    for server in deployable(context, servers):
        tools = _tools(profile, server)
        if not toolhive_tool_names(tools):
            continue
        if server.kind == "remote":
            remotes[server.name] = _legacy_remote(context, server, tools)
        else:
            containers[server.name] = _legacy_container(context, server, tools, profile.name if profile else None)
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


def _legacy_container(context: RenderContext, server: Server, tools: Sequence[Tool], profile_name: str | None = None) -> dict[str, Any]:
    entry = _legacy_common(context, server, tools)
    # The legacy schema's image pattern has no room for a digest, so the tag reference is given.
    unpinned = server.model_copy(update={"digest": None})
    entry["image"] = derived.deploy_image(context.catalog.meta, unpinned, context.image_mirror)
    if server.port is not None:
        entry["target_port"] = server.port
    if server.args:
        entry["args"] = list(server.args)
    if server.env:
        entry["env_vars"] = [_legacy_env(env, profile_name) for env in server.env]
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


def _legacy_env(env: EnvVar, profile_name: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": env.name,
        "description": _fit(env.description, _LEGACY_FIELD_DESCRIPTION, f"Value of {env.name}"),
        "required": env.required,
        "secret": env.secret,
    }
    default = derived.env_default(env, profile_name)
    if default is not None:
        item["default"] = default
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


@per_server
def legacy_entry(context: RenderContext, server: Server, profile_name: str | None = None) -> bytes:
    """`"name":{...}` of the legacy maps as the catalog or a profile lists the server, or nothing when
    the format cannot hold it."""
    tools = _tools(derived.profile_named(context.catalog.meta, profile_name), server)
    if profile_name is not None and len(tools) == len(server.tools) and not derived.profile_sets_env(server, profile_name):
        return legacy_entry(context, server)  # the catalog's own entry: one piece, made once
    if not toolhive_tool_names(tools):
        return b""
    entry = _legacy_remote(context, server, tools) if server.kind == "remote" else _legacy_container(context, server, tools, profile_name)
    return json_piece({server.name: entry})[1:-1]


def upstream_registry_spliced(context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None) -> Spliced:
    """`json_bytes(upstream_registry(...))` as each server's server.json spliced (`bytes()`, or `len()` without reading)."""
    name = profile.name if profile else None
    head = json_piece({"$schema": UPSTREAM_SCHEMA, "version": FORMAT_VERSION, "meta": {"last_updated": last_updated(context)}})
    entries = [encoded_server_json.lazy(context, s, name) for s in deployable(context, servers)]
    return Spliced((head[:-1] + b',"data":{"servers":[', entries, b"]}}\n"))


def legacy_registry_spliced(context: RenderContext, servers: Sequence[Server], profile: RegistryProfile | None = None) -> Spliced:
    """`json_bytes(legacy_registry(...))` as each server's entry spliced (`bytes()`, or `len()` without reading)."""
    name = profile.name if profile else None
    head = json_piece({"version": FORMAT_VERSION, "last_updated": last_updated(context)})

    def entries(remote: bool) -> list[Lazy]:
        return [legacy_entry.lazy(context, s, name) for s in deployable(context, servers) if (s.kind == "remote") == remote]

    return Spliced((head[:-1] + b',"servers":{', entries(remote=False), b'},"remote_servers":{', entries(remote=True), b"}}\n"))


def entry_pieces(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """No file of its own: the server's entries of every registry file listing it, made now.

    Refused (`LimitExceeded`) when the registry server would refuse its `_meta`, wherever it reads
    the server.json from (these files, or the MCP mirror for a reference entry): a build checks here,
    once per rendered server, what `validate` checks for all (`generator.limits`)."""
    problem = meta_size_problem(context, server)
    if problem is not None:
        raise LimitExceeded(problem)
    if derived.deployable(context.catalog.meta, server):
        for profile in (None, *derived.profiles_offering(context.catalog.meta, server)):
            encoded_server_json(context, server, profile.name if profile else None)
            legacy_entry(context, server, profile.name if profile else None)
    return iter(())


def registry_files(context: RenderContext) -> Iterator[OutputFile]:
    """Yield registry.json, registry-legacy.json and the same two per registry profile."""
    catalog = context.catalog
    yield OutputFile(paths.TOOLHIVE_REGISTRY, upstream_registry_spliced(context, catalog.servers))
    yield OutputFile(paths.TOOLHIVE_LEGACY_REGISTRY, legacy_registry_spliced(context, catalog.servers))
    for profile in catalog.meta.registries:
        offered = derived.profile_offered(catalog, profile)
        yield OutputFile(paths.profile_toolhive_registry(profile.name), upstream_registry_spliced(context, offered, profile))
        yield OutputFile(paths.profile_toolhive_registry(profile.name, legacy=True), legacy_registry_spliced(context, offered, profile))


KIND = OutputKind("toolhive", registry_files, entry_pieces)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield registry.json, registry-legacy.json and the same two per registry profile."""
    return render_kind(KIND, context)
