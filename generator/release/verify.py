"""`mcp-catalog verify`: prove offline that a release tarball or a site folder is what was signed.

Nothing is ever extracted: a tarball's members are streamed and hashed, so a hostile
archive (`../` names, absolute paths, links, devices, a member twice) cannot write
anywhere; such members are reported as problems. Every problem is collected, then
reported one line per kind of problem, with a count and the first few names shown
escaped (a name holding a newline must not print a forged "OK" line, and 100,000
unlisted members must not print 100,000 lines). Each member's declared size is checked,
against the limits and the running total, before its bytes are read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from generator.errors import CatalogError
from generator.release import minisign
from generator.release.package import CHECKSUMS, SIGNATURE_SUFFIX



class VerificationFailed(CatalogError):
    """Raised by `verify_release` with every problem found."""

    def __init__(self, target: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([*problems, f"{target}: NOT verified ({len(problems)} problem(s))"]))


# No catalog release comes near these; past them an archive is treated as an attack (a
# zero-filled or sparse member can claim gigabytes while compressing to a few bytes).
MAX_MEMBER_BYTES = 1 << 30
MAX_RELEASE_BYTES = 8 << 30
# SHA256SUMS and its signature are read whole (and are not listed in SHA256SUMS);
# everything else is hashed in chunks.
_KEPT = {CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX}
_CHUNK = 1 << 20


# Names shown per kind of problem, and the length a shown name is cut to.
SHOWN_NAMES = 3
SHOWN_LENGTH = 120


@dataclass
class Release:
    """What was read from a tarball or a folder: each file's SHA-256, and what was wrong on the way."""

    digests: dict[str, str] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    """Kind of problem -> the names of the members that have it, in archive order."""

    def flag(self, name: str, problem: str) -> None:
        """Note that the member `name` has `problem` (reported grouped, see `grouped`)."""
        self.flagged.setdefault(problem, []).append(name)

    def grouped(self) -> list[str]:
        """The plain problems, then one line per kind of member problem."""
        return self.problems + [_group_line(problem, names) for problem, names in self.flagged.items()]

    def add(self, name: str, stream: BinaryIO) -> None:
        """Hash `stream` as the file `name`, keeping the bytes of the checksum files."""
        digest, data = hashlib.sha256(), bytearray()
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            if name in _KEPT:
                data += chunk
        self.digests[name] = digest.hexdigest()
        if name in _KEPT:
            self.kept[name] = bytes(data)


@dataclass(frozen=True)
class VerifiedRelease:
    """What a successful verification established."""

    files: int
    signed_by: str | None
    trusted_comment: str | None


def verify_release(target: Path, pubkey: Path | None, not_older_than: str | None) -> VerifiedRelease:
    """Check signature, checksums, completeness and safety of `target`; raise listing every problem."""
    if not target.exists():
        raise CatalogError(f"{target} does not exist: pass a release tarball or a site folder")
    key = minisign.read_public_key(pubkey) if pubkey else None
    trusted = None
    if key is not None and target.is_file():
        # An archive whose signature fails is not opened at all: nothing unsigned is parsed.
        outer: list[str] = []
        trusted = _verify_file(target.read_bytes(), target.with_name(target.name + SIGNATURE_SUFFIX), key, outer)
        if outer:
            raise VerificationFailed(target, outer)
    release = _read_tarball(target) if target.is_file() else _read_folder(target)
    signature_problems: list[str] = []
    if key is not None:
        trusted = _check_inner_signature(target, release, key, signature_problems) or trusted
    _check_checksums(release)
    problems = release.grouped() + signature_problems
    if not_older_than is not None:
        problems += _check_version_floor(trusted, not_older_than)
    if problems:
        raise VerificationFailed(target, problems)
    return VerifiedRelease(len(release.digests), key.key_id_hex if key else None, trusted)


