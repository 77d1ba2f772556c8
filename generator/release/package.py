"""`mcp-catalog package`: a reproducible, checksummed and optionally signed release tarball.

The same site and SOURCE_DATE_EPOCH give a byte-identical tarball on any machine: entries
sorted, every mtime fixed, uid/gid 0 with empty owner names, modes 0644/0755, and a gzip
header without file name or time at a fixed compression level. SHA256SUMS covers every file
of the site; it goes inside the tarball (so a mirrored site can be verified) and beside it.

SIZES lists the byte size of every other member (`<bytes>  <path>` per line, sorted by path:
the site's files, SHA256SUMS and its signature) and is, with its own signature SIZES.minisig,
the first thing in the tarball, right after the top-level folder. `verify` reads it, checks its
signature, and then compares each member's header with it before reading the member: a
tampered archive cannot make it decompress more than the listed bytes (see `verify`).

Nothing is held whole: the lists need every file's digest and size before the tarball begins,
so each file is read twice in chunks (`survey_site`, then into the tarball, compressed as it
goes), and a file whose second reading differs fails the package. The files go into --out all
together or not at all (`staged`).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.archive import TarballWriter, path_order
from generator.errors import CatalogError, OutputError, UsageError, os_advice
from generator.paths import CATALOG_JSON, CHECKSUMS, SIGNATURE_SUFFIX, SIZES, release_name
from generator.release import minisign, staged
from generator.release.reading import MAX_LIST_BYTES
from generator.release.read_releases import read_release_catalog

# Files a release adds to the site: never taken from a site folder being packaged.
RELEASE_LISTS = (CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX, SIZES, SIZES + SIGNATURE_SUFFIX)
# What is read or written at once: a site's largest file (a whole-catalog document) is 100 MB at 10,000 servers.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ReleaseInfo:
    """What identifies a release: taken from the site's own catalog document."""

    name: str
    title: str
    version: str
    last_updated: str

    @property
    def trusted_comment(self) -> str:
        """Signed with every signature, so a replayed older release is recognisable."""
        return f"mcp-catalog release name={self.name} version={self.version} date={self.last_updated}"


@dataclass(frozen=True)
class PackageResult:
    """The files `package` wrote."""

    tarball: Path
    checksums: Path
    signatures: tuple[Path, ...]
    stale: tuple[Path, ...] = ()
    """Signatures removed, unsigned, because they signed the bytes this run replaced."""


def release_info(site: Path) -> ReleaseInfo:
    """Read name, version and date from the built site's api/v1/catalog.json."""
    document = site / CATALOG_JSON
    if not document.is_file():
        raise UsageError(f"{site} is not a built site ({CATALOG_JSON} is missing): run `mcp-catalog build` first")
    try:
        catalog = _catalog_object(document)
    except OSError as error:
        raise UsageError(f"{document}: cannot read it: {error.strerror or error}") from None
    if catalog is None:
        catalog = read_release_catalog(site)["catalog"]
    title, last_updated = catalog.get("title"), catalog.get("last_updated")
    if not isinstance(title, str) or not isinstance(last_updated, str) or not isinstance(catalog.get("version"), str):
        raise UsageError(f"{site}: {CATALOG_JSON} lacks the catalog title, version or last_updated: rebuild the site")
    return ReleaseInfo(release_name(title), title, catalog["version"], last_updated)


def _catalog_object(document: Path) -> dict[str, Any] | None:
    """The document's `catalog` object, parsed without its servers (a build writes it first): the
    whole document is 93 MB at 10,000 servers and took 430 MB to parse. None when it does not begin
    with that object."""
    prefix, decoder = b'{"catalog":', json.JSONDecoder()
    with open(document, "rb") as handle:
        if handle.read(len(prefix)) != prefix:
            return None
        head = b""
        while chunk := handle.read(_CHUNK):
            head += chunk
            try:
                value, _ = decoder.raw_decode(head.decode())
            except ValueError:  # the object goes on in the next chunk (or a character does)
                continue
            return value if isinstance(value, dict) else None
    return None


def site_files(site: Path) -> list[str]:
    """Every regular file of the site as a sorted POSIX path, the release's lists and signatures excluded.

    A symlink or special file is refused: packaging must not carry files from outside the site.
    """
    files, refused = [], []
    for folder, directories, names in os.walk(site):
        for name in sorted(directories + names):
            path = Path(folder, name)
            relative = path.relative_to(site).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                refused.append(relative)
            elif stat.S_ISREG(mode) and relative not in RELEASE_LISTS:
                files.append(relative)
    if refused:
        raise UsageError(f"{site} holds links or special files, which a release cannot carry: {', '.join(sorted(refused))}")
    return sorted(files)


