"""`mcp-catalog new NAME`: a server file to fill in, and a catalog.yaml when the folder has none.

Every value the user must supply carries the FILL-IN marker, and validation
refuses a file that still holds one, so a half-filled scaffold can never slip
into a release.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from generator.errors import UsageError
from generator.models import DNS_LABEL, PLACEHOLDER
from generator.render.api.schemas import SchemaKind, schema_bytes
from generator.source.load import CATALOG_FILE, SERVERS_DIR


_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/server.schema.json
# Field reference: docs/source-format.md. Replace every FILL-IN, then run `mcp-catalog validate`.
name: {name}
title: "FILL-IN: display name"
description: "FILL-IN: one line, at most 100 characters"
version: "FILL-IN: e.g. 1.2.0"
category: "FILL-IN: a category slug from catalog.yaml"
tags: []
tier: community            # or: validated
status: active
publisher: "FILL-IN: who maintains it"
repository: "FILL-IN: https://..."
license: "FILL-IN: SPDX identifier, e.g. MIT"
transport: stdio           # or: streamable-http, sse (then set `port`)
image: "FILL-IN: registry/path:tag"   # hosted elsewhere? `remote: {{url: https://...}}` instead of image, port, permissions
# digest: sha256:...       # pin the image (recommended)
env: []
# A server that needs no network keeps `outbound: {{}}`; list hosts and ports otherwise.
permissions:
  network:
    outbound: {{}}
tools:
  - name: "FILL-IN: tool name"
    description: "FILL-IN: what the tool does"
    annotations:
      readOnlyHint: true
"""


# A new catalog's first catalog.yaml. `last_updated` is the day it is written: the build reads the date
# from here and never from the clock, and a catalog.yaml is an authored file like any other.
_CATALOG = """\
# yaml-language-server: $schema=schemas/catalog.schema.json
# Field reference: docs/source-format.md ("CatalogMeta"). Replace every FILL-IN, then run `mcp-catalog validate`.
title: "FILL-IN: the catalog's name, shown on every page"
description: "FILL-IN: what the catalog is, for the about page"
version: 0.1.0
namespace: "FILL-IN: reverse-DNS prefix of the servers' MCP registry names, e.g. com.example.mcp"
last_updated: {last_updated}T00:00:00Z   # raise it, and `version`, with every release
publisher: "FILL-IN: the team that curates the catalog"
categories:
  - slug: "FILL-IN: a-slug"   # lower-case letters, digits and '-'; servers name it as their `category`
    title: "FILL-IN: its name"
"""


def scaffold(source_dir: Path, name: str) -> tuple[Path, Path | None]:
    """Write `servers/<name>.yaml` and `<name>.md`, and first, into a folder without one, catalog.yaml
    (`scaffold_catalog`): the server file and catalog.yaml written, or None for a catalog already there.

    The name and the server file's place are checked before anything is written, and catalog.yaml
    comes first: a failure leaves either nothing or a catalog.yaml that the same command completes."""
    target = _server_target(source_dir, name)
    catalog = scaffold_catalog(source_dir)
    _scaffold_server(target, name)
    return target, catalog


def scaffold_catalog(source_dir: Path) -> Path | None:
    """Write catalog.yaml, and the editor schemas its and the server files' first lines name (those not
    there yet), into a folder without a catalog.yaml; None when it has one."""
    catalog = source_dir / CATALOG_FILE
    if catalog.exists() or catalog.is_symlink():
        return None
    schemas = source_dir / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    kinds: tuple[SchemaKind, ...] = ("server", "catalog")
    for kind in kinds:
        _write_new(schemas / f"{kind}.schema.json", schema_bytes(kind))
    _write_new(catalog, _CATALOG.format(last_updated=dt.date.today().isoformat()).encode("utf-8"))
    return catalog


def _server_target(source_dir: Path, name: str) -> Path:
    """Where the server file goes; a bad name, or a file or link already there, is refused."""
    if not re.fullmatch(DNS_LABEL, name):
        raise UsageError(
            f"'{name}' is not a valid server name: use lower-case letters, digits and '-' (a DNS-1123 label)"
        )
    target = source_dir / SERVERS_DIR / f"{name}.yaml"
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists: edit it, or choose another name")
    return target


def _scaffold_server(target: Path, name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _write_new(target, _TEMPLATE.format(name=name).encode("utf-8")):
        raise UsageError(f"{target} already exists: edit it, or choose another name")
    overview = target.with_suffix(".md")
    _write_new(overview, f"## What it does\n\n{PLACEHOLDER}: describe the server for reviewers.\n".encode("utf-8"))


def _write_new(path: Path, content: bytes) -> bool:
    """Create `path` holding `content`; False, writing nothing, when anything is there already. A
    symbolic link counts, dangling or not (O_EXCL): nothing is ever written where a link points."""
    try:
        with open(path, "xb") as stream:
            stream.write(content)
    except FileExistsError:
        return False
    return True