def _read_tarball(path: Path) -> Release:
    release = Release()
    root: list[str] = []  # the top-level folder, taken from the first member
    declared = 0
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                declared += member.size if member.isfile() else 0
                if declared > MAX_RELEASE_BYTES:  # checked on the header, before the member's bytes are read
                    release.problems.append(f"{_shown(str(path))}: members claim more than {MAX_RELEASE_BYTES} bytes, more than any release holds")
                    return release
                _read_member(archive, member, release, root)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        release.problems.append(f"{_shown(str(path))}: the archive is truncated or corrupt ({_shown(str(exc))})")
    return release


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, release: Release, root: list[str]) -> None:
    name = PurePosixPath(member.name)
    if member.name.startswith("/") or name.is_absolute():
        release.flag(member.name, "absolute path in the archive")
        return
    if ".." in name.parts:
        release.flag(member.name, "path climbs out of the release folder ('..')")
        return
    if not name.parts:
        release.flag(member.name, "member without a name")
        return
    if not root:
        root.append(name.parts[0])
    if name.parts[0] != root[0]:
        release.flag(member.name, f"outside the release folder {_shown(root[0])}/ (an archive holds one top-level folder)")
        return
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        release.flag(f"{member.name} -> {member.linkname}", f"{kind} (releases hold regular files only)")
        return
    if member.isdir():
        return
    if member.issparse() or not member.isfile():
        release.flag(member.name, "device, FIFO, sparse or other special file")
        return
    if member.size > MAX_MEMBER_BYTES:
        release.flag(member.name, f"more than {MAX_MEMBER_BYTES} bytes, more than any release file holds")
        return
    relative = "/".join(name.parts[1:])  # `./` and doubled slashes name the same file
    if relative in release.digests or relative in release.kept:
        release.flag(member.name, "a second member for the same file (which copy would be unpacked?)")
        return
    handle = archive.extractfile(member)
    assert handle is not None
    release.add(relative, handle)


def _read_folder(folder: Path) -> Release:
    release = Release()
    for current, directories, names in os.walk(folder):
        for name in sorted(directories + names):
            path = Path(current, name)
            relative = path.relative_to(folder).as_posix()
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                release.flag(f"{relative} -> {os.readlink(path)}", "symlink (releases hold regular files only)")
            elif stat.S_ISREG(info.st_mode):
                try:
                    with open(path, "rb") as handle:
                        release.add(relative, handle)
                except OSError as error:
                    release.flag(relative, f"cannot be read ({error.strerror}): give the user running mcp-catalog read access")
            elif not stat.S_ISDIR(info.st_mode):
                release.flag(relative, "device, FIFO or other special file")
        directories[:] = [d for d in directories if not Path(current, d).is_symlink()]
    return release


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


def _verify_file(data: bytes, signature_path: Path, key: minisign.PublicKey, problems: list[str]) -> str | None:
    if not signature_path.is_file():
        problems.append(f"{signature_path}: signature file is missing")
        return None
    try:
        parsed = minisign.parse_signature(signature_path.read_text(), str(signature_path))
        return minisign.verify(data, parsed, key, str(signature_path))
    except minisign.SignatureError as exc:
        problems.append(exc.message)
        return None


def _check_checksums(release: Release) -> None:
    listing = release.kept.get(CHECKSUMS)
    if listing is None:
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


def _check_version_floor(trusted: str | None, floor: str) -> list[str]:
    version = None
    if trusted:
        match = re.search(r"\bversion=(\S+)", trusted)
        version = match.group(1) if match else None
    if version is None:
        return [f"the release version is not signed: cannot enforce --not-older-than {floor} (pass --pubkey)"]
    if _version_key(version) < _version_key(floor):
        return [f"release version {version} is older than {floor}: refusing a rollback"]
    return []


def _version_key(version: str) -> tuple[tuple[int, ...], int, str]:
    core, _, pre = version.partition("-")
    numbers = tuple(int(part) if part.isdigit() else 0 for part in core.split("+")[0].split("."))
    return numbers, 0 if pre else 1, pre
