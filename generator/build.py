"""The build pipeline: load and validate everything, render per server, render catalog-wide, index, put in place.

The order matters. The whole source is read and validated before a single
file is written, so that every page sees consistent data and a bad source
leaves the previous output untouched. Each output kind is one `OutputKind`
(see `generator.render.kind`): a per-server half, which sees one server and
may leave fragments, then a catalog-wide half, which splices the fragments.
Adding a kind means adding one module and one line to KINDS.

With a build cache (the default) the per-server half runs only for the servers
whose inputs changed since the last build of the same output folder; the
catalog-wide half always runs, but the files it defers (list pages, search
chunks) are made only when their input key changed, and only changed bytes
reach the output folder.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from generator.incremental import cache
from generator.diagnostics import Diagnostic
from generator.errors import OutputError, os_errors
from generator.incremental.store import DamagedStore, FragmentRef, FragmentStore, FragmentView
from generator.models import Server
from generator.output import CHOOSE_OUT, OutputFile, OutputTree, WrittenFile, check_output_dir, output_lock
from generator.processes import worker_pool
from generator.release.diff import diff_releases, read_release_catalog
from generator.render.kubernetes import bundles
from generator.render.api import documents as catalog_api
from generator.render.api import catalog_json
from generator.render.registry import mirror as mcp_registry
from generator.render.kubernetes import mirror_lists
from generator.render.api import schemas
from generator.render import site
from generator.render.registry import toolhive
from generator.render.api.catalog_json import catalog_document
from generator.render.context import QUERY_LAYER, Hosting, RenderContext
from generator.render.kind import Deferred, Fragment, OutputKind
from generator.source.validate import read_catalog

KINDS: tuple[OutputKind, ...] = (
    catalog_json.KIND,
    schemas.KIND,
    catalog_api.KIND,
    mcp_registry.KIND,
    toolhive.KIND,
    bundles.KIND,
    mirror_lists.KIND,
    site.KIND,
)
Indexer = Callable[[RenderContext, Mapping[str, WrittenFile]], Iterable[OutputFile]]
# Indexes describe what the renderers wrote (paths, SHA-256, sizes), so they run after them
# and read the written-file records instead of rendering anything a second time.
INDEXERS: tuple[Indexer, ...] = (catalog_api.render_index,)
# Servers per task of the worker pool: large enough to amortise a task, small enough to balance.
SERVERS_PER_TASK = 64


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI to summarise."""

    servers: int
    files: int
    seconds: float
    warnings: list[Diagnostic]
    timings: tuple[tuple[str, float], ...] = ()
    """(phase, seconds) in pipeline order: load and validate, read the cache, render per output kind
    (the CPU time of its tasks, then the wall-clock time of all of them), indexes, swap, save the cache."""
    rendered_servers: int = 0
    """Servers whose files were rendered (all of them in a cold build, the changed ones otherwise)."""
    written: int = 0
    """Files whose bytes reached the output folder (new or changed)."""
    notes: tuple[str, ...] = ()
    """What the user should know once (where the default cache was created)."""


Timings = list[tuple[str, float]]


