"""The official MCP `server.json`: one server, an array of them, or a saved API list response.

Field names changed from snake_case to camelCase in the 2025-09 schemas
(`registry_type` → `registryType`, `environment_variables` →
`environmentVariables`, `is_secret` → `isSecret`, ...); both spellings are read.
ToolHive's publisher block (`_meta[...publisher-provided]["io.github.stacklok"]`,
keyed by image or URL) adds tools, tags, status, permissions, args, provenance
and the overview when present. An OCI package makes a container, else a remote makes a remote server, else
npm/PyPI/NuGet/MCPB/Cargo packages make a reference entry (not deployable).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from generator.importers import mapping
from generator.importers.mapping import Candidate

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
PUBLISHER_META = "io.modelcontextprotocol.registry/publisher-provided"
TOOLHIVE_NAMESPACE = "io.github.stacklok"
# Package registry kinds our Package model knows; `docker` is the pre-2025-09 name for OCI.
REFERENCE_KINDS = {"npm", "pypi", "nuget", "mcpb", "cargo"}
OCI_KINDS = {"oci", "docker"}


def looks_like(document: Any) -> bool:
    """True for a server.json, a list of them, or a list response {servers: [{server}]}."""
    if isinstance(document, list):
        return bool(document) and all(_is_server(item) for item in document)
    if isinstance(document, Mapping) and isinstance(document.get("servers"), list):
        return all(isinstance(item, Mapping) and _is_server(item.get("server")) for item in document["servers"])
    return _is_server(document)


def _is_server(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("name"), str) and (
        "packages" in value or "remotes" in value or "description" in value
    )


def candidates(document: Any, origin: str) -> Iterator[Candidate]:
    """One candidate per server, whichever of the three shapes `document` has."""
    if isinstance(document, list):
        for index, server in enumerate(document):
            position = f"{origin}: [{index}]"
            yield mapping.guarded(lambda: server_candidate(server, position, None), f"#{index}", position)  # noqa: B023
    elif isinstance(document.get("servers"), list):
        for index, item in enumerate(document["servers"]):
            position = f"{origin}: servers[{index}]"
            yield mapping.guarded(lambda: _list_item(item, position), f"#{index}", position)  # noqa: B023
    else:
        yield mapping.guarded(lambda: server_candidate(document, origin, None), "#0", origin)


def _list_item(item: Mapping[str, Any], position: str) -> Candidate:
    meta = item.get("_meta") if isinstance(item.get("_meta"), Mapping) else None
    return server_candidate(item["server"], position, meta)


def get(value: Mapping[str, Any], camel: str) -> Any:
    """`value[camel]`, else the pre-2025-09 snake_case spelling of the same key."""
    if camel in value:
        return value[camel]
    return value.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def server_candidate(server: Mapping[str, Any], position: str, registry_meta: Mapping[str, Any] | None) -> Candidate:
    """A candidate from one server.json object; `registry_meta` is the list response's `_meta`."""
    key = str(server.get("name"))
    candidate = Candidate(key=key, short_name=key.rsplit("/", 1)[-1], position=position)
    fields = candidate.fields
    fields["title"] = mapping.title_for(server.get("title"), candidate.short_name, candidate)
    mapping.describe(candidate, server.get("description"), server.get("title"))
    version = server.get("version") or (get(server, "versionDetail") or {}).get("version")
    official = _official(server, registry_meta)
    fields["status"] = mapping.status(official.get("status", server.get("status")), candidate)
    repository = server.get("repository")
    if isinstance(repository, Mapping):
        mapping.repository(repository.get("url"), candidate)
    fields["updated"] = mapping.date_of(get(official, "updatedAt") or get(official, "publishedAt"))
    _deployment(candidate, server)
    fields["version"] = mapping.version_for(version, fields.get("image"), candidate)
    extension = _extension(server, candidate)
    if extension is not None:
        apply_extension(candidate, extension)
    return candidate


