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

from generator.errors import CatalogError
from generator.release import minisign
from generator.release.package import CHECKSUMS, SIGNATURE_SUFFIX

_NOT_LISTED = {CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX}


class VerificationFailed(CatalogError):
    """Raised by `verify_release` with every problem found."""

    def __init__(self, target: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([*problems, f"{target}: NOT verified ({len(problems)} problem(s))"]))


@dataclass
class Release:
    """The files of a release as read from a tarball or a folder, and what was wrong on the way."""

    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


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
    release = _read_tarball(target) if target.is_file() else _read_folder(target)
    problems = list(release.problems)
    trusted = None
    key = minisign.read_public_key(pubkey) if pubkey else None
    if key is not None:
        trusted = _check_signatures(target, release, key, problems)
    problems += _check_checksums(release)
    if not_older_than is not None:
        problems += _check_version_floor(trusted, release, not_older_than)
    if problems:
        raise VerificationFailed(target, problems)
    return VerifiedRelease(len(release.files), key.key_id_hex if key else None, trusted)


def _read_tarball(path: Path) -> Release:
    release = Release()
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            members = archive.getmembers()
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
    if not member.isfile():
        release.problems.append(f"{member.name}: device, FIFO or other special file")
        return
    if len(roots) != 1:
        release.problems.append(f"{member.name}: the archive must hold exactly one top-level folder")
        return
    handle = archive.extractfile(member)
    assert handle is not None
    release.files["/".join(name.parts[1:])] = handle.read()


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
                release.files[relative] = path.read_bytes()
            elif not stat.S_ISDIR(info.st_mode):
                release.problems.append(f"{relative}: device, FIFO or other special file")
        directories[:] = [d for d in directories if not Path(current, d).is_symlink()]
    return release


def _check_signatures(target: Path, release: Release, key: minisign.PublicKey, problems: list[str]) -> str | None:
    trusted = None
    if target.is_file():
        signature_path = target.with_name(target.name + SIGNATURE_SUFFIX)
        trusted = _verify_file(target.read_bytes(), signature_path, key, problems)
    inner = release.files.get(CHECKSUMS + SIGNATURE_SUFFIX)
    if CHECKSUMS in release.files and inner is not None:
        try:
            parsed = minisign.parse_signature(inner.decode(), f"{CHECKSUMS}{SIGNATURE_SUFFIX}")
            inner_trusted = minisign.verify(release.files[CHECKSUMS], parsed, key, CHECKSUMS)
            trusted = trusted or inner_trusted
        except (minisign.SignatureError, UnicodeDecodeError) as exc:
            problems.append(str(exc.message if isinstance(exc, minisign.SignatureError) else exc))
    elif not target.is_file():
        problems.append(f"{CHECKSUMS}{SIGNATURE_SUFFIX}: missing, so the folder's checksums cannot be trusted")
    return trusted


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
    listing = release.files.get(CHECKSUMS)
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
        content = release.files.get(relative)
        if content is None:
            problems.append(f"{relative}: listed in {CHECKSUMS} but missing")
        elif hashlib.sha256(content).hexdigest() != expected:
            problems.append(f"{relative}: content differs from its checksum (modified or corrupted)")
    for relative in sorted(set(release.files) - set(listed) - _NOT_LISTED):
        problems.append(f"{relative}: not listed in {CHECKSUMS} (added after the release was made)")
    return problems


def _check_version_floor(trusted: str | None, release: Release, floor: str) -> list[str]:
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
