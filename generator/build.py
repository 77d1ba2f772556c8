"""The build pipeline: load and validate everything, then render every output kind, then swap.

The order matters. The whole source is read and validated before a single
file is written, so that every page sees consistent data and a bad source
leaves the previous output untouched. Each output kind is one renderer with
the same interface (catalog in, files out); adding a kind means adding one
module and one line to RENDERERS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.diagnostics import Diagnostic
from generator.output import OutputFile, OutputTree, WrittenFile, check_output_dir
from generator.render import bundles, catalog_api, catalog_json, mcp_registry, mirror_lists, schemas, site, toolhive
from generator.release.diff import diff_releases, read_release_catalog
from generator.render.catalog_json import catalog_document
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

Renderer = Callable[[RenderContext], Iterable[OutputFile]]
Indexer = Callable[[RenderContext, Mapping[str, WrittenFile]], Iterable[OutputFile]]
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
# Indexes describe what the renderers wrote (paths, SHA-256, sizes), so they run after them
# and read the written-file records instead of rendering anything a second time.
INDEXERS: tuple[Indexer, ...] = (catalog_api.render_index,)


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI to summarise."""

    servers: int
    files: int
    seconds: float
    warnings: list[Diagnostic]
    timings: tuple[tuple[str, float], ...] = ()
    """(phase, seconds) in pipeline order: load and validate, render per output kind, write, swap."""


def build(
    source_dir: Path,
    out_dir: Path,
    *,
    strict: bool = False,
    templates: Path | None = None,
    image_mirror: str | None = None,
    previous: Path | None = None,
) -> BuildReport:
    """Validate `source_dir` and write the complete output into `out_dir`, atomically."""
    started = time.perf_counter()
    check_output_dir(out_dir, source_dir)
    validated = read_catalog(source_dir, strict=strict)
    timings = [("load and validate", time.perf_counter() - started)]
    changes = None
    if previous is not None:  # read before anything is written: a bad release must not cost the old site
        changes = diff_releases(read_release_catalog(previous), catalog_document(validated.catalog))
    context = RenderContext(validated.catalog, templates=templates, image_mirror=image_mirror, changes=changes)
    writing = 0.0
    with OutputTree(out_dir) as tree:
        for render in RENDERERS:
            phase_started, phase_writing = time.perf_counter(), 0.0
            for item in render(context):
                write_started = time.perf_counter()
                tree.write(item)
                phase_writing += time.perf_counter() - write_started
            kind = render.__module__.rsplit(".", 1)[-1]
            timings.append((f"render {kind}", time.perf_counter() - phase_started - phase_writing))
            writing += phase_writing
        index_started = time.perf_counter()
        for index in INDEXERS:
            for item in index(context, dict(tree.written)):
                tree.write(item)
        timings.append(("write indexes", time.perf_counter() - index_started))
        swap_started = time.perf_counter()
    timings += [("write files", writing), ("swap into place", time.perf_counter() - swap_started)]
    return BuildReport(
        servers=len(validated.catalog.servers),
        files=len(tree.written),
        seconds=time.perf_counter() - started,
        warnings=validated.warnings,
        timings=tuple(timings),
    )
