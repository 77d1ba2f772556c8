"""ToolHive's legacy `registry.json`: `servers` (containers) and `remote_servers` maps.

Keys of the maps are the server names; the entry fields are ToolHive's own
(`image`, `target_port`, `env_vars`, `permissions`, `provenance`, `tools`,
`tool_definitions`, `url`, `headers`). Upstream `tier` is not trusted: the
catalog team decides ours (see docs/import.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from generator.importers import mapping
from generator.importers.mapping import Candidate


def looks_like(document: Any) -> bool:
    """True for a mapping with a `servers` or `remote_servers` map."""
    return isinstance(document, Mapping) and (
        isinstance(document.get("servers"), Mapping) or isinstance(document.get("remote_servers"), Mapping)
    )


def candidates(document: Mapping[str, Any], origin: str) -> Iterator[Candidate]:
    """Every entry of both maps, in file order."""
    for section in ("servers", "remote_servers"):
        entries = document.get(section)
        for key, entry in (entries.items() if isinstance(entries, Mapping) else ()):
            position = f"{origin}: {section}[{json.dumps(str(key))}]"
            candidate = Candidate(key=str(key), short_name=str(key), position=position)
            if not isinstance(entry, Mapping):
                candidate.problem = "is not an object"
                yield candidate
                continue
            remote = section == "remote_servers"
            yield mapping.guarded(
                lambda: _filled(candidate, entry, remote),  # noqa: B023 - called at once, inside this iteration
                str(key),
                position,
            )


def _filled(candidate: Candidate, entry: Mapping[str, Any], remote: bool) -> Candidate:
    server_fields(candidate, entry, remote=remote)
    return candidate


def server_fields(candidate: Candidate, entry: Mapping[str, Any], *, remote: bool) -> None:
    """Fill `candidate` from one legacy entry (also used for the publisher extension block)."""
    fields = candidate.fields
    custom = entry.get("custom_metadata") if isinstance(entry.get("custom_metadata"), Mapping) else {}
    fields["title"] = mapping.title_for(entry.get("title"), candidate.short_name, candidate)
    mapping.describe(candidate, entry.get("description"), entry.get("title"))
    fields["version"] = mapping.version_for(entry.get("version"), entry.get("image"), candidate)
    fields["tags"] = mapping.tags(entry.get("tags"), candidate)
    fields["status"] = mapping.status(entry.get("status"), candidate)
    if isinstance(custom.get("author"), str) and custom["author"].strip():
        fields["publisher"] = custom["author"].strip()[:120]
    mapping.repository(entry.get("repository_url"), candidate)
    metadata = entry.get("metadata")
    fields["updated"] = mapping.date_of(metadata.get("last_updated") if isinstance(metadata, Mapping) else None)
    fields["transport"] = mapping.transport(entry.get("transport"), candidate)
    if remote:
        _remote(candidate, entry)
    else:
        _container(candidate, entry)
    env = [mapping.env_var(e.get("name"), e.get("description"), e.get("required"), e.get("secret"), e.get("default"), candidate)
           for e in entry.get("env_vars") or [] if isinstance(e, Mapping)]
    fields["env"] = mapping.unique_by_name(env, "environment variable", candidate)
    fields["tools"] = mapping.tools_from(entry.get("tools"), entry.get("tool_definitions"), candidate)
    if isinstance(entry.get("overview"), str) and entry["overview"].strip():
        candidate.overview = entry["overview"].strip() + "\n"


def _container(candidate: Candidate, entry: Mapping[str, Any]) -> None:
    fields = candidate.fields
    image, digest = mapping.split_image(entry.get("image"), candidate)
    fields["image"], fields["digest"] = image, digest
    port = entry.get("target_port")
    if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
        if fields["transport"] == "stdio":
            candidate.warnings.append("target_port ignored: a stdio server listens on no port")
        else:
            fields["port"] = port
    fields["args"] = [str(a)[:1000] for a in entry.get("args") or [] if isinstance(a, (str, int, float))]
    fields["permissions"] = mapping.permissions(entry.get("permissions"), candidate)
    fields["provenance"] = mapping.provenance(entry.get("provenance"))


def _remote(candidate: Candidate, entry: Mapping[str, Any]) -> None:
    url = mapping.http_url(entry.get("url"))
    if url is None:
        candidate.problem = "is a remote server without an http(s) `url`"
        return
    headers = [mapping.header(h.get("name"), h.get("description"), h.get("required"), h.get("secret"), candidate)
               for h in entry.get("headers") or [] if isinstance(h, Mapping)]
    candidate.fields["remote"] = {"url": url, "headers": mapping.unique_by_name(headers, "header", candidate)}
    if entry.get("oauth_config"):
        candidate.warnings.append("oauth_config not imported: our catalog does not model OAuth client settings")