def build(
    source_dir: Path,
    out_dir: Path,
    *,
    strict: bool = False,
    templates: Path | None = None,
    image_mirror: str | None = None,
    hosting: Hosting = QUERY_LAYER,
    previous: Path | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> BuildReport:
    """Validate `source_dir` and write the complete output into `out_dir`; nothing changes on failure.

    With `jobs` > 1 the work runs in that many worker processes; every renderer is a pure
    function of its inputs, so the files are the same bytes as with one job, and with or
    without the cache (`cache_dir`, by default in the user's cache folder: `cache.default_cache_dir`).
    """
    started = time.perf_counter()
    with os_errors("cannot read the output folder", out_dir, CHOOSE_OUT):
        check_output_dir(out_dir, source_dir)
    notes = _legacy_cache_note(out_dir) if cache_dir is None and use_cache else ()
    cache_dir = cache_dir or cache.default_cache_dir(out_dir)
    _check_cache_dir(cache_dir, out_dir, source_dir)
    # The output's own lock first: two builds of one folder with different --cache-dir must not both run.
    # The cache's lock then keeps two outputs sharing one --cache-dir apart.
    with output_lock(out_dir), os_errors("cannot use the build cache", cache_dir, "choose another --cache-dir"), cache.exclusive(cache_dir, out_dir):
        run = partial(_build, source_dir, out_dir, cache_dir, started, strict=strict, templates=templates,
                      image_mirror=image_mirror, hosting=hosting, previous=previous, jobs=jobs, use_cache=use_cache)
        try:
            return replace(run(), notes=notes)
        except DamagedStore as damage:
            if not use_cache:
                raise OutputError(f"a fragment written during this build read back damaged ({damage}): check the disk of {cache_dir}") from None
        cache.forget(cache_dir)  # the failed attempt changed nothing in the output: build again, cold
        try:
            return replace(run(), notes=notes)
        except DamagedStore as damage:
            raise OutputError(f"the build cache in {cache_dir} reads back damaged ({damage}): check its disk") from None


def _build(
    source_dir: Path,
    out_dir: Path,
    cache_dir: Path,
    started: float,
    *,
    strict: bool,
    templates: Path | None,
    image_mirror: str | None,
    hosting: Hosting,
    previous: Path | None,
    jobs: int,
    use_cache: bool,
) -> BuildReport:
    validated = read_catalog(
        source_dir, strict=strict, already_parsed=cache.load_parsed(cache_dir, source_dir) if use_cache else None
    )
    if use_cache:
        cache.save_parsed(cache_dir, source_dir, validated.parsed)
    validated = replace(validated, parsed={})  # a copy of every parsed file: not needed past this point
    timings: Timings = [("load and validate", time.perf_counter() - started)]
    changes = None
    if previous is not None:  # read before anything is written: a bad release must not cost the old site
        changes = diff_releases(read_release_catalog(previous), catalog_document(validated.catalog))
    context = RenderContext(validated.catalog, templates=templates, image_mirror=image_mirror, hosting=hosting,
                            changes=changes)

    keys_started = time.perf_counter()
    build_key = cache.build_key(context.catalog, templates=templates, image_mirror=image_mirror, hosting=hosting)
    server_keys = {s.name: cache.server_key(build_key, context.catalog, s) for s in context.catalog.servers}
    state = cache.load(cache_dir, out_dir, build_key) if use_cache else None
    with _fragment_store(state, cache_dir, use_cache) as store:
        # The one skip rule: a file is kept only when its input key matches and the disk still
        # holds it as recorded (`cache.on_disk`); a server with one file not as recorded is
        # rendered again, a deferred file made again, any other file written when it differs.
        holds, stamps = ({}, {}) if state is None else cache.on_disk(out_dir, state)
        reused = {} if state is None else {
            name: entry for name, entry in state.servers.items()
            if server_keys.get(name) == entry.key and all(holds[path] == record for path, record in entry.files.items())
        }
        stale = [server for server in context.catalog.servers if server.name not in reused]
        timings.append(("read the build cache", time.perf_counter() - keys_started))

        with OutputTree(out_dir, previous=None if state is None else holds) as tree:
            for entry in reused.values():
                tree.keep(entry.files)
            servers_started = time.perf_counter()
            rendered, server_timings = _render_servers(context, stale, tree, store, jobs)
            server_timings.append((f"render per server, wall clock, --jobs {jobs}", time.perf_counter() - servers_started))
            servers = {**reused, **{name: replace(entry, key=server_keys[name]) for name, entry in rendered.items()}}
            server_files = set(tree.written)
            remembered = state.catalog_fragments if state else {}
            with_fragments = replace(context, fragments=_fragments(store, servers, remembered), server_keys=server_keys)
            deferred = {} if state is None else {
                path: (key, state.catalog_files[path]) for path, key in state.catalog_keys.items()
                if path in state.catalog_files and holds[path] == state.catalog_files[path]
            }
            catalog_started = time.perf_counter()
            catalog_fragments, catalog_keys, catalog_timings = _render_catalog_wide(with_fragments, tree, store, deferred, jobs)
            catalog_timings.append((f"render catalog-wide, wall clock, --jobs {jobs}", time.perf_counter() - catalog_started))
            timings += server_timings + catalog_timings
            index_started = time.perf_counter()
            for index in INDEXERS:
                for item in index(context, dict(tree.written)):
                    tree.write(item)
            timings.append(("write indexes", time.perf_counter() - index_started))
            if use_cache:
                cache.forget(cache_dir)  # an update interrupted from here on must be followed by a cold build
            swap_started = time.perf_counter()
        timings.append(("put in place", time.perf_counter() - swap_started))
        if use_cache:
            save_started = time.perf_counter()
            catalog_files = {path: record for path, record in tree.written.items() if path not in server_files}
            # Every file's stamp is taken after the switch: the hard link that carried a kept file
            # into the new tree changed its change time, so an older stamp would put it in doubt.
            stamps = cache.stamps_of(out_dir, tree.written)
            cache.save(cache_dir, out_dir, cache.CacheState(
                build_key, servers, catalog_files, catalog_fragments, catalog_keys, stamps=stamps
            ), store)
            timings.append(("save the build cache", time.perf_counter() - save_started))
        return BuildReport(
            servers=len(validated.catalog.servers),
            files=len(tree.written),
            seconds=time.perf_counter() - started,
            warnings=validated.warnings,
            timings=tuple(timings),
            rendered_servers=len(stale),
            written=len(tree.staged),  # a cold build stages every file
        )


def _fragment_store(state: cache.CacheState | None, cache_dir: Path, use_cache: bool) -> FragmentStore:
    """The cache's store when its state is usable, else an empty one (a temporary file without a cache)."""
    if state is not None and state.store is not None:
        return state.store
    return cache.fresh_store(cache_dir) if use_cache else FragmentStore.temporary(cache_dir)


def _fragments(
    store: FragmentStore, servers: Mapping[str, cache.CachedServer], remembered: Mapping[str, FragmentRef]
) -> FragmentView:
    """Every server's fragments, and what the catalog-wide halves remembered (server ""), read from `store`."""
    return FragmentView(store, {"": remembered, **{name: entry.fragments for name, entry in servers.items()}})


def _legacy_cache_note(out_dir: Path) -> tuple[str, ...]:
    """A note while the cache of an earlier version still lies beside the output (in a folder a web server may serve)."""
    legacy = cache.legacy_cache_dir(out_dir)
    if not os.path.isfile(legacy / cache.STATE_FILE):  # False, too, when it cannot be looked at
        return ()
    return (f"note: {legacy} is the build cache of an earlier mcp-catalog, beside the site and no longer used "
            f"(the cache is now in {cache.default_cache_dir(out_dir)}): delete it",)


def _check_cache_dir(cache_dir: Path, out_dir: Path, source_dir: Path) -> None:
    folder = cache_dir.resolve()
    for other, what in ((out_dir.resolve(), "output"), (source_dir.resolve(), "source")):
        if folder == other or folder.is_relative_to(other) or other.is_relative_to(folder):
            raise OutputError(f"the build cache {folder} cannot be in or around the {what} folder {other}: choose another --cache-dir")


@dataclass(frozen=True)
class _Work:
    """What the rendering tasks read: the context, the tree to branch from, the servers to render."""

    context: RenderContext
    tree: OutputTree
    store: FragmentStore
    """Where the tasks put the fragments they make (see generator.incremental.store)."""
    servers: Sequence[Server] = ()
    deferred: Mapping[str, tuple[str, WrittenFile]] = field(default_factory=dict)
    """Deferred files of the last build: path -> (input key, record of the file the output holds)."""
    catalog_tasks: Sequence[tuple[int, int | None]] = ()
    """The catalog-wide tasks, see `_catalog_tasks`."""


# Set just before the worker processes fork, so they inherit the catalog instead of unpickling it.
_FORKED_WORK: _Work | None = None
T = TypeVar("T")


def _run(work: _Work, tasks: int, task: Callable[[_Work, int], T], jobs: int) -> list[T]:
    """`task(work, i)` for i in range(tasks), here (one job) or in `jobs` forked workers, results in order."""
    global _FORKED_WORK
    if jobs <= 1 or tasks <= 1:
        return [task(work, index) for index in range(tasks)]
    _FORKED_WORK = work
    try:
        with worker_pool(jobs) as pool:
            return list(pool.map(partial(_forked_task, task), range(tasks)))
    finally:
        _FORKED_WORK = None


def _forked_task(task: Callable[[_Work, int], T], index: int) -> T:
    assert _FORKED_WORK is not None
    return task(_FORKED_WORK, index)


def _render_servers(
    context: RenderContext, servers: Sequence[Server], tree: OutputTree, store: FragmentStore, jobs: int
) -> tuple[dict[str, cache.CachedServer], Timings]:
    """Every per-server half for `servers`, in slices spread over the workers."""
    slices = -(-len(servers) // SERVERS_PER_TASK)
    results: dict[str, cache.CachedServer] = {}
    seconds: dict[str, float] = defaultdict(float)
    for slice_results, slice_seconds in _run(_Work(context, tree, store, servers), slices, _server_slice, jobs):
        for name, (result, staged) in slice_results.items():
            tree.merge(result.files, staged)
            results[name] = result
        for kind, spent in slice_seconds.items():
            seconds[kind] += spent
    return results, [(f"render per server: {kind}", seconds[kind]) for kind in seconds]


def _server_slice(work: _Work, index: int) -> tuple[dict[str, tuple[cache.CachedServer, set[str]]], dict[str, float]]:
    """The per-server halves of every kind for one slice of the servers, their fragments put in the store."""
    rendered: dict[str, tuple[OutputTree, dict[str, int]]] = {}
    seconds: dict[str, float] = defaultdict(float)
    distinct: dict[bytes, int] = {}  # each distinct fragment of the slice, numbered: equal ones are stored once
    for server in work.servers[index * SERVERS_PER_TASK:(index + 1) * SERVERS_PER_TASK]:
        narrowed = work.context.for_server(server)
        tree = work.tree.branch()
        fragments: dict[str, int] = {}
        for kind in KINDS:
            if kind.per_server is None:
                continue
            kind_started = time.perf_counter()
            for item in kind.per_server(narrowed, server):
                if isinstance(item, Fragment):
                    fragments[item.key] = distinct.setdefault(item.content, len(distinct))
                else:
                    tree.write(item)
            seconds[kind.name] += time.perf_counter() - kind_started
        rendered[server.name] = (tree, fragments)
    refs = work.store.add(distinct)  # one write for the whole slice, in the order of the numbers
    results = {
        name: (cache.CachedServer("", tree.written, {key: refs[number] for key, number in fragments.items()}), tree.staged)
        for name, (tree, fragments) in rendered.items()
    }
    return results, dict(seconds)


def _render_catalog_wide(
    context: RenderContext, tree: OutputTree, store: FragmentStore, deferred: Mapping[str, tuple[str, WrittenFile]], jobs: int
) -> tuple[dict[str, FragmentRef], dict[str, str], Timings]:
    """Every catalog-wide half, one task per output kind or per part of one (see `OutputKind.catalog_parts`).

    Returns what they asked to remember and the input keys of their deferred files.
    """
    seconds: dict[str, float] = {}
    remembered: dict[str, FragmentRef] = {}
    keys: dict[str, str] = {}
    tasks = _catalog_tasks(context)
    work = _Work(context, tree, store, deferred=deferred, catalog_tasks=tasks)
    for written, staged, fragments, task_keys, (name, spent) in _run(work, len(tasks), _catalog_task, jobs):
        tree.merge(written, staged)
        remembered.update(fragments)
        keys.update(task_keys)
        seconds[name] = seconds.get(name, 0.0) + spent
    return remembered, keys, [(f"render catalog-wide: {kind.name}", seconds.get(kind.name, 0.0)) for kind in KINDS]


# The catalog-wide halves go to the workers largest first, so that the workers finish together
# (the bundles and the site take the longest at 10,000 servers, see bench/).
_LARGE_CATALOG_WIDE = ("bundles", "site")
CatalogTask = tuple[int, int | None]
"""(index in KINDS, index of the part or None for the whole catalog-wide half)."""


def _catalog_tasks(context: RenderContext) -> list[CatalogTask]:
    tasks: list[CatalogTask] = []
    for index, kind in enumerate(KINDS):
        parts = None if kind.catalog_parts is None else len(kind.catalog_parts(context))
        tasks += [(index, None)] if parts is None else [(index, part) for part in range(parts)]
    return sorted(tasks, key=lambda task: KINDS[task[0]].name not in _LARGE_CATALOG_WIDE)


def _catalog_task(
    work: _Work, number: int
) -> tuple[dict[str, WrittenFile], set[str], dict[str, FragmentRef], dict[str, str], tuple[str, float]]:
    index, part = work.catalog_tasks[number]
    kind = KINDS[index]
    started = time.perf_counter()
    parts = kind.catalog_parts
    half = kind.catalog_wide if part is None or parts is None else parts(work.context)[part]
    tree = work.tree.branch()
    fragments: dict[str, bytes] = {}
    keys: dict[str, str] = {}
    for item in half(work.context):
        if isinstance(item, Fragment):
            fragments[item.key] = item.content
        elif isinstance(item, Deferred):
            last = work.deferred.get(item.path)
            if item.key is not None and last is not None and last[0] == item.key:
                tree.keep({item.path: last[1]})  # made from the same inputs: the output folder holds it
            else:
                tree.write(item.made())
            if item.key is not None:
                keys[item.path] = item.key
        else:
            tree.write(item)
        del item  # let a written 100 MB document go before the next one is made
    refs = _remembered(work, fragments)
    spent = time.perf_counter() - started
    return tree.written, tree.staged, refs, keys, (kind.name, spent)


def _remembered(work: _Work, fragments: dict[str, bytes]) -> dict[str, FragmentRef]:
    """Refs of what a catalog-wide half asked to remember: where the store already holds the
    same bytes (an archive chunk that did not change), else where they are stored now."""
    view = work.context.fragments
    kept: dict[str, FragmentRef] = {}
    for key, content in fragments.items():
        last = view.ref(("", key)) if isinstance(view, FragmentView) else None
        if last is not None and (same := work.store.ref_of(content, last)) is not None:
            kept[key] = same
    new = [key for key in fragments if key not in kept]
    kept.update(zip(new, work.store.add(fragments[key] for key in new)))
    return {key: kept[key] for key in fragments}
