"""Docker's MCP registry: a server folder `<name>/server.yaml` with optional `tools.json` and `readme.md`.

Fields read from server.yaml: `name`, `type` (`server` or `remote`), `image`,
`about.title`, `about.description`, `meta.tags`, `source.project`,
`config.secrets` (each `env` becomes a secret variable), `config.env`,
`run.command` (container arguments), `run.disableNetwork` (no egress),
`remote.url`, `remote.transport_type` and `remote.headers`. Docker runs every
catalog image over stdio through its gateway, so containers import as stdio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.importers import mapping
from generator.importers.mapping import Candidate


@dataclass(frozen=True)
class DockerServer:
    """The parsed files of one Docker registry server folder."""

    position: str
    server: Mapping[str, Any]
    tools: Any = None
    readme: str | None = None


def looks_like(document: Any) -> bool:
    """True for a server.yaml mapping: a `name` and an `image`, `about` or `type`."""
    return isinstance(document, Mapping) and isinstance(document.get("name"), str) and (
        "image" in document or "about" in document or "type" in document
    ) and "packages" not in document


def candidate(folder: DockerServer) -> Candidate:
    """The candidate for one server folder (rejected with a reason when a value has the wrong shape)."""
    return mapping.guarded(lambda: _candidate(folder), str(folder.server.get("name")), folder.position)


def _candidate(folder: DockerServer) -> Candidate:
    server = folder.server
    name = str(server.get("name"))
    result = Candidate(key=name, short_name=name, position=folder.position)
    about = _mapping(server.get("about"))
    fields = result.fields
    fields["title"] = mapping.title_for(about.get("title"), name, result)
    mapping.describe(result, about.get("description"), about.get("title"))
    fields["tags"] = mapping.tags(_mapping(server.get("meta")).get("tags"), result)
    mapping.repository(_mapping(server.get("source")).get("project"), result)
    kind = str(server.get("type") or "server")
    if kind == "remote":
        _remote(result, _mapping(server.get("remote")))
    elif kind == "server":
        _container(result, server)
    else:
        result.problem = f"has type {kind[:40]!r}; supported are server and remote"
    fields["env"] = _env(_mapping(server.get("config")), result)
    fields["tools"] = _tools(folder.tools, result)
    if folder.readme and folder.readme.strip() and not folder.readme.strip().startswith("http"):
        result.overview = folder.readme.strip() + "\n"
    return result


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _container(result: Candidate, server: Mapping[str, Any]) -> None:
    fields = result.fields
    fields["image"], fields["digest"] = mapping.split_image(server.get("image"), result)
    fields["version"] = mapping.version_for(None, fields["image"], result)
    fields["transport"] = "stdio"
    run = _mapping(server.get("run"))
    command = [str(a) for a in run.get("command") or [] if isinstance(a, (str, int, float))]
    if any("{{" in a for a in command):
        result.warnings.append("run.command not imported: it holds {{...}} templates filled from user settings")
    else:
        fields["args"] = [a[:1000] for a in command]
    if run.get("disableNetwork") is True:
        fields["permissions"] = {"network": {"outbound": {}}}


def _remote(result: Candidate, remote: Mapping[str, Any]) -> None:
    fields = result.fields
    fields["version"] = mapping.unknown_version(result)
    fields["transport"] = mapping.transport(remote.get("transport_type") or "streamable-http", result)
    url = mapping.http_url(remote.get("url"))
    if url is None:
        result.problem = "is a remote server without an http(s) `remote.url`"
        return
    headers = remote.get("headers")
    names = sorted(headers) if isinstance(headers, Mapping) else []
    entries = [mapping.header(n, None, True, "${" in str(headers[n]) or "{{" in str(headers[n]), result) for n in names]
    fields["remote"] = {"url": url, "headers": mapping.unique_by_name(entries, "header", result)}


def _env(config: Mapping[str, Any], result: Candidate) -> list[dict[str, Any]]:
    secrets = [s for s in config.get("secrets") or [] if isinstance(s, Mapping)]
    plain = [e for e in config.get("env") or [] if isinstance(e, Mapping)]
    entries = [mapping.env_var(s.get("env"), s.get("description") or f"Secret {s.get('name')}", True, True, None, result)
               for s in secrets]
    entries += [mapping.env_var(e.get("name"), e.get("description"), False, False, None, result) for e in plain]
    return mapping.unique_by_name(entries, "environment variable", result)


def _tools(tools: Any, result: Candidate) -> list[dict[str, Any]]:
    """tools.json entries; Docker's `arguments` list becomes a JSON Schema of the arguments."""
    definitions = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        definition = dict(tool)
        arguments = [a for a in tool.get("arguments") or [] if isinstance(a, Mapping) and isinstance(a.get("name"), str)]
        if arguments and "inputSchema" not in tool:
            definition["inputSchema"] = {
                "type": "object",
                "properties": {a["name"]: _argument_schema(a) for a in arguments},
            }
        definitions.append(definition)
    return mapping.tools_from(None, definitions, result)


def _argument_schema(argument: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": str(argument.get("type") or "string")}
    if isinstance(argument.get("desc"), str):
        schema["description"] = argument["desc"]
    return schema
