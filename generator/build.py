"""The build pipeline: load and validate everything, render per server, render catalog-wide, index, put in place.

The order matters. The whole source is read and validated before a single
file is written, so that every page sees consistent data and a bad source
leaves the previous output untouched. Each output kind is one `OutputKind`
(see `generator.render.kind`): a per-server half, which sees one server and
may make `@per_server` pieces, then a catalog-wide half, which splices the same pieces.
Adding a kind means adding one module and one line to KINDS.

With a build cache (the default) the per-server half runs only for the servers
whose inputs changed since the last build of the same output folder; the
catalog-wide half always runs, but the files it defers (list pages, search
chunks) are made only when their input key changed, and only changed bytes
reach the output folder: the tree the last switch replaced (the spare) is
updated into the new output, so unchanged files are not touched at all.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from generator.incremental import cache
from generator.diagnostics import Diagnostic
from generator.errors import LimitExceeded, OutputError, os_errors
from generator.incremental.memo import Refs, StoredMemo
from generator.incremental.store import DamagedStore, FragmentStore
from generator.limits import output_limits
from generator.models import Server
from generator.output import (
    CHOOSE_OUT, HeldFiles, OutputFile, OutputTree, Spare, WrittenFile, check_output_dir, survey_spare,
)
from generator.output_lock import output_lock
from generator.output_switch import remove_tree, spare_folder
from generator.processes import in_forked_process, release_free_memory, worker_pool
from generator.release.catalog_scan import ReleaseCatalog
from generator.release.diff import ReleaseDiff, diff_previous_release
from generator.release.read_releases import built_catalog
from generator.render.kubernetes import bundles
from generator.render.api import documents as catalog_api
from generator.render.api import catalog_json
from generator.render.registry import mirror as mcp_registry
from generator.render.kubernetes import mirror_lists
from generator.render.api import schemas
from generator.render import file_list, site
from generator.render.registry import toolhive
from generator.render.context import QUERY_LAYER, Hosting, RenderContext
from generator.render.kind import Deferred, OutputKind
from generator.render.memo import Unkept
from generator.source.validate import ValidatedCatalog, read_catalog

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
# The file list comes last: it lists the other indexes too.
INDEXERS: tuple[Indexer, ...] = (catalog_api.render_index, file_list.render_file_list)
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
"""(phase, seconds) in pipeline order."""


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


class Clock:
    """The build's one timing helper: `lap(phase)` records the time since the last lap as `phase`,
    `add` the CPU time its tasks spent (summed over the workers, so not a lap)."""

    def __init__(self, started: float) -> None:
        self._last = started
        self.timings: Timings = []

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings.append((phase, now - self._last))
        self._last = now

    def add(self, timings: Timings) -> None:
        self.timings += timings


@dataclass
class _Plan:
    """What the last build left that this one may keep (see `_plan`)."""

    build_key: str
    state: cache.CacheState | None
    server_keys: dict[str, str]
    holds: HeldFiles | None
    """What the output folder still holds as recorded (None: a cold build, nothing to keep)."""
    spare: Spare | None
    """The tree to update into the new output (None: stage a complete new one)."""
    reused: dict[str, cache.CachedServer]
    """Servers whose key is unchanged and whose files are all on disk as recorded (in the spare or the live folder)."""
    stale: list[Server]
    """The servers to render."""
    deferred: dict[str, tuple[str, WrittenFile]]
    """Deferred files of the last build still on disk: path -> (input key, record)."""


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
    clock = Clock(started)
    validated = _read(source_dir, cache_dir, strict=strict, image_mirror=image_mirror, use_cache=use_cache)
    # Parsing and validating leave the allocator 90 MB of free pages at 10,000 servers; every worker
    # forked later would count them in its size too.
    release_free_memory()
    changes = None
    if previous is not None:  # read before anything is written: a bad release must not cost the old site
        changes = _changes_since(previous, validated, image_mirror)
    context = RenderContext(validated.catalog, templates=templates, image_mirror=image_mirror, hosting=hosting,
                            changes=changes, compiled_templates=_compiled_templates(cache_dir) if use_cache else None)
    clock.lap("load and validate")
    plan = _plan(context, out_dir, cache_dir, templates=templates, use_cache=use_cache)
    clock.lap("read the build cache")
    with _limits_reported(source_dir, strict=strict, image_mirror=image_mirror), _fragment_store(plan.state, cache_dir, use_cache) as store:
        # The old tree is kept as the next build's spare only when the cache describes it (plan.state).
        old_files = plan.state.every_file() if plan.state is not None else None
        with OutputTree(out_dir, previous=plan.holds, spare=plan.spare, keep_old=old_files) as tree:
            for entry in plan.reused.values():
                tree.keep(entry.files)
            servers = _render_servers(context, plan, tree, store, jobs, clock)
            server_files = set(tree.written)
            catalog_keys = _render_catalog_wide(context, plan, servers, tree, store, jobs, clock)
            _write_indexes(context, tree)
            clock.lap("write indexes")
            if use_cache:
                cache.forget(cache_dir)  # an update interrupted from here on must be followed by a cold build
        clock.lap("put in place")
        if use_cache:
            catalog_files = {path: record for path, record in tree.written.items() if path not in server_files}
            # Every file's stamp is taken after the switch: the hard link that carried a kept file
            # into the new tree changed its change time, so an older stamp would put it in doubt.
            # A file the spare held was not touched since `survey_spare` took its lstat.
            untouched = _untouched_stamps(plan.spare, tree.written, plan.state.stamps if plan.state else {})
            stamps = untouched | cache.stamps_of(out_dir, (path for path in tree.written if path not in untouched))
            spare = None if old_files is None or tree.spare_id is None else cache.spare_after_switch(old_files, tree.written, tree.spare_id)
            state = cache.CacheState(plan.build_key, servers, catalog_files, catalog_keys, stamps=stamps, spare=spare)
            cache.save(cache_dir, out_dir, state, store)
            clock.lap("save the build cache")
    return BuildReport(
        servers=len(validated.catalog.servers),
        files=len(tree.written),
        seconds=time.perf_counter() - started,
        warnings=validated.warnings,
        timings=tuple(clock.timings),
        rendered_servers=len(plan.stale),
        written=len(tree.staged),  # a cold build stages every file
    )


def _changes_since(previous: Path, validated: ValidatedCatalog, image_mirror: str | None) -> ReleaseDiff:
    """What changed since the release `previous`, as `mcp-catalog diff` of the two releases says it,
    worked out in a forked process: what comparing leaves to the allocator (the previous catalog's
    90 MB at 10,000 servers, and when a namespace loses a server the bundles read and rendered for
    it) would otherwise stay in this process and count in the size of every worker forked later
    (a 10,000-server build withdrawing one server peaked at 493 MB instead of 446).

    What it compares is made apart from the build's render, which comes later: this build's records
    and, only when a namespace loses a server, the bundles of the profiles deployed there and of the
    servers concerned; with a memo keeping no piece (every server's would raise its peak: each is
    asked for once or twice)."""
    apart = RenderContext(validated.catalog, image_mirror=image_mirror, memo=Unkept())

    def built() -> ReleaseCatalog:
        return built_catalog(validated.catalog.meta.model_dump(mode="json"), catalog_json.CatalogRecords(validated.catalog),
                             catalog_json.record_digests(apart), image_mirror)

    return in_forked_process(partial(diff_previous_release, previous, built, partial(bundles.bundle_files_of, apart)))


def _read(source_dir: Path, cache_dir: Path, *, strict: bool, image_mirror: str | None, use_cache: bool) -> ValidatedCatalog:
    """The validated source; with the cache, files unchanged since the last build are not parsed again.

    What the outputs cannot carry is measured here only when the source fails anyway (to report it
    with the rest): a clean source is measured by the renderers, on the pieces they make (`_limits_reported`)."""
    validated = read_catalog(
        source_dir, strict=strict, already_parsed=cache.load_parsed(cache_dir, source_dir) if use_cache else None,
        output_limits=partial(output_limits, image_mirror=image_mirror), limits_when_clean=False,
    )
    if use_cache:
        cache.save_parsed(cache_dir, source_dir, validated.parsed)
    return replace(validated, parsed={})  # a copy of every parsed file: not needed past this point


@contextmanager
def _limits_reported(source_dir: Path, *, strict: bool, image_mirror: str | None) -> Iterator[None]:
    """Turn a limit a renderer met (`LimitExceeded`, raised before the switch: the output is untouched)
    into the report of every problem of the source on its line, as `validate` gives it.

    The renderers meet each limit on what they make anyway (a server's server.json when it is
    rendered, a profile's admission policies), so a build measures nothing twice and a rebuild
    only the changed servers: a kept server's pieces passed under the same key. Measuring every
    server again (`generator.limits`) is paid only by a build that fails.
    """
    try:
        yield
    except LimitExceeded:
        read_catalog(source_dir, strict=strict, keep_parsed=False,
                     output_limits=partial(output_limits, image_mirror=image_mirror))
        raise  # the source changed since it was read, and no longer passes the limit


def _plan(context: RenderContext, out_dir: Path, cache_dir: Path, *, templates: Path | None, use_cache: bool) -> _Plan:
    """What may be kept. The one skip rule: a file is kept only when its input key matches and the
    disk still holds it as recorded (`cache.OnDisk`), in the spare or in the live folder; a server with
    one file not as recorded is rendered again, a deferred file made again, any other file written
    when it differs."""
    build_key = cache.build_key(context.catalog, templates=templates, image_mirror=context.image_mirror, hosting=context.hosting)
    server_keys = {s.name: cache.server_key(build_key, context.catalog, s) for s in context.catalog.servers}
    state = cache.load(cache_dir, out_dir, build_key) if use_cache else None
    if state is None:
        return _Plan(build_key, None, server_keys, None, None, {}, list(context.catalog.servers), {})
    holds = cache.on_disk(out_dir, state)
    spare = _usable_spare(out_dir, state)

    def held(path: str, record: WrittenFile) -> bool:
        return (spare is not None and spare.holds.get(path) == record) or holds.get(path) == record

    reused = {
        name: entry for name, entry in state.servers.items()
        if server_keys.get(name) == entry.key and all(held(path, record) for path, record in entry.files.items())
    }
    deferred = {
        path: (key, state.catalog_files[path]) for path, key in state.catalog_keys.items()
        if path in state.catalog_files and held(path, state.catalog_files[path])
    }
    stale = [server for server in context.catalog.servers if server.name not in reused]
    return _Plan(build_key, state, server_keys, holds, spare, reused, stale, deferred)


def _usable_spare(out_dir: Path, state: cache.CacheState) -> Spare | None:
    """The spare the state describes, its stray content removed and its files checked; None when
    there is none (the first rebuild, after a kill, a folder of another id)."""
    if state.spare is None:
        return None
    try:
        folder = spare_folder(out_dir, state.spare.spare_id)
    except ValueError:
        return None
    if not folder.is_dir() or folder.is_symlink():
        return None
    records = state.spare_files()
    with os_errors("cannot update the spare output folder", folder, CHOOSE_OUT):
        found = survey_spare(folder, records)
    return Spare(folder, cache.OnDisk(folder, records, state.stamps, state.saved_ns, found), found)


def _untouched_stamps(
    spare: Spare | None, written: Mapping[str, WrittenFile], recorded: Mapping[str, cache.Stamp]
) -> dict[str, cache.Stamp]:
    """The stamps of the files the new output took from the spare as they were (none without one);
    the `recorded` one where it is unchanged (most are: one stamp object per file instead of two)."""
    if spare is None:
        return {}
    stamps = {}
    for path, found in spare.found.items():
        if path in written and spare.holds.get(path) == written[path]:
            stamps[path] = found if recorded.get(path) != found else recorded[path]
    return stamps


def _write_indexes(context: RenderContext, tree: OutputTree) -> None:
    for index in INDEXERS:
        for item in index(context, dict(tree.written)):
            tree.write(item)


def _fragment_store(state: cache.CacheState | None, cache_dir: Path, use_cache: bool) -> FragmentStore:
    """The cache's store when its state is usable, else an empty one (a temporary file without a cache)."""
    if state is not None and state.store is not None:
        return state.store
    return cache.fresh_store(cache_dir) if use_cache else FragmentStore.temporary(cache_dir)


def _legacy_cache_note(out_dir: Path) -> tuple[str, ...]:
    """A note while the cache of an earlier version still lies beside the output (in a folder a web server may serve)."""
    legacy = cache.legacy_cache_dir(out_dir)
    if not os.path.isfile(legacy / cache.STATE_FILE):  # False, too, when it cannot be looked at
        return ()
    return (f"note: {legacy} is the build cache of an earlier mcp-catalog, beside the site and no longer used "
            f"(the cache is now in {cache.default_cache_dir(out_dir)}): delete it",)


def _compiled_templates(cache_dir: Path) -> Path:
    """Where Jinja keeps compiled templates: one folder per program, since Jinja checks a compiled
    template against its source only, not against the options or the Jinja that compiled it."""
    parent = cache_dir / "templates"
    folder = parent / cache.code_key()[:16]
    if parent.is_dir():
        for other in parent.iterdir():
            if other != folder:
                remove_tree(other)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    """Where the tasks' memos put the pieces they make (see generator.incremental.memo)."""
    known: Refs = field(default_factory=dict)
    """The pieces already stored, by owner (the catalog-wide tasks' memo looks them up)."""
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
    try:
        return task(_FORKED_WORK, index)
    finally:
        release_free_memory()


def _render_servers(
    context: RenderContext, plan: _Plan, tree: OutputTree, store: FragmentStore, jobs: int, clock: Clock
) -> dict[str, cache.CachedServer]:
    """Every per-server half for the stale servers, in slices spread over the workers; the servers
    kept from the last build as they were."""
    slices = -(-len(plan.stale) // SERVERS_PER_TASK)
    servers = dict(plan.reused)
    seconds: dict[str, float] = defaultdict(float)
    for slice_results, pieces, slice_seconds in _run(_Work(context, tree, store, servers=plan.stale), slices, _server_slice, jobs):
        for name, (files, staged) in slice_results.items():
            tree.merge(files, staged)
            servers[name] = cache.CachedServer(plan.server_keys[name], files, pieces.get(name, {}))
        for kind, spent in slice_seconds.items():
            seconds[kind] += spent
    clock.add([(f"render per server: {kind}", seconds[kind]) for kind in seconds])
    clock.lap(f"render per server, wall clock, --jobs {jobs}")
    return servers


def _server_slice(work: _Work, index: int) -> tuple[dict[str, tuple[dict[str, WrittenFile], set[str]]], Refs, dict[str, float]]:
    """The per-server halves of every kind for one slice of the servers; the pieces they made stored."""
    rendered: dict[str, tuple[dict[str, WrittenFile], set[str]]] = {}
    seconds: dict[str, float] = defaultdict(float)
    memo = StoredMemo(work.store, {})
    context = replace(work.context, memo=memo)
    for server in work.servers[index * SERVERS_PER_TASK:(index + 1) * SERVERS_PER_TASK]:
        narrowed = context.for_server(server)
        tree = work.tree.branch()
        for kind in KINDS:
            if kind.per_server is not None:
                kind_started = time.perf_counter()
                for item in kind.per_server(narrowed, server):
                    tree.write(item)
                seconds[kind.name] += time.perf_counter() - kind_started
        rendered[server.name] = (tree.written, tree.staged)
    return rendered, memo.stored(), dict(seconds)


def _render_catalog_wide(
    context: RenderContext, plan: _Plan, servers: dict[str, cache.CachedServer], tree: OutputTree,
    store: FragmentStore, jobs: int, clock: Clock,
) -> dict[str, str]:
    """Every catalog-wide half, one task per output kind or per part of one (see `OutputKind.catalog_parts`).

    Returns the input keys of their deferred files (the pieces they made are added to `servers`).
    """
    seconds: dict[str, float] = {}
    keys: dict[str, str] = {}
    tasks = _catalog_tasks(context)
    known = {name: entry.pieces for name, entry in servers.items()}
    work = _Work(replace(context, server_keys=plan.server_keys), tree, store, known, deferred=plan.deferred, catalog_tasks=tasks)
    for written, staged, pieces, task_keys, (name, spent) in _run(work, len(tasks), _catalog_task, jobs):
        tree.merge(written, staged)
        for owner, refs in pieces.items():
            servers[owner].pieces.update(refs)
        keys.update(task_keys)
        seconds[name] = seconds.get(name, 0.0) + spent
    clock.add([(f"render catalog-wide: {kind.name}", seconds.get(kind.name, 0.0)) for kind in KINDS])
    clock.lap(f"render catalog-wide, wall clock, --jobs {jobs}")
    return keys


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
) -> tuple[dict[str, WrittenFile], set[str], Refs, dict[str, str], tuple[str, float]]:
    index, part = work.catalog_tasks[number]
    kind = KINDS[index]
    started = time.perf_counter()
    memo = StoredMemo(work.store, work.known)
    context = replace(work.context, memo=memo)
    parts = kind.catalog_parts
    half = kind.catalog_wide if part is None or parts is None else parts(context)[part]
    tree = work.tree.branch()
    keys: dict[str, str] = {}
    for item in half(context):
        if isinstance(item, Deferred):
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
    return tree.written, tree.staged, memo.stored(), keys, (kind.name, time.perf_counter() - started)
