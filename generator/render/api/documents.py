"""Our own static catalog API under api/v1/: index, server summaries and exports, facets, profiles.

Each document has a published JSON Schema (`api/v1/schemas/`) and an entry in
`openapi.json`. `index.json` links to every other document of the API, the
ToolHive files and the MCP mirror with the SHA-256 of each, so a mirror can be
verified file by file; it is written by the build's index phase, after every
renderer, from the records of what they wrote. Links are paths relative to the site root.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from generator import derived, paths
from generator.models import Catalog, RegistryProfile, Server
from generator.output import OutputFile, WrittenFile
from generator.render.api.browse import browse_pages, is_browse_page
from generator.render.api.document_schemas import DOCUMENT_KINDS, document_schema, openapi_document
from generator.render.context import RenderContext
from generator.render.encoding import Spliced, json_bytes, json_file, json_piece
from generator.render.kind import PROGRAM_ONLY, Deferred, OutputKind, render_kind
from generator.render.memo import per_server
from generator.render.registry.server_json import last_updated, updated_at


# What index.json lists: our API, the source schemas, the MCP mirrors (site root and per
# profile) and the ToolHive registry files (catalog-wide and per profile).
_API_PREFIXES = ("api/", "schemas/", "v0.1/", "registry/")
_API_FILES = {paths.TOOLHIVE_REGISTRY, paths.TOOLHIVE_LEGACY_REGISTRY, paths.mcp_openapi()}
_PROFILE_REGISTRY = re.compile(r"registries/[a-z0-9-]+/registry(-legacy)?\.json")


def server_links(catalog: Catalog, server: Server) -> dict[str, str]:
    """Where the server's other documents live (site-root-relative)."""
    name = derived.registry_name(catalog.meta, server)
    links = {"export": paths.api_server(server.name), "page": paths.server_page(server.name)}
    if derived.installable(catalog.meta, server):  # a rejected server is in no MCP mirror
        links["mcp"] = paths.mcp_server_document(name, server.version)
    if server.kind != "reference":
        links["bundle"] = paths.server_bundle_dir(server.name)
        links["manifests"] = paths.server_bundle_kustomization(server.name)
    return links


def server_summary(catalog: Catalog, server: Server) -> dict[str, Any]:
    """One line of `servers.json`: enough to list, filter and link."""
    meta = catalog.meta
    return {
        "name": server.name,
        "registry_name": derived.registry_name(meta, server),
        "title": server.title,
        "description": server.description,
        "version": server.version,
        "category": server.category,
        "tags": list(server.tags),
        "tier": server.tier,
        "status": server.status,
        "kind": server.kind,
        "transport": server.transport,
        "review": derived.review_state(meta, server),
        "notices": [notice.document() for notice in derived.notices(meta, server)],
        "updated": derived.updated(meta, server).isoformat(),
        "tools": len(server.tools),
        "links": server_links(catalog, server),
    }


def server_export(context: RenderContext, server: Server, profiles: Sequence[str]) -> dict[str, Any]:
    """`servers/<name>.json`: the validated source entry plus everything derived from it.

    `server.image` is the reference to pull (the mirror's, when one is set), so that nothing
    emitted for deployment names the upstream registry; `profiles` are those admitting it, and
    `offered_in` those of them that offer it (the others withhold every tool: see `derived.offers`).
    """
    catalog = context.catalog
    meta = catalog.meta
    record = server.model_dump(mode="json", exclude_none=True)
    if server.image:
        record["image"] = derived.mirrored_image(meta, server, context.image_mirror)
    return {
        "server": record,
        "registry_name": derived.registry_name(meta, server),
        "kind": server.kind,
        "review": derived.review_state(meta, server),
        "notices": [notice.document() for notice in derived.notices(meta, server)],
        "updated": updated_at(context, server),
        "deploy_image": derived.deploy_image(meta, server, context.image_mirror),
        "profiles": list(profiles),
        "offered_in": [profile.name for profile in derived.profiles_offering(meta, server)],
        "overview": catalog.overviews.get(server.name),
        "links": server_links(catalog, server),
    }


def categories_document(catalog: Catalog) -> dict[str, Any]:
    """`categories.json`: every declared category with its servers (possibly none)."""
    members: dict[str, list[str]] = defaultdict(list)
    for server in catalog.servers:
        members[server.category].append(server.name)
    return {
        "categories": [
            {
                "slug": category.slug,
                "title": category.title,
                "description": category.description,
                "servers": members[category.slug],
            }
            for category in catalog.meta.categories
        ]
    }


