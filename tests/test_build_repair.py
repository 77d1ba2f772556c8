"""A cached rebuild repairs its output: a file is kept only when its inputs and the disk both still match.

Each case damages a built output folder the way a person or another program might
(a file deleted, hand-edited, truncated, replaced by a folder; a folder replaced by a
file), with no change to the source, and requires the cached rebuild to write the very
bytes of a `--no-cache` build. Per-server files, catalog-wide files that are rendered
every time, and deferred list pages (kept by their input key) are all covered.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.build import build
from tests.test_build_cache import differences
from tests.test_build_spare import files_hashed


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes), folder (None) and symbolic link (where it points) under `folder`."""
    tree: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            tree[relative] = b"symlink to " + os.readlink(path).encode()
        else:
            tree[relative] = path.read_bytes() if path.is_file() else None
    return tree


def delete(path: Path) -> None:
    path.unlink()


def hand_edit(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace("</h1>", " (edited by hand)</h1>", 1), encoding="utf-8")


def edit_keeping_size_and_mtime(path: Path) -> None:
    """Same size, same modification time: only the change time and the bytes tell."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def replace_by_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "left-behind.txt").write_text("not a build output\n")


def replace_folder_by_file(path: Path) -> None:
    shutil.rmtree(path.parent)
    path.parent.write_text("a file where a folder was\n")


def replace_by_symlink(path: Path) -> None:
    outside = next(folder for folder in path.parents if folder.name == "site").parent
    copy = outside / f"{path.name}.elsewhere"
    shutil.copyfile(path, copy)
    path.unlink()
    path.symlink_to(copy)  # same bytes, but a link the web server might not follow


DAMAGES: dict[str, tuple[str, Callable[[Path], None]]] = {
    # per-server files
    "server-page-deleted": ("servers/fetch/index.html", delete),
    "server-export-truncated": ("api/v1/servers/git.json", truncate),
    "bundle-file-replaced-by-folder": ("bundles/servers/time/workload/mcpserver.yaml", replace_by_folder),
    "server-folder-replaced-by-file": ("servers/git/index.html", replace_folder_by_file),
    "server-page-same-size-edit": ("servers/time/index.html", edit_keeping_size_and_mtime),
    # catalog-wide files rendered by every build
    "about-page-hand-edited": ("about/index.html", hand_edit),
    "tools-json-truncated": ("api/v1/tools.json", truncate),
    "registry-replaced-by-folder": ("registry.json", replace_by_folder),
    "asset-replaced-by-symlink": ("assets/site.css", replace_by_symlink),
    # deferred catalog-wide pages (kept by their input key)
    "category-page-deleted": ("categories/web/index.html", delete),
    "index-page-hand-edited": ("index.html", hand_edit),
    "tools-page-replaced-by-folder": ("tools/index.html", replace_by_folder),
    "tag-page-same-size-edit": ("tags/web/index.html", edit_keeping_size_and_mtime),
    # deferred files made from the program alone (the JSON Schemas)
    "source-schema-deleted": ("schemas/server.schema.json", delete),
    "api-schema-same-size-edit": ("api/v1/schemas/server.schema.json", edit_keeping_size_and_mtime),
}


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes | None]:
    """The default catalog built without the cache: what every repaired folder must equal."""
    from tests.conftest import DEFAULT_SOURCE

    out = tmp_path_factory.mktemp("cold") / "site"
    build(DEFAULT_SOURCE, out, use_cache=False)
    return snapshot(out)


@pytest.mark.parametrize("case", sorted(DAMAGES))
def test_a_cached_rebuild_repairs_a_damaged_output(
    default_source_copy: Path, tmp_path: Path, cold: dict[str, bytes | None], case: str
) -> None:
    site = tmp_path / "site"
    build(default_source_copy, site)
    relative, damage = DAMAGES[case]
    damage(site / relative)
    assert differences(snapshot(site), cold), "the damage must show before the rebuild"
    report = build(default_source_copy, site)
    assert differences(snapshot(site), cold) == [], case
    assert report.written >= 1
    assert build(default_source_copy, site).written == 0  # repaired for good: the next rebuild keeps everything


def test_every_damage_at_once_is_repaired_in_one_rebuild(
    default_source_copy: Path, tmp_path: Path, cold: dict[str, bytes | None]
) -> None:
    site = tmp_path / "site"
    build(default_source_copy, site)
    for relative, damage in DAMAGES.values():
        damage(site / relative)
    build(default_source_copy, site, jobs=2)
    assert differences(snapshot(site), cold) == []


def test_an_untouched_output_is_kept_without_reading_its_files(
    default_source_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Size and times decide for a file nobody touched; its bytes are hashed only when in doubt."""
    site = tmp_path / "site"
    build(default_source_copy, site)
    build(default_source_copy, site)  # a file written just before the state was saved is in doubt once
    hashed = files_hashed(monkeypatch)
    about = site / "about/index.html"
    before = about.stat()
    os.utime(about, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # touched, bytes the same
    # The rebuild updates the spare, whose about page is the same inode as the site's (unchanged
    # files are shared): the touched file is met there.
    spare = next(tmp_path.glob(".site.spare-*"))
    report = build(default_source_copy, site)
    assert report.written == 0
    assert hashed == [str(spare / "about/index.html")]