def _official(server: Mapping[str, Any], registry_meta: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for meta in (registry_meta, server.get("_meta")):
        if isinstance(meta, Mapping) and isinstance(meta.get(OFFICIAL_META), Mapping):
            return meta[OFFICIAL_META]
    return {}


def _deployment(candidate: Candidate, server: Mapping[str, Any]) -> None:
    """Container from the first OCI package, else the first remote, else a reference entry."""
    packages = [p for p in server.get("packages") or [] if isinstance(p, Mapping)]
    remotes = [r for r in server.get("remotes") or [] if isinstance(r, Mapping)]
    oci = [p for p in packages if str(get(p, "registryType") or p.get("registry_name")).lower() in OCI_KINDS]
    if oci:
        _container(candidate, oci[0])
        if len(packages) > 1 or remotes:
            candidate.warnings.append("only the first OCI package imported; other packages and remotes are listed upstream")
    elif remotes:
        _remote(candidate, remotes[0])
        if len(remotes) > 1 or packages:
            candidate.warnings.append("only the first remote imported; packages and other remotes are listed upstream")
    elif packages:
        _reference(candidate, packages)
    else:
        candidate.problem = "has no OCI image, remote or package to import"


def _container(candidate: Candidate, package: Mapping[str, Any]) -> None:
    fields = candidate.fields
    identifier = package.get("identifier") or package.get("name")
    tag = package.get("version")
    if isinstance(identifier, str) and isinstance(tag, str) and ":" not in identifier.rsplit("/", 1)[-1]:
        identifier = f"{identifier}:{tag}"
    if isinstance(identifier, str):
        identifier = _at_registry(identifier, get(package, "registryBaseUrl"), candidate)
    fields["image"], fields["digest"] = mapping.split_image(identifier, candidate)
    transport = get(package, "transport") if isinstance(get(package, "transport"), Mapping) else {}
    fields["transport"] = mapping.transport(transport.get("type") or "stdio", candidate)
    if fields["transport"] != "stdio":
        fields["port"] = mapping.port_of(transport.get("url"))
        if fields["port"] is None:
            candidate.warnings.append(f"transport URL {str(transport.get('url'))[:80]!r} names no port the container "
                                      "listens on: set `port`")
    fields["env"] = _env(package, candidate)
    for key, unmapped in (("runtimeArguments", "runtime arguments (options of the container runtime) not imported"),
                          ("packageArguments", "package arguments (the image's command-line arguments) not imported: "
                                               "set `args` if it needs them")):
        if get(package, key):
            candidate.warnings.append(unmapped)


def _at_registry(identifier: str, base_url: Any, candidate: Candidate) -> str:
    """The image reference with the registry host of the package's `registryBaseUrl`.

    The 2025-09 and 2025-10 schemas name an OCI image as `registryBaseUrl: https://ghcr.io` and
    `identifier: acme/kb`; the identifier alone is Docker Hub's `docker.io/acme/kb`, another image
    (anyone may publish under a free name there), so the host is never left out."""
    if base_url in (None, ""):
        return identifier
    parts = urllib.parse.urlsplit(base_url) if mapping.http_url(base_url) else None
    host = parts.netloc if parts else ""
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host) or parts is None or parts.path not in ("", "/"):
        # A path (https://quay.io/org) leaves open where the image is: guessing could pull another one.
        candidate.problem = f"has OCI registryBaseUrl {str(base_url)[:80]!r}, which names no registry host alone"
        return identifier
    first, slash, _ = identifier.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if first.lower() != host.lower():
            candidate.warnings.append(f"image {identifier[:80]!r} names registry {first[:60]!r}, its registryBaseUrl "
                                      f"{host!r}: the image's own registry kept, check which is meant")
        return identifier  # the identifier names its registry already
    return f"{host}/{identifier}"


def _remote(candidate: Candidate, remote: Mapping[str, Any]) -> None:
    fields = candidate.fields
    fields["transport"] = mapping.transport(remote.get("type") or get(remote, "transportType"), candidate)
    url = mapping.http_url(remote.get("url"))
    if url is None:
        candidate.problem = "has a remote without an http(s) `url`"
        return
    headers = [mapping.header(h.get("name"), h.get("description"), get(h, "isRequired"), get(h, "isSecret"), candidate)
               for h in remote.get("headers") or [] if isinstance(h, Mapping)]
    fields["remote"] = {"url": url, "headers": mapping.unique_by_name(headers, "header", candidate)}


