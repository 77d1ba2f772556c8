"""`mcp-catalog verify`: prove offline that a release tarball or a site folder is what was signed.

The release is read by `reading` (a folder) or `tarball_reading` (a tarball): nothing extracted,
nothing decompressed that its size list does not allow, every problem collected. Here the
signatures are checked (the archive's before it is opened at all, then the size list's and
SHA256SUMS's inside it), each file's digest held to SHA256SUMS, every listed file required, and
with --not-older-than the signed version held to a floor. Every problem is reported at once, one
line per kind, the names in it escaped.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from generator.errors import CatalogError
from generator.paths import CATALOG_JSON, CHECKSUMS, SIGNATURE_SUFFIX, SIZES
from generator.release import minisign
from generator.release.reading import (
    CHECKSUM_LISTS, MAX_RELEASE_BYTES, MAX_SIGNATURE_BYTES, Release, printable, read_folder,
)
from generator.release.tarball_reading import read_tarball

__all__ = ["VerificationFailed", "VerifiedRelease", "verify_release", "check_version_floor", "version_order"]


class VerificationFailed(CatalogError):
    """Raised by `verify_release` with every problem found."""

    def __init__(self, target: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([*problems, f"{target}: NOT verified ({len(problems)} problem(s))"]))


# The compressed archive: at most the listed bytes and their headers, gzip adding a few per thousand.
MAX_ARCHIVE_BYTES = MAX_RELEASE_BYTES + (1 << 30)
# What is read of the archive at once, for its signature's hash.
_CHUNK = 1 << 20


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
    if target.is_dir():
        _refuse_unpackaged(target)
    trusted = None
    if key is not None and target.is_file():
        # An archive whose signature fails is not opened at all: nothing unsigned is parsed.
        outer: list[str] = []
        trusted = _verify_archive(target, key, outer)
        if outer:
            raise VerificationFailed(target, outer)
    release = read_tarball(target, key) if target.is_file() else read_folder(target, key)
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
    return VerifiedRelease(len(release.digests.keys() - CHECKSUM_LISTS), key.key_id_hex if key else None, trusted)


def _refuse_unpackaged(folder: Path) -> None:
    """A folder holding neither SHA256SUMS nor SIZES was never packaged (most often a site straight
    from `build`): said once, where each list reported missing would suggest a release that lost them."""
    if any(os.path.lexists(folder / name) for name in (CHECKSUMS, SIZES)):
        return
    shown = printable(str(folder))
    if (folder / CATALOG_JSON).is_file():
        problem = (f"{shown}: the output of `mcp-catalog build`, not a release (it holds neither {CHECKSUMS} nor "
                   f"{SIZES}): `mcp-catalog package --site {shlex.quote(shown)}` makes a release of it (a tarball in "
                   "dist/) to verify")
    else:
        problem = (f"{shown}: not a release (it holds neither {CHECKSUMS} nor {SIZES}): pass a release tarball "
                   "or a folder unpacked from one")
    raise VerificationFailed(folder, [problem])


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
    try:
        trusted = _archive_signature_comment(archive, key)
    except _Unchecked as unchecked:
        problems.append(str(unchecked))
        return None
    # mcp-catalog has always signed `file=<name>`: a comment without it cannot tell this release
    # from another one under its name, so it is refused as the stock commands' `grep` refuses it.
    signed = re.search(r" file=(\S+)$", trusted)
    if signed is None:
        problems.append(f"{printable(str(archive))}: its signature's trusted comment names no file (no file=): cannot "
                        "tell it from another release under this name; package the release with `mcp-catalog package`")
        return None
    if signed.group(1) != archive.name:
        problems.append(f"{printable(str(archive))}: its signature was made for {printable(signed.group(1))}: another release "
                        "under this file's name (an older one replayed?), or the file was renamed; verify the file "
                        "the signature names")
        return None
    return trusted


class _Unchecked(Exception):
    """Raised by `_archive_signature_comment` with the problem that keeps the signature from holding."""


def _archive_signature_comment(archive: Path, key: minisign.PublicKey) -> str:
    """The trusted comment of `<archive>.minisig`, once it is found to sign the archive with `key`."""
    signature_path = archive.with_name(archive.name + SIGNATURE_SUFFIX)
    where = printable(str(signature_path))
    if not signature_path.is_file():
        raise _Unchecked(f"{where}: signature file is missing")
    try:
        parsed = minisign.parse_signature(_signature_bytes(signature_path, where).decode(), where)
        return minisign.verify_prehashed(_archive_prehash(archive), parsed, key, where)
    except UnicodeDecodeError:
        raise _Unchecked(f"{where}: not a minisign signature file") from None
    except OSError as error:
        raise _Unchecked(f"{where}: cannot be read ({error.strerror}): give the user running mcp-catalog read access") from None
    except minisign.SignatureError as exc:
        raise _Unchecked(exc.message) from None


def _signature_bytes(path: Path, where: str) -> bytes:
    """The signature file at `path`, read no further than any signature goes."""
    with open(path, "rb") as handle:
        text = handle.read(MAX_SIGNATURE_BYTES + 1)
    if len(text) > MAX_SIGNATURE_BYTES:
        raise _Unchecked(f"{where}: larger than any signature ({MAX_SIGNATURE_BYTES} bytes): not a minisign signature file")
    return text


def _archive_prehash(archive: Path) -> hashlib._Hash:
    """The hash a minisign signature of `archive` signs, the archive read in chunks (never past any release's size)."""
    digest = minisign.prehash()
    with open(archive, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > MAX_ARCHIVE_BYTES:
            raise _Unchecked(f"{printable(str(archive))}: larger than any release ({MAX_ARCHIVE_BYTES} bytes): not read")
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest


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
    for relative in sorted(set(release.digests) - set(listed) - CHECKSUM_LISTS):
        release.flag(relative, f"not listed in {CHECKSUMS} (added after the release was made)")


def check_version_floor(floor: str) -> None:
    """Refuse a `--not-older-than` that is not a release version: compared anyhow, a typo such as
    `v2.0.0` would let every release through and disable the rollback check without a word."""
    if version_order(floor) is None:
        raise CatalogError(f"--not-older-than {printable(floor)}: not a release version (a semantic version such as 1.4.0 "
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
        return [f"the signed release version {printable(version)} is not a semantic version: cannot enforce --not-older-than {floor}"]
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
