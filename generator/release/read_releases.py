"""Read both releases `diff` compares: each one's catalog document, image mapping and, where needed, bundles.

Each release is read from its normalised `api/v1/catalog.json`, out of a site folder or a tarball:
a tarball is read as `verify` reads it (`tarball_reading.read_release_files`: nothing extracted, each
member's header held against the size list before its bytes are read, nothing read past the last
member needed): first up to its catalog, a few members in (`early_catalog`: scanned server by
server, not held parsed, `catalog_scan`), then once through to the mapping (`read_release`),
keeping the bundle files of the profiles deployed where a namespace loses a server, of their server
folders the withdrawn servers'; nothing of it is parsed before that read has ended without a
problem, since a reviewer may diff an unverified, hostile release. The release's
`mirror/mapping.txt` tells which registry its manifests pull from. `build --previous` reads its
previous release once through to the mapping (`read_scanned_release`), and a second time, for the
same bundles, only when a namespace loses a server (`release_bundles`); the release it builds it
compares record by record, as made (`built_catalog`) and takes its bundles from the files it renders
(`rendered_bundles`). It compares nothing: `diff` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from generator import derived
from generator.errors import UsageError
from generator.models import IMAGE_REF
from generator.output import OutputFile
from generator.paths import CATALOG_JSON, mirror_list
from generator.release.bundle_objects import (
    MAX_BUNDLE_FILE, PROFILES, ReleaseBundles, bundles_of, folder_bundles, folder_owner, is_bundle_file, packed,
)
from generator.release.catalog_scan import ReleaseCatalog, scan_catalog
from generator.release.tarball_reading import read_release_files, read_release_files_hashed


# catalog.json of a 10,000-server catalog is tens of MB; anything far larger is not ours.
MAX_CATALOG_BYTES = 512 << 20


MAPPING = mirror_list("mapping.txt")
PULLED_FROM = "pulled_from"
"""The document key `read_release_catalog` adds: the registries the release's
manifests pull images from (its image mirror, "" for the images' own registries), as the release's
`mirror/mapping.txt` shows them. catalog.json cannot say it: `build --image-mirror` overrides
catalog.yaml's `image_mirror` without changing the document."""


def read_release_catalog(target: Path) -> dict[str, Any]:
    """The normalised catalog document of a release tarball or site folder, with the registries its
    manifests pull from (`PULLED_FROM`) when the release holds its `mirror/mapping.txt`."""
    if target.is_dir():
        raw, mapping = _folder_files(target)
        result = _checked_document(raw, str(target / CATALOG_JSON))
        if mapping is not None:
            result[PULLED_FROM] = _pulled_from(mapping)
        return result
    # The tarball is read as `verify` reads it (unverified, it may be a bomb), the members after
    # the two needed never decompressed.
    return _catalog_of(_read_tarball(target), target)


def read_scanned_release(target: Path) -> tuple[ReleaseCatalog, str | None]:
    """The catalog of a release tarball or site folder, scanned (`catalog_scan`: not held parsed), with
    the registries its manifests pull from, read once (a tarball as `read_release_catalog` reads it);
    and the SHA-256 of a tarball's catalog (None for a site folder), which `release_bundles` holds the
    tarball against when it reads it again. The digest costs nothing: a file kept is hashed as it is read."""
    if target.is_dir():
        return early_catalog(target)
    found, digests = _read_tarball_hashing(target, None, catalog_kept=True)
    if CATALOG_JSON not in found:
        raise UsageError(f"{target}: no {CATALOG_JSON} inside: not an mcp-catalog release")
    catalog = scan_catalog(found.pop(CATALOG_JSON), f"{target}:{CATALOG_JSON}")
    if MAPPING in found:
        catalog.pulled_from = _pulled_from(found[MAPPING])
    return catalog, digests[CATALOG_JSON]


def built_catalog(
    settings: dict[str, Any], records: Mapping[str, dict[str, Any]], digests: dict[str, bytes], image_mirror: str | None
) -> ReleaseCatalog:
    """The catalog being built as `diff` compares it with a release's: its settings, its records made as
    they are asked for and the SHA-256 of each as its `api/v1/catalog.json` will hold it (the records
    the previous release holds with the same bytes are not parsed again: its catalog.json, 90 MB at
    10,000 servers, is not made), with the registry its manifests pull from: the build's
    `--image-mirror`, else catalog.yaml's `image_mirror` (catalog.json cannot say it: the option
    overrides the setting without changing the document)."""
    pulled_from = [(image_mirror or settings.get("image_mirror") or "").rstrip("/")]
    return ReleaseCatalog.of_records(settings, pulled_from, records, digests)


def _folder_files(target: Path) -> tuple[bytes, bytes | None]:
    """The catalog document of a site folder and its image mapping (None without one), neither through a link."""
    document = target / CATALOG_JSON
    if not document.is_file() or document.is_symlink():
        raise UsageError(f"{target} is not a built site ({CATALOG_JSON} is missing)")
    if document.stat().st_size > MAX_CATALOG_BYTES:
        raise UsageError(f"{document} is larger than any catalog document: not an mcp-catalog release")
    mapping = target / MAPPING
    usable = mapping.is_file() and not mapping.is_symlink() and mapping.stat().st_size <= MAX_CATALOG_BYTES
    return document.read_bytes(), mapping.read_bytes() if usable else None


def read_release(
    target: Path, profiles: set[str], servers: set[str], early: tuple[ReleaseCatalog, str | None]
) -> tuple[ReleaseCatalog, ReleaseBundles]:
    """The catalog of a release and the bundles of `profiles` (`bundle_objects`) as far as the folders
    of `servers` (those withdrawn somewhere) and the profile-wide parts render them, given its
    `early_catalog`: a tarball is read once through, its image mapping and every file of those
    profiles' bundles a withdrawn server's objects may be rendered from kept (as `verify` reads it),
    and nothing of them parsed before that read has ended without a problem. With no profile, no
    bundle file is kept. A tarball whose catalog is not the early reading's bytes is refused: it was
    replaced since, and `profiles` are not the ones its catalog needs; otherwise the early reading's
    scan is the catalog (its bytes read once, not kept twice: 93 MB at 10,000 servers)."""
    catalog, digest = early
    if target.is_dir():
        return catalog, folder_bundles(target, servers)
    found = _bundle_files(target, profiles, servers, digest)
    if MAPPING in found:
        catalog.pulled_from = _pulled_from(found[MAPPING])
    return catalog, bundles_of(found, servers)


def release_bundles(target: Path, profiles: set[str], servers: set[str], digest: str | None) -> ReleaseBundles:
    """The bundles of `profiles` as `read_release` reads them, of a release whose catalog was read
    before (`read_scanned_release`, which gave `digest`): `build --previous`, once the diff of its
    catalog with the one being built found something to delete."""
    if target.is_dir():
        return folder_bundles(target, servers)
    return bundles_of(_bundle_files(target, profiles, servers, digest), servers)


def rendered_bundles(files: Iterable[OutputFile], profiles: set[str], servers: set[str]) -> ReleaseBundles:
    """The bundles of `profiles` among the files of a release being built (`build --previous`: none is
    on disk before the build ends), kept as `read_release` keeps a tarball's: the same files (`_of_profiles`),
    large ones packed; a file left out is never made (a profile's all.yaml is written as it is made)."""
    wanted = _of_profiles(profiles, servers)
    return bundles_of({file.path: packed(file.content) for file in files if wanted(file.path)}, servers)


def _bundle_files(target: Path, profiles: set[str], servers: set[str], digest: str | None) -> dict[str, bytes]:
    """The image mapping of a release tarball and the files of `profiles`' bundles a withdrawn server's
    objects may be rendered from, read once through (none with no profile); refused when its catalog
    is no longer the one whose SHA-256 is `digest`: replaced since, it may need other profiles."""
    found, digests = _read_tarball_hashing(target, _of_profiles(profiles, servers) if profiles else None)
    if digests.get(CATALOG_JSON) != digest:
        raise UsageError(f"{target}: its catalog changed between two readings (replaced, or still being written?): "
                         "try again once it is complete")
    return found


def early_catalog(target: Path) -> tuple[ReleaseCatalog, str | None]:
    """The catalog alone (no image mapping), scanned (`catalog_scan`), of a tarball read no further than
    that member (`api/v1/` comes early in path order): enough to tell which namespaces lose a server;
    and the digest of its bytes (None for a site folder, whose bundles are read as they are needed)."""
    if target.is_dir():
        raw, mapping = _folder_files(target)
        catalog = scan_catalog(raw, str(target / CATALOG_JSON))
        if mapping is not None:
            catalog.pulled_from = _pulled_from(mapping)
        return catalog, None
    found = _read_tarball(target, mapping=False)
    if CATALOG_JSON not in found:
        raise UsageError(f"{target}: no {CATALOG_JSON} inside: not an mcp-catalog release")
    raw = found.pop(CATALOG_JSON)
    return scan_catalog(raw, f"{target}:{CATALOG_JSON}"), hashlib.sha256(raw).hexdigest()


def _with_mapping(document: dict[str, Any], found: dict[str, bytes]) -> dict[str, Any]:
    """The catalog document with the registries its manifests pull from, when the release holds its mapping."""
    return {**document, PULLED_FROM: _pulled_from(found[MAPPING])} if MAPPING in found else document


def _of_profiles(profiles: set[str], servers: set[str]) -> Callable[[str], bool]:
    """The bundle files of `profiles`' folders and of the catalog-wide server folders their overlays
    build on: the profile-wide parts, and of the server folders those of `servers` (other servers'
    objects, named for them, are not theirs to delete: a tenth of the bytes and of the work)."""
    folders = tuple(f"{PROFILES}{profile}/" for profile in sorted(profiles))
    return lambda path: is_bundle_file(path) and (path.startswith(folders) or not path.startswith(PROFILES)) \
        and (folder_owner(path) is None or folder_owner(path) in servers)


def _read_tarball(target: Path, also: Callable[[str], bool] | None = None, *, mapping: bool = True) -> dict[str, bytes]:
    """The catalog document and image mapping of a release tarball, and the files `also` accepts."""
    if not target.is_file():
        raise UsageError(f"{target} does not exist: pass a release tarball or a site folder")
    limits = {CATALOG_JSON: MAX_CATALOG_BYTES, **({MAPPING: MAX_CATALOG_BYTES} if mapping else {})}
    return read_release_files(target, limits, also, MAX_BUNDLE_FILE)


def _read_tarball_hashing(
    target: Path, also: Callable[[str], bool] | None, *, catalog_kept: bool = False
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The image mapping of a release tarball and the files `also` accepts, with the SHA-256 of its
    catalog (read, kept only with `catalog_kept`)."""
    if not target.is_file():
        raise UsageError(f"{target} does not exist: pass a release tarball or a site folder")
    limits = {MAPPING: MAX_CATALOG_BYTES, **({CATALOG_JSON: MAX_CATALOG_BYTES} if catalog_kept else {})}
    found, digests = read_release_files_hashed(target, limits, also, MAX_BUNDLE_FILE,
                                               hashed={CATALOG_JSON}, also_as=packed)
    return found, digests


def _catalog_of(found: dict[str, bytes], target: Path) -> dict[str, Any]:
    """`read_release_catalog` of the files read out of the tarball `target`."""
    if CATALOG_JSON not in found:
        raise UsageError(f"{target}: no {CATALOG_JSON} inside: not an mcp-catalog release")
    return _with_mapping(_checked_document(found[CATALOG_JSON], f"{target}:{CATALOG_JSON}"), found)


def _pulled_from(mapping: bytes) -> list[str]:
    """The registries `source=pulled` lines pull from: the mirror each pulled reference puts in front
    of the source's repository path (`derived.mirror_reference` in reverse), "" for a source pulled as is."""
    registries = set()
    for line in mapping.decode("utf-8", errors="replace").splitlines():
        source, _, pulled = line.partition("=")
        if source == pulled or not IMAGE_REF.fullmatch(source):
            registries.add("" if source == pulled else pulled)
            continue
        parts, digest = derived.image_parts(source), IMAGE_REF.fullmatch(source).group("digest")  # type: ignore[union-attr]
        tail = f"/{parts.path}:{parts.tag}" + (f"@{digest}" if digest else "")
        registries.add(pulled.removesuffix(tail) if pulled.endswith(tail) else pulled)
    return sorted(registries)


def _checked_document(raw: bytes, where: str) -> dict[str, Any]:
    """The parsed catalog document, or a UsageError when it is not one."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting past the parser's depth
        raise UsageError(f"{where}: not a catalog document ({exc})") from None
    servers = document.get("servers") if isinstance(document, dict) else None
    catalog = document.get("catalog") if isinstance(document, dict) else None
    if (
        not isinstance(servers, list)
        or not isinstance(catalog, dict)
        or not isinstance(catalog.get("version"), str)
        or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in servers)
        or not isinstance(catalog.get("registries", []), list)
        or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in catalog.get("registries", []))
    ):
        raise UsageError(
            f"{where}: not a catalog document (expected catalog.version, servers[].name and catalog.registries[].name)"
        )
    return document
