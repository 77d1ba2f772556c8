"""Read the source folder into typed models, collecting every problem on the way.

The loader never stops at the first problem: each file is read, parsed and
validated on its own, and its diagnostics are gathered so that one run reports
everything. It refuses what could hurt the build machine or the readers of the
output: files over 1 MiB, symlinks that leave the source folder, file names
that are not DNS-1123 labels (which rules out `..` and `/` in paths).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from generator.diagnostics import Diagnostic, dotted_path
from generator.models import DNS_LABEL, PLACEHOLDER, CatalogMeta, Server

from generator.source.messages import diagnostics_from
from generator.source.yamlsafe import LoadedYaml, YamlRefused, load_mapping

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 1 << 20
CATALOG_FILE = "catalog.yaml"
SERVERS_DIR = "servers"


@dataclass(frozen=True)
class ServerSource:
    """A validated server and where it came from."""

    server: Server
    path: str
    yaml: LoadedYaml
    overview: str | None


@dataclass
class SourceTree:
    """Everything read from the source folder; `meta` is None when catalog.yaml is unusable."""

    meta: CatalogMeta | None = None
    meta_yaml: LoadedYaml | None = None
    meta_path: str = ""
    servers: list[ServerSource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load_source(source_dir: Path) -> SourceTree:
    """Read `catalog.yaml` and every `servers/<name>.yaml` (with its `.md` overview)."""
    tree = SourceTree()
    root = source_dir.resolve()
    tree.meta_path = str(source_dir / CATALOG_FILE)
    loaded = _read_model(source_dir / CATALOG_FILE, root, CatalogMeta, tree.diagnostics)
    if loaded:
        tree.meta, tree.meta_yaml = loaded
    servers_dir = source_dir / SERVERS_DIR
    if not servers_dir.is_dir():
        tree.diagnostics.append(Diagnostic(str(servers_dir), 0, "", "folder is missing: put one <name>.yaml per server in it"))
        return tree
    yaml_files, overviews = _list_server_files(servers_dir, tree.diagnostics)
    for stem, path in yaml_files:
        server_source = _read_server(path, stem, root, overviews.get(stem), tree.diagnostics)
        if server_source:
            tree.servers.append(server_source)
    for stem, path in sorted(overviews.items()):
        if stem not in dict(yaml_files):
            tree.diagnostics.append(Diagnostic(str(path), 0, "", f"overview has no server file {stem}.yaml", "warning"))
    return tree


def _list_server_files(servers_dir: Path, diagnostics: list[Diagnostic]) -> tuple[list[tuple[str, Path]], dict[str, Path]]:
    yaml_files: list[tuple[str, Path]] = []
    overviews: dict[str, Path] = {}
    for entry in sorted(os.scandir(servers_dir), key=lambda e: e.name):
        path = servers_dir / entry.name
        stem, dot, suffix = entry.name.rpartition(".")
        if suffix == "yml" and dot:
            diagnostics.append(Diagnostic(str(path), 0, "", f"rename it to {stem}.yaml: server files end in .yaml"))
        elif suffix in ("yaml", "md") and dot:
            if not re.match(DNS_LABEL, stem) or len(stem) > 63:
                diagnostics.append(
                    Diagnostic(str(path), 0, "", "file name must be a DNS-1123 label (lower-case letters, digits, '-') + .yaml")
                )
            elif suffix == "yaml":
                yaml_files.append((stem, path))
            else:
                overviews[stem] = path
        elif not entry.name.startswith("."):  # editor and VCS dot files are not ours to judge
            diagnostics.append(Diagnostic(str(path), 0, "", "not a server file (<name>.yaml) or overview (<name>.md)", "warning"))
    return yaml_files, overviews


def _read_server(
    path: Path, stem: str, root: Path, overview_path: Path | None, diagnostics: list[Diagnostic]
) -> ServerSource | None:
    loaded = _read_model(path, root, Server, diagnostics)
    if not loaded:
        return None
    server, source = loaded
    if server.name != stem:
        diagnostics.append(
            Diagnostic(str(path), source.line_of(("name",)), "name", f"'{server.name}' must equal the file name '{stem}'")
        )
        return None
    overview = None
    if overview_path:
        raw = _read_bytes(overview_path, root, diagnostics)
        if raw is not None:
            try:
                overview = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                diagnostics.append(Diagnostic(str(overview_path), line, "", "file is not UTF-8"))
    return ServerSource(server, str(path), source, overview)


def _read_model(
    path: Path, root: Path, model: type[M], diagnostics: list[Diagnostic]
) -> tuple[M, LoadedYaml] | None:
    raw = _read_bytes(path, root, diagnostics)
    if raw is None:
        return None
    try:
        source = load_mapping(raw)
    except YamlRefused as refused:
        diagnostics.extend(Diagnostic(str(path), p.line, "", p.message) for p in refused.problems)
        return None
    unfilled = list(_placeholders(source.data, ()))
    if unfilled:
        diagnostics.extend(
            Diagnostic(str(path), source.line_of(at), dotted_path(at), "placeholder not filled in") for at in unfilled
        )
        return None
    try:
        return model.model_validate(source.data), source
    except ValidationError as exc:
        diagnostics.extend(diagnostics_from(exc, model, source, str(path)))
        return None


def _placeholders(value: object, at: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Paths of the values that still hold the scaffold's FILL-IN marker."""
    if isinstance(value, str) and PLACEHOLDER in value:
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, (*at, index))


def _read_bytes(path: Path, root: Path, diagnostics: list[Diagnostic]) -> bytes | None:
    """The file's bytes, or None with a diagnostic when it must not be read."""
    where = str(path)
    if not path.exists() and not path.is_symlink():
        diagnostics.append(Diagnostic(where, 0, "", "file is missing"))
        return None
    resolved = path.resolve()
    if path.is_symlink() and not resolved.is_relative_to(root):
        diagnostics.append(Diagnostic(where, 0, "", "symlink points outside the source folder: copy the file in instead"))
        return None
    if not resolved.is_file():
        diagnostics.append(Diagnostic(where, 0, "", "not a regular file"))
        return None
    size = resolved.stat().st_size
    if size > MAX_FILE_BYTES:
        diagnostics.append(Diagnostic(where, 0, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES} (1 MiB)"))
        return None
    with open(resolved, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)
