"""The build pipeline: load and validate everything, then render every output kind, then swap.

The order matters. The whole source is read and validated before a single
file is written, so that every page sees consistent data and a bad source
leaves the previous output untouched. Each output kind is one renderer with
the same interface (catalog in, files out); adding a kind means adding one
module and one line to RENDERERS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.diagnostics import Diagnostic
from generator.output import OutputFile, OutputTree, check_output_dir
from generator.render import bundles, catalog_api, catalog_json, mcp_registry, mirror_lists, schemas, site, toolhive
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

Renderer = Callable[[RenderContext], Iterable[OutputFile]]
RENDERERS: tuple[Renderer, ...] = (
    catalog_json.render,
    schemas.render,
    catalog_api.render,
    mcp_registry.render,
    toolhive.render,
    bundles.render,
    mirror_lists.render,
    site.render,
)


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI to summarise."""

    servers: int
    files: int
    seconds: float
    warnings: list[Diagnostic]


def build(
    source_dir: Path,
    out_dir: Path,
    *,
    strict: bool = False,
    templates: Path | None = None,
    image_mirror: str | None = None,
) -> BuildReport:
    """Validate `source_dir` and write the complete output into `out_dir`, atomically."""
    started = time.perf_counter()
    check_output_dir(out_dir, source_dir)
    validated = read_catalog(source_dir, strict=strict)
    context = RenderContext(validated.catalog, templates=templates, image_mirror=image_mirror)
    with OutputTree(out_dir) as tree:
        for render in RENDERERS:
            for item in render(context):
                tree.write(item)
    return BuildReport(
        servers=len(validated.catalog.servers),
        files=len(tree.digests),
        seconds=time.perf_counter() - started,
        warnings=validated.warnings,
    )
