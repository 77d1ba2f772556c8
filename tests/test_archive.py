"""Release tarballs: byte-reproducible, assembled from pieces, read by any tar."""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import tarfile
from pathlib import Path

import pytest

from generator.archive import COMPRESSION_LEVEL, TarballWriter, _header, folders_above, path_order


def reproducible_tarball(files: dict[str, bytes], mtime: int) -> bytes:
    """A .tar.gz holding `files` (relative POSIX path -> bytes) and every folder above them, in one member."""
    buffer = io.BytesIO()
    writer = TarballWriter(buffer.write, mtime)
    for name in sorted(set(files) | folders_above(files), key=path_order):
        content = files.get(name)
        writer.entry(name, None if content is None else len(content), [] if content is None else [content])
    writer.close()
    return buffer.getvalue()


def joined_the_old_way(members: list[list[tuple[str, bytes | None]]], mtime: int) -> bytes:
    """What `package` wrote before it streamed (a reference for byte equality): each member's entries
    built whole, `gzip.compress`ed at once, joined, then the end-of-archive blocks as a member."""
    compressed, length = [], 2 * tarfile.BLOCKSIZE
    for entries in members:
        raw = b"".join(_header(name, None if data is None else len(data), mtime)
                       + (b"" if data is None else data + bytes(-len(data) % tarfile.BLOCKSIZE)) for name, data in entries)
        compressed.append(gzip.compress(raw, compresslevel=COMPRESSION_LEVEL, mtime=0))
        length += len(raw)
    end = bytes(2 * tarfile.BLOCKSIZE + (-length % tarfile.RECORDSIZE))
    return b"".join(compressed) + gzip.compress(end, compresslevel=COMPRESSION_LEVEL, mtime=0)


def streamed(members: list[list[tuple[str, bytes | None]]], mtime: int, chunk: int) -> bytes:
    """The same entries through `TarballWriter`, each file handed over in chunks of `chunk` bytes."""
    buffer = io.BytesIO()
    writer = TarballWriter(buffer.write, mtime)
    for index, entries in enumerate(members):
        if index:
            writer.end_member()
        for name, data in entries:
            pieces = [] if data is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
            writer.entry(name, None if data is None else len(data), pieces)
    writer.close()
    return buffer.getvalue()


@pytest.mark.parametrize("chunk", [7, 4096, 1 << 20])
def test_a_streamed_tarball_has_the_bytes_of_its_members_compressed_whole(chunk: int) -> None:
    """Compressing as the bytes come gives the bytes `gzip.compress` gives for each member whole,
    however the files are cut: the release tarball stays reproducible across the change to streaming."""
    rng = random.Random(5)
    text = "".join(f'{{"name": "server-{n}", "tools": {rng.randint(1, 40)}}}\n' for n in range(3000)).encode()
    members = [[("r", None), ("r/SIZES", b"12  a\n"), ("r/SIZES.minisig", b"sig\n")],
               [("r/a", None), ("r/a/big.json", text), ("r/a/noise", rng.randbytes(70_000)), ("r/b.txt", b""),
                ("r/z", None), ("r/z/zeros", bytes(200_000))]]
    assert streamed(members, 1_700_000_000, chunk) == joined_the_old_way(members, 1_700_000_000)


def test_a_tarball_of_several_members_reads_as_one_archive(tmp_path: Path) -> None:
    files = {"p/a.yaml": b"a\n", "p/servers/x/b.yaml": b"b" * 700, "p/servers/y/c.yaml": b"c"}
    buffer = io.BytesIO()
    writer = TarballWriter(buffer.write, 1_700_000_000)
    writer.file_with_folders("p/a.yaml", 2, [b"a\n"])
    writer.end_member()
    writer.file_with_folders("p/servers/x/b.yaml", 700, [b"b" * 300, b"b" * 400])
    writer.end_member()
    writer.file_with_folders("p/servers/y/c.yaml", 1, [b"c"])
    writer.close()
    joined = buffer.getvalue()
    assert joined.count(b"\x1f\x8b\x08") >= 4  # three members of entries, one of end blocks
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


def test_entries_added_with_their_folders_are_the_archive_of_the_whole() -> None:
    """A release adds its folders as it goes; the archive must be what archiving them all at once gives."""
    rng = random.Random(3)
    files = {
        "/".join(rng.choice(["a", "b", "b-c", "servers", "z"]) for _ in range(rng.randint(1, 4))) + f"/f{n}.yaml": b"x" * n
        for n in range(60)
    }
    buffer = io.BytesIO()
    writer = TarballWriter(buffer.write, 1_700_000_000)
    for name in sorted(files, key=path_order):
        writer.file_with_folders(name, len(files[name]), [files[name]])
    writer.close()
    assert buffer.getvalue() == reproducible_tarball(files, 1_700_000_000)
    writer = TarballWriter(io.BytesIO().write, 1_700_000_000)
    writer.entry("b", None)
    with pytest.raises(ValueError, match="does not sort after"):
        writer.entry("a", None)  # before what the member holds: the caller's order is wrong
    with pytest.raises(ValueError, match="700 bytes in its header, 699 given"):
        writer.entry("zz", 700, [b"x" * 699])  # a file that shrank: its header would lie
    with pytest.raises(ValueError, match="700 bytes in its header, more given"):
        writer.entry("zzz", 700, [b"x" * 600, b"x" * 600])  # a file that grew
