"""Archives assembled from pieces: what the build cache relies on to skip compression work."""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.archive import (
    CHUNK,
    ChunkedMembers,
    PieceWriter,
    archive_piece,
    chunks,
    compress,
    folders_above,
    StreamedMember,
    join_pieces,
    joined_pieces,
    path_order,
    reproducible_tarball,
)


def registry_like(servers: int, seed: int = 7) -> bytes:
    """A long text with a few long lines (like a ConfigMap holding compact registry JSON)."""
    rng = random.Random(seed)
    entries = [f'{{"name":"s{i:05d}","description":"{rng.getrandbits(256):x}"}}' for i in range(servers)]
    return ("kind: ConfigMap\ndata:\n  registry.json: |\n    [" + ",".join(entries) + "]\n").encode()


def compress_chunks(raw: bytes, compress_chunk: Callable[[bytes], bytes]) -> bytes:
    """`raw` fed to a chunked compressor at once."""
    compressor = ChunkedMembers(compress_chunk)
    compressor.feed(raw)
    return b"".join(compressor.finish())


def test_chunks_cover_the_input_and_resynchronise_after_an_edit() -> None:
    raw = registry_like(20_000)
    pieces = list(chunks(raw))
    assert b"".join(pieces) == raw and len(pieces) > 4
    assert all(len(piece) >= CHUNK for piece in pieces[:-1])
    edited = raw.replace(b'"name":"s10000"', b'"name":"s10000-renamed"')
    changed = set(chunks(edited)) - set(pieces)
    assert len(changed) <= 2  # only the chunk holding the edit (and at most the one after it)


def test_reusing_compressed_chunks_gives_the_same_bytes_as_compressing_all() -> None:
    raw = registry_like(20_000)
    remembered: dict[bytes, bytes] = {}

    def memoised(chunk: bytes) -> bytes:  # `by_content` without its reader: the memo, the bytes at once
        if chunk not in remembered:
            remembered[chunk] = compress(chunk)
        return remembered[chunk]

    first = compress_chunks(raw, memoised)
    assert gzip.decompress(first) == raw

    edited = raw.replace(b'"name":"s10000"', b'"name":"s10000-renamed"')
    before = len(remembered)
    warm = compress_chunks(edited, memoised)
    cold = compress_chunks(edited, compress)
    assert warm == cold and gzip.decompress(warm) == edited
    assert 1 <= len(remembered) - before <= 2  # only the chunks holding the edit were compressed again


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


def fed_in_pieces(raw: bytes, ends: list[int]) -> list[bytes]:
    """The chunks a ChunkedMembers cuts when `raw` arrives in pieces ending at `ends`."""
    cut: list[bytes] = []
    def compress_and_record(chunk: bytes) -> bytes:
        cut.append(chunk)
        return compress(chunk)

    compressor = ChunkedMembers(compress_and_record)
    start = 0
    for end in sorted(ends) + [len(raw)]:
        compressor.feed(raw[start:end])
        start = max(start, end)
    assert gzip.decompress(b"".join(compressor.finish())) == raw
    return cut


@pytest.mark.parametrize("seed", range(6))
def test_chunks_fed_in_pieces_are_the_chunks_of_the_whole(seed: int) -> None:
    """A profile's tarball is compressed as its entries arrive; the chunks must not depend on how they arrive."""
    rng = random.Random(seed)
    alphabet = b"ab\n},{" if seed % 2 else b"abc},{"  # without line ends only the JSON cut can apply
    raw = bytes(rng.choices(alphabet, k=CHUNK * 3 + rng.randrange(CHUNK)))
    whole = [bytes(chunk) for chunk in chunks(raw)]
    assert len(whole) >= 3
    # Pieces ending inside a cut (the hard case), at random places, and a byte at a time near the first cut.
    inside = [raw.find(cut, CHUNK + rng.randrange(CHUNK)) + 1 for cut in (b"},{", b"},{", b"\n") if cut in raw]
    assert fed_in_pieces(raw, inside) == whole
    assert fed_in_pieces(raw, [rng.randrange(len(raw)) for _ in range(20)]) == whole
    first = len(whole[0])
    assert fed_in_pieces(raw, list(range(first - 8, first + 8))) == whole


def test_a_piece_written_entry_by_entry_is_the_piece_of_the_whole() -> None:
    """The profile tarball is written as its folders are made; it must be what archiving them all at once gives."""
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


def test_a_streamed_member_is_archived_as_its_bytes_would_be() -> None:
    """A profile's all.yaml goes into its tarball as chunks with a size given first (never held whole)."""
    big = registry_like(3000)
    whole = archive_piece({"all.yaml": big, "base/x.yaml": b"x\n"}, {"base"}, 1_700_000_000)
    writer = PieceWriter(1_700_000_000)
    parts = [big[start:start + 7000] for start in range(0, len(big), 7000)]
    writer.file_with_folders("all.yaml", StreamedMember(len(big), lambda: iter(parts)))
    writer.file_with_folders("base/x.yaml", b"x\n")
    assert writer.finish() == whole
    short = PieceWriter(1_700_000_000)
    with pytest.raises(ValueError, match="gave 3 bytes, not the 4 its header holds"):
        short.entry("all.yaml", StreamedMember(4, lambda: [b"abc"]))


def test_a_tarball_written_piece_by_piece_reads_as_one_archive() -> None:
    """The profile tarball is a stream of its pieces; a chunked piece gives its gzip members unjoined."""
    big = registry_like(3000)
    chunked = PieceWriter(1_700_000_000, ChunkedMembers(compress))
    chunked.file_with_folders("a/registry.yaml", big)
    pieces = [chunked.finish(), *(archive_piece({f"d{n}/f.yaml": b"y" * n}, {f"d{n}"}, 1_700_000_000) for n in range(1, 4))]
    assert isinstance(pieces[0].compressed, tuple) and len(pieces[0].compressed) > 1
    with tarfile.open(fileobj=io.BytesIO(b"".join(joined_pieces(pieces))), mode="r:gz") as archive:
        members = {member.name: archive.extractfile(member).read() for member in archive if member.isfile()}
    assert members == {"a/registry.yaml": big, "d1/f.yaml": b"y", "d2/f.yaml": b"yy", "d3/f.yaml": b"yyy"}
