"""Reading a release tarball without extracting it, decompressing nothing its size list does not allow.

A tarball begins with SIZES (`<bytes>  <path>` for every member, see `package`) and its signature:
they are read first, the signature checked (with a key) and the listed sizes held against the
limits of `reading`, before any other member is read. Then each member's header is compared with
the list before a byte of the member is read: a member the list does not name, one whose header
claims another size, or a second copy of a file, is refused on its header, and, when it has
bytes, reading stops there (skipping them would mean decompressing them). So a tarball makes
its reader decompress at most the listed bytes plus the tar headers, and the headers too are
bounded (by the listed names, plus `EXTRA_HEADER_BYTES` for members the list does not name).
An archive without the list (packaged before it existed, or changed) is refused: re-package it.
A hostile archive (`../` names, absolute paths, links, devices, a member twice) cannot write
anywhere, since nothing is extracted: such members are reported as problems. `verify` reads a
tarball here; `diff` and `build --previous` read the members they need out of one through
`read_release_files`, with the same limits and refusals.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from generator.archive import folders_above
from generator.errors import CatalogError
from generator.paths import SIZES
from generator.release import minisign
from generator.release.reading import (
    MAX_LIST_BYTES, MAX_SIGNATURE_BYTES, NOT_IN_SIZES, OTHER_SIZE, REPACKAGE, SIZE_LISTS, SIZES_SIGNATURE, Release,
    SizeList, parse_size_list, printable,
)


# One member's headers (ustar, PAX records, a long name): a name of a megabyte still fits.
MAX_HEADER_BYTES = 2 << 20
# Header bytes allowed, beyond those of the listed files and folders, for members the list
# does not name (each reported, none read): 100,000 empty members fit, a flood of them does not.
EXTRA_HEADER_BYTES = 64 << 20


def read_release_files(
    target: Path, limits: dict[str, int], also: Callable[[str], bool] | None = None, also_limit: int = 0
) -> dict[str, bytes]:
    """The files `limits` names (path in the release: the most bytes it may have) that the release
    tarball `target` holds, read as `verify` reads a tarball, with its limits and refusals: the size
    list first, then each member's header checked against it before a byte of the member is read.
    With `also`, every file it accepts (of at most `also_limit` bytes) is kept too. Reading stops once
    every file asked for that the size list names is read. Neither SHA256SUMS nor a signature is checked
    (that is `verify`'s); a problem verify would report on the way is a CatalogError of one line
    (the first problem, and how many more): the caller (`diff`, `build --previous`) must not act
    on part of a tampered release."""
    return read_release_files_hashed(target, limits, also, also_limit)[0]


def read_release_files_hashed(
    target: Path, limits: dict[str, int], also: Callable[[str], bool] | None = None, also_limit: int = 0,
    hashed: set[str] | frozenset[str] = frozenset(), also_as: Callable[[bytes], bytes] | None = None,
) -> tuple[dict[str, bytes], dict[str, str]]:
    """`read_release_files`, each file `also` accepts kept as `also_as` makes it, and the SHA-256 (hex)
    of each file of `hashed` the release holds, whose bytes are read (reading goes on until they are)
    but not kept."""
    release = read_tarball(target, None, Release(keep=dict(limits), until_kept=True, keep_also=also,
                                                  keep_also_limit=also_limit, keep_also_as=also_as,
                                                  hashed_too=frozenset(hashed)))
    problems = release.grouped()
    if problems:
        shown = printable(str(target))
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise CatalogError(f"{shown}: not read as a release: {problems[0].removeprefix(f'{shown}: ')}{more}; "
                           f"`mcp-catalog verify {shown}` lists every problem")
    return release.kept, {name: release.digests[name] for name in hashed if name in release.digests}


class _OverLimit(Exception):
    """Raised by `_Bounded` when a read would pass what the size list allows."""


class _Bounded:
    """The decompressed tar stream, handing out no byte past `limit` (set as reading goes on).

    tarfile reads a member's extended headers whole before returning it; this is what keeps
    a header claiming gigabytes from being decompressed. `count` is every byte handed out.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0
        self.limit = 0

    def allow(self, more: int) -> None:
        """Let `more` bytes past what has been handed out so far be read (plus tarfile's read-ahead)."""
        self.limit = self.count + more + tarfile.RECORDSIZE

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.count
        if room <= 0:
            raise _OverLimit
        data = self._raw.read(room if size < 0 else min(size, room))
        self.count += len(data)
        return data


def read_tarball(path: Path, key: minisign.PublicKey | None, release: Release | None = None) -> Release:
    """The release tarball at `path` read into `release` (what to keep, when to stop), its size list's
    signature checked with `key`; what went wrong is in the result, never raised."""
    release = Release() if release is None else release
    shown = printable(str(path))
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            _read_stream(_Bounded(unzipped), shown, key, release)  # type: ignore[arg-type]
    except _OverLimit:
        release.stop(f"{shown}: a tar header is larger than any release holds, or than {SIZES} allows for: "
                     "nothing after it was read")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        release.stop(f"{shown}: the archive is truncated or corrupt ({printable(str(exc))})")
    return release


def _read_stream(stream: _Bounded, shown: str, key: minisign.PublicKey | None, release: Release) -> None:
    """Read the tar stream member by member, each header checked before its bytes (see the module's doc)."""
    reading = _Reading(shown, key, release)
    stream.allow(MAX_HEADER_BYTES)
    archive = tarfile.open(fileobj=stream, mode="r|")  # type: ignore[call-overload]
    while (member := archive.next()) is not None:
        archive.members.clear()  # tarfile keeps every header read: 70 MB for a release of 10,000 servers
        if not reading.take(archive, member, stream) or reading.release.done:
            return
        stream.allow(min(MAX_HEADER_BYTES, reading.header_budget))
    if reading.listing is None:
        reading.accept_list()


class _Reading:
    """The state of a tarball being read: its root, its size list, the header bytes still allowed."""

    def __init__(self, shown: str, key: minisign.PublicKey | None, release: Release) -> None:
        self.shown, self.key, self.release = shown, key, release
        self.root: list[str] = []  # the top-level folder, taken from the first member
        self.head: dict[str, bytes] = {}  # SIZES and its signature, read before any other file
        self.listing: SizeList | None = None
        self.unseen: set[str] = set()  # listed files and their folders whose header has not come yet
        self.header_budget = EXTRA_HEADER_BYTES

    def take(self, archive: tarfile.TarFile, member: tarfile.TarInfo, stream: _Bounded) -> bool:
        """Check `member`'s header, then read its bytes if the list allows them; False: stop reading."""
        problem, name, relative = _classify(member, self.root)
        if not self._pay_header(member, problem, relative):
            return False
        if problem is not None:
            if relative is None:
                self.release.flag(name, problem)
            else:
                self.release.refuse(relative, problem, name)
            return self._skippable(archive, member)
        if member.isdir():
            return True
        assert relative is not None
        if self.listing is None and self._in_head(relative):
            return self._take_head(archive, member, relative, stream)
        if self.listing is None and not self.accept_list():  # the first other file: the head is complete
            return False
        assert self.listing is not None
        refusal = _refusal(relative, member.size, self.listing, self.release) or _too_large(relative, member.size,
                                                                                             self.release)
        if refusal is not None:
            self.release.refuse(relative, refusal, member.name)
            return self._skippable(archive, member)
        stream.allow(member.size)
        self.release.add(relative, _extracted(archive, member))
        return True

    def _take_head(self, archive: tarfile.TarFile, member: tarfile.TarInfo, relative: str, stream: _Bounded) -> bool:
        """Read SIZES or its signature whole, if its header claims no more than such a file holds."""
        limit = MAX_LIST_BYTES if relative == SIZES else MAX_SIGNATURE_BYTES
        if member.size > limit:
            self.release.stop(f"{printable(member.name)}: its header claims {member.size} bytes, more than a "
                              f"{relative} holds (at most {limit}): nothing after it was read")
            return False
        stream.allow(member.size)
        self.head[relative] = _extracted(archive, member).read()
        return relative == SIZES or self.accept_list()  # the signature ends the head

    def accept_list(self) -> bool:
        """Take the size list read so far (see `_accepted_list`); False when it cannot be used."""
        self.listing = _accepted_list(self.head, self.key, self.shown, self.release)
        if self.listing is None:
            return False
        self.release.awaited = frozenset(name for name in self.listing.sizes
                                         if self.release.limit(name) is not None or name in self.release.hashed_too)
        self.unseen = {"", *self.listing.sizes, *folders_above(self.listing.sizes)}
        self.header_budget += self.listing.header_allowance(self.root[0])
        return True

    def _in_head(self, relative: str) -> bool:
        """SIZES as the first file, its signature right after it."""
        return (relative == SIZES and not self.head) or (relative == SIZES_SIGNATURE and list(self.head) == [SIZES])

    def _pay_header(self, member: tarfile.TarInfo, problem: str | None, relative: str | None) -> bool:
        """Count the member's header bytes: the first header of a listed file (of its listed size) or
        folder is part of the list's allowance, any other comes out of EXTRA_HEADER_BYTES."""
        listed = self.listing is not None and relative is not None and (
            member.isdir() or self.listing.sizes.get(relative) == member.size)
        if problem is None and listed and relative in self.unseen:
            self.unseen.discard(relative)
            return True
        self.header_budget -= member.offset_data - member.offset
        if self.header_budget >= 0:
            return True
        self.release.stop(f"{self.shown}: the tar headers take more bytes than {SIZES} allows for: nothing after "
                          f"{printable(member.name)} was read")
        return False

    def _skippable(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> bool:
        """Whether reading can go on past a refused member: only when it has no bytes to skip
        (skipping them would mean decompressing them)."""
        if archive.offset == member.offset_data:  # where tarfile would go next: no data in between
            return True
        self.release.stop(f"{self.shown}: reading stopped at {printable(member.name)}, whose header claims {member.size} "
                          f"bytes that {SIZES} does not allow: nothing after it was read")
        return False


def _extracted(archive: tarfile.TarFile, member: tarfile.TarInfo) -> BinaryIO:
    handle = archive.extractfile(member)
    assert handle is not None
    return handle  # type: ignore[return-value]


def _classify(member: tarfile.TarInfo, root: list[str]) -> tuple[str | None, str, str | None]:
    """(problem, name to show, path in the release): a problem for a member that is no release
    file, else None; the path of the file (None for a folder), also for a link or special file
    inside the release folder, so that it is reported as what it is and not as missing too."""
    name = PurePosixPath(member.name)
    if member.name.startswith("/") or name.is_absolute():
        return "absolute path in the archive", member.name, None
    if ".." in name.parts:
        return "path climbs out of the release folder ('..')", member.name, None
    if not name.parts:
        return "member without a name", member.name, None
    if not root:
        root.append(name.parts[0])
    if name.parts[0] != root[0]:
        return f"outside the release folder {printable(root[0])}/ (an archive holds one top-level folder)", member.name, None
    relative = "/".join(name.parts[1:])  # `./` and doubled slashes name the same file
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        return f"{kind} (releases hold regular files only)", f"{member.name} -> {member.linkname}", relative
    if member.isdir():
        return None, member.name, relative
    if member.issparse() or not member.isfile():
        return "device, FIFO, sparse or other special file", member.name, relative
    return None, member.name, relative


def _refusal(relative: str, size: int, listing: SizeList, release: Release) -> str | None:
    """Why the file member `relative` of `size` bytes (its header's word) is not read, or None."""
    if relative in release.digests or relative in SIZE_LISTS:
        return "a second member for the same file (which copy would be unpacked?)"
    listed = listing.sizes.get(relative)
    if listed is None:
        return NOT_IN_SIZES
    if listed != size:
        return OTHER_SIZE
    return None


def _too_large(relative: str, size: int, release: Release) -> str | None:
    """Why a file whose bytes are kept is not read: more bytes than any such file has."""
    limit = release.limit(relative)
    if limit is None or size <= limit:
        return None
    return f"{size} bytes, more than any {relative} holds (at most {limit})"


def _accepted_list(head: dict[str, bytes], key: minisign.PublicKey | None, shown: str, release: Release) -> SizeList | None:
    """The size list at the start of a tarball, once its signature and limits are checked; None
    (and reading stops) when it is missing, unsigned, forged, malformed or claims too much."""
    if SIZES not in head:
        release.stop(f"{shown}: the archive does not begin with its size list {SIZES} (an earlier mcp-catalog "
                     f"packaged it, or it was changed): {REPACKAGE}; nothing else was read")
        return None
    problems: list[str] = []
    listing = parse_size_list(head[SIZES], head.get(SIZES_SIGNATURE), key, problems, release)
    if listing is None:
        for problem in problems:
            release.stop(f"{problem}: nothing after it was read")
    return listing