@dataclass(frozen=True, slots=True)  # slots: one per file, 110,000 at 10,000 servers
class SiteFile:
    """What the first reading of a site file found: the tarball must carry exactly these bytes."""

    size: int
    sha256: str


class SiteChanged(CatalogError):
    """Raised by `package` when a site file is not what its first reading found (a build writing the
    site meanwhile): the tarball would disagree with its own SHA256SUMS and SIZES."""


def survey_site(site: Path, files: list[str]) -> dict[str, SiteFile]:
    """Size and SHA-256 of every file, each read in chunks; every file that cannot be read is named at once."""
    surveyed, problems = {}, []
    for relative in files:
        path = site / relative
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256")
                surveyed[relative] = SiteFile(handle.tell(), digest.hexdigest())
        except OSError as error:
            problems.append(f"{path}: cannot read it: {error.strerror or error}")
    if problems:
        raise UsageError("\n".join([*problems, "nothing was packaged"]))
    return surveyed


def checksums_text(files: Mapping[str, SiteFile]) -> str:
    """`sha256sum` format: one `<hex>  <path>` line per file, sorted by path."""
    return "".join(f"{files[path].sha256}  {path}\n" for path in sorted(files))


def sizes_text(sizes: Mapping[str, int]) -> str:
    """SIZES: one `<bytes>  <path>` line per member, sorted by path (the form of SHA256SUMS, sizes for digests)."""
    return "".join(f"{sizes[path]}  {path}\n" for path in sorted(sizes))


def write_release_tarball(write: Callable[[bytes], object], root: str, head: dict[str, bytes], site: Path,
                          surveyed: Mapping[str, SiteFile], added: Mapping[str, bytes], mtime: int) -> None:
    """The .tar.gz, handed to `write` as it is made: the folder `root`, then the `head` files (SIZES
    and its signature) in that order, in a gzip member of their own, then the site's files (read
    again, chunk by chunk, and held to `surveyed`) and the `added` ones in path order with their folders."""
    writer = TarballWriter(write, mtime)
    writer.entry(root, None)
    for name, data in head.items():
        writer.entry(f"{root}/{name}", len(data), [data])
    writer.end_member()
    for path in sorted([*surveyed, *added], key=path_order):
        if path in added:
            writer.file_with_folders(f"{root}/{path}", len(added[path]), [added[path]])
        else:
            writer.file_with_folders(f"{root}/{path}", surveyed[path].size, _as_surveyed(site / path, surveyed[path]))
    writer.close()