def tags_document(catalog: Catalog) -> dict[str, Any]:
    """`tags.json`: every tag in use, sorted, with its servers (one pass: a scan per tag was quadratic)."""
    members: dict[str, list[str]] = defaultdict(list)
    for server in catalog.servers:
        for tag in dict.fromkeys(server.tags):
            members[tag].append(server.name)
    return {"tags": [{"tag": tag, "servers": members[tag]} for tag in sorted(members)]}


def tool_entries(server: Server) -> list[dict[str, Any]]:
    """The server's lines of `tools.json` (every tool with its server, as deployed: overrides applied)."""
    entries = []
    for tool in server.tools:
        entry: dict[str, Any] = {"server": server.name, "name": tool.deployed_name, "source_name": tool.name}
        entry["description"] = tool.override.description if tool.override and tool.override.description else tool.description
        entry["annotations"] = tool.annotations.model_dump(exclude_none=True) if tool.annotations else {}
        entries.append(entry)
    return entries


def profile_member(profile: RegistryProfile, server: Server) -> dict[str, Any]:
    """One admitted server of a profile's document: its kind, whether the profile offers it (and why
    not), whether it runs with every tool it has, the tools kept and the tools withheld with their rules.

    `tools: []` alone cannot tell a server the profile does not ship (every tool withheld) from one
    it ships with every tool it has (it declares none, so nothing can be filtered), nor from a
    reference entry, which runs nothing: `offered`, `every_tool` and `kind` say which, as the
    profile's page and `diff` do."""
    because = derived.not_offered_because(profile, server)
    member: dict[str, Any] = {"name": server.name, "kind": server.kind, "offered": because is None}
    if because is not None:
        member["not_offered_because"] = because
    member["every_tool"] = because is None and not server.tools and server.kind != "reference"
    member["tools"] = [tool.deployed_name for tool in derived.profile_tools(profile, server)]
    member["withheld"] = [
        {"name": held.tool.deployed_name, "source_name": held.tool.name, "by_name": held.by_name,
         "hints": list(held.hints), "defaulted_hints": list(held.defaulted)}
        for held in derived.withheld_tools(profile, server)
    ]
    return member


def profile_document(catalog: Catalog, name: str) -> dict[str, Any]:
    """`registries/<profile>.json`: the profile's settings, the servers it admits (offered or not, with
    the tools it keeps and withholds), its files."""
    profile = next(p for p in catalog.meta.registries if p.name == name)
    return {
        "profile": profile.model_dump(mode="json", exclude_none=True),
        "servers": [profile_member(profile, server) for server in derived.profile_servers(catalog, profile)],
        "links": {
            "toolhive_registry": paths.profile_toolhive_registry(name),
            "toolhive_legacy_registry": paths.profile_toolhive_registry(name, legacy=True),
            "mcp_api_base": paths.profile_api_base(name),
            "mcp_servers": paths.mcp_servers_list(paths.profile_api_base(name)),
            "bundle": paths.profile_bundle_dir(name),
            "page": paths.profile_page(name),
        },
    }


