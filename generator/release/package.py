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
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from generator.archive import PieceWriter, join_pieces, path_order
from generator.errors import UsageError
from generator.paths import CATALOG_JSON, CHECKSUMS, SIGNATURE_SUFFIX, SIZES, release_name
from generator.release import minisign
from generator.release.diff import read_release_catalog

# Files a release adds to the site: never taken from a site folder being packaged.
RELEASE_LISTS = (CHECKSUMS, CHECKSUMS + SIGNATURE_SUFFIX, SIZES, SIZES + SIGNATURE_SUFFIX)


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
    catalog = read_release_catalog(site)["catalog"]
    title, last_updated = catalog.get("title"), catalog.get("last_updated")
    if not isinstance(title, str) or not isinstance(last_updated, str):
        raise UsageError(f"{site}: {CATALOG_JSON} lacks the catalog title or last_updated: rebuild the site")
    return ReleaseInfo(release_name(title), title, catalog["version"], last_updated)


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


def checksums_text(site: Path, files: list[str]) -> str:
    """`sha256sum` format: one `<hex>  <path>` line per file, sorted by path."""
    lines = []
    for relative in files:
        digest = hashlib.sha256((site / relative).read_bytes()).hexdigest()
        lines.append(f"{digest}  {relative}\n")
    return "".join(lines)


def sizes_text(contents: dict[str, bytes]) -> str:
    """SIZES: one `<bytes>  <path>` line per member, sorted by path (the form of SHA256SUMS, sizes for digests)."""
    return "".join(f"{len(contents[path])}  {path}\n" for path in sorted(contents))


def release_tarball(root: str, head: dict[str, bytes], contents: dict[str, bytes], mtime: int) -> bytes:
    """The .tar.gz: the folder `root`, then the `head` files (SIZES and its signature) in that
    order, then `contents` in path order with their folders."""
    first = PieceWriter(mtime)
    first.entry(root, None)
    for name, data in head.items():
        first.entry(f"{root}/{name}", data)
    rest = PieceWriter(mtime, folders=first.folders)
    for path in sorted(contents, key=path_order):
        rest.file_with_folders(f"{root}/{path}", contents[path])
    return join_pieces([first.finish(), rest.finish()])


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
    both `.minisig` files into `out`.

    A tarball of the same name with other bytes is a release of this version already handed out
    (perhaps signed and carried across the gap): two releases with one version cannot be told
    apart, so it is replaced only with `replace`, and nothing is written otherwise. The same
    bytes again are fine (the tarball is reproducible).
    """
    info = release_info(site)
    files = site_files(site)
    sums = checksums_text(site, files).encode()
    root = f"{info.name}-{info.version}"
    tarball = out / f"{root}.tar.gz"
    secret = minisign.read_secret_key(key) if key is not None else None
    contents = {relative: (site / relative).read_bytes() for relative in files}
    # The site folder itself is left as built; the release adds its checksums and, when signed,
    # their signature, so that an unpacked or mirrored copy can be verified on its own.
    contents[CHECKSUMS] = sums
    sums_signature = _signature(sums, secret, info, CHECKSUMS)
    if sums_signature is not None:
        contents[CHECKSUMS + SIGNATURE_SUFFIX] = sums_signature
    sizes = sizes_text(contents).encode()
    head = {SIZES: sizes}
    sizes_signature = _signature(sizes, secret, info, SIZES)
    if sizes_signature is not None:
        head[SIZES + SIGNATURE_SUFFIX] = sizes_signature
    packed = release_tarball(root, head, contents, source_date_epoch(info))
    if not replace and tarball.is_file() and tarball.read_bytes() != packed:
        raise UsageError(f"{tarball} already holds release {info.version} with other content: raise the catalog's "
                         "version for a new release, or pass --replace to overwrite this one (anyone holding the old "
                         "one must be told)")
    out.mkdir(parents=True, exist_ok=True)
    checksums = out / CHECKSUMS
    signatures: list[Path] = []
    stale: list[Path] = []
    for path, data in ((checksums, sums), (tarball, packed)):
        target = path.with_name(path.name + SIGNATURE_SUFFIX)
        signature = _signature(data, secret, info, path.name)
        if signature is None and target.is_file() and (not path.is_file() or path.read_bytes() != data):
            # Unsigned, new bytes replace ones that were signed (an earlier release's SHA256SUMS,
            # or with --replace its tarball) or come beside a signature whose file is gone: a
            # signature must not stay beside bytes it does not sign.
            target.unlink()
            stale.append(target)
        path.write_bytes(data)
        if signature is not None:
            target.write_bytes(signature)
            signatures.append(target)
    return PackageResult(tarball, checksums, tuple(signatures), tuple(stale))


def _signature(data: bytes, key: minisign.SecretKey | None, info: ReleaseInfo, file_name: str) -> bytes | None:
    if key is None:
        return None
    return minisign.sign(data, key, f"{info.trusted_comment} file={file_name}").encode()