def _as_surveyed(path: Path, surveyed: SiteFile) -> Iterator[bytes]:
    """The file's bytes in chunks, SiteChanged as soon as they are not the ones `survey_site` read."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > surveyed.size:
                    break
                digest.update(chunk)
                yield chunk
    except OSError as error:
        raise SiteChanged(f"{path}: cannot read it: {error.strerror or error}") from None
    if size != surveyed.size or digest.hexdigest() != surveyed.sha256:
        raise SiteChanged(f"{path}: changed while it was being packaged (a build writing the site?): its bytes are "
                          "not the ones SHA256SUMS and SIZES were made from; package again once the site is built")


def source_date_epoch(info: ReleaseInfo) -> int:
    """SOURCE_DATE_EPOCH when set, else the catalog's last_updated."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        value = os.environ["SOURCE_DATE_EPOCH"]
        if not value.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds since 1970")
        return int(value)
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(info.last_updated.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise UsageError(f"last_updated {info.last_updated!r} is not an RFC 3339 time: rebuild the site") from None


def package_site(site: Path, out: Path, key: Path | None, replace: bool = False) -> PackageResult:
    """Write `<name>-<version>.tar.gz` (holding SIZES first, see above), SHA256SUMS and, with a key,
    both `.minisig` files into `out`: all of them or, on any error, none (see `staged`).

    A tarball of the same name with other bytes is a release of this version already handed out
    (perhaps signed and carried across the gap): two releases with one version cannot be told
    apart, so it is replaced only with `replace`, and nothing is written otherwise. The same
    bytes again are fine (the tarball is reproducible).

    Memory holds the lists and one chunk of a file, never the site or the tarball: each file is
    read twice, for its digest and size (the lists come first in the tarball), then into the tarball.
    """
    info = release_info(site)
    _refuse_out_inside(site, out)
    files = site_files(site)
    root = f"{info.name}-{info.version}"
    tarball, checksums = out / f"{root}.tar.gz", out / CHECKSUMS
    secret = minisign.read_secret_key(key) if key is not None else None
    mtime = source_date_epoch(info)
    _refuse_what_is_in_the_way(_put_in_place_order(checksums, tarball))
    surveyed = survey_site(site, files)
    added, head = release_lists(surveyed, secret, info)
    if not replace and _head_of(tarball, root) not in (None, head[SIZES]):
        _refuse_other_content(tarball, info)  # known from the old tarball's first member, before a minute of work

    def make_tarball(write: Callable[[bytes], object]) -> None:
        write_release_tarball(write, root, head, site, surveyed, added, mtime)

    made_out = not out.exists()
    try:
        lists = _stage_release(out, tarball, make_tarball, added[CHECKSUMS], info, secret, replace)
    except BaseException:
        if made_out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    return PackageResult(tarball, checksums, tuple(lists.signatures), tuple(lists.stale_of.values()))


def release_lists(surveyed: Mapping[str, SiteFile], secret: minisign.SecretKey | None,
                  info: ReleaseInfo) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """What the release adds to the site's files: SHA256SUMS and, with `secret`, its signature, packed
    with them; and the tarball's head, SIZES (of those files and the added ones) and its signature."""
    sums = checksums_text(surveyed).encode()
    # The site folder itself is left as built; the release adds its checksums and, when signed,
    # their signature, so that an unpacked or mirrored copy can be verified on its own.
    added = {CHECKSUMS: sums}
    sums_signature = _signature(minisign.prehash(sums), secret, info, CHECKSUMS)
    if sums_signature is not None:
        added[CHECKSUMS + SIGNATURE_SUFFIX] = sums_signature
    sizes = sizes_text({**{path: file.size for path, file in surveyed.items()},
                        **{path: len(data) for path, data in added.items()}}).encode()
    head = {SIZES: sizes}
    sizes_signature = _signature(minisign.prehash(sizes), secret, info, SIZES)
    if sizes_signature is not None:
        head[SIZES + SIGNATURE_SUFFIX] = sizes_signature
    return added, head


def _put_in_place_order(checksums: Path, tarball: Path) -> list[Path]:
    """The release's files in the order they are put in place: a kill between two renames leaves a
    file beside its old signature (or a stale signature removed first), which `verify` reports;
    never a file cut short."""
    return [checksums, _signature_path(checksums), tarball, _signature_path(tarball)]


def _stage_release(out: Path, tarball: Path, make_tarball: Callable[[Callable[[bytes], object]], None], sums: bytes,
                   info: ReleaseInfo, secret: minisign.SecretKey | None, replace: bool) -> _Lists:
    """Stage the tarball (handed over by `make_tarball` as it is made), SHA256SUMS (`sums`) and their
    signatures in `out`, then give them their names together; a tarball of that name with other bytes
    is refused unless `replace`."""
    checksums, unchanged = out / CHECKSUMS, f"{out} is as it was"
    with _writing(out, unchanged):
        out.mkdir(parents=True, exist_ok=True)
        staged.remove_leftovers(out)
    with staged.staging() as staging:
        digest = _stage_tarball(staging, tarball, make_tarball, unchanged)
        old_digest = _digest_of(tarball, unchanged)
        if not replace and old_digest is not None and old_digest != digest.digest():
            _refuse_other_content(tarball, info)
        with _writing(checksums, unchanged):
            staging.create(checksums).write(sums)
        lists = _stage_signatures(staging, info, secret, [(checksums, minisign.prehash(sums),
                                                           _digest_of(checksums, unchanged)),
                                                          (tarball, digest, old_digest)], unchanged)
        with _writing(out, "the files renamed before it are the new release's: package again"):
            staging.put_in_place(_put_in_place_order(checksums, tarball), lists.stale_of)
    return lists


def _stage_tarball(staging: staged.Staging, tarball: Path, make_tarball: Callable[[Callable[[bytes], object]], None],
                   unchanged: str) -> hashlib._Hash:
    """The tarball written to its temporary as `make_tarball` hands it over; the hash its signature signs, made on the way."""
    with _writing(tarball, unchanged):
        handle, digest = staging.create(tarball), minisign.prehash()

        def write_and_hash(data: bytes) -> None:
            digest.update(data)
            handle.write(data)

        make_tarball(write_and_hash)
    return digest


def _refuse_out_inside(site: Path, out: Path) -> None:
    """An --out that is the site or lies in it: this release would be packaged into the next one,
    and the next build of the site (an atomic switch of the whole folder) would take it away."""
    site_real, out_real = site.resolve(), out.resolve()
    if out_real == site_real or site_real in out_real.parents:
        raise UsageError(f"--out {out} is inside --site {site}: the next package would carry this release in "
                         "its tarball, and the next build would remove it; package into a folder outside the site")


def _head_of(tarball: Path, root: str) -> bytes | None:
    """The size list an existing release tarball begins with (its first member), None when there is no
    tarball or its beginning is not one: then only its digest, after the new tarball is made, can tell."""
    try:
        with tarfile.open(tarball, "r|gz") as archive:
            first = archive.next()  # the root folder, then SIZES
            if first is not None and first.isdir() and first.name == root:
                first = archive.next()
            if first is None or first.name != f"{root}/{SIZES}" or not first.isfile() or first.size > MAX_LIST_BYTES:
                return None
            member = archive.extractfile(first)
            return None if member is None else member.read()
    except (OSError, EOFError, tarfile.TarError, zlib.error):
        return None


def _refuse_other_content(tarball: Path, info: ReleaseInfo) -> None:
    raise UsageError(f"{tarball} already holds release {info.version} with other content: raise the "
                     "catalog's version for a new release, or pass --replace to overwrite this one (anyone "
                     "holding the old one must be told)")


def _refuse_what_is_in_the_way(targets: list[Path]) -> None:
    """A folder (or other non-file) where a file of the release goes: refused before any work."""
    problems = [f"{path}: not a file, and a file of the release goes there: move it away, or package into another --out"
                for path in targets if (path.exists() or path.is_symlink()) and not path.is_file()]
    if problems:
        raise UsageError("\n".join(problems))


@dataclass
class _Lists:
    """The signatures staged, and those the new bytes make stale."""

    signatures: list[Path]
    stale_of: dict[Path, Path]
    """A file -> its signature, which signed the bytes the unsigned new ones replace."""


def _stage_signatures(staging: staged.Staging, info: ReleaseInfo, secret: minisign.SecretKey | None,
                      files: list[tuple[Path, hashlib._Hash, bytes | None]], unchanged: str) -> _Lists:
    """Stage the signature of each (file, digest of its new bytes, digest of its old ones or None), or
    with no key find the signatures the new bytes make stale."""
    lists = _Lists([], {})
    for path, digest, old_digest in files:
        target = _signature_path(path)
        signature = _signature(digest, secret, info, path.name)
        if signature is None and target.is_file() and old_digest != digest.digest():
            # Unsigned, new bytes replace ones that were signed (an earlier release's SHA256SUMS,
            # or with --replace its tarball) or come beside a signature whose file is gone: a
            # signature must not stay beside bytes it does not sign.
            lists.stale_of[path] = target
        if signature is not None:
            with _writing(target, unchanged):
                staging.create(target).write(signature)
            lists.signatures.append(target)
    return lists


def _signature_path(path: Path) -> Path:
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def _digest_of(path: Path, unchanged: str) -> bytes | None:
    """The BLAKE2b-512 of the file at `path`, read in chunks; None when there is none."""
    if not path.is_file():
        return None
    digest = minisign.prehash()
    with _writing(path, unchanged), open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


@contextmanager
def _writing(path: Path, outcome: str) -> Iterator[None]:
    """An OSError inside as `path: reason: what to do; outcome` (a write to an open file names no path)."""
    try:
        yield
    except OSError as error:
        where = error.filename if error.filename is not None and not str(error.filename).startswith("/proc/") else path
        raise OutputError(f"{where}: {error.strerror or error}: {os_advice(error, 'package into another --out')}; "
                          f"{outcome}") from None


def _signature(digest: hashlib._Hash, key: minisign.SecretKey | None, info: ReleaseInfo, file_name: str) -> bytes | None:
    if key is None:
        return None
    return minisign.sign_prehashed(digest, key, f"{info.trusted_comment} file={file_name}").encode()
