"""Release tarballs: byte-reproducible, assembled from pieces, read by any tar."""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import tarfile
from pathlib import Path

import pytest

from generator.archive import ArchivePiece, PieceWriter, folders_above, join_pieces, path_order, reproducible_tarball


def archive_piece(files: dict[str, bytes], folders: set[str] | list[str], mtime: int) -> ArchivePiece:
    """The entries of `folders` and `files` in path order, written at once."""
    writer = PieceWriter(mtime)
    for name in sorted(set(folders) | set(files), key=path_order):
        writer.entry(name, files.get(name))
    return writer.finish()


def test_a_tarball_joined_from_pieces_reads_as_one_archive(tmp_path: Path) -> None:
    files = {"p/a.yaml": b"a\n", "p/servers/x/b.yaml": b"b" * 700, "p/servers/y/c.yaml": b"c"}
    first = archive_piece({"p/a.yaml": files["p/a.yaml"]}, folders_above(["p/a.yaml", "p/servers/"]), 1_700_000_000)
    x = archive_piece({"p/servers/x/b.yaml": files["p/servers/x/b.yaml"]}, ["p/servers/x"], 1_700_000_000)
    y = archive_piece({"p/servers/y/c.yaml": files["p/servers/y/c.yaml"]}, ["p/servers/y"], 1_700_000_000)
    joined = join_pieces([first, x, y])
    assert len(gzip.decompress(joined)) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(joined)) as archive:
        names = archive.getnames()
        assert {name: archive.extractfile(name).read() for name in files} == files  # type: ignore[union-attr]
    assert names == sorted(names, key=path_order) == ["p", "p/a.yaml", "p/servers", "p/servers/x", "p/servers/x/b.yaml", "p/servers/y", "p/servers/y/c.yaml"]
    # GNU tar reads the multi-member gzip stream too.
    (tmp_path / "joined.tar.gz").write_bytes(joined)
    listing = subprocess.run(["tar", "-tzf", str(tmp_path / "joined.tar.gz")], check=True, capture_output=True, text=True)
    assert listing.stdout.split() == ["p/", "p/a.yaml", "p/servers/", "p/servers/x/", "p/servers/x/b.yaml", "p/servers/y/", "p/servers/y/c.yaml"]


def test_a_tarball_matches_what_tarfile_itself_writes() -> None:
    """Our entries are tarfile's own PAX headers: any tar reader sees what tarfile would have written."""
    files = {"r/ü.txt": "ünïcode".encode(), "r/x/" + "long-name-" * 12 + ".yaml": b"y" * 1500}
    ours = gzip.decompress(reproducible_tarball(files, 1_700_000_000))
    expected = io.BytesIO()
    with tarfile.open(fileobj=expected, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(folders_above(files) | set(files), key=path_order):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 1_700_000_000, 0, 0, "", ""
            if name in files:
                info.mode, info.size = 0o644, len(files[name])
                archive.addfile(info, io.BytesIO(files[name]))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
    assert ours == expected.getvalue()


def test_a_piece_written_entry_by_entry_is_the_piece_of_the_whole() -> None:
    """A release adds its folders as it goes; the piece must be what archiving them all at once gives."""
    rng = random.Random(3)
    files = {
        "/".join(rng.choice(["a", "b", "b-c", "servers", "z"]) for _ in range(rng.randint(1, 4))) + f"/f{n}.yaml": b"x" * n
        for n in range(60)
    }
    whole = archive_piece(files, folders_above(files), 1_700_000_000)
    writer = PieceWriter(1_700_000_000)
    for name in sorted(files, key=path_order):
        writer.file_with_folders(name, files[name])
    assert writer.finish() == whole
    with pytest.raises(ValueError, match="does not sort after"):
        writer.entry("a", None)  # before what the piece holds: the caller's order is wrong
