"""Reliability: `verify` cannot be fooled or flooded by a tampered release.

Marked `reliability`. Each case is one cause of tampering; verify must fail, name it, and
say so in at most 10 lines, never printing a member name raw.
"""

from __future__ import annotations

import io
import tarfile
import textwrap
from pathlib import Path

import pytest

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML
from generator.build import build
from generator.cli import main
from generator.release.package import package_site

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def small_release(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("tamper")
    source = base / "src"
    (source / "servers").mkdir(parents=True)
    (source / "catalog.yaml").write_text(textwrap.dedent(CATALOG_YAML))
    (source / "servers" / "fetch.yaml").write_text(FETCH_YAML)
    (source / "servers" / "docs-remote.yaml").write_text(REMOTE_YAML)
    build(source, base / "site")
    return package_site(base / "site", base / "dist", None).tarball


def _members(tarball: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(tarball) as archive:
        return [(m, archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()]


def _write(target: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(target, "w:gz", compresslevel=1) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return target


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _verify(runner, target: Path) -> list[str]:
    result = runner.invoke(main, ["verify", str(target)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1] == f"{target}: NOT verified ({len(lines) - 1} problem(s))"
    assert len(lines) <= 10, result.output
    return lines


def _root(members) -> str:
    return members[0][0].name.split("/")[0]


@pytest.mark.parametrize("variant", ["same name", "./ name"])
def test_a_member_twice_is_refused_whichever_copy_comes_first(runner, small_release, tmp_path, variant):
    members = _members(small_release)
    root = _root(members)
    name = f"{root}/index.html" if variant == "same name" else f"./{root}/index.html"
    hostile = _file(name, b"<script>evil()</script>")
    position = next(i for i, (m, _) in enumerate(members) if m.name == f"{root}/index.html")
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", members[:position] + [hostile] + members[position:]))
    assert f"Error: {root}/index.html: a second member for the same file (which copy would be unpacked?)" in lines
    assert "index.html: content differs from its checksum (modified or corrupted)" in lines


@pytest.mark.parametrize("control", ["\n", "\r", "\x1b[2K"])
def test_control_characters_in_a_name_are_escaped_never_printed(runner, small_release, tmp_path, control):
    members = _members(small_release)
    root = _root(members)
    forged = f"x{control}{root}.tar.gz: OK, 1113 files match SHA256SUMS"
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", [*members, _file(f"{root}/{forged}", b"x")]))
    shown = forged.replace("\n", "\\n").replace("\r", "\\r").replace("\x1b", "\\x1b")
    assert f"{shown}: not listed in SHA256SUMS (added after the release was made)" in "\n".join(lines)
    assert not any(line.startswith(f"{root}.tar.gz: OK") for line in lines)
    assert control not in "\n".join(lines).replace("\n", "") or control == "\n"


def test_an_absolute_path_is_one_line(runner, small_release, tmp_path):
    members = _members(small_release)
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", [*members, _file("/etc/cron.d/evil", b"x")]))
    assert lines == ["Error: /etc/cron.d/evil: absolute path in the archive", lines[-1]]


def test_a_second_top_level_folder_is_one_line(runner, small_release, tmp_path):
    members = _members(small_release)
    root = _root(members)
    copies = []
    for info, data in members:
        copy = tarfile.TarInfo(info.name.replace(root, "other", 1))
        copy.type, copy.size = info.type, info.size
        copies.append((copy, data))
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", members + copies))
    assert len(lines) == 2
    assert lines[0].startswith(f"Error: {len(copies)} members: outside the release folder {root}/ (an archive holds one top-level folder): other, other/")


def test_a_hundred_thousand_unlisted_members_are_one_line(runner, small_release, tmp_path):
    members = _members(small_release)
    root = _root(members)
    extra = [_file(f"{root}/spam/{i}.html", b"") for i in range(100_000)]
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", members + extra))
    assert lines[:-1] == [f"Error: 100000 members: not listed in SHA256SUMS (added after the release was made): "
                          f"spam/0.html, spam/1.html, spam/10.html, ..."]


def test_a_megabyte_name_is_cut(runner, small_release, tmp_path):
    members = _members(small_release)
    root = _root(members)
    long_name = "a" * 1_000_000
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", [*members, _file(f"{root}/{long_name}", b"x")]))
    assert lines[0] == f"Error: {'a' * 120}... (1000000 characters): not listed in SHA256SUMS (added after the release was made)"
    assert max(map(len, lines)) < 400


def test_a_member_claiming_too_many_bytes_is_refused_on_its_header(runner, small_release, tmp_path):
    """The header is checked before a byte of the member is read: nothing is decompressed for it."""
    members = _members(small_release)
    root = _root(members)
    target = _write(tmp_path / "t.tar.gz", members)
    giant = tarfile.TarInfo(f"{root}/giant.bin")
    giant.size = 9 << 30
    with tarfile.open(target, "w:gz") as archive:  # a header, then no data at all
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
        archive.fileobj.write(giant.tobuf(archive.format, archive.encoding, archive.errors))
    lines = _verify(runner, target)
    assert any(line.endswith(f"members claim more than {8 << 30} bytes, more than any release holds") for line in lines)
