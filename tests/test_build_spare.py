"""The spare tree: a cached rebuild updates the tree the last switch replaced into the new output.

After a cached rebuild the old tree stays beside the output (`.site.spare-<id>`, the id in the
build cache); the next rebuild renames it into staging, checks it with the skip rule, writes
only the files whose bytes differ (always as new inodes: the spare shares the unchanged files'
inodes with the live site) and exchanges it with the live folder. Each test compares with a
`--no-cache` build of the same source, folders included.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.build import BuildReport, build
from tests.test_build_cache import differences, edit, snapshot


def spare_of(site: Path) -> Path | None:
    """The spare beside `site`, None when there is none (at most one may be there)."""
    spares = sorted(site.parent.glob(f".{site.name}.spare-*"))
    assert len(spares) <= 1, spares
    return spares[0] if spares else None


def rebuild_through_the_spare(source: Path, site: Path, **options: object) -> BuildReport:
    """A cached rebuild that must update the spare: the spare's folder becomes the site."""
    spare = spare_of(site)
    assert spare is not None, "no spare to update"
    folder = spare.stat().st_ino
    report = build(source, site, **options)  # type: ignore[arg-type]
    assert site.stat().st_ino == folder, "the rebuild staged a new tree instead of updating the spare"
    assert spare_of(site) not in (None, spare), "the replaced tree is the next spare, under a new id"
    return report


def files_hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the skip rule hashes from now on (in this process), in order."""
    from generator.incremental import cache

    hashed: list[str] = []
    original = cache._sha256_of

    def recording(path: str) -> str | None:
        hashed.append(path)
        return original(path)

    monkeypatch.setattr(cache, "_sha256_of", recording)
    return hashed


def cold(source: Path, scratch: Path, step: str, **options: object) -> dict[str, bytes | None]:
    out = scratch / f"cold-{step}"
    build(source, out, use_cache=False, cache_dir=scratch / "cold-cache", **options)  # type: ignore[arg-type]
    return snapshot(out)


@pytest.fixture
def site_with_spare(default_source_copy: Path, tmp_path: Path) -> Path:
    """The default catalog built twice into `tmp_path/site`: the second build keeps the first tree as the spare."""
    site = tmp_path / "site"
    build(default_source_copy, site)
    assert spare_of(site) is None, "a build into a new folder replaces no tree"
    build(default_source_copy, site)
    assert spare_of(site) is not None
    return site


def test_a_sequence_of_edits_through_the_spare_gives_the_bytes_of_a_cold_build(
    default_source_copy: Path, site_with_spare: Path, tmp_path: Path
) -> None:
    source, site, servers = default_source_copy, site_with_spare, default_source_copy / "servers"

    edit(servers / "fetch.yaml", "title: Fetch", "title: Fetch pages")
    changed = rebuild_through_the_spare(source, site, jobs=2)
    assert differences(snapshot(site), cold(source, tmp_path, "change")) == []
    assert changed.rendered_servers == 1 and 0 < changed.written < changed.files / 10

    (servers / "fetch-copy.yaml").write_text((servers / "fetch.yaml").read_text().replace("name: fetch\n", "name: fetch-copy\n"))
    rebuild_through_the_spare(source, site)
    assert differences(snapshot(site), cold(source, tmp_path, "add")) == []

    (servers / "time.yaml").rename(servers / "clock.yaml")
    (servers / "time.md").rename(servers / "clock.md")
    edit(servers / "clock.yaml", "name: time\n", "name: clock\n")
    rebuild_through_the_spare(source, site, jobs=2)
    assert differences(snapshot(site), cold(source, tmp_path, "rename")) == []
    assert not (site / "servers/time").exists() and not (site / "bundles/servers/time").exists()

    (servers / "git.yaml").unlink()
    (servers / "git.md").unlink()
    rebuild_through_the_spare(source, site)
    assert differences(snapshot(site), cold(source, tmp_path, "delete")) == []
    assert not (site / "servers/git").exists(), "a removed server's folder goes, not just its files"

    # A template change changes every file: a cold build, which keeps no spare (the cache no
    # longer describes the old tree); the next rebuild keeps one again, the one after uses it.
    overrides = tmp_path / "templates"
    overrides.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "templates" / "server.html"
    (overrides / "server.html").write_text(shipped.read_text().replace("</h1>", " (reviewed)</h1>", 1))
    build(source, site, templates=overrides)
    assert spare_of(site) is None
    assert differences(snapshot(site), cold(source, tmp_path, "template", templates=overrides)) == []
    edit(servers / "fetch.yaml", "title: Fetch pages", "title: Fetch web pages")
    build(source, site, templates=overrides)
    edit(servers / "fetch.yaml", "title: Fetch web pages", "title: Fetch")
    rebuild_through_the_spare(source, site, templates=overrides)
    assert differences(snapshot(site), cold(source, tmp_path, "after-template", templates=overrides)) == []


def unlink_then(change: Callable[[Path, bytes], None]) -> Callable[[Path], None]:
    """Damage the spare's file alone: a new inode, so the live site's (shared) file stays intact."""

    def damage(path: Path) -> None:
        data, status = path.read_bytes(), path.stat()
        path.unlink()
        change(path, data)
        if path.is_file():
            os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))

    return damage


def flip_one_byte(path: Path, data: bytes) -> None:
    edited = bytearray(data)
    edited[len(edited) // 2] ^= 0x20
    path.write_bytes(bytes(edited))
    path.chmod(0o644)


def truncate_in_place(path: Path) -> None:
    """The inode the live site shares: the site's own file is damaged too."""
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def replace_by_folder(path: Path) -> None:
    path.unlink()
    (path / "left-behind.txt").parent.mkdir()
    (path / "left-behind.txt").write_text("not a build output\n")


