"""Our own static catalog API under api/v1/ (issue: static JSON API). Not built yet: writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

from generator.output import OutputFile
from generator.render.context import RenderContext


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield api/v1/index.json, servers.json, servers/<name>.json, ... and their schemas."""
    yield from ()
