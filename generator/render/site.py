"""The static HTML catalog (issue: static HTML site). Not built yet: writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

from generator.output import OutputFile
from generator.render.context import RenderContext


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield every page and asset of the site."""
    yield from ()
