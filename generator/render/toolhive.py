"""ToolHive registry files, current and legacy format (issue: static JSON API). Not built yet.

`upstream_registry` and `legacy_registry` are public: the Kubernetes bundles embed
their documents in ConfigMaps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.models import Server
from generator.output import OutputFile
from generator.render.context import RenderContext


def upstream_registry(context: RenderContext, servers: Sequence[Server]) -> dict[str, Any]:
    """ToolHive's current registry document ({$schema, version, meta, data{servers}}) for `servers`."""
    raise NotImplementedError


def legacy_registry(context: RenderContext, servers: Sequence[Server]) -> dict[str, Any]:
    """ToolHive's legacy registry document ({servers, remote_servers}) for `servers`."""
    raise NotImplementedError


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield registry.json, registry-legacy.json and the same two per registry profile."""
    yield from ()
