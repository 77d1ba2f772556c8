"""Read the import inputs and recognise their format, before anything is mapped or written.

Every input is read first and every problem is collected, so that a bad file
among several stops the import with one message per file and no half-written
catalog. YAML goes through the same hardened loader as our source files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import CatalogError
from generator.importers import docker, mcp_registry, toolhive, toolhive_legacy
from generator.source.yamlsafe import YamlRefused, load_mapping

MAX_INPUT_BYTES = 256 << 20
FORMATS: dict[str, Callable[[Any], bool]] = {
    "toolhive": toolhive.looks_like,
    "toolhive-legacy": toolhive_legacy.looks_like,
    "mcp-registry": mcp_registry.looks_like,
    "docker": docker.looks_like,
}
SHAPES = (
    "expected a ToolHive registry (`servers`/`remote_servers` maps, or `data.servers`), an MCP server.json "
    "(one, a list of them, or {servers: [{server}]}), or a Docker server.yaml folder"
)


class ImportInputError(CatalogError):
    """Raised by the importer when an input cannot be read or has no known shape; lists every such input."""


@dataclass(frozen=True)
class Input:
    """One readable input: where it came from, its format, and its parsed content."""

    origin: str
    format: str
    document: Any


def read_inputs(paths: list[Path], fmt: str = "auto") -> list[Input]:
    """Parse and recognise every path; raise `ImportInputError` naming every unreadable one."""
    inputs: list[Input] = []
    problems: list[str] = []
    for path in paths:
        try:
            inputs.append(_read_one(path, fmt))
        except _Unreadable as exc:
            problems.append(f"{path}: {exc}")
    if problems:
        raise ImportInputError("\n".join([*problems, f"nothing imported: {len(problems)} input(s) could not be read"]))
    return inputs


class _Unreadable(Exception):
    """One input's problem, said so that the user knows what to fix."""


def _read_one(path: Path, fmt: str) -> Input:
    if path.is_dir():
        return Input(str(path), "docker", _docker_folders(path))
    document = _parse(path)
    detected = fmt if fmt != "auto" else next((name for name, test in FORMATS.items() if test(document)), None)
    if detected is None:
        raise _Unreadable(f"not a registry file this command knows: {SHAPES}")
    if not FORMATS[detected](document):
        raise _Unreadable(f"does not have the shape of a {detected} file ({SHAPES})")
    if detected == "docker":
        return Input(str(path), "docker", [_docker_server(path.parent, document, str(path))])
    return Input(str(path), detected, document)


def _parse(path: Path) -> Any:
    """JSON for `.json` files and text starting with { or [, else hardened YAML."""
    if not path.is_file():
        raise _Unreadable("no such file (or not a regular file)")
    raw = path.read_bytes()
    if len(raw) > MAX_INPUT_BYTES:
        raise _Unreadable(f"larger than {MAX_INPUT_BYTES >> 20} MiB")
    if not raw.strip():
        raise _Unreadable("file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    if path.suffix == ".json" or text.lstrip()[:1] in ("{", "["):
        return _parse_json(text)
    try:
        return load_mapping(raw).data
    except YamlRefused as exc:
        where = f"line {exc.problems[0].line}: " if exc.problems[0].line else ""
        raise _Unreadable(f"not valid JSON or YAML: {where}{exc.problems[0].message}") from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
        raise _Unreadable(f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from None
    except RecursionError:
        raise _Unreadable("not readable: JSON nested too deeply") from None


def _docker_folders(path: Path) -> list[docker.DockerServer]:
    """A server folder, or a `servers/` folder of them (sorted by name)."""
    if (path / "server.yaml").is_file():
        return [_docker_server(path, _docker_yaml(path / "server.yaml"), str(path / "server.yaml"))]
    folders = sorted(p for p in path.iterdir() if (p / "server.yaml").is_file())
    if not folders:
        raise _Unreadable("folder holds no server.yaml, nor subfolders with one (Docker MCP registry layout)")
    return [_docker_server(p, _docker_yaml(p / "server.yaml"), str(p / "server.yaml")) for p in folders]


def _docker_yaml(path: Path) -> Any:
    document = _parse(path)
    if not docker.looks_like(document):
        raise _Unreadable(f"{path.name} is not a Docker server.yaml: it needs `name` and `image` or `type`")
    return document


def _docker_server(folder: Path, server: Any, origin: str) -> docker.DockerServer:
    tools_file, readme_file = folder / "tools.json", folder / "readme.md"
    try:
        tools = _parse_json(tools_file.read_text(encoding="utf-8")) if tools_file.is_file() else None
        readme = readme_file.read_text(encoding="utf-8") if readme_file.is_file() else None
    except (_Unreadable, UnicodeDecodeError) as exc:
        raise _Unreadable(f"{folder.name}: companion file unreadable: {exc}") from None
    return docker.DockerServer(position=origin, server=server, tools=tools, readme=readme)
