"""Where a build keeps its memoised pieces ("fragments", see `generator.incremental.memo`): one
append-only file, not the process's memory (750 MB at 10,000 servers, the larger half of a build's
peak when held as bytes).

`add` appends a batch in one write under a POSIX record lock and hands back a `FragmentRef`
per piece (its offset, length and CRC-32 packed into one integer); `read` gets one back with one `os.pread`. Forked workers
inherit the descriptor and `pread`/`pwrite` take explicit offsets, so any process of the build
may add or read. The cache's store (`fragments.bin`) outlives the build: a rebuild appends only
what it made, and `compact` drops what no ref points to once the file is mostly garbage. A
`--no-cache` build uses an anonymous temporary file. The CRC-32 turns damage into
`DamagedStore`, which the build answers with a cold build, never with wrong bytes.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from generator.errors import OutputError

FragmentRef = int
"""Offset, length and CRC-32 of one fragment in its store, as `_ref` packs them: one plain value,
so marshal can keep it; a build holds 170,000 of them at 10,000 servers, and one integer takes a
third of the memory of a tuple of three. Ordered as the offsets are."""
EMPTY: FragmentRef = 0
# Compaction rewrites the live fragments once the file holds more than this many times their size.
_GARBAGE_FACTOR = 2
TEMPORARY_SUFFIX = ".tmp-"


class DamagedStore(Exception):
    """A fragment read back is not what was stored (see the module docstring)."""


class FragmentStore:
    """Fragments in one file: `add` appends, `read` gets one back, from any process of the build."""

    def __init__(self, descriptor: int, path: Path | None) -> None:
        self._descriptor = descriptor
        self.path = path
        """The file, or None for an anonymous temporary one."""

    @classmethod
    def fresh(cls, path: Path) -> FragmentStore:
        """An empty store at `path` (what it held is dropped)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600), path)

    @classmethod
    def reopen(cls, path: Path, identity: tuple[int, int]) -> FragmentStore | None:
        """The store at `path` if it is the file `identity()` described (same inode, no shorter)."""
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return None
        status = os.fstat(descriptor)
        if status.st_ino != identity[0] or status.st_size < identity[1]:
            os.close(descriptor)
            return None
        return cls(descriptor, path)

    @classmethod
    def temporary(cls, folder: Path) -> FragmentStore:
        """A store that disappears when closed (for builds without a cache)."""
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix="fragments-", suffix=".tmp", dir=folder)
        os.unlink(name)  # gone from the folder now, and from the disk once closed
        return cls(descriptor, None)

    def identity(self) -> tuple[int, int]:
        """(inode, size): what the build cache records to find this very file again."""
        status = os.fstat(self._descriptor)
        return (status.st_ino, status.st_size)

    def add(self, contents: Iterable[bytes]) -> list[FragmentRef]:
        """Append `contents` in one write and return their refs, in order."""
        pieces = list(contents)
        joined = b"".join(pieces)
        if not joined:
            return [EMPTY for _ in pieces]
        try:
            fcntl.lockf(self._descriptor, fcntl.LOCK_EX)  # another worker may be appending
            try:
                offset = os.fstat(self._descriptor).st_size
                _write_all(self._descriptor, joined, offset)
            finally:
                fcntl.lockf(self._descriptor, fcntl.LOCK_UN)
        except OSError as error:
            where = self.path.parent if self.path else "the cache folder"
            raise OutputError(
                f"cannot keep the build's fragments in {where} ({error.strerror}): free some space there, "
                "or choose another --cache-dir on a local disk"
            ) from None
        refs: list[FragmentRef] = []
        for piece in pieces:
            refs.append(_ref(offset, len(piece), zlib.crc32(piece)) if piece else EMPTY)
            offset += len(piece)
        return refs

    def read(self, ref: FragmentRef) -> bytes:
        """The fragment `ref` points to; DamagedStore when the file no longer holds it."""
        offset, length, crc = _unpacked(ref)
        if not length:
            return b""
        try:
            content = os.pread(self._descriptor, length, offset)
        except OSError as error:
            raise DamagedStore(f"fragment at {offset} of {self.path or 'the build'} cannot be read: {error.strerror}") from None
        if len(content) != length or zlib.crc32(content) != crc:
            raise DamagedStore(f"fragment at {offset} ({length} bytes) of {self.path or 'the build'} is damaged")
        return content

    def compact(self, live: Iterable[FragmentRef]) -> dict[FragmentRef, FragmentRef]:
        """Keep only `live` once the file is mostly garbage; returns old ref -> new ref (empty: unchanged).

        The live pieces are copied into a new file, in file order, which then replaces this one.
        """
        distinct = sorted(set(live) - {EMPTY})
        if self.path is None or self.identity()[1] <= _GARBAGE_FACTOR * sum(map(length_of, distinct)):
            return {}
        moved: dict[FragmentRef, FragmentRef] = {}
        temporary = self.path.with_name(f"{self.path.name}{TEMPORARY_SUFFIX}{os.getpid()}")
        target = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            written = 0
            for ref in distinct:  # one piece at a time: never all of them in memory
                offset, length, crc = _unpacked(ref)
                _write_all(target, os.pread(self._descriptor, length, offset), written)
                moved[ref] = _ref(written, length, crc)
                written += length
            os.replace(temporary, self.path)
        except OSError:
            # Compaction only saves disk space, after the output is in place: a full disk must
            # not fail the build. The store stays as it was, garbage included.
            os.close(target)
            temporary.unlink(missing_ok=True)
            return {}
        os.close(self._descriptor)
        self._descriptor = target
        return moved

    def __enter__(self) -> FragmentStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (an anonymous store is deleted)."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1


def length_of(ref: FragmentRef) -> int:
    """The length of the fragment `ref` points to."""
    return _unpacked(ref)[1]


def _ref(offset: int, length: int, crc: int) -> FragmentRef:
    return (offset << 96) | (length << 32) | crc


def _unpacked(ref: FragmentRef) -> tuple[int, int, int]:
    """(offset, length, CRC-32) of `ref`."""
    return ref >> 96, (ref >> 32) & 0xFFFF_FFFF_FFFF_FFFF, ref & 0xFFFF_FFFF


def _write_all(descriptor: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(descriptor, view, offset)
        view, offset = view[done:], offset + done
