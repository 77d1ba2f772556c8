"""Byte-reproducible .tar.gz archives, shared by release tarballs and bundle tarballs.

The same files give the same bytes on any machine: entries in path order (compared
folder by folder, so a folder is followed by everything inside it), every folder listed, owners root with
empty names, modes 0755/0644, one fixed mtime, and gzip members without file
name or time at a fixed compression level.

An archive may be assembled from pieces: a tar stream is its entries one after
the other, and a gzip file may hold several members one after the other (RFC 1952;
gzip, tar and Python read them as one stream). So a piece of entries compressed on
its own can be reused as it is, which is how a profile's tarball takes each server's
manifests from the build cache instead of compressing them again.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

# gzip's own default: level 9 took 1.6 times as long for files 2 % smaller (a 1,000-server profile bundle).
COMPRESSION_LEVEL = 6
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE


@dataclass(frozen=True)
class ArchivePiece:
    """Consecutive tar entries, gzip-compressed on their own, and their uncompressed length."""

    compressed: bytes | tuple[bytes | Callable[[], bytes], ...]
    """One gzip member, or several in order (a chunked piece's: never joined, see `joined_pieces`),
    each given or read when called (from the build's memo: `ChunkedMembers`)."""
    length: int


@dataclass(frozen=True)
class StreamedMember:
    """A file's content given as its size and the chunks that make it, for an entry too large to hold
    (a profile's all.yaml, 136 MB at 10,000 servers): the header needs the size before the bytes."""

    size: int
    chunks: Callable[[], Iterable[bytes]]


def folders_above(paths: Iterable[str]) -> set[str]:
    """Every folder holding one of `paths` (relative POSIX paths), at any depth."""
    return {"/".join(path.split("/")[:depth]) for path in paths for depth in range(1, path.count("/") + 1)}


class Compressor(Protocol):
    """Takes an archive piece's raw bytes in order and gives them back compressed."""

    def feed(self, data: bytes | memoryview) -> None: ...

    def finish(self) -> bytes | tuple[bytes | Callable[[], bytes], ...]: ...


class OneMember:
    """The whole piece as one gzip member (the default)."""

    def __init__(self) -> None:
        self._raw = bytearray()

    def feed(self, data: bytes | memoryview) -> None:
        self._raw += data

    def finish(self) -> bytes:
        return compress(self._raw)


def archive_piece(
    files: Mapping[str, bytes], folders: Iterable[str], mtime: int, compressor: Compressor | None = None
) -> ArchivePiece:
    """The entries for `folders` and `files`, in path order, compressed by `compressor` (one gzip member by default)."""
    folder_set = set(folders)
    writer = PieceWriter(mtime, compressor)
    for name in sorted(folder_set | set(files), key=path_order):
        writer.entry(name, None if name in folder_set else files[name])
    return writer.finish()


class PieceWriter:
    """An archive piece written entry by entry, in path order, as the entries become known.

    Entries go straight to the compressor, large contents in slices, so a chunked compressor
    never needs the whole raw piece (300 MB for a 10,000-server profile) and a caller may drop
    a file's content once it is in.
    """

    def __init__(self, mtime: int, compressor: Compressor | None = None, folders: set[str] | None = None) -> None:
        self._mtime = mtime
        self._compressor = compressor or OneMember()
        self._length = 0
        self._last: list[str] = []
        self.folders = set() if folders is None else folders
        """The folder entries of the archive so far (shared by the pieces of one archive)."""

    def entry(self, name: str, content: bytes | StreamedMember | None) -> None:
        """Add a file (or, with None, a folder) that sorts after every entry added before."""
        order = path_order(name)
        if order <= self._last:
            raise ValueError(f"archive entry {name} does not sort after {'/'.join(self._last)}")
        if content is None:
            self.folders.add(name)
        self._last = order
        size = None if content is None else content.size if isinstance(content, StreamedMember) else len(content)
        head = _header(name, size, self._mtime)
        self._compressor.feed(head)
        self._length += len(head)
        if content is None:
            return
        fed = 0
        for chunk in content.chunks() if isinstance(content, StreamedMember) else (content,):
            view = memoryview(chunk)
            for start in range(0, len(chunk), _FEED):
                self._compressor.feed(view[start:start + _FEED])
            fed += len(chunk)
        if fed != size:
            raise ValueError(f"archive entry {name} gave {fed} bytes, not the {size} its header holds")
        padding = bytes(-fed % _BLOCK)
        self._compressor.feed(padding)
        self._length += fed + len(padding)

    def file_with_folders(self, name: str, content: bytes | StreamedMember | None) -> None:
        """`entry`, after the entries of its folders the archive lacks (where path order puts them:
        a folder sorts right before the first entry inside it)."""
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in self.folders:
                self.entry(folder, None)
        self.entry(name, content)

    def finish(self) -> ArchivePiece:
        """The piece: every entry added, compressed."""
        return ArchivePiece(self._compressor.finish(), self._length)


# Content-defined cuts: after CHUNK bytes, at the next line end or JSON array comma. An edit
# moves only the cuts near it, so the other chunks are the same bytes as in the last build.
CHUNK = 256 * 1024
_CUTS = (b"\n", b"},{")
_FEED = 4 << 20


def chunks(raw: bytes | bytearray) -> Iterator[bytes | bytearray]:
    """`raw` in consecutive chunks of at least CHUNK bytes (the last may be shorter), cut by content."""
    start = 0
    while start < len(raw):
        end = _cut(raw, start, start + CHUNK)
        end = len(raw) if end is None else end
        yield raw[start:end]
        start = end


def _cut(raw: bytes | bytearray, start: int, search_from: int) -> int | None:
    """Where the chunk starting at `start` ends: after the first cut beginning at CHUNK bytes or later.

    Of the cuts found, the one ending first; a cut not found in `raw` would end beyond it, so
    the answer is final even when `raw` is only the beginning of a longer stream.
    """
    found = [index + len(cut) for cut in _CUTS if (index := raw.find(cut, max(search_from, start + CHUNK))) != -1]
    return min(found) if found else None


Member = bytes | Callable[[], bytes]
"""A gzip member, or what reads it back (from the memo that keeps it, see `ChunkedMembers`)."""


class ChunkedMembers:
    """One gzip member per content-defined chunk (see `chunks`), each made by `compress_chunk`
    (a memoised `compress`: a chunk compressed in the last build is not compressed again; it
    may answer with a reader of the member, so that the members are not all held at once).

    Compressing a chunk gives the same bytes every time, so the result does not depend on
    what was memoised: a cached build and a cold build write the same archive. Fed in pieces,
    it cuts the very chunks `chunks` cuts from the whole, holding only the chunk in progress.
    """

    def __init__(self, compress_chunk: Callable[[bytes], Member]) -> None:
        self._compress_chunk = compress_chunk
        self._pending = bytearray()  # the chunk in progress
        self._members: list[Member] = []

    def feed(self, data: bytes | memoryview) -> None:
        # A cut may begin up to len(cut) - 1 bytes before the new data: search from there.
        search_from = max(0, len(self._pending) - max(map(len, _CUTS)) + 1)
        self._pending += data
        start = 0
        while (end := _cut(self._pending, start, search_from)) is not None:
            self._members.append(self._compress_chunk(bytes(self._pending[start:end])))
            start = search_from = end
        del self._pending[:start]

    def finish(self) -> tuple[Member, ...]:
        """The members in order: joined, they would be held twice (50 MB at 10,000 servers)."""
        if self._pending:
            self._members.append(self._compress_chunk(bytes(self._pending)))
        return tuple(self._members)


def path_order(name: str) -> list[str]:
    """Sort key of an entry: its path compared component by component."""
    return name.split("/")


def join_pieces(pieces: Iterable[ArchivePiece]) -> bytes:
    """The .tar.gz of `pieces` in order, closed by the end-of-archive blocks and record padding.

    The pieces are taken one at a time into a buffer that becomes the result without a copy."""
    buffer = io.BytesIO()
    for data in joined_pieces(pieces):
        buffer.write(data)
    return buffer.getvalue()


def joined_pieces(pieces: Iterable[ArchivePiece]) -> Iterator[bytes]:
    """What `join_pieces` joins, one piece at a time (to write a tarball without holding it)."""
    length = 2 * _BLOCK
    for piece in pieces:
        members = (piece.compressed,) if isinstance(piece.compressed, bytes) else piece.compressed
        yield from (member if isinstance(member, bytes) else member() for member in members)
        length += piece.length
    yield compress(bytes(2 * _BLOCK + (-length % _RECORD)))


def reproducible_tarball(files: Mapping[str, bytes], mtime: int) -> bytes:
    """A .tar.gz holding `files` (relative POSIX path -> bytes) and every folder above them."""
    return join_pieces([archive_piece(files, folders_above(files), mtime)])


def _header(name: str, size: int | None, mtime: int) -> bytes:
    """One tar entry's PAX header as tarfile writes it (a folder when `size` is None); the
    content follows, padded to a block."""
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if size is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.mode, info.size = 0o644, size
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def compress(raw: bytes | bytearray) -> bytes:
    """`raw` as one reproducible gzip member."""
    return gzip.compress(raw, compresslevel=COMPRESSION_LEVEL, mtime=0)