def server_files(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """The server's export; its lines of `servers.json` and `tools.json` are made now too."""
    catalog = context.catalog
    profiles = tuple(p.name for p in derived.profiles_admitting(catalog.meta, server))
    yield json_file(paths.api_server(server.name), server_export(context, server, profiles))
    summary_line(context, server)
    tool_lines(context, server)


@per_server
def summary_line(context: RenderContext, server: Server) -> bytes:
    """The server's member of `servers.json`."""
    return json_piece(server_summary(context.catalog, server))


@per_server
def tool_lines(context: RenderContext, server: Server) -> bytes:
    """The server's members of `tools.json`, joined (empty for a server without tools)."""
    return b",".join(json_piece(entry) for entry in tool_entries(server))


def api_documents(context: RenderContext) -> list[OutputFile]:
    """The catalog-wide api/v1 documents: servers, categories, tags, tools and the profiles."""
    catalog = context.catalog
    summaries = [summary_line.lazy(context, s) for s in catalog.servers]
    tools = [tool_lines.lazy(context, s) for s in catalog.servers]
    files = [
        OutputFile(paths.API_SERVERS, Spliced((b'{"count":%d,"servers":[' % len(catalog.servers), summaries, b"]}\n"))),
        json_file(paths.API_CATEGORIES, categories_document(catalog)),
        json_file(paths.API_TAGS, tags_document(catalog)),
        OutputFile(paths.API_TOOLS, Spliced((b'{"tools":[', tools, b"]}\n"))),
    ]
    files += [json_file(paths.api_profile(p.name), profile_document(catalog, p.name)) for p in catalog.meta.registries]
    return files


def schema_files() -> list[Deferred]:
    """The JSON Schema of each document kind, and the OpenAPI description that references them:
    made from the program alone, so only when it changed."""
    made = [(paths.api_schema(kind), partial(document_schema, kind)) for kind in DOCUMENT_KINDS]
    made.append((paths.API_OPENAPI, openapi_document))
    return [Deferred(path, PROGRAM_ONLY, partial(_pretty_json, make)) for path, make in made]


def _pretty_json(make: Callable[[], Any]) -> bytes:
    return json_bytes(make(), pretty=True)


def index_document(context: RenderContext, documents: Mapping[str, WrittenFile]) -> dict[str, Any]:
    """`index.json`: catalog metadata, counts, and every API document with its SHA-256."""
    catalog = context.catalog
    meta = catalog.meta
    servers = catalog.servers
    return {
        "catalog": {
            "title": meta.title,
            "description": meta.description,
            "version": meta.version,
            "namespace": meta.namespace,
            "publisher": meta.publisher,
        },
        "last_updated": last_updated(context),
        "counts": {
            "servers": len(servers),
            "containers": sum(s.kind == "container" for s in servers),
            "remotes": sum(s.kind == "remote" for s in servers),
            "references": sum(s.kind == "reference" for s in servers),
            "tools": sum(len(s.tools) for s in servers),
            "categories": len(meta.categories),
            "tags": len({t for s in servers for t in s.tags}),
            "registries": len(meta.registries),
        },
        "documents": [
            {"path": path, "sha256": documents[path].sha256, "bytes": documents[path].size}
            for path in sorted(documents)
        ],
    }


def is_api_document(path: str) -> bool:
    """True for the machine-readable documents the index lists: our API, the MCP mirrors, ToolHive files."""
    if path == paths.API_INDEX or is_browse_page(path) or path.endswith(paths.mcp_query_index()):
        # The query index is what the web server's layer reads, not an answer of any API.
        return False
    return path.startswith(_API_PREFIXES) or path in _API_FILES or bool(_PROFILE_REGISTRY.fullmatch(path))


def catalog_files(context: RenderContext) -> Iterator[OutputFile | Deferred]:
    """servers.json, categories, tags, tools, profiles, the schemas and the not-found answer."""
    yield from api_documents(context)
    yield from schema_files()
    yield OutputFile(paths.API_NOT_FOUND, json_bytes({"error": "Not found"}))


KIND = OutputKind("catalog_api", catalog_files, server_files)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield servers.json, servers/<name>.json, categories, tags, tools, profiles and the schemas."""
    return render_kind(KIND, context)


def render_index(context: RenderContext, written: Mapping[str, WrittenFile]) -> Iterator[OutputFile]:
    """Yield api/v1/index.json and the pages of links from api/v1/index.html from what every renderer wrote."""
    index = index_document(context, {path: record for path, record in written.items() if is_api_document(path)})
    yield OutputFile(paths.API_INDEX, index_bytes(index))
    documents = [paths.API_INDEX, *(document["path"] for document in index["documents"])]
    yield from browse_pages(context.catalog, index["catalog"]["title"], documents)


def _hex(digest: str) -> str:
    if digest.strip("0123456789abcdef"):
        raise ValueError(f"not a hex digest: {digest!r}")
    return digest


def index_bytes(index: dict[str, Any]) -> bytes:
    """`json_bytes(index, pretty=True)`, with the document list (one entry per file: 300,000 at
    10,000 servers) written directly instead of through json's pure-Python indenting encoder.
    The document list is the index's last key (see `index_document`)."""
    documents = index["documents"]
    if not documents or list(index)[-1] != "documents":
        return json_bytes(index, pretty=True)
    head = json_bytes({key: value for key, value in index.items() if key != "documents"}, pretty=True)
    # json.dumps for every field cost a third of a 10,000-server rebuild's index: the path goes
    # through json's own string encoder, and a hex digest and a byte count need no encoding.
    quoted = json.encoder.encode_basestring  # type: ignore[attr-defined]
    entries = ",\n".join(
        f'    {{\n      "path": {quoted(doc["path"])},\n'
        f'      "sha256": "{_hex(doc["sha256"])}",\n      "bytes": {int(doc["bytes"])}\n    }}'
        for doc in documents
    )
    return head[: -len(b"\n}\n")] + b',\n  "documents": [\n' + entries.encode("utf-8") + b"\n  ]\n}\n"
