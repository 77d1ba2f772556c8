"""Static mirror of the official MCP Registry API v0.1, at the site root and per registry profile.

Every lookup is a file or made of one: `.../servers/<ns>%2F<name>/versions[/<version>|/latest]`
are `index.json` files in the folders the decoded name gives, except what the shipped
web-server configurations answer without (`--hosting query-layer`, the default): the
byte-identical duplicates `versions/latest` when the version has its own folder and a
profile's documents when they equal the site root's (its policy withholds no tool), and the
one-server `versions` list, which is the version document wrapped in a ServerList. The query
layer answers them through the base's index, which also says which servers a profile admits;
`--hosting plain` writes every document as a file. The list, `GET {base}/v0.1/servers`,
is answered by the query layer from the base's compact index, and without parameters by its
first page (`mcp_query_index`): no list grows with the catalog. Each base also serves
an `openapi.yaml` describing exactly these GET endpoints, which ToolHive's registry
server checks before it syncs. The profile bases (`registry/<profile>/`) are laid out
as the ToolHive registry server serves `GET /registry/{registryName}/v0.1/...`.

A server its review rejected is served by no base, the site root included
(`derived.installable`): no list, index, search or lookup names it, so no client installs
it from here. The catalog API (`api/v1/`) and its site page keep it, with the review.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from generator import derived, paths
from generator.errors import OutputError
from generator.models import RegistryProfile, Server
from generator.output import OutputFile
from generator.render.context import PLAIN, QUERY_LAYER, RenderContext
from generator.render.encoding import Lazy, json_piece
from generator.render.kind import OutputKind, render_kind
from generator.render.registry.openapi import openapi_document
from generator.render.registry.query_index import ListEntry, encoded_page, first_page, query_index
from generator.render.registry.server_json import OFFICIAL, encoded_server_json, updated_at



def official_meta(context: RenderContext, server: Server) -> dict[str, Any]:
    """The registry's own `_meta` for a listed version: one version per server, always the latest."""
    stamp = updated_at(context, server)
    return {
        OFFICIAL: {
            "status": "deprecated" if server.status == "deprecated" else "active",
            "publishedAt": stamp,
            "updatedAt": stamp,
            "isLatest": True,
        }
    }


def checked_registry_name(name: str) -> str:
    """The registry name, refused when a part would be a `.`/`..` folder (a path must not collapse or climb).

    A source read from files cannot hold one (the model refuses it); this guards catalogs built in code."""
    if any(part in {".", ".."} for part in name.split("/")):
        raise OutputError(f"registry name {name!r} cannot be served as files: rename it in the source")
    return name


def server_files(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """The server's lookup documents at every base serving it (its server.json per base is a piece the lists share).

    For the query layer, a profile's documents are left out when they are the root's bytes, and
    `versions` and `latest` where `_lookup_documents` says; `--hosting plain` writes every document.
    """
    name = checked_registry_name(derived.registry_name(context.catalog.meta, server))
    meta = json_piece(official_meta(context, server))
    root_response = None  # the site root comes first in _bases
    for base, profile in _bases(context, server):
        response = _response(encoded_server_json(context, server, profile.name if profile else None), meta)
        if profile is None:
            root_response = response
        elif response == root_response and context.hosting == QUERY_LAYER:
            continue  # the query layer answers this profile's lookups from the root's files
        yield from _lookup_documents(context, name, server.version, base, response)


def _lookup_documents(context: RenderContext, name: str, version: str, base: str, response: bytes) -> Iterator[OutputFile]:
    """`versions`, `versions/<version>` and `versions/latest` of one server at one base.

    For the query layer (`--hosting query-layer`) `latest`, the version document again, is
    written only when the version has no folder of its own (not one safe path segment), and
    `versions` never: the layer answers `latest` from the version the base's index names, and
    `versions` by wrapping the response that index holds in the page `encoded_page` writes.
    """
    if context.hosting == PLAIN:
        yield OutputFile(paths.mcp_versions(name, base), encoded_page([response], None))
    has_folder = paths.mcp_version_has_folder(version)
    if not has_folder or context.hosting == PLAIN:
        yield OutputFile(paths.mcp_version(name, "latest", base), response + b"\n")
    if has_folder:
        yield OutputFile(paths.mcp_version(name, version, base), response + b"\n")


def _bases(context: RenderContext, server: Server) -> list[tuple[str, RegistryProfile | None]]:
    """The API bases listing `server`: the site root, then each profile offering it; none when rejected."""
    meta = context.catalog.meta
    if not derived.installable(meta, server):
        return []
    return [("", None), *[(paths.profile_api_base(p.name), p) for p in derived.profiles_offering(meta, server)]]


def _response(server_document: bytes, meta: bytes) -> bytes:
    """A ServerResponse, `{"server": <server.json>, "_meta": <official_meta>}`, from its two encoded members."""
    return b'{"server":' + server_document + b',"_meta":' + meta + b"}"


def encoded_response(context: RenderContext, server: Server, profile: RegistryProfile | None) -> bytes:
    """The server's ServerResponse at a base; a profile withholds the tools its policy drops (`encoded_server_json`)."""
    document = encoded_server_json(context, server, profile.name if profile else None)
    return _response(document, json_piece(official_meta(context, server)))


def _lazy_response(context: RenderContext, server: Server, profile: RegistryProfile | None) -> Lazy:
    """`encoded_response` read when the index is written, and measured without reading its server.json."""
    document = encoded_server_json.lazy(context, server, profile.name if profile else None)
    meta = json_piece(official_meta(context, server))
    return Lazy(lambda: _response(document.read(), meta), lambda: len(_response(b"", meta)) + document.size())


def base_files(context: RenderContext, servers: Sequence[Server], base: str, profile: RegistryProfile | None) -> Iterator[OutputFile]:
    """One API base's catalog-wide files: openapi.yaml, the list's first page and the query index."""
    yield OutputFile(paths.mcp_openapi(base), openapi_yaml(context, profile))
    meta = context.catalog.meta
    entries = sorted(
        (
            ListEntry(derived.registry_name(meta, s), s.version, derived.updated(meta, s), _lazy_response(context, s, profile))
            for s in servers
        ),
        key=lambda entry: entry.name.encode(),
    )
    yield OutputFile(paths.mcp_servers_list(base), first_page(entries))
    yield OutputFile(paths.mcp_query_index(base), query_index(entries))


def openapi_yaml(context: RenderContext, profile: RegistryProfile | None) -> bytes:
    """The base's OpenAPI description as YAML, keys in the order written (deterministic)."""
    document = openapi_document(context, profile)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def catalog_files(context: RenderContext) -> Iterator[OutputFile]:
    """The lists and OpenAPI descriptions of the site root and of every profile."""
    catalog = context.catalog
    yield from base_files(context, derived.installable_servers(catalog), "", None)
    for profile in catalog.meta.registries:
        yield from base_files(context, derived.profile_offered(catalog, profile), paths.profile_api_base(profile.name), profile)


KIND = OutputKind("mcp_registry", catalog_files, server_files)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield v0.1/servers/... for the site root and registry/<profile>/v0.1/... per profile."""
    return render_kind(KIND, context)
