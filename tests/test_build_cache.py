"""The build cache: a warm rebuild writes the very bytes of a cold build, and renders only what changed.

Each step edits a copy of the default catalog the way a catalog team would (change,
add, rename, delete a server; change a template; change catalog.yaml), rebuilds the
same output folder with the cache, builds a fresh folder cold with one job and another
with two, and compares the three trees file by file, folders included.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from click.testing import CliRunner

from generator.build import BuildReport, build
from generator.cli import main
from generator.errors import OutputError, SourceInvalid
from generator.incremental.cache import default_cache_dir


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `folder`."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes() if path.is_file() else None)
        for path in sorted(folder.rglob("*"))
    }


def differences(left: dict[str, bytes | None], right: dict[str, bytes | None]) -> list[str]:
    """The paths that differ, for a readable failure."""
    return sorted(path for path in left.keys() | right.keys() if left.get(path, b"?") != right.get(path, b"?"))[:20]


@pytest.fixture
def catalog(default_source_copy: Path) -> Path:
    return default_source_copy


def warm_equals_cold(
    source: Path, site: Path, scratch: Path, step: str, *, also_two_jobs: bool = False, **options: object
) -> BuildReport:
    """Rebuild `site` with the cache (2 jobs), build cold with 1 job (and with 2 when asked), and
    require the same trees. A cold build has no history: whether two jobs give the bytes of one
    does not depend on what the cache went through, so the tests ask for it where the source is
    their point (the edit sequence's last step, a tool change), not after each damaged cache."""
    warm = build(source, site, jobs=2, **options)  # type: ignore[arg-type]
    cold = scratch / f"cold-{step}"
    build(source, cold, jobs=1, use_cache=False, **options)  # type: ignore[arg-type]
    warm_tree, cold_tree = snapshot(site), snapshot(cold)
    assert differences(warm_tree, cold_tree) == [], step
    if also_two_jobs:
        parallel = scratch / f"parallel-{step}"
        build(source, parallel, jobs=2, use_cache=False, **options)  # type: ignore[arg-type]
        assert differences(snapshot(parallel), cold_tree) == [], step
    return warm


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_sequence_of_edits_gives_the_bytes_of_a_cold_build(catalog: Path, tmp_path: Path) -> None:
    """Each step's warm rebuild against a cold one-job build. The cold two-job build is compared
    once, at the last step, whose source has been through every edit and a template override: a
    cold build has no history, so one per step proved the same thing seven times over (and
    test_cli's test_parallel_build_writes_the_same_bytes_as_one_job checks the shipped source)."""
    site, servers = tmp_path / "site", catalog / "servers"
    first = build(catalog, site, jobs=2)
    assert first.rendered_servers == first.servers == 36

    unchanged = build(catalog, site, jobs=1)
    assert (unchanged.rendered_servers, unchanged.written) == (0, 0)

    edit(servers / "fetch.yaml", "description: ", "description: Now also ")
    changed = warm_equals_cold(catalog, site, tmp_path, "change")
    assert changed.rendered_servers == 1
    assert 0 < changed.written < changed.files / 10

    (servers / "fetch-copy.yaml").write_text((servers / "fetch.yaml").read_text().replace("name: fetch\n", "name: fetch-copy\n"))
    added = warm_equals_cold(catalog, site, tmp_path, "add")
    assert added.rendered_servers == 1 and (site / "servers/fetch-copy/index.html").is_file()

    (servers / "time.yaml").rename(servers / "clock.yaml")
    (servers / "time.md").rename(servers / "clock.md")
    edit(servers / "clock.yaml", "name: time\n", "name: clock\n")
    renamed = warm_equals_cold(catalog, site, tmp_path, "rename")
    assert renamed.rendered_servers == 1
    assert not (site / "servers/time").exists() and not (site / "bundles/servers/time").exists()

    (servers / "git.yaml").unlink()
    (servers / "git.md").unlink()
    deleted = warm_equals_cold(catalog, site, tmp_path, "delete")
    assert deleted.rendered_servers == 0 and not (site / "servers/git").exists()

    overrides = tmp_path / "templates"
    overrides.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "templates" / "server.html"
    (overrides / "server.html").write_text(shipped.read_text().replace("</h1>", " (reviewed)</h1>", 1))
    templated = warm_equals_cold(catalog, site, tmp_path, "template", templates=overrides)
    assert templated.rendered_servers == templated.servers
    assert "(reviewed)</h1>" in (site / "servers/fetch/index.html").read_text()

    (overrides / "server.html").write_text(shipped.read_text().replace("</h1>", " (approved)</h1>", 1))
    retemplated = warm_equals_cold(catalog, site, tmp_path, "template-edit", templates=overrides)
    assert retemplated.rendered_servers == retemplated.servers

    edit(catalog / "catalog.yaml", "version: 1.0.0", "version: 1.0.1")
    recatalogued = warm_equals_cold(catalog, site, tmp_path, "catalog", templates=overrides, also_two_jobs=True)
    assert recatalogued.rendered_servers == recatalogued.servers


def test_tool_changes_reach_the_lists_bundles_and_registries(catalog: Path, tmp_path: Path) -> None:
    """A change inside one server must reach every catalog-wide file splicing its fragments."""
    site = tmp_path / "site"
    build(catalog, site)
    before = snapshot(site)
    edit(catalog / "servers/fetch.yaml", "  - name: fetch\n", "  - name: fetch_page\n")
    warm_equals_cold(catalog, site, tmp_path, "tool", also_two_jobs=True)
    after = snapshot(site)
    for path in (
        "registry.json",
        "api/v1/tools.json",
        "api/v1/catalog.json",
        "v0.1/servers/index.json",
        "bundles/registries/sandbox/all.yaml",
        "registries/sandbox/registry.json",
    ):
        assert before[path] != after[path], path


def test_a_replaced_output_folder_is_rebuilt_cold(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build(catalog, site)
    shutil.copytree(site, tmp_path / "copy")
    shutil.rmtree(site)
    (tmp_path / "copy").rename(site)  # same content, but not the folder the cache describes
    report = build(catalog, site)
    assert report.rendered_servers == report.servers


def test_a_failed_rebuild_leaves_the_output_and_the_cache_as_they_were(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    build(catalog, site)
    before = snapshot(site)
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Changed ")

    from generator import build as pipeline
    from generator.render.kind import OutputKind

    def failing(context: object) -> list[object]:
        raise OutputError("the disk is full")

    monkeypatch.setattr(pipeline, "KINDS", (*pipeline.KINDS, OutputKind("failing", failing)))
    with pytest.raises(OutputError, match="disk is full"):
        build(catalog, site)
    assert snapshot(site) == before  # fetch's files were rendered and staged, but never moved in
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.tmp-")]
    monkeypatch.undo()

    (catalog / "servers/fetch.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SourceInvalid):
        build(catalog, site)
    assert snapshot(site) == before


def test_two_servers_claiming_one_path_still_fail_in_a_warm_build(catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    build(catalog, site)
    before = snapshot(site)
    from generator import build as pipeline
    from generator.output import OutputFile
    from generator.render.kind import OutputKind

    def same_path(context: object, server: object) -> list[OutputFile]:
        return [OutputFile("shared.txt", b"x")]

    monkeypatch.setattr(pipeline, "KINDS", (*pipeline.KINDS, OutputKind("clash", lambda context: [], same_path)))
    edit(catalog / "catalog.yaml", "version: 1.0.0", "version: 1.0.1")  # every server is rendered again
    with pytest.raises(OutputError, match="two outputs want the same path shared.txt"):
        build(catalog, site, jobs=2)
    assert snapshot(site) == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_where_another_output_needs_a_folder_fails_the_build(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Writing removes what stands in a new file's way (a spare's file where a folder now goes), so
    a clash between two outputs of one build must be caught from the records, in any order."""
    site = tmp_path / "site"
    build(catalog, site)
    build(catalog, site)  # the next rebuild updates a spare
    before = snapshot(site)
    from generator import build as pipeline
    from generator.output import OutputFile
    from generator.render.kind import OutputKind

    def file_then_folder(context: object, server: object) -> list[OutputFile]:
        name = server.name  # type: ignore[attr-defined]
        if name == "fetch":
            return [OutputFile("clash/fetch", b"a file")]
        return [OutputFile(f"clash/fetch/{name}.txt", b"under it")] if name == "git" else []

    monkeypatch.setattr(pipeline, "KINDS", (*pipeline.KINDS, OutputKind("clash", lambda context: [], file_then_folder)))
    edit(catalog / "catalog.yaml", "version: 1.0.0", "version: 1.0.1")  # every server is rendered again
    with pytest.raises(OutputError, match="two outputs want the same path clash/fetch, one as a file and one as the folder of clash/fetch/git.txt"):
        build(catalog, site, jobs=jobs)
    assert snapshot(site) == before


@pytest.mark.parametrize("where", ["inside-output", "inside-source"])
def test_a_cache_folder_inside_the_output_or_source_is_refused(catalog: Path, tmp_path: Path, where: str) -> None:
    site = tmp_path / "site"
    cache_dir = site / ".cache" if where == "inside-output" else catalog / ".cache"
    with pytest.raises(OutputError, match="build cache"):
        build(catalog, site, cache_dir=cache_dir)


def test_the_default_cache_is_in_the_user_cache_folder_not_beside_the_output(
    catalog: Path, tmp_path: Path, user_cache_home: Path
) -> None:
    """A web server serving the folder that holds the site must find no cache there (it held every parsed server file)."""
    site = tmp_path / "docroot" / "site"
    build(catalog, site)
    cache_dir = default_cache_dir(site)
    assert (cache_dir / "state.marshal").is_file()
    assert cache_dir.parent == user_cache_home / "mcp-catalog"
    assert cache_dir.name.startswith("docroot-site-") and len(cache_dir.name) == len("docroot-site-") + 16
    assert not cache_dir.is_relative_to(site.parent)
    assert sorted(p.name for p in site.parent.iterdir()) == [".site.lock", "site"]
    assert not any(".cache" in path for path in snapshot(site))
    assert default_cache_dir(tmp_path / "elsewhere" / "site") != cache_dir  # one cache per output path


def test_xdg_cache_home_is_used_only_when_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir(tmp_path / "site").parent == tmp_path / "xdg" / "mcp-catalog"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unusable in ("", "relative/cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", unusable)
        assert default_cache_dir(tmp_path / "site").parent == tmp_path / "home" / ".cache" / "mcp-catalog"


def test_no_cache_note_is_printed_and_an_old_cache_beside_the_site_is_named(
    catalog: Path, tmp_path: Path, runner: CliRunner
) -> None:
    site = tmp_path / "docroot" / "site"
    for options in (["--no-cache"], [], []):
        result = runner.invoke(main, ["build", "--source", str(catalog), "--out", str(site), *options])
        assert result.exit_code == 0, result.output
        assert "note:" not in result.output
    legacy = tmp_path / "docroot" / ".cache" / "mcp-catalog" / "site"
    legacy.mkdir(parents=True)
    (legacy / "state.marshal").write_bytes(b"from an earlier version")
    result = runner.invoke(main, ["build", "--source", str(catalog), "--out", str(site)])
    assert (f"note: {legacy} is the build cache of an earlier mcp-catalog, beside the site and no longer used "
            f"(the cache is now in {default_cache_dir(site)}): delete it") in result.output.splitlines()
    result = runner.invoke(main, ["build", "--source", str(catalog), "--out", str(site), "--no-cache"])
    assert "note:" not in result.output


@pytest.mark.parametrize("per_blob", [500, 2])  # the parse cache in one blob, and in several
def test_only_changed_server_files_are_parsed_again(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_blob: int
) -> None:
    import os

    from generator.incremental import cache
    from generator.source import load

    monkeypatch.setattr(cache, "_PARSED_PER_BLOB", per_blob)
    site = tmp_path / "site"
    build(catalog, site)
    parsed: list[str] = []
    original = load._parse_server

    def counting(job: load.Job) -> load.ParsedServer:
        parsed.append(job[0].name)
        return original(job)

    monkeypatch.setattr(load, "_parse_server", counting)
    fetch = catalog / "servers/fetch.yaml"
    before = fetch.stat()
    text = fetch.read_text()
    # Same size, same modification time: only the change time (which no tool can set) tells.
    fetch.write_text(text.replace("description: Download", "description: Fetching", 1))
    os.utime(fetch, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert fetch.stat().st_size == before.st_size and fetch.stat().st_mtime_ns == before.st_mtime_ns
    report = build(catalog, site)
    assert parsed == ["fetch.yaml"]
    assert report.rendered_servers == 1
    assert '"description":"Fetching a web page' in (site / "api/v1/servers/fetch.json").read_text()


def test_a_rebuild_renders_only_the_list_pages_showing_the_changed_server(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.render import site as site_module

    site = tmp_path / "site"
    build(catalog, site, jobs=1)
    rendered: list[str] = []
    original = site_module.render_page

    def recording(environment: object, template: str, path: str, values: dict[str, object]) -> object:
        rendered.append(path)
        return original(environment, template, path, values)  # type: ignore[arg-type]

    monkeypatch.setattr(site_module, "render_page", recording)
    edit(catalog / "servers/fetch.yaml", "title: ", "title: Renamed ")
    build(catalog, site, jobs=1)  # one job: the catalog-wide halves run in this process
    # The oracle: every page outside servers/ that links to fetch's page, read from the output.
    showing = {
        page.relative_to(site).as_posix()
        for page in site.rglob("*.html")
        if not page.relative_to(site).as_posix().startswith("servers/")
        and re.search(r'href="[./]*servers/fetch/index.html["#]', page.read_text(encoding="utf-8"))
    }
    assert len(showing) > 3  # the index, its category, tier, tags, profiles, tools
    assert set(rendered) == showing | {"servers/fetch/index.html"}


def test_a_second_build_into_the_same_folder_is_refused_while_one_runs(catalog: Path, tmp_path: Path) -> None:
    import fcntl

    site = tmp_path / "site"
    build(catalog, site)
    lock = default_cache_dir(site) / "lock"
    before = snapshot(site)
    with open(lock, "a+b") as held:  # what a running build holds
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="another mcp-catalog build is writing"):
            build(catalog, site)
    assert snapshot(site) == before
    assert build(catalog, site).rendered_servers == 0  # released: builds go on, the cache intact


def test_input_keys_tell_values_apart_and_refuse_what_they_cannot_hash(catalog: Path) -> None:
    from generator.render.inputs import InputKeys
    from generator.source.validate import read_catalog

    servers = read_catalog(catalog).catalog.servers
    first, second = servers[0], servers[1]
    keys = InputKeys({first.name: "k1", second.name: "k2"})
    distinct = [
        keys.of("a", 1), keys.of("a", "1"), keys.of(["a", 1]), keys.of({"a": 1}), keys.of({"a": 2}),
        keys.of("ab", "c"), keys.of("a", "bc"), keys.of(first), keys.of(second), keys.of([first, second]),
        keys.of(True), keys.of(1), keys.of(None),
    ]
    assert None not in distinct and len(set(distinct)) == len(distinct)
    assert keys.of({"b": 1, "a": [first]}) == InputKeys({first.name: "k1"}).of({"b": 1, "a": [first]})
    # A server counts by its key alone: a new key is a new page, the same key the same page.
    assert InputKeys({first.name: "k3"}).of(first) != keys.of(first)
    assert InputKeys({}).of("page", [first]) is None  # no key for a server: always make the file
    with pytest.raises(TypeError, match="cannot compute an input key"):
        keys.of(object())
    # Large lists and dicts are hashed once per object: equal contents still give equal keys,
    # and one changed item a new one, however often the object was seen before.
    long = [first, *range(40)]
    assert keys.of(long) == keys.of(long) == keys.of(list(long)) == InputKeys({first.name: "k1"}).of(list(long))
    assert keys.of(long) != keys.of([second, *range(40)]) != keys.of([first, *range(39), 99])
    table = {f"tag-{n}": n for n in range(40)}
    assert keys.of(table) == keys.of(dict(table)) != keys.of({**table, "tag-0": -1})
    assert keys.of(table) != keys.of(list(table.items()))


@pytest.mark.parametrize("damaged", ["state.marshal", "parsed.marshal", "fragments.bin"])
def test_a_damaged_cache_gives_a_cold_build(catalog: Path, tmp_path: Path, damaged: str) -> None:
    site = tmp_path / "site"
    build(catalog, site)
    cached = default_cache_dir(site) / damaged
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, deep inside a server's cached state
    cached.write_bytes(bytes(data))
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Now also ")
    warm_equals_cold(catalog, site, tmp_path, "damaged")


@pytest.mark.parametrize("damaged", ["state.marshal", "parsed.marshal"])
def test_a_cache_blob_claiming_a_huge_length_gives_a_cold_build(catalog: Path, tmp_path: Path, damaged: str) -> None:
    """A damaged length in a blob's head is refused before anything is allocated for it."""
    import io
    import marshal
    import struct

    site = tmp_path / "site"
    build(catalog, site)
    cached = default_cache_dir(site) / damaged
    data = bytearray(cached.read_bytes())
    stream = io.BytesIO(data)
    marshal.load(stream)  # the file's head; the first blob's CRC-32 and length follow
    start = stream.tell() + 4
    data[start:start + 8] = struct.pack("<Q", 1 << 62)
    cached.write_bytes(bytes(data))
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Now also ")
    warm_equals_cold(catalog, site, tmp_path, "huge length")


def test_a_missing_or_replaced_fragment_store_gives_a_cold_build(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build(catalog, site)
    store = default_cache_dir(site) / "fragments.bin"
    store.unlink()
    missing = build(catalog, site)
    assert missing.rendered_servers == missing.servers
    store.rename(tmp_path / "kept-alive.bin")  # so the copy below gets another inode
    store.write_bytes((tmp_path / "kept-alive.bin").read_bytes())
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Again ")
    report = warm_equals_cold(catalog, site, tmp_path, "replaced")
    assert report.rendered_servers == report.servers


def test_the_fragment_store_is_compacted_and_still_read_right(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rebuild appends the changed servers' fragments; compaction must keep every live one where the state says."""
    from generator.incremental import store as fragment_store

    site = tmp_path / "site"
    build(catalog, site)
    store = default_cache_dir(site) / "fragments.bin"
    cold_size = store.stat().st_size
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Once ")
    build(catalog, site)
    grown = store.stat().st_size
    assert grown > cold_size  # fetch's new fragments were appended
    monkeypatch.setattr(fragment_store, "_GARBAGE_FACTOR", 1)  # compact at the next save
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Twice ")
    build(catalog, site)
    assert store.stat().st_size < grown
    monkeypatch.undo()
    edit(catalog / "servers/git.yaml", "title: Git\n", "title: Git tools\n")
    report = warm_equals_cold(catalog, site, tmp_path, "compacted")
    assert report.rendered_servers == 1


def test_templates_in_a_symlinked_folder_are_part_of_the_build_key(tmp_path: Path) -> None:
    from generator.incremental.cache import code_key

    elsewhere, overrides = tmp_path / "elsewhere", tmp_path / "overrides"
    elsewhere.mkdir()
    overrides.mkdir()
    (elsewhere / "_card.html").write_text("one")
    (overrides / "shared").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(overrides, target_is_directory=True)  # a loop is walked once
    before = code_key(overrides)
    (elsewhere / "_card.html").write_text("two")
    assert code_key(overrides) != before


def test_a_rebuild_with_nothing_changed_stores_nothing_again(catalog: Path, tmp_path: Path) -> None:
    """Archive chunks the store already holds are pointed at again, not appended again."""
    site = tmp_path / "site"
    build(catalog, site)
    store = default_cache_dir(site) / "fragments.bin"
    before = store.stat().st_size
    assert build(catalog, site).written == 0
    assert store.stat().st_size == before


def test_a_compaction_that_fails_leaves_a_good_build_and_a_usable_cache(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction runs after the site is in place; a full disk then must not fail the build."""
    import os

    from generator.incremental import store as fragment_store

    site = tmp_path / "site"
    build(catalog, site)
    real_replace = os.replace

    def disk_full(source: object, target: object) -> None:
        if Path(str(source)).name.startswith("fragments.bin.tmp-"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(fragment_store, "_GARBAGE_FACTOR", 1)
    monkeypatch.setattr(fragment_store.os, "replace", disk_full)
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Full disk ")
    build(catalog, site)
    monkeypatch.undo()
    assert not list(default_cache_dir(site).glob("*.tmp-*"))
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Then ")
    report = warm_equals_cold(catalog, site, tmp_path, "after-failed-compaction")
    assert report.rendered_servers == 1  # the cache survived


def test_no_room_for_fragments_is_a_message_and_the_site_stays(catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.incremental import store as fragment_store

    site = tmp_path / "site"
    build(catalog, site)
    before = snapshot(site)

    def disk_full(descriptor: int, data: bytes, offset: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fragment_store, "_write_all", disk_full)
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Full disk ")
    for options in ({"jobs": 2}, {"use_cache": False}):
        with pytest.raises(OutputError, match=r"cannot keep the build's fragments in .*No space left on device.*--cache-dir"):
            build(catalog, site, **options)  # type: ignore[arg-type]
        assert snapshot(site) == before


def test_a_killed_build_leaves_no_worker_holding_the_lock(tmp_path: Path) -> None:
    """The OOM killer stops the build but not its forked workers; they must not keep the lock."""
    import os
    import signal
    import subprocess
    import sys

    from generator.incremental import cache

    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from generator.incremental import cache\n"
        "with cache.exclusive(Path(sys.argv[1]), Path(sys.argv[2])):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        os.close(1)\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    print(child, flush=True)\n"
        "    os._exit(0)  # killed: no release, while the worker lives on\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "cache"), str(tmp_path / "site")],
                         stdout=subprocess.PIPE, text=True, timeout=60, check=True)
    worker = int(run.stdout.split()[0])
    try:
        os.kill(worker, 0)  # still alive
        with cache.exclusive(tmp_path / "cache", tmp_path / "site"):
            pass
    finally:
        os.kill(worker, signal.SIGKILL)


def test_a_new_kind_rebuilds_incrementally_with_one_module_and_one_line(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/architecture.md's worked example, taken from the doc itself: added to KINDS, its per-server
    piece is made once per changed server, and a rebuild gives the bytes of a cold build."""
    import types

    from conftest import REPO
    from generator import build as build_module
    from generator.render import memo

    section = (REPO / "docs/architecture.md").read_text().split("## Adding an output kind", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    made: list[str] = []
    plain = memo.per_server

    def counting(function):  # type: ignore[no-untyped-def]
        def counted(context, server, *args):  # type: ignore[no-untyped-def]
            made.append(server.name)
            return function(context, server, *args)

        counted.__name__, counted.__qualname__, counted.__module__ = function.__name__, function.__qualname__, "llms_txt"
        return plain(counted)

    monkeypatch.setattr(memo, "per_server", counting)
    module = types.ModuleType("llms_txt")
    exec(compile(code, "llms_txt.py", "exec"), module.__dict__)
    monkeypatch.setattr(build_module, "KINDS", (*build_module.KINDS, module.KIND))

    site = tmp_path / "site"
    build(catalog, site, jobs=1)
    assert len(made) == 36 and (site / "llms.txt").read_text().count("\n- [") == 36  # made once per server
    made.clear()
    edit(catalog / "servers/fetch.yaml", "title: Fetch", "title: Fetch pages")
    build(catalog, site, jobs=1)
    assert made == ["fetch"] and "- [Fetch pages](servers/fetch/)" in (site / "llms.txt").read_text()
    build(catalog, tmp_path / "cold", jobs=1, use_cache=False)
    assert differences(snapshot(site), snapshot(tmp_path / "cold")) == []


def test_a_rebuild_loads_compiled_templates_and_compiles_an_edited_one_again(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiling the templates costs a rebuild more than its changed pages: the cache keeps them
    compiled, and Jinja's checksum of the source makes an edited template compile again."""
    import jinja2

    from generator.render.site import SHIPPED_TEMPLATES

    compiled: list[str | None] = []
    real_compile = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: object, name: str | None = None, *args: object, **kwargs: object) -> object:
        compiled.append(name)
        return real_compile(self, source, name, *args, **kwargs)  # type: ignore[arg-type]

    overrides, site = tmp_path / "overrides", tmp_path / "site"
    overrides.mkdir()
    shipped = (SHIPPED_TEMPLATES / "404.html").read_text(encoding="utf-8")
    (overrides / "404.html").write_text(shipped.replace("</h1>", "</h1><p>first words</p>"), encoding="utf-8")
    build(catalog, site, templates=overrides)
    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    edit(catalog / "servers/fetch.yaml", "description: ", "description: Once ")
    assert build(catalog, site, templates=overrides).rendered_servers == 1  # its page and the lists showing it
    assert compiled == []
    (overrides / "404.html").write_text(shipped.replace("</h1>", "</h1><p>second words</p>"), encoding="utf-8")
    build(catalog, site, templates=overrides)
    assert compiled == ["404.html"]
    assert b"second words" in (site / "404.html").read_bytes()
    # A new program (or Jinja) compiles every template again: Jinja checks a compiled one against its source only.
    from generator.incremental import cache

    monkeypatch.setattr(cache, "code_key", lambda templates=None: "f" * 64)
    compiled.clear()
    build(catalog, site, templates=overrides)
    assert "404.html" in compiled and "server.html" in compiled
    assert [folder.name for folder in (default_cache_dir(site) / "templates").iterdir()] == ["f" * 16]


def test_pieces_stored_as_soon_as_they_are_made_give_the_same_bytes(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_site: Path
) -> None:
    """A task stores what it made once it holds `FLUSH_BYTES` and reads it back from the store when
    asked again (a catalog-wide half making a changed profile's pieces reads them back as it joins them).
    With every piece stored the moment it is made, cold and warm builds give a normal build's bytes."""
    from generator.incremental import memo

    monkeypatch.setattr(memo, "FLUSH_BYTES", 1)
    site = tmp_path / "site"
    build(catalog, site, jobs=2)
    assert differences(snapshot(site), snapshot(default_site)) == []
    edit(catalog / "servers/fetch.yaml", "  - name: fetch\n", "  - name: fetch_page\n")
    warm_equals_cold(catalog, site, tmp_path, "stored at once")