def add_extra_file(path: Path) -> None:
    (path.parent / "extra.html").write_text("<p>not in any build</p>\n")


def replace_folder_by_file(path: Path) -> None:
    shutil.rmtree(path.parent)
    path.parent.write_text("a file where a folder was\n")


def replace_folder_by_symlink(path: Path) -> None:
    """A link out of the spare: the build must neither keep it nor write through it."""
    spare = next(folder for folder in path.parents if folder.name.startswith(".site.spare-"))
    target = spare.parent / "elsewhere"
    shutil.copytree(path.parent, target)
    shutil.rmtree(path.parent)
    path.parent.symlink_to(target)


SPARE_DAMAGES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "server-page-deleted": ("servers/fetch/index.html", lambda path: path.unlink()),
    "export-same-size-edit": ("api/v1/servers/git.json", unlink_then(flip_one_byte)),
    "about-page-truncated-in-place": ("about/index.html", truncate_in_place),
    "bundle-file-replaced-by-folder": ("bundles/servers/time/workload/mcpserver.yaml", replace_by_folder),
    "extra-file": ("servers/time/index.html", add_extra_file),
    "server-folder-replaced-by-file": ("servers/git/index.html", replace_folder_by_file),
    "server-folder-replaced-by-symlink": ("servers/time/index.html", replace_folder_by_symlink),
    "category-page-same-size-edit": ("categories/web/index.html", unlink_then(flip_one_byte)),
}


@pytest.mark.parametrize("case", sorted(SPARE_DAMAGES))
def test_a_damaged_spare_is_repaired(default_source_copy: Path, site_with_spare: Path, tmp_path: Path, case: str) -> None:
    site, spare = site_with_spare, spare_of(site_with_spare)
    assert spare is not None
    relative, damage = SPARE_DAMAGES[case]
    damage(spare / relative)
    if case == "server-folder-replaced-by-symlink":
        outside = snapshot(tmp_path / "elsewhere")
    rebuild_through_the_spare(default_source_copy, site)
    assert differences(snapshot(site), cold(default_source_copy, tmp_path, case)) == [], case
    if case == "server-folder-replaced-by-symlink":
        assert snapshot(tmp_path / "elsewhere") == outside, "nothing was written or deleted through the link"


