"""The build pipeline: load and validate everything, then render every output kind, then swap.

The order matters. The whole source is read and validated before a single
file is written, so that every page sees consistent data and a bad source
leaves the previous output untouched. Each output kind is one renderer with
the same interface (catalog in, files out); adding a kind means adding one
module and one line to RENDERERS.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
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
    jobs: int = 1,
) -> BuildReport:
    """Validate `source_dir` and write the complete output into `out_dir`, atomically.

    With `jobs` > 1 the output kinds render in that many worker processes; every renderer
    is a pure function of the context, so the files are the same bytes as with one job.
    """
    started = time.perf_counter()
    check_output_dir(out_dir, source_dir)
    validated = read_catalog(source_dir, strict=strict)
    timings = [("load and validate", time.perf_counter() - started)]
    changes = None
    if previous is not None:  # read before anything is written: a bad release must not cost the old site
        changes = diff_releases(read_release_catalog(previous), catalog_document(validated.catalog))
    context = RenderContext(validated.catalog, templates=templates, image_mirror=image_mirror, changes=changes)
    with OutputTree(out_dir) as tree:
        timings += _render_everything(context, tree, jobs)
        index_started = time.perf_counter()
        for index in INDEXERS:
            for item in index(context, dict(tree.written)):
                tree.write(item)
        timings.append(("write indexes", time.perf_counter() - index_started))
        swap_started = time.perf_counter()
    timings.append(("swap into place", time.perf_counter() - swap_started))
    return BuildReport(
        servers=len(validated.catalog.servers),
        files=len(tree.written),
        seconds=time.perf_counter() - started,
        warnings=validated.warnings,
        timings=tuple(timings),
    )


Timings = list[tuple[str, float]]
# Set just before the worker processes fork, so they inherit the catalog instead of unpickling it.
_FORKED_WORK: tuple[RenderContext, OutputTree] | None = None


def _render_everything(context: RenderContext, tree: OutputTree, jobs: int) -> Timings:
    """Run every renderer into `tree`, in this process or in `jobs` forked workers."""
    if jobs <= 1:
        results = [_render_one(render, context, tree) for render in RENDERERS]
    else:
        global _FORKED_WORK
        _FORKED_WORK = (context, tree)
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(_render_in_worker, range(len(RENDERERS))))
        finally:
            _FORKED_WORK = None
        for written, _timings in results:
            tree.merge(written)
    return [timing for _written, timings in results for timing in timings]


def _render_in_worker(index: int) -> tuple[dict[str, WrittenFile], Timings]:
    assert _FORKED_WORK is not None
    context, tree = _FORKED_WORK
    return _render_one(RENDERERS[index], context, tree.branch())


def _render_one(render: Renderer, context: RenderContext, tree: OutputTree) -> tuple[dict[str, WrittenFile], Timings]:
    started, writing = time.perf_counter(), 0.0
    for item in render(context):
        write_started = time.perf_counter()
        tree.write(item)
        writing += time.perf_counter() - write_started
    kind = render.__module__.rsplit(".", 1)[-1]
    timings = [(f"render {kind}", time.perf_counter() - started - writing), (f"write {kind}", writing)]
    return tree.written, timings
