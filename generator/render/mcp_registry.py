"""Static mirror of the official MCP Registry API v0.1 (issue: static JSON API). Not built yet."""

from __future__ import annotations

from collections.abc import Iterator

from generator.output import OutputFile
from generator.render.context import RenderContext


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield v0.1/servers/... for the site root and registry/<profile>/v0.1/... per profile."""
    yield from ()
