"""`mcp-catalog verify`: prove offline that a release tarball or a site folder is what was signed.

Nothing is ever extracted: a tarball's members are streamed and hashed, so a hostile
archive (`../` names, absolute paths, links, devices, a member twice) cannot write
anywhere; such members are reported as problems. Every problem is collected, then
reported one line per kind of problem, with a count and the first few names shown
escaped (a name holding a newline must not print a forged "OK" line, and 100,000
unlisted members must not print 100,000 lines).

Nothing is decompressed that the release's size list does not allow. A tarball begins with
SIZES (`<bytes>  <path>` for every member, see `package`) and its signature: they are read
first, the signature checked (with --pubkey) and the listed sizes held against the limits
below, before any other member is read. Then each member's header is compared with the list
before a byte of the member is read: a member the list does not name, one whose header
claims another size, or a second copy of a file, is refused on its header, and, when it has
bytes, reading stops there (skipping them would mean decompressing them). So a tarball makes
verify decompress at most the listed bytes plus the tar headers, and the headers too are
bounded (by the listed names, plus `EXTRA_HEADER_BYTES` for members the list does not name).
An archive without the list (packaged before it existed, or changed) is refused: re-package it.
A site folder is checked the same way without reading: a file's size on disk is compared with
the list before it is hashed. `diff` and `build --previous` read the members they need out of a
tarball through the same code (`read_release_files`), with the same limits and refusals.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from generator.archive import folders_above
from generator.errors import CatalogError
from generator.paths import CHECKSUMS, SIGNATURE_SUFFIX, SIZES
from generator.release import minisign


class VerificationFailed(CatalogError):
    """Raised by `verify_release` with every problem found."""

    def __init__(self, target: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([*problems, f"{target}: NOT verified ({len(problems)} problem(s))"]))


# No catalog release comes near these; past them a size list is treated as an attack (a
# zero-filled or sparse member can claim gigabytes while compressing to a few bytes).
MAX_MEMBER_BYTES = 1 << 30
MAX_RELEASE_BYTES = 8 << 30
# SIZES of a 10,000-server release is about 25 MB; a minisign signature a few hundred bytes.
MAX_LIST_BYTES = 64 << 20
MAX_SIGNATURE_BYTES = 64 << 10
# The compressed archive: at most the listed bytes and their headers, gzip adding a few per thousand.
MAX_ARCHIVE_BYTES = MAX_RELEASE_BYTES + (1 << 30)
# One member's headers (ustar, PAX records, a long name): a name of a megabyte still fits.
MAX_HEADER_BYTES = 2 << 20
# Header bytes a listed file or folder may take: three blocks and its name twice (PAX records).
_HEADER_BLOCKS = 3 * tarfile.BLOCKSIZE
# Header bytes allowed, beyond those of the listed files and folders, for members the list
# does not name (each reported, none read): 100,000 empty members fit, a flood of them does not.
EXTRA_HEADER_BYTES = 64 << 20
SIZES_SIGNATURE = SIZES + SIGNATURE_SUFFIX
# Read whole and kept (they are not listed in SHA256SUMS); everything else is hashed in chunks.
_KEPT = {CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX}
_LISTS = {SIZES, SIZES_SIGNATURE}
_CHUNK = 1 << 20


# Names shown per kind of problem, and the length a shown name is cut to.
SHOWN_NAMES = 3
SHOWN_LENGTH = 120
NOT_IN_SIZES = f"not listed in {SIZES} (added after the release was made)"
OTHER_SIZE = f"size differs from the one {SIZES} lists (modified, or a decompression bomb)"
REPACKAGE = "re-package the site with `mcp-catalog package`"


@dataclass
class Release:
    """What was read from a tarball or a folder: each file's SHA-256, and what was wrong on the way."""

    digests: dict[str, str] = field(default_factory=dict)
    """Each file read and its SHA-256; "" for a file `read_release_files` reads past (`until_kept`),
    neither kept nor asked for by digest: nothing checks it there (no SHA256SUMS is)."""
    kept: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    """Kind of problem -> the names of the members that have it, in archive order."""
    complete: bool = True
    """False when reading stopped early: files not reached are not reported missing."""
    refused: set[str] = field(default_factory=set)
    """Paths present in the release but not hashed (refused on their size, unreadable, a link):
    each already has its problem, so SHA256SUMS does not call them missing too."""
    keep: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KEPT, MAX_MEMBER_BYTES))
    """The files whose bytes are kept (in `kept`), each with the most bytes it may have."""
    until_kept: bool = False
    """Stop reading once every file whose bytes are kept is read (`awaited`): what `read_release_files`
    asks for."""
    keep_also: Callable[[str], bool] | None = None
    """Files kept besides those `keep` names, each of at most `keep_also_limit` bytes (the files
    `read_release_files` is asked for by their folder)."""
    keep_also_limit: int = 0
    keep_also_as: Callable[[bytes], bytes] | None = None
    """How a file `keep_also` accepts is kept (`diff` packs large ones); as read without it."""
    hashed_too: frozenset[str] = frozenset()
    """Files whose digest is awaited as the kept files' are (`until_kept`), their bytes not kept."""
    awaited: frozenset[str] | None = None
    """The files of the size list whose bytes are kept, once the list is accepted: with `until_kept`,
    reading stops when every one is read (the list names every member, so none can come later)."""

    def limit(self, name: str) -> int | None:
        """The most bytes the file `name` may have when its bytes are kept; None when they are not."""
        if name in self.keep:
            return self.keep[name]
        return self.keep_also_limit if self.keep_also is not None and self.keep_also(name) else None

    def flag(self, name: str, problem: str) -> None:
        """Note that the member `name` has `problem` (reported grouped, see `grouped`)."""
        self.flagged.setdefault(problem, []).append(name)

    def refuse(self, relative: str, problem: str, name: str | None = None) -> None:
        """Flag the file `relative` (shown as `name`) present but not hashed, because of `problem`."""
        self.refused.add(relative)
        self.flag(relative if name is None else name, problem)

    def stop(self, problem: str) -> None:
        """Note why reading stopped before the end."""
        self.problems.append(problem)
        self.complete = False

    def grouped(self) -> list[str]:
        """The plain problems, then one line per kind of member problem."""
        return self.problems + [_group_line(problem, names) for problem, names in self.flagged.items()]

    def add(self, name: str, stream: BinaryIO, size: int | None = None) -> bool:
        """Hash `stream` as the file `name`, keeping the bytes of the checksum files.

        With `size`, read no more than one byte past it, and return False (nothing recorded)
        when the stream holds another number of bytes.
        """
        # BytesIO hands its bytes over without the copy a bytearray's would take (93 MB, a catalog at 10,000 servers).
        digest, data, read, kept = hashlib.sha256(), io.BytesIO(), 0, self.limit(name) is not None
        hashed = kept or not self.until_kept or name in self.hashed_too
        while chunk := stream.read(_CHUNK if size is None else min(_CHUNK, size + 1 - read)):
            read += len(chunk)
            if hashed:
                digest.update(chunk)
            if kept:
                data.write(chunk)
            if size is not None and read > size:
                break
        if size is not None and read != size:
            return False
        self.digests[name] = digest.hexdigest() if hashed else ""
        if kept:
            kept_as = None if name in self.keep else self.keep_also_as
            self.kept[name] = data.getvalue() if kept_as is None else kept_as(data.getvalue())
        return True

    @property
    def done(self) -> bool:
        """Whether reading may stop here: asked to stop once the kept files are read, and they are."""
        return self.until_kept and self.awaited is not None and self.awaited <= self.digests.keys()


