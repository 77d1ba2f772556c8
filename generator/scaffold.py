"""`mcp-catalog new NAME`: a server file to fill in.

Every value the user must supply carries the FILL-IN marker, and validation
refuses a file that still holds one, so a half-filled scaffold can never slip
into a release.
"""

from __future__ import annotations

import re
from pathlib import Path

from generator.errors import UsageError
from generator.models import DNS_LABEL, PLACEHOLDER
from generator.source.load import SERVERS_DIR



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
image: "FILL-IN: registry/path:tag"
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


def scaffold_server(source_dir: Path, name: str) -> Path:
    """Write `servers/<name>.yaml` and `<name>.md`; refuse bad names and existing files."""
    if not re.fullmatch(DNS_LABEL, name):
        raise UsageError(
            f"'{name}' is not a valid server name: use lower-case letters, digits and '-' (a DNS-1123 label)"
        )
    servers = source_dir / SERVERS_DIR
    target = servers / f"{name}.yaml"
    if target.exists():
        raise UsageError(f"{target} already exists: edit it, or choose another name")
    servers.mkdir(parents=True, exist_ok=True)
    target.write_text(_TEMPLATE.format(name=name), encoding="utf-8")
    overview = servers / f"{name}.md"
    if not overview.exists():
        overview.write_text(f"## What it does\n\n{PLACEHOLDER}: describe the server for reviewers.\n", encoding="utf-8")
    return target
