"""A release as read from a tarball or a folder (`Release`), the size list it is held to, and reading a folder.

Nothing is ever extracted or written: each file is hashed as it is read, and only the lists
(SHA256SUMS and its signature) and the files a caller asks for are kept. Every problem met on
the way is collected in the `Release`, reported one line per kind of problem, with a count and
the first few names shown escaped (a name holding a newline must not print a forged "OK" line,
and 100,000 unlisted members must not print 100,000 lines). A tarball is read by
`tarball_reading`; a site folder here, the same way without reading what the list refuses: a
file's size on disk is compared with SIZES before it is hashed. It checks no checksum and no
signature but the size list's (that is `verify`'s).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from generator.archive import folders_above
from generator.paths import CHECKSUMS, SIGNATURE_SUFFIX, SIZES
from generator.release import minisign


# No catalog release comes near these; past them a size list is treated as an attack (a
# zero-filled or sparse member can claim gigabytes while compressing to a few bytes).
MAX_MEMBER_BYTES = 1 << 30
MAX_RELEASE_BYTES = 8 << 30
# SIZES of a 10,000-server release is about 25 MB; a minisign signature a few hundred bytes.
MAX_LIST_BYTES = 64 << 20
MAX_SIGNATURE_BYTES = 64 << 10
# Header bytes a listed file or folder may take: three blocks and its name twice (PAX records).
_HEADER_BLOCKS = 3 * tarfile.BLOCKSIZE
SIZES_SIGNATURE = SIZES + SIGNATURE_SUFFIX
# Read whole and kept (they are not listed in SHA256SUMS); everything else is hashed in chunks.
CHECKSUM_LISTS = {CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX}
SIZE_LISTS = {SIZES, SIZES_SIGNATURE}
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
    keep: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKSUM_LISTS, MAX_MEMBER_BYTES))
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


def parse_size_list(data: bytes, signature: bytes | None, key: minisign.PublicKey | None, problems: list[str],
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


def read_folder(folder: Path, key: minisign.PublicKey | None) -> Release:
    """Every file of the site folder `folder` hashed, each held to SIZES (its signature checked with
    `key`) before it is read; links and special files refused, never followed."""
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
                if relative in SIZE_LISTS:
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
    listing = parse_size_list(parts[SIZES], parts.get(SIZES_SIGNATURE), key, problems, release)
    release.problems += problems
    return listing


def _group_line(problem: str, names: list[str]) -> str:
    """`name: problem` for one member, `N members: problem: a, b, c, ...` for more."""
    shown = ", ".join(printable(name) for name in names[:SHOWN_NAMES])
    if len(names) == 1:
        return f"{shown}: {problem}"
    more = ", ..." if len(names) > SHOWN_NAMES else ""
    return f"{len(names)} members: {problem}: {shown}{more}"


def printable(text: str) -> str:
    """`text` safe to print on one line: control and invisible characters escaped, long names cut."""
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return safe if len(safe) <= SHOWN_LENGTH else safe[:SHOWN_LENGTH] + f"... ({len(safe)} characters)"