@dataclass(frozen=True)
class SizeList:
    """SIZES, parsed: each listed path's size in bytes."""

    sizes: dict[str, int]

    def header_allowance(self, root: str) -> int:
        """The header bytes the listed files and the folders above them may take."""
        names = [*self.sizes, *folders_above(self.sizes)]
        # surrogateescape: `root` comes from a member name, whose bytes need not be UTF-8.
        return sum(_HEADER_BLOCKS + 2 * len(f"{root}/{name}".encode("utf-8", "surrogateescape")) for name in names)


@dataclass(frozen=True)
class VerifiedRelease:
    """What a successful verification established."""

    files: int
    signed_by: str | None
    trusted_comment: str | None


def verify_release(target: Path, pubkey: Path | None, not_older_than: str | None) -> VerifiedRelease:
    """Check signature, sizes, checksums, completeness and safety of `target`; raise listing every problem."""
    if not target.exists():
        raise CatalogError(f"{target} does not exist: pass a release tarball or a site folder")
    if not_older_than is not None:
        check_version_floor(not_older_than)
    key = minisign.read_public_key(pubkey) if pubkey else None
    trusted = None
    if key is not None and target.is_file():
        # An archive whose signature fails is not opened at all: nothing unsigned is parsed.
        outer: list[str] = []
        trusted = _verify_archive(target, key, outer)
        if outer:
            raise VerificationFailed(target, outer)
    release = _read_tarball(target, key) if target.is_file() else _read_folder(target, key)
    signature_problems: list[str] = []
    if key is not None and release.complete:
        # Checked even when the archive's signature holds: a folder unpacked from this release
        # relies on it alone. The archive's own comment is the one shown: it names the file it signs.
        inner = _check_inner_signature(target, release, key, signature_problems)
        trusted = trusted or inner
    _check_checksums(release)
    problems = release.grouped() + signature_problems
    if not_older_than is not None:
        problems += _check_version_floor(trusted, not_older_than)
    if problems:
        raise VerificationFailed(target, problems)
    # The files SHA256SUMS lists (every one was found to match), not the list and its signature too.
    return VerifiedRelease(len(release.digests.keys() - _KEPT), key.key_id_hex if key else None, trusted)


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
    release = _read_tarball(target, None, Release(keep=dict(limits), until_kept=True, keep_also=also,
                                                  keep_also_limit=also_limit, keep_also_as=also_as,
                                                  hashed_too=frozenset(hashed)))
    problems = release.grouped()
    if problems:
        shown = _shown(str(target))
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


