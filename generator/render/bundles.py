"""Kubernetes manifest bundles for the ToolHive operator (issue: bundles). Not built yet."""

from __future__ import annotations

from collections.abc import Iterator

from generator.output import OutputFile
from generator.render.context import RenderContext


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield bundles/servers/<name>/... and bundles/registries/<profile>/..."""
    yield from ()