def _reference(candidate: Candidate, packages: list[Mapping[str, Any]]) -> None:
    fields = candidate.fields
    kept = []
    for package in packages:
        kind = str(get(package, "registryType") or package.get("registry_name") or "").lower()
        identifier = package.get("identifier") or package.get("name")
        if kind not in REFERENCE_KINDS or not isinstance(identifier, str):
            candidate.warnings.append(f"package of registry type {kind[:20]!r} not imported")
            continue
        entry: dict[str, Any] = {"registry_type": kind, "identifier": identifier}
        if isinstance(package.get("version"), str):
            entry["version"] = package["version"]
        if base := mapping.http_url(get(package, "registryBaseUrl")):
            entry["registry_base_url"] = base
        kept.append(entry)
    if not kept:
        candidate.problem = "has no OCI image, remote or supported package to import"
        return
    transport = get(packages[0], "transport") if isinstance(get(packages[0], "transport"), Mapping) else {}
    fields["transport"] = mapping.transport(transport.get("type") or "stdio", candidate)
    fields["packages"] = kept
    fields["env"] = _env(packages[0], candidate)
    candidate.warnings.append("reference entry: packages only, not deployable by the operator")


def _env(package: Mapping[str, Any], candidate: Candidate) -> list[dict[str, Any]]:
    variables = [v for v in get(package, "environmentVariables") or [] if isinstance(v, Mapping)]
    env = [mapping.env_var(v.get("name"), v.get("description"), get(v, "isRequired"), get(v, "isSecret"), v.get("default"), candidate)
           for v in variables]
    return mapping.unique_by_name(env, "environment variable", candidate)


def _extension(server: Mapping[str, Any], candidate: Candidate) -> Mapping[str, Any] | None:
    """The publisher block for this server's image or URL (else the first one, as thv reads it)."""
    meta = server.get("_meta")
    provided = meta.get(PUBLISHER_META) if isinstance(meta, Mapping) else None
    blocks = provided.get(TOOLHIVE_NAMESPACE) if isinstance(provided, Mapping) else None
    if not isinstance(blocks, Mapping) or not blocks:
        return None
    fields = candidate.fields
    image = fields.get("image")
    keys = [f"{image}@{fields['digest']}" if fields.get("digest") else image, (fields.get("remote") or {}).get("url")]
    for key in keys:
        if key in blocks and isinstance(blocks[key], Mapping):
            return blocks[key]
    first = next(iter(blocks.values()))
    return first if isinstance(first, Mapping) else None


def apply_extension(candidate: Candidate, extension: Mapping[str, Any]) -> None:
    """Overlay ToolHive's publisher-provided facts on a server.json candidate."""
    fields = candidate.fields
    fields["status"] = mapping.status(extension.get("status"), candidate)
    fields["tags"] = mapping.tags(extension.get("tags"), candidate)
    fields["tools"] = mapping.tools_from(extension.get("tools"), extension.get("tool_definitions"), candidate)
    metadata = extension.get("metadata")
    if isinstance(metadata, Mapping) and (date := mapping.date_of(metadata.get("last_updated"))):
        fields["updated"] = date
    custom = extension.get("custom_metadata")
    if isinstance(custom, Mapping) and isinstance(custom.get("author"), str) and custom["author"].strip():
        fields["publisher"] = custom["author"].strip()[:120]
    if isinstance(extension.get("overview"), str) and extension["overview"].strip():
        candidate.overview = extension["overview"].strip() + "\n"
    if fields.get("image"):
        fields["permissions"] = mapping.permissions(extension.get("permissions"), candidate)
        fields["args"] = [str(a)[:1000] for a in extension.get("args") or [] if isinstance(a, (str, int, float))]
        fields["provenance"] = mapping.provenance(extension.get("provenance"))
    elif fields.get("remote") and isinstance(extension.get("env_vars"), list):
        env = [mapping.env_var(e.get("name"), e.get("description"), e.get("required"), e.get("secret"), e.get("default"), candidate)
               for e in extension["env_vars"] if isinstance(e, Mapping)]
        fields["env"] = mapping.unique_by_name(env, "environment variable", candidate)