def _read_tarball(path: Path, key: minisign.PublicKey | None, release: Release | None = None) -> Release:
    release = Release() if release is None else release
    shown = _shown(str(path))
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            _read_stream(_Bounded(unzipped), shown, key, release)  # type: ignore[arg-type]
    except _OverLimit:
        release.stop(f"{shown}: a tar header is larger than any release holds, or than {SIZES} allows for: "
                     "nothing after it was read")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        release.stop(f"{shown}: the archive is truncated or corrupt ({_shown(str(exc))})")
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
            limit = MAX_LIST_BYTES if relative == SIZES else MAX_SIGNATURE_BYTES
            if member.size > limit:
                self.release.stop(f"{_shown(member.name)}: its header claims {member.size} bytes, more than a "
                                  f"{relative} holds (at most {limit}): nothing after it was read")
                return False
            stream.allow(member.size)
            self.head[relative] = _extracted(archive, member).read()
            return relative == SIZES or self.accept_list()  # the signature ends the head
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
                          f"{_shown(member.name)} was read")
        return False

    def _skippable(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> bool:
        """Whether reading can go on past a refused member: only when it has no bytes to skip
        (skipping them would mean decompressing them)."""
        if archive.offset == member.offset_data:  # where tarfile would go next: no data in between
            return True
        self.release.stop(f"{self.shown}: reading stopped at {_shown(member.name)}, whose header claims {member.size} "
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
        return f"outside the release folder {_shown(root[0])}/ (an archive holds one top-level folder)", member.name, None
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
    if relative in release.digests or relative in _LISTS:
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
    listing = _size_list(head[SIZES], head.get(SIZES_SIGNATURE), key, problems, release)
    if listing is None:
        for problem in problems:
            release.stop(f"{problem}: nothing after it was read")
    return listing


def _size_list(data: bytes, signature: bytes | None, key: minisign.PublicKey | None, problems: list[str],
               release: Release) -> SizeList | None:
    """SIZES parsed, its signature checked with `key` first; None with `problems` when it cannot be used."""
    if key is not None:
        if signature is None:
            problems.append(f"{SIZES_SIGNATURE}: missing, so the sizes cannot be trusted")
            return None
        try:
            parsed = minisign.parse_signature(signature.decode(), SIZES_SIGNATURE)
            minisign.verify(data, parsed, key, SIZES)
        except UnicodeDecodeError:
            problems.append(f"{SIZES_SIGNATURE}: not a minisign signature file")
            return None
        except minisign.SignatureError as exc:
            problems.append(exc.message)
            return None
    sizes: dict[str, int] = {}
    malformed = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        match = re.fullmatch(r"(0|[1-9][0-9]{0,15})  (.+)", line)
        if not match or match.group(2) in sizes:
            malformed.append(f"{SIZES}:{number}")
        else:
            sizes[match.group(2)] = int(match.group(1))
    if malformed:
        for line in malformed:
            release.flag(line, "not a `<bytes>  <path>` line, or a path listed twice")
        problems.append(f"{SIZES}: malformed, so no member can be checked against it")
        return None
    largest = max(sizes.values(), default=0)
    if largest > MAX_MEMBER_BYTES or sum(sizes.values()) > MAX_RELEASE_BYTES:
        problems.append(f"{SIZES}: lists {sum(sizes.values())} bytes, {largest} in one file: more than any release holds "
                        f"({MAX_RELEASE_BYTES} in all, {MAX_MEMBER_BYTES} in one)")
        return None
    return SizeList(sizes)


def _read_folder(folder: Path, key: minisign.PublicKey | None) -> Release:
    release = Release()
    listing = _folder_list(folder, key, release)
    for current, directories, names in os.walk(folder):
        for name in sorted(directories + names):
            path = Path(current, name)
            relative = path.relative_to(folder).as_posix()
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                release.refuse(relative, "symlink (releases hold regular files only)", f"{relative} -> {os.readlink(path)}")
            elif stat.S_ISREG(info.st_mode):
                if relative in _LISTS:
                    continue
                listed = None if listing is None else listing.sizes.get(relative)
                if listing is not None and listed is None:
                    release.refuse(relative, NOT_IN_SIZES)
                    continue
                if listed is not None and info.st_size != listed:
                    release.refuse(relative, OTHER_SIZE)
                    continue
                try:
                    with open(path, "rb") as handle:
                        if not release.add(relative, handle, listed):
                            release.refuse(relative, OTHER_SIZE)  # it changed while being read
                except OSError as error:
                    release.refuse(relative, f"cannot be read ({error.strerror}): give the user running mcp-catalog read access")
            elif not stat.S_ISDIR(info.st_mode):
                release.refuse(relative, "device, FIFO or other special file")
        directories[:] = [d for d in directories if not Path(current, d).is_symlink()]
    return release


def _folder_list(folder: Path, key: minisign.PublicKey | None, release: Release) -> SizeList | None:
    """A folder's SIZES, read only when it is a regular file of a size a list can have, its signature checked."""
    parts: dict[str, bytes] = {}
    for name, limit in ((SIZES, MAX_LIST_BYTES), (SIZES_SIGNATURE, MAX_SIGNATURE_BYTES)):
        path = folder / name
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                release.problems.append(f"{name}: not a regular file of at most {limit} bytes")
                return None
            parts[name] = path.read_bytes()
        except FileNotFoundError:
            if name == SIZES:
                release.problems.append(f"{SIZES}: missing (an earlier mcp-catalog packaged this release, or it was "
                                        f"changed): {REPACKAGE} and unpack it again")
                return None
        except OSError as error:
            release.problems.append(f"{name}: cannot be read ({error.strerror}): give the user running mcp-catalog read access")
            return None
    problems: list[str] = []
    listing = _size_list(parts[SIZES], parts.get(SIZES_SIGNATURE), key, problems, release)
    release.problems += problems
    return listing


def _check_inner_signature(target: Path, release: Release, key: minisign.PublicKey, problems: list[str]) -> str | None:
    """The signature of SHA256SUMS shipped inside the release (what a mirrored folder relies on)."""
    sums, signature = release.kept.get(CHECKSUMS), release.kept.get(CHECKSUMS + SIGNATURE_SUFFIX)
    if sums is not None and signature is not None:
        try:
            parsed = minisign.parse_signature(signature.decode(), f"{CHECKSUMS}{SIGNATURE_SUFFIX}")
            return minisign.verify(sums, parsed, key, CHECKSUMS)
        except UnicodeDecodeError:
            problems.append(f"{CHECKSUMS}{SIGNATURE_SUFFIX}: not a minisign signature file")
        except minisign.SignatureError as exc:
            problems.append(exc.message)
    elif not target.is_file():
        problems.append(f"{CHECKSUMS}{SIGNATURE_SUFFIX}: missing, so the folder's checksums cannot be trusted")
    return None


def _verify_archive(archive: Path, key: minisign.PublicKey, problems: list[str]) -> str | None:
    """The trusted comment of the archive's signature (`<archive>.minisig`), checked with `key`, over
    the archive read in chunks, never whole; None with `problems` when it fails. The comment must name
    this file: an older release renamed to a newer one's name carries its own name in its signature,
    and a comment naming no file could be any release's."""
    signature_path = archive.with_name(archive.name + SIGNATURE_SUFFIX)
    where = _shown(str(signature_path))
    if not signature_path.is_file():
        problems.append(f"{where}: signature file is missing")
        return None
    try:
        with open(signature_path, "rb") as handle:
            text = handle.read(MAX_SIGNATURE_BYTES + 1)
        if len(text) > MAX_SIGNATURE_BYTES:
            problems.append(f"{where}: larger than any signature ({MAX_SIGNATURE_BYTES} bytes): not a minisign signature file")
            return None
        parsed = minisign.parse_signature(text.decode(), where)
        digest = minisign.prehash()
        with open(archive, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_ARCHIVE_BYTES:
                problems.append(f"{_shown(str(archive))}: larger than any release ({MAX_ARCHIVE_BYTES} bytes): not read")
                return None
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        trusted = minisign.verify_prehashed(digest, parsed, key, where)
    except UnicodeDecodeError:
        problems.append(f"{where}: not a minisign signature file")
        return None
    except OSError as error:
        problems.append(f"{where}: cannot be read ({error.strerror}): give the user running mcp-catalog read access")
        return None
    except minisign.SignatureError as exc:
        problems.append(exc.message)
        return None
    # mcp-catalog has always signed `file=<name>`: a comment without it cannot tell this release
    # from another one under its name, so it is refused as the stock commands' `grep` refuses it.
    signed = re.search(r" file=(\S+)$", trusted)
    if signed is None:
        problems.append(f"{_shown(str(archive))}: its signature's trusted comment names no file (no file=): cannot "
                        "tell it from another release under this name; package the release with `mcp-catalog package`")
        return None
    if signed.group(1) != archive.name:
        problems.append(f"{_shown(str(archive))}: its signature was made for {_shown(signed.group(1))}: another release "
                        "under this file's name (an older one replayed?), or the file was renamed; verify the file "
                        "the signature names")
        return None
    return trusted


def _check_checksums(release: Release) -> None:
    """Each file read against SHA256SUMS; and, when the whole release was read, every listed file present
    (a file refused unread has its own problem already)."""
    listing = release.kept.get(CHECKSUMS)
    if listing is None:
        if release.complete:
            release.problems.append(f"{CHECKSUMS}: missing from the release")
        return
    listed = {}
    for number, line in enumerate(listing.decode("utf-8", "replace").splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-f]{64})  (.+)", line)
        if not match:
            release.flag(f"{CHECKSUMS}:{number}", "not a `<sha256>  <path>` line")
            continue
        listed[match.group(2)] = match.group(1)
    for relative, expected in sorted(listed.items()):
        actual = release.digests.get(relative)
        if actual is None:
            if release.complete and relative not in release.refused:
                release.flag(relative, f"listed in {CHECKSUMS} but missing")
        elif actual != expected:
            release.flag(relative, "content differs from its checksum (modified or corrupted)")
    for relative in sorted(set(release.digests) - set(listed) - _KEPT):
        release.flag(relative, f"not listed in {CHECKSUMS} (added after the release was made)")


def _group_line(problem: str, names: list[str]) -> str:
    """`name: problem` for one member, `N members: problem: a, b, c, ...` for more."""
    shown = ", ".join(_shown(name) for name in names[:SHOWN_NAMES])
    if len(names) == 1:
        return f"{shown}: {problem}"
    more = ", ..." if len(names) > SHOWN_NAMES else ""
    return f"{len(names)} members: {problem}: {shown}{more}"


def _shown(text: str) -> str:
    """`text` safe to print on one line: control and invisible characters escaped, long names cut."""
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return safe if len(safe) <= SHOWN_LENGTH else safe[:SHOWN_LENGTH] + f"... ({len(safe)} characters)"


def check_version_floor(floor: str) -> None:
    """Refuse a `--not-older-than` that is not a release version: compared anyhow, a typo such as
    `v2.0.0` would let every release through and disable the rollback check without a word."""
    if version_order(floor) is None:
        raise CatalogError(f"--not-older-than {_shown(floor)}: not a release version (a semantic version such as 1.4.0 "
                           "or 2.0.0-rc.1, as catalog.yaml's version)")


def _check_version_floor(trusted: str | None, floor: str) -> list[str]:
    version = None
    if trusted:
        match = re.search(r"\bversion=(\S+)", trusted)
        version = match.group(1) if match else None
    if version is None:
        return [f"the release version is not signed: cannot enforce --not-older-than {floor} (pass --pubkey)"]
    order, least = version_order(version), version_order(floor)
    if order is None or least is None:
        return [f"the signed release version {_shown(version)} is not a semantic version: cannot enforce --not-older-than {floor}"]
    if order < least:
        return [f"release version {version} is older than {floor}: refusing a rollback"]
    return []


# catalog.yaml's version (models.CatalogMeta.version): three numbers, then a pre-release or build part.
_RELEASE_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")
VersionOrder = tuple[tuple[int, int, int], bool, tuple[tuple[int, int, str], ...]]


def version_order(version: str) -> VersionOrder | None:
    """A key ordering release versions by semantic-version precedence, None for anything else.

    The numbers compare as numbers; a pre-release comes before its release; pre-release identifiers
    compare one by one, numeric ones as numbers and before alphanumeric ones, which compare as text,
    and a shorter list first when one is a prefix of the other (1.0.0-rc.9 < 1.0.0-rc.10 < 1.0.0).
    Build metadata (+...) does not count."""
    match = _RELEASE_VERSION.fullmatch(version)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    identifiers = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")) if pre else ()
    return (int(major), int(minor), int(patch)), pre is None, identifiers
