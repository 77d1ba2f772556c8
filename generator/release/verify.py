"""`mcp-catalog verify`: prove offline that a release tarball or a site folder is what was signed.

Nothing is ever extracted: a tarball's members are read into memory and hashed, so a
hostile archive (`../` names, absolute paths, links, devices) cannot write anywhere; such
members are reported as problems. Every problem is collected, then reported at once.
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


@dataclass
class Release:
    """What was read from a tarball or a folder: each file's SHA-256, and what was wrong on the way."""

    digests: dict[str, str] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

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
    problems = list(release.problems)
    if key is not None:
        trusted = _check_inner_signature(target, release, key, problems) or trusted
    problems += _check_checksums(release)
    if not_older_than is not None:
        problems += _check_version_floor(trusted, not_older_than)
    if problems:
        raise VerificationFailed(target, problems)
    return VerifiedRelease(len(release.digests), key.key_id_hex if key else None, trusted)


def _read_tarball(path: Path) -> Release:
    release = Release()
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            members = archive.getmembers()
            declared = sum(member.size for member in members)
            if declared > MAX_RELEASE_BYTES:
                release.problems.append(f"{path}: members claim {declared} bytes, more than any release holds")
                return release
            roots = {PurePosixPath(m.name).parts[0] for m in members if PurePosixPath(m.name).parts}
            for member in members:
                _read_member(archive, member, release, roots)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        release.problems.append(f"{path}: the archive is truncated or corrupt ({exc})")
    return release


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, release: Release, roots: set[str]) -> None:
    name = PurePosixPath(member.name)
    if member.name.startswith("/") or name.is_absolute():
        release.problems.append(f"{member.name}: absolute path in the archive")
        return
    if ".." in name.parts:
        release.problems.append(f"{member.name}: path climbs out of the release folder ('..')")
        return
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        release.problems.append(f"{member.name}: {kind} to {member.linkname} (releases hold regular files only)")
        return
    if member.isdir():
        return
    if member.issparse() or not member.isfile():
        release.problems.append(f"{member.name}: device, FIFO, sparse or other special file")
        return
    if member.size > MAX_MEMBER_BYTES:
        release.problems.append(f"{member.name}: {member.size} bytes, more than any release file holds")
        return
    if len(roots) != 1:
        release.problems.append(f"{member.name}: the archive must hold exactly one top-level folder")
        return
    handle = archive.extractfile(member)
    assert handle is not None
    release.add("/".join(name.parts[1:]), handle)


def _read_folder(folder: Path) -> Release:
    release = Release()
    for current, directories, names in os.walk(folder):
        for name in sorted(directories + names):
            path = Path(current, name)
            relative = path.relative_to(folder).as_posix()
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                release.problems.append(f"{relative}: symlink to {os.readlink(path)} (releases hold regular files only)")
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    release.add(relative, handle)
            elif not stat.S_ISDIR(info.st_mode):
                release.problems.append(f"{relative}: device, FIFO or other special file")
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


def _check_checksums(release: Release) -> list[str]:
    listing = release.kept.get(CHECKSUMS)
    if listing is None:
        return [f"{CHECKSUMS}: missing from the release"]
    problems, listed = [], {}
    for number, line in enumerate(listing.decode("utf-8", "replace").splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-f]{64})  (.+)", line)
        if not match:
            problems.append(f"{CHECKSUMS}:{number}: not a `<sha256>  <path>` line")
            continue
        listed[match.group(2)] = match.group(1)
    for relative, expected in sorted(listed.items()):
        actual = release.digests.get(relative)
        if actual is None:
            problems.append(f"{relative}: listed in {CHECKSUMS} but missing")
        elif actual != expected:
            problems.append(f"{relative}: content differs from its checksum (modified or corrupted)")
    for relative in sorted(set(release.digests) - set(listed) - _KEPT):
        problems.append(f"{relative}: not listed in {CHECKSUMS} (added after the release was made)")
    return problems


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