def test_a_file_shared_with_the_live_site_is_replaced_never_written_in_place(
    default_source_copy: Path, site_with_spare: Path
) -> None:
    """The spare's fetch page is the site's very inode; the rebuild changes the page, which must
    reach the new site as a new file while the old site's inode keeps its bytes."""
    site, spare = site_with_spare, spare_of(site_with_spare)
    assert spare is not None
    page = "servers/fetch/index.html"
    assert (spare / page).stat().st_ino == (site / page).stat().st_ino, "unchanged files are one inode in both trees"
    before = (site / page).read_bytes()
    live = os.open(site / page, os.O_RDONLY)  # the live site's file, whatever name it has later
    try:
        edit(default_source_copy / "servers/fetch.yaml", "title: Fetch", "title: Fetch pages")
        rebuild_through_the_spare(default_source_copy, site)
        assert os.pread(live, len(before) + 1, 0) == before
        assert os.fstat(live).st_ino != (site / page).stat().st_ino
    finally:
        os.close(live)
    assert b"Fetch pages" in (site / page).read_bytes()


def test_a_rebuild_through_the_spare_touches_only_what_changed(
    default_source_copy: Path, site_with_spare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No link, no write, no delete for a file that did not change in the last two builds."""
    site, servers = site_with_spare, default_source_copy / "servers"
    edit(servers / "fetch.yaml", "title: Fetch", "title: Fetch pages")
    first = rebuild_through_the_spare(default_source_copy, site)
    links: list[str] = []
    real_link = os.link

    def counting(source: str, target: str, **options: object) -> None:
        links.append(target)
        real_link(source, target, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", counting)
    edit(servers / "git.yaml", "title: Git", "title: Git tools")
    second = rebuild_through_the_spare(default_source_copy, site)
    # Only what the first rebuild changed and the second kept is linked from the live site.
    assert 0 < len(links) <= first.written and second.written < second.files / 10
    assert all("/fetch" in path or "servers/git" not in path for path in links)


def test_no_cache_keeps_no_spare_and_deletes_one(default_source_copy: Path, site_with_spare: Path, tmp_path: Path) -> None:
    build(default_source_copy, site_with_spare, use_cache=False)
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith((".site", "site"))) == [".site.lock", "site"]
    build(default_source_copy, site_with_spare)  # the cache no longer describes the site: nothing to keep
    assert spare_of(site_with_spare) is None


def test_rebuilds_through_the_spare_trust_the_stamps_they_left(
    default_source_copy: Path, site_with_spare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamps a rebuild records for the files it took from the spare as they were are right:
    the rebuilds after it read no file (a wrong stamp would put the file in doubt, and hash it)."""
    site = site_with_spare
    edit(default_source_copy / "servers/fetch.yaml", "title: Fetch", "title: Fetch pages")
    rebuild_through_the_spare(default_source_copy, site)
    hashed = files_hashed(monkeypatch)
    rebuild_through_the_spare(default_source_copy, site)
    rebuild_through_the_spare(default_source_copy, site)
    assert hashed == []


def test_a_symbolic_link_as_the_output_folder_keeps_its_target_whole(default_source_copy: Path, tmp_path: Path) -> None:
    """The exchange moves a symlinked --out (the link itself) aside: its target is not a tree to prune into a spare.
    (With the default cache the link would name another cache; --cache-dir keeps the same one.)"""
    source, site, cache_dir = default_source_copy, tmp_path / "site", tmp_path / "cache"
    build(source, site, cache_dir=cache_dir)
    build(source, site, cache_dir=cache_dir)
    assert spare_of(site) is not None
    release = tmp_path / "release-1"
    site.rename(release)
    site.symlink_to(release, target_is_directory=True)
    before = snapshot(release)
    edit(source / "servers/fetch.yaml", "description: ", "description: Now ")
    build(source, site, cache_dir=cache_dir)
    assert snapshot(release) == before
    assert not site.is_symlink() and differences(snapshot(site), cold(source, tmp_path, "linked")) == []
    assert not any(path.is_symlink() for path in tmp_path.glob(".site.*"))


def test_a_folder_the_spare_lacked_a_file_of_is_not_left_empty(
    default_source_copy: Path, site_with_spare: Path, tmp_path: Path
) -> None:
    source, site = default_source_copy, site_with_spare
    spare = spare_of(site)
    assert spare is not None
    lookups = sorted(spare.glob("v0.1/servers/*/git/versions/*/index.json"))
    assert lookups, "the spare holds git's version document"
    lookups[0].unlink()
    edit(source / "servers/git.yaml", "version: ", "version: 9")
    rebuild_through_the_spare(source, site)
    assert differences(snapshot(site), cold(source, tmp_path, "missing")) == []
