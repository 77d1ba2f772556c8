"""`mcp-catalog diff OLD NEW`: what changed between two releases that a review board must see.

Each release is read from its normalised `api/v1/catalog.json`, out of a site folder or a tarball:
a tarball is read as `verify` reads it (`verify.read_release_files`: nothing extracted, each
member's header held against the size list before its bytes are read, nothing read past the last
member needed): first up to its catalog, a few members in (scanned server by server, not held
parsed: `catalog_scan`), then once through to the mapping, keeping the bundle files of the profiles
deployed where a namespace loses a server, of their server folders the withdrawn servers'; nothing of it is
parsed before that read has ended without a problem, since a reviewer may diff an unverified, hostile release; that document holds catalog.yaml's settings as well as every
server, and the release's `mirror/mapping.txt` tells which registry its manifests pull from, so
everything below is decided from the two releases alone. Reported, in four groups:

- catalog-wide: the registry namespace server names default under, the image mirror
  (catalog.yaml's and the one the manifests use), the ToolHive images, charts, pull secrets and
  cluster DNS;
- per registry profile: new and removed profiles (a new one taking a removed one's namespace is that
  profile renamed, compared with it; a removed or renamed one's registry objects, which no release
  ships any more, named with the commands deleting them), every changed selection or policy field, and
  the effect a reviewer signs: the servers the profile now admits or no longer admits, why it leaves
  out a new server its selection picks, and, per server it keeps admitting, the tools it now keeps
  or withholds and, shipped in both releases, which of what its namespace runs changed (kind, image,
  egress, secrets...: the reviewer signing for a namespace sees every change to what runs there)
  (worked out with the same rules the build uses, `generator.derived`, from each release's own data);
- what to delete: each MCPServer or MCPRemoteProxy a profile's namespace was shipped and no longer
  is (the server withdrawn, all its tools withheld, the profile gone or moved), with the command
  that deletes it and, when the releases' bundles are at hand (`diff_release_targets`), every other
  object the old bundle rendered for that server there and the new one no longer renders (its
  NetworkPolicies keep allowing what the new release no longer grants). Admission refuses a new one,
  but what a deployer applied earlier keeps running, and only the diff, holding both releases, knows
  what that was;
- per server: added, removed or deprecated servers, and the change of every field a workload, a
  policy or a client takes: image or digest, tier, transport, status, remote URL and headers,
  permissions (hosts, ports, open egress, file paths), port, resources, provenance, tools (their
  annotations, deployed names and descriptions, input schemas), env variables (per-profile values
  included), args, secrets, packages and the review; every other field of the record by its dotted
  path, but the prose of NOT_COMPARED.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from generator import derived
from generator.errors import UsageError
from generator.models import IMAGE_REF, CatalogMeta, RegistryProfile, Server
from generator.paths import CATALOG_JSON, mirror_list
from generator.release.catalog_scan import ReleaseCatalog, scan_catalog
from generator.release.bundle_objects import (
    CLUSTER_SCOPED, MAX_BUNDLE_FILE, NAME, PROFILES, ReleaseBundles, UnreadBundle, folder_owner, bundles_of, folder_bundles,
    is_bundle_file, packed,
)
from generator.release.verify import read_release_files, read_release_files_hashed
from generator.render.kubernetes.names import (
    ServerNames, database_secret_name, pgpass_secret_name, registry_data_name, registry_resource_name, registry_service_name,
)


@dataclass(frozen=True)
class ServerChange:
    """One server's review-relevant changes, each a short sentence."""

    name: str
    changes: list[str]


@dataclass(frozen=True)
class ProfileChange:
    """One registry profile's review-relevant changes: its policy fields and what it now admits."""

    name: str
    changes: list[str]
    shipped_changed: dict[str, list[str]] = field(default_factory=dict)
    """Each server the profile ships in both releases whose record changed in what the namespace runs
    (`WORKLOAD_CHANGES`: kind, image, remote URL, egress, file paths, secrets), by name: the labels of
    what changed, the server's own `changed` entry giving the detail. `changes` says the same in words."""
    left_out_new: dict[str, list[str]] = field(default_factory=dict)
    """Each server new in this release that the profile's selection picks and its rules leave out,
    by name: why (`derived.left_out_because`). `changes` says the same in words."""


@dataclass(frozen=True)
class Withdrawn:
    """A workload a profile's namespace was shipped by the old release and is not by the new one."""

    profile: str
    """The profile that shipped it (in the old release)."""
    server: str
    namespace: str
    resource: str
    """`mcpserver` or `mcpremoteproxy`."""
    name: str
    """The object's name (the server's, as the bundles name its workload)."""
    command: str
    """The kubectl command deleting it and, when both releases' bundles were read, every other object
    of the server `objects` names (it may never have been applied: not found is no error)."""
    objects: list[str] = field(default_factory=list)
    """`kind/name` of every object the old release's bundle rendered for the server in the namespace
    and the new one renders there no more, the workload among them, and of the Secret made by hand
    from the server's template (`secret/<server>-secrets`) where the old release shipped one and the
    new one deploys the server there no more; empty when the bundles were not read."""
    variants: list[str] = field(default_factory=list)
    """The old bundle's variants these objects are of ("current", "legacy"), when the bundles were read."""
    why: str = ""
    """Why the namespace has it no more, as the command's comment says it: `withdrawn from profile p`
    (no longer admitted or shipped), `now an mcpremoteproxy of profile p` (the server changed kind),
    `profile p moved to namespace n`, `profile p removed`."""


@dataclass(frozen=True)
class Vacated:
    """A namespace the old release's profiles were deployed to and no profile of the new one is (a
    profile removed or moved to another namespace): `kubectl apply` of the new release never touches
    it, so what the old bundle put there keeps working as that release set it: the deployers' Role
    (which still lets them create servers there), the registry serving the old entries, the
    NetworkPolicies, and the admission policies bound to the namespace, which keep admitting what the
    old release admitted."""

    namespace: str
    profiles: list[str]
    """The old release's profiles deployed to it."""
    commands: list[str] = field(default_factory=list)
    """The kubectl commands deleting, in this order, every object of the profiles' bundles but the
    servers' (`to delete` has those) and the Namespace: `_with_namespace_objects`. Empty when the
    bundles were not read."""
    objects: list[str] = field(default_factory=list)
    """`kind/name` of each object the commands delete."""


@dataclass
class ReleaseDiff:
    """The difference between two catalog releases."""

    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    deprecated: list[str] = field(default_factory=list)
    changed: list[ServerChange] = field(default_factory=list)
    catalog: list[str] = field(default_factory=list)
    """Catalog-wide changes (ToolHive images and charts, pull secrets, the image mirror)."""
    profiles: list[ProfileChange] = field(default_factory=list)
    withdrawn: list[Withdrawn] = field(default_factory=list)
    """The workloads to delete where a deployer applied them: admission stops only new ones."""
    introduced: list[ServerChange] = field(default_factory=list)
    """What each added server brings, as changes from nothing: its image, egress, secrets, tools..."""
    vacated: list[Vacated] = field(default_factory=list)
    """The namespaces no profile is deployed to any more, and what of the old release to delete there."""

    @property
    def empty(self) -> bool:
        """True when nothing review-relevant changed."""
        return not (self.added or self.removed or self.deprecated or self.changed or self.catalog or self.profiles
                    or self.withdrawn or self.vacated)

    @property
    def withdrawn_commands(self) -> str:
        """The commands deleting each withdrawn workload, one a line, each saying which server it is."""
        split = Counter((item.profile, item.server, item.namespace) for item in self.withdrawn)
        return "\n".join(f"{item.command}   # {item.server}, {item.why}"
                         + (f" ({' and '.join(item.variants)} operators)" if split[item.profile, item.server, item.namespace] > 1 else "")
                         for item in self.withdrawn)

    @property
    def brings(self) -> dict[str, list[str]]:
        """What each added server brings (`introduced`), by name."""
        return {server.name: server.changes for server in self.introduced}

    def as_json(self) -> dict[str, Any]:
        """A plain, stable JSON form."""
        return asdict(self)

    def as_text(self) -> str:
        """The report a reviewer reads."""
        lines = [f"Changes from {_shown(self.old_version)} to {_shown(self.new_version)}"]
        if self.empty:
            return lines[0] + ": none that need review\n"
        if self.catalog:
            lines.append("  catalog-wide:")
            lines.extend(f"    - {item}" for item in self.catalog)
        for profile in self.profiles:
            lines.append(f"  profile: {_shown(profile.name)}")
            lines.extend(f"    - {item}" for item in profile.changes)
        if self.withdrawn:
            lines.append("  to delete (no longer shipped to the namespace; admission refuses only new ones, so what a "
                         "deployer applied earlier keeps running):")
            lines.extend(f"    {command}" for command in self.withdrawn_commands.splitlines())
        for namespace in self.vacated:
            lines.append(f"  namespace {namespace.namespace} (profile {', '.join(map(_shown, namespace.profiles))} of "
                         f"{_shown(self.old_version)}): {VACATED_NOTE}; after the commands above, in this order:")
            lines.extend(f"    {command}" for command in namespace.commands or [VACATED_UNREAD])
        brings = self.brings
        for label, names in (("added", self.added), ("removed", self.removed), ("deprecated", self.deprecated)):
            for name in names:
                lines.append(f"  {label}: {_shown(name)}")
                lines.extend(f"    - {item}" for item in brings.get(name, []) if label == "added")
        for change in self.changed:
            lines.append(f"  changed: {_shown(change.name)}")
            lines.extend(f"    - {item}" for item in change.changes)
        return "\n".join(lines) + "\n"


VACATED_NOTE = ("no profile is deployed here any more, and the new release's kubectl apply never touches it: "
                "the deployers' Role, the registry and the admission policies bound to it keep working as the old "
                "release set them until deleted (the namespace itself too, once nothing of yours is left in it)")
VACATED_STEPS = ("its registry and its database Secret, Roles and service account",
                 "the admission policies bound to it, once no Role lets deployers create servers there",
                 "its network and mesh policies, once nothing else runs there (they confine every pod of it)")
VACATED_UNREAD = "(the bundles were not read: run mcp-catalog diff on the two releases for the commands)"


# catalog.json of a 10,000-server catalog is tens of MB; anything far larger is not ours.
MAX_CATALOG_BYTES = 512 << 20


MAPPING = mirror_list("mapping.txt")
PULLED_FROM = "pulled_from"
"""The document key `read_release_catalog` and `with_pulled_from` add: the registries the release's
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
    `_early_catalog`: a tarball is read once through, its image mapping and every file of those
    profiles' bundles a withdrawn server's objects may be rendered from kept (as `verify` reads it),
    and nothing of them parsed before that read has ended without a problem. With no profile, no
    bundle file is kept. A tarball whose catalog is not the early reading's bytes is refused: it was
    replaced since, and `profiles` are not the ones its catalog needs; otherwise the early reading's
    scan is the catalog (its bytes read once, not kept twice: 93 MB at 10,000 servers)."""
    catalog, digest = early
    if target.is_dir():
        return catalog, folder_bundles(target, servers)
    found, digests = _read_tarball_hashing(target, _of_profiles(profiles, servers) if profiles else None)
    if digests.get(CATALOG_JSON) != digest:
        raise UsageError(f"{target}: its catalog changed between two readings (replaced, or still being written?): "
                         "diff again once it is complete")
    if MAPPING in found:
        catalog.pulled_from = _pulled_from(found[MAPPING])
    return catalog, bundles_of(found, servers)


def _early_catalog(target: Path) -> tuple[ReleaseCatalog, str | None]:
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


def _read_tarball_hashing(target: Path, also: Callable[[str], bool] | None) -> tuple[dict[str, bytes], dict[str, str]]:
    """The image mapping of a release tarball and the files `also` accepts, with the SHA-256 of its
    catalog (read, not kept)."""
    if not target.is_file():
        raise UsageError(f"{target} does not exist: pass a release tarball or a site folder")
    found, digests = read_release_files_hashed(target, {MAPPING: MAX_CATALOG_BYTES}, also, MAX_BUNDLE_FILE,
                                               hashed={CATALOG_JSON}, also_as=packed)
    return found, digests


def _catalog_of(found: dict[str, bytes], target: Path) -> dict[str, Any]:
    """`read_release_catalog` of the files read out of the tarball `target`."""
    if CATALOG_JSON not in found:
        raise UsageError(f"{target}: no {CATALOG_JSON} inside: not an mcp-catalog release")
    return _with_mapping(_checked_document(found[CATALOG_JSON], f"{target}:{CATALOG_JSON}"), found)


def with_pulled_from(document: dict[str, Any], image_mirror: str | None) -> dict[str, Any]:
    """A document being built, with the registry its manifests pull from (the build's `--image-mirror`,
    else catalog.yaml's `image_mirror`), as `read_release_catalog` reads it back from the release."""
    return {**document, PULLED_FROM: [(image_mirror or document["catalog"].get("image_mirror") or "").rstrip("/")]}


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


def diff_releases(old: dict[str, Any], new: dict[str, Any]) -> ReleaseDiff:
    """Compare two normalised catalog documents."""
    before, after = ReleaseCatalog.of_document(old, PULLED_FROM), ReleaseCatalog.of_document(new, PULLED_FROM)
    notes: list[str] = []
    admissions = _admissions(before, after, notes)
    return _diff(before, after, admissions, notes)


def _diff(
    old: ReleaseCatalog, new: ReleaseCatalog, admissions: tuple[Admissions, Admissions] | None, notes: list[str]
) -> ReleaseDiff:
    """Compare two releases' catalogs, given their `_admissions` (and the notes that made)."""
    before, after = old.names, new.names
    result = ReleaseDiff(old.catalog["version"], new.catalog["version"])
    result.added = sorted(after - before)
    # A new server is reviewed for what it brings, as a change from nothing: its name alone said nothing.
    result.introduced = [ServerChange(name, _server_changes({}, new.record(name))) for name in result.added]
    result.removed = sorted(before - after)
    result.catalog = _catalog_changes(old, new) + notes
    # The servers first: each profile says which of those it ships changed in what its namespace runs.
    workload: dict[str, WorkloadChange] = {}
    for name in sorted(before & after):
        if old.same(name, new):
            continue  # equal records: no change and no deprecation
        was, now = old.record(name), new.record(name)
        if was.get("status") != "deprecated" and now.get("status") == "deprecated":
            result.deprecated.append(name)
        changes = _server_changes(was, now)
        if changes:
            result.changed.append(ServerChange(name, changes))
        if labels := _workload_changes(was, now):
            workload[name] = WorkloadChange(labels, _kind_change(was, now))
    result.profiles = _profile_changes(old, new, admissions, workload)
    if admissions is not None:
        result.withdrawn = _withdrawn(*admissions)
        result.vacated = _vacated(*admissions)
    return result


# A server's fields `_server_changes` compares in its own words; every other field of its record is
# compared leaf by leaf (`_other_field_changes`), but for those of NOT_COMPARED.
PHRASED = frozenset({"name", "image", "digest", "tier", "transport", "status", "remote", "permissions", "tools", "env",
                     "args", "review"})
NOT_COMPARED = frozenset({"overview", "examples", "updated"})
"""Deliberately left out: the Markdown overview and the example prompts (prose for people, no
workload, policy or client acts on them) and the date the entry last changed."""


def _server_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    # A change of kind first: a container's narrowed egress reads as a narrowing, while the data now
    # goes to a service outside the cluster.
    kind = _kind_change(old, new) if old else None
    changes = [f"kind: {kind}"] if kind else []
    for key, label in (("image", "image"), ("digest", "digest"), ("tier", "tier"), ("transport", "transport")):
        if old.get(key) != new.get(key):
            changes.append(f"{label}: {_either(old.get(key))} -> {_either(new.get(key))}")
    if old.get("status") != new.get("status") and new.get("status") != "deprecated":
        changes.append(f"status: {_either(old.get('status'))} -> {_either(new.get('status'))}")
    old_remote, new_remote = old.get("remote") or {}, new.get("remote") or {}
    if old_remote.get("url") != new_remote.get("url"):
        changes.append(f"remote URL: {_either(old_remote.get('url'))} -> {_either(new_remote.get('url'))}")
    changes += _permission_changes(old.get("permissions") or {}, new.get("permissions") or {})
    changes += _set_changes("tool", _names(old.get("tools")), _names(new.get("tools")))
    changes += _tool_changes(old.get("tools") or [], new.get("tools") or [])
    changes += _set_changes("secret", _secrets(old), _secrets(new))
    changes += _env_changes(old.get("env") or [], new.get("env") or [])
    changes += _input_changes("header", old_remote.get("headers") or [], new_remote.get("headers") or [])
    if (old.get("args") or []) != (new.get("args") or []):
        changes.append(f"args: {_shown(old.get('args') or [])} -> {_shown(new.get('args') or [])}")
    changes += _other_field_changes(old, new)
    old_review, new_review = old.get("review") or {}, new.get("review") or {}
    if old_review.get("status") != new_review.get("status"):
        changes.append(f"review: {_either(old_review.get('status'), 'not reviewed')} -> "
                       f"{_either(new_review.get('status'), 'not reviewed')}")
    for key, label in (("by", "review by"), ("date", "review date"), ("expires", "review expires")):
        if old_review.get(key) != new_review.get(key):
            changes.append(f"{label}: {_either(old_review.get(key))} -> {_either(new_review.get(key))}")
    if old_review.get("notes", "") != new_review.get("notes", ""):
        changes.append(f"review notes: {_text(old_review.get('notes'))} -> {_text(new_review.get('notes'))}")
    return changes


def _kind(record: dict[str, Any]) -> str:
    """What a release's server record is, as `Server.kind` decides it: a container, a remote or a reference entry."""
    return "container" if record.get("image") else "remote" if record.get("remote") else "reference"


def _kind_change(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """`container -> remote https://...`, when the server changed kind."""
    return f"{_kind_words(old)} -> {_kind_words(new)}" if _kind(old) != _kind(new) else None


def _kind_words(record: dict[str, Any]) -> str:
    """The server's kind as the diff says it: a remote with the URL its data goes to."""
    kind = _kind(record)
    if kind == "remote":
        return f"remote {_either((record.get('remote') or {}).get('url'))}"
    return "reference entry" if kind == "reference" else kind


WORKLOAD_CHANGES = ("kind", "image", "remote URL", "egress", "file paths", "secrets")
"""What a profile's section says changed of a server it ships in both releases, in this order: what
its namespace runs and what leaves it (its other changes are in the server's own entry)."""


@dataclass(frozen=True)
class WorkloadChange:
    """Which of `WORKLOAD_CHANGES` a server's two records differ in, and its `_kind_change`."""

    labels: list[str]
    kind: str | None


def _workload_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which of `WORKLOAD_CHANGES` differ between two records of a server."""
    old_permissions, new_permissions = old.get("permissions") or {}, new.get("permissions") or {}
    differ = {
        "kind": _kind(old) != _kind(new),
        "image": (old.get("image"), old.get("digest")) != (new.get("image"), new.get("digest")),
        # A change of kind names the remote's URL.
        "remote URL": _kind(old) == _kind(new) and (old.get("remote") or {}).get("url") != (new.get("remote") or {}).get("url"),
        "egress": _egress(old_permissions) != _egress(new_permissions),
        "file paths": any(set(old_permissions.get(key) or []) != set(new_permissions.get(key) or [])
                          for key in ("read", "write")),
        "secrets": _secrets(old) != _secrets(new),
    }
    return [label for label in WORKLOAD_CHANGES if differ[label]]


def _other_field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The changes of every field not phrased on its own: port, resources, provenance, packages,
    registry name, version, repository... by dotted path (`resources.limits.memory: 128Mi -> 1Gi`).
    A section absent is compared as an empty one: both mean nothing declared."""
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        if key in PHRASED or key in NOT_COMPARED:
            continue
        was, now = old.get(key), new.get(key)
        for empty in ({}, []):
            if type(empty) in (type(was), type(now)):
                was, now = empty if was is None else was, empty if now is None else now
        changes += _field_changes(_shown(key), was, now)
    return changes


def _tool_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Per tool: what a deployment or a client takes from it, changed since the old release, or
    brought by a new tool (as changes from nothing): annotations, deployed name and description
    (what clients and their LLM read), the description it is known by when an override replaces
    it, and the input schema."""
    before = {tool["name"]: tool for tool in old}
    changes = []
    for tool in new:
        name, previous = _shown(tool["name"]), before.get(tool["name"])
        was = previous or {}
        old_hints, new_hints = was.get("annotations") or {}, tool.get("annotations") or {}
        for hint in sorted(set(old_hints) | set(new_hints)):
            if old_hints.get(hint) != new_hints.get(hint):
                changes.append(f"tool {name}: {_shown(hint)} {_hint(old_hints.get(hint))} -> {_hint(new_hints.get(hint))}")
        old_as = None if previous is None else _deployed(previous, "name")
        if old_as != _deployed(tool, "name") and (previous is not None or _deployed(tool, "name") != tool["name"]):
            changes.append(f"tool {name}: deployed as {_either(old_as)} -> {_either(_deployed(tool, 'name'))}")
        old_text = None if previous is None else _deployed(previous, "description")
        if old_text != _deployed(tool, "description"):
            changes.append(f"tool {name}: deployed description {_text(old_text)} -> {_text(_deployed(tool, 'description'))}")
        if was.get("description") != tool.get("description") and (tool.get("override") or {}).get("description"):
            changes.append(f"tool {name}: description (overridden when deployed) {_text(was.get('description'))} -> "
                           f"{_text(tool.get('description'))}")
        changes += _field_changes(f"tool {name}: input_schema", was.get("input_schema"), tool.get("input_schema"))
    return changes


def _deployed(tool: dict[str, Any], key: str) -> Any:
    """The tool's name or description as clients see it: the override's, else its own."""
    return (tool.get("override") or {}).get(key) or tool.get(key)


def _text(value: Any) -> str:
    """Free text (a description, notes) or any other value the diff always quotes (a default, a
    profile's value): as JSON, escaped, so that no character hides in it, and no line break or arrow
    in it can pass for the report's own."""
    return "none" if value is None else json.dumps(value)


def _input_changes(kind: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """New and removed plain inputs of `kind` (`env variable`, `header`; secret ones are reported as
    secrets), then the fields both kinds have (required, secret, description) changed per input, a
    new one's as changes from nothing."""
    before = {item["name"]: item for item in old}
    after = {item["name"]: item for item in new}
    changes = _set_changes(
        kind,
        {name for name, item in before.items() if not item.get("secret")},
        {name for name, item in after.items() if not item.get("secret")},
    )
    short = kind.split()[0]
    for key_name, now in after.items():
        name, was = _shown(key_name), before.get(key_name, {})
        for key in ("required", "secret"):
            if bool(was.get(key)) != bool(now.get(key)):
                changes.append(f"{short} {name}: {key} {_yes(was.get(key))} -> {_yes(now.get(key))}")
        if was.get("description", "") != now.get("description", ""):
            changes.append(f"{short} {name}: description {_text(was.get('description'))} -> {_text(now.get('description'))}")
    return changes


def _hint(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "not declared" if value is None else _shown(value)


def _env_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The variables' changes (`_input_changes`), then their defaults and per-profile values, a new
    variable's too: they reach the workload."""
    before = {var["name"]: var for var in old}
    changes = _input_changes("env variable", old, new)
    for now in new:
        name, was = _shown(now["name"]), before.get(now["name"], {})
        if was.get("default") != now.get("default"):
            changes.append(f"env {name}: default {_text(was.get('default'))} -> {_text(now.get('default'))}")
        old_values, new_values = was.get("profiles") or {}, now.get("profiles") or {}
        for profile in sorted(set(old_values) | set(new_values)):
            if old_values.get(profile) != new_values.get(profile):
                changes.append(
                    f"env {name}: value required in profile {_shown(profile)} "
                    f"{_text(old_values.get(profile))} -> {_text(new_values.get(profile))}"
                )
    return changes


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _shown(value: Any) -> str:
    """A value from a release as a reviewer reads it: a plain word or reference bare, anything else as
    JSON, escaped (so a hidden character such as U+202E shows as `\\u202e`, a line break cannot write a
    line of the report, nor an arrow pass for its own, nor a quoted value for an escaped one). Every
    value the report prints from a release, a name or set item as much as a setting, goes through it."""
    if (isinstance(value, str) and value and value.strip() == value and value.isprintable() and value != "none"
            and " -> " not in value and value[0] not in '"[{'):
        return value
    return json.dumps(value, sort_keys=True)


def _either(value: Any, absent: str = "none") -> str:
    """`_shown(value)`, or `absent` when the release has no value (or an empty one) there."""
    return absent if value is None or value == "" else _shown(value)


# catalog.yaml settings whose change alters what crosses the gap, where it runs or what clients look
# it up by (`namespace`: every server's MCP registry name defaults to <namespace>/<name>); its title,
# description, publisher and categories do not, and `last_updated` counts through the admissions.
CATALOG_FIELDS = ("namespace", "image_mirror", "toolhive")


def _catalog_changes(old: ReleaseCatalog, new: ReleaseCatalog) -> list[str]:
    changes = []
    for key in CATALOG_FIELDS:
        changes += _field_changes(key, old.catalog.get(key), new.catalog.get(key))
    if old.pulled_from is not None and new.pulled_from is not None and old.pulled_from != new.pulled_from:
        shown = [", ".join(_either(r, "the images' own registries") for r in pulled) for pulled in (old.pulled_from, new.pulled_from)]
        changes.append(f"manifests pull images from: {shown[0]} -> {shown[1]}")
    return changes


def _field_changes(label: str, old: Any, new: Any) -> list[str]:
    """Each differing leaf of two JSON values, by dotted path: lists as added and removed items."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in [*new, *(k for k in old if k not in new)]:
            changes += _field_changes(f"{label}.{_shown(key)}", old.get(key), new.get(key))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return [f"{label}: new {_shown(item)}" for item in new if item not in old] + [
            f"{label}: removed {_shown(item)}" for item in old if item not in new
        ]
    if old == new or (old in (None, "") and new in (None, "")):
        return []  # an empty text and none read the same to a reviewer (an added server's `publisher: ""`)
    return [f"{label}: {'none' if old is None else _shown(old)} -> {'none' if new is None else _shown(new)}"]


def _profile_changes(
    old: ReleaseCatalog, new: ReleaseCatalog, admissions: tuple[Admissions, Admissions] | None,
    workload: dict[str, WorkloadChange],
) -> list[ProfileChange]:
    """Per registry profile: its changed fields, then the servers and tools it now admits or withholds,
    the new servers it leaves out and why, and which servers it ships changed in what its namespace
    runs (`workload`: per server in both releases, its `_workload_changes`). A new profile taking a
    removed one's namespace is that profile renamed: compared with it as an unchanged profile is, and
    the removed profile's registry objects named for deletion."""
    before = {p["name"]: p for p in old.catalog.get("registries") or []}
    after = {p["name"]: p for p in new.catalog.get("registries") or []}
    renamed = _renamed(before, after)
    successor = {was: name for name, was in renamed.items()}
    added = new.names - old.names
    result = []
    for name in [*after, *(n for n in before if n not in after)]:
        if name in successor:
            continue
        view = NO_VIEW
        if name not in after:
            changes = [_removed_profile(before[name], after)] + _registry_leftovers(name, admissions)
        else:
            was = name if name in before else renamed.get(name)
            if was is None:
                changes = [f"new profile: namespace {_either(after[name].get('namespace'))}"]
            else:
                changes = _continued_profile_changes(was, before[was], after[name], admissions)
            if admissions is not None:
                view = _ProfileView(admissions[0].admitted.get(was or name, {}), admissions[1].admitted[name],
                                    admissions[1].left_out[name], added, workload)
                changes += _admission_changes(view, _ToolNames(new))
        if changes:
            result.append(ProfileChange(name, changes, view.shipped_changed, view.left_out_new))
    return result


def _continued_profile_changes(
    was: str, old: dict[str, Any], new: dict[str, Any], admissions: tuple[Admissions, Admissions] | None
) -> list[str]:
    """The changed fields of a profile both releases have (`was` its old name, when renamed) and, when
    it was renamed or moved to another namespace, the registry it leaves where it was: the new
    release's objects have other names or another namespace, so nothing replaces or deletes them."""
    fields = [item for key in [*new, *(k for k in old if k not in new)] if key != "name"
              for item in _field_changes(_shown(key), old.get(key), new.get(key))]
    if was == new["name"]:
        return fields + (_registry_leftovers(was, admissions) if old.get("namespace") != new.get("namespace") else [])
    return [f"renamed from {_shown(was)} (same namespace {_either(new.get('namespace'))}): "
            f"its servers and tools are compared with {_shown(was)}'s", *_registry_leftovers(was, admissions), *fields]


def _renamed(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each new profile that takes the namespace of a removed one, with the removed one's name (a
    namespace two removed profiles shared goes to the first; a second new profile there is new)."""
    removed: dict[str | None, str] = {}
    for name, profile in before.items():
        if name not in after:
            removed.setdefault(_namespace(profile), name)
    renamed = {}
    for name, profile in after.items():
        was = removed.pop(_namespace(profile), None) if name not in before else None
        if was is not None:
            renamed[name] = was
    return renamed


def _removed_profile(profile: dict[str, Any], after: dict[str, dict[str, Any]]) -> str:
    """What the namespace of a removed profile gets now: nothing of the catalog, or another profile's."""
    namespace = profile.get("namespace")
    others = [name for name, other in after.items() if other.get("namespace") == namespace]
    if not others:
        return f"profile removed: namespace {_either(namespace)} no longer gets its registry or servers"
    return (f"profile removed: namespace {_either(namespace)} now gets profile {', '.join(map(_shown, others))}'s "
            "registry and servers instead")


def _registry_leftovers(name: str, admissions: tuple[Admissions, Admissions] | None) -> list[str]:
    """The objects serving a removed, renamed or moved profile's registry, which no release ships any more and which
    keep running until deleted (`to delete` lists only the MCP servers): named from the old release's
    validated profile, since they are commands to run; not worked out when it does not validate."""
    if admissions is None:
        return []
    profile = admissions[0].profiles[name]
    namespace, registry = profile.namespace, registry_resource_name(profile)
    return [
        f"{name}'s registry in namespace {namespace} is shipped no more but keeps serving until deleted (to delete "
        f"lists only MCP servers): kubectl -n {namespace} delete mcpregistry/{registry} "
        f"configmap/{registry_data_name(profile, 1)} --ignore-not-found, and {registry_data_name(profile, 2)} on "
        "where its registry data was split",
        f"{name}'s registry where the registry server chart serves it: helm -n {namespace} uninstall "
        f"{registry_service_name(profile)}; its database Secret, no longer read: {pgpass_secret_name(profile)} "
        f"(MCPRegistry) or {database_secret_name(profile)} (registry server chart, legacy operators)",
    ]


# What, besides a server's own record, decides which profiles admit it and which tools they keep
# (`derived.admits` reads the review's expiry against `last_updated`).
ADMISSION_INPUTS = ("registries", "last_updated")

Offering = list[str] | derived.NotOffered | Literal["reference"]
"""What a profile does with a server it admits: the tools its bundle runs it with, "reference" for a
reference entry (its registries list it, nothing runs it), or why it does not ship it."""
Admitted = dict[str, dict[str, Offering]]
"""Per profile, each admitted server's `Offering`."""
Running = dict[tuple[str, str, str], tuple[str, str]]
"""Per workload a profile's namespace is shipped, (namespace, resource, name): (profile, server)."""
WORKLOAD_RESOURCES = {"container": "mcpserver", "remote": "mcpremoteproxy"}
"""The kind of object the bundles deploy a server as, by its kind (a reference entry runs nothing)."""


@dataclass(frozen=True)
class Admissions:
    """One release's profiles by the build's own rules: what each admits, and the workloads they ship."""

    admitted: Admitted
    running: Running
    profiles: dict[str, RegistryProfile]
    """The release's profiles, validated, by name."""
    left_out: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """Per profile, each server its selection picks and its rules leave out, with why
    (`derived.left_out_because`); of the servers `_admissions` decided, as `admitted`."""


def _admissions(
    old: ReleaseCatalog, new: ReleaseCatalog, notes: list[str]
) -> tuple[Admissions, Admissions] | None:
    """Each release's admissions by the build's own rules, for every server whose result may differ
    (all of them when a profile or the catalog date changed, else the servers whose records did);
    None, with a note in `notes`, when a release's document does not read as this version's models
    (the first problem of the old release's catalog settings, then of its servers by name, then the
    new release's). A record both releases share is validated once (validation is most of the
    cost), and the servers are taken one at a time: no release is ever held parsed."""
    names = old.names | new.names
    if all(old.catalog.get(key) == new.catalog.get(key) for key in ADMISSION_INPUTS):
        names = {name for name in names if not old.same(name, new)}
    metas: list[CatalogMeta | ValidationError] = []
    for release in (old, new):
        try:
            metas.append(CatalogMeta.model_validate(release.catalog))
        except ValidationError as exc:
            metas.append(exc)
    if isinstance(metas[0], ValidationError):
        notes.append(_unread_note(old, "catalog", metas[0]))
        return None
    admitting = [_Admitting(meta) if isinstance(meta, CatalogMeta) else None for meta in metas]
    failed: list[tuple[str, ValidationError] | None] = [None, None]
    for name in sorted(names):
        model = None
        for at, release in enumerate((old, new)):
            state = admitting[at]
            if name not in release.names or state is None or failed[at] is not None:
                continue
            if model is None or not old.same(name, new):
                try:
                    model = Server.model_validate({k: v for k, v in release.record(name).items() if k != "overview"})
                except ValidationError as exc:
                    failed[at] = (f"server {_shown(name)}", exc)
                    continue
            state.add(model)
        if failed[0] is not None:
            break  # the old release's first problem is the one reported
    for release, meta, problem in ((old, metas[0], failed[0]), (new, metas[1], failed[1])):
        if isinstance(meta, ValidationError):
            problem = ("catalog", meta)
        if problem is not None:
            notes.append(_unread_note(release, *problem))
            return None
    return admitting[0].result(), admitting[1].result()  # type: ignore[union-attr]


def _unread_note(release: ReleaseCatalog, where: str, exc: ValidationError) -> str:
    error = exc.errors()[0]
    return ("which servers and tools each profile admits was not compared, nor what to delete in the profiles' "
            "namespaces worked out (an empty or missing to delete says nothing): release "
            f"{_shown(release.catalog['version'])}'s {where} does not read as this version's "
            f"({'.'.join(_shown(str(part)) for part in error['loc'])}: {_shown(error['msg'])})")


class _Admitting:
    """One release's `Admissions`, its servers added one at a time (in name order)."""

    def __init__(self, meta: CatalogMeta) -> None:
        self.meta = meta
        # A profile name given twice is the last profile of that name, as a dict of them keeps it.
        self.deciding = list({profile.name: profile for profile in meta.registries}.values())
        self.admitted: Admitted = {profile.name: {} for profile in meta.registries}
        self.left_out: dict[str, dict[str, tuple[str, ...]]] = {profile.name: {} for profile in meta.registries}
        self.running: list[Running] = [{} for _ in meta.registries]

    def add(self, server: Server) -> None:
        for profile in self.deciding:
            if not derived.selects(profile, server):
                continue  # not what the profile chose: no reason to give
            if reasons := derived.left_out_because(self.meta, profile, server):
                self.left_out[profile.name][server.name] = reasons
                continue
            self.admitted[profile.name][server.name] = derived.not_offered_because(profile, server) or (
                "reference" if server.kind == "reference"
                else [tool.name for tool in derived.profile_tools(profile, server)])
        if server.kind not in WORKLOAD_RESOURCES:
            return
        for profile, running in zip(self.meta.registries, self.running):
            if isinstance(self.admitted[profile.name].get(server.name), list):
                running[profile.namespace, WORKLOAD_RESOURCES[server.kind], ServerNames.of(server).workload] = (
                    profile.name, server.name)

    def result(self) -> Admissions:
        running: Running = {}
        for part in self.running:  # profile by profile, as one dict of them all would be made
            running.update(part)
        return Admissions(self.admitted, running, {profile.name: profile for profile in self.meta.registries},
                          self.left_out)


def _withdrawn(old: Admissions, new: Admissions) -> list[Withdrawn]:
    """The workloads the old release shipped to a namespace and the new one does not ship there, by
    namespace, kind and name: a server withdrawn or all its tools withheld, a profile removed or moved
    to another namespace, a server now deployed as another kind; each saying which."""
    return [
        Withdrawn(profile, server, namespace, resource, name,
                  f"kubectl -n {namespace} delete {resource}/{name} --ignore-not-found",
                  why=_why_withdrawn(profile, namespace, resource, name, new))
        for (namespace, resource, name), (profile, server) in sorted(old.running.items())
        if (namespace, resource, name) not in new.running
    ]


def _why_withdrawn(profile: str, namespace: str, resource: str, name: str, new: Admissions) -> str:
    """Why the new release no longer ships a workload to `namespace`: a withdrawal reads as the server
    leaving the profile, which a kind change or a profile moved is not."""
    for other in WORKLOAD_RESOURCES.values():
        if other != resource and (namespace, other, name) in new.running:
            return f"now an {other} of profile {_shown(new.running[namespace, other, name][0])}"
    if profile not in new.profiles:
        there = sorted(other.name for other in new.profiles.values() if other.namespace == namespace)
        return f"profile {_shown(profile)} removed" + (f", and {', '.join(there)} deployed there does not ship it" if there else "")
    if new.profiles[profile].namespace != namespace:
        return f"profile {_shown(profile)} moved to namespace {new.profiles[profile].namespace}"
    return f"withdrawn from profile {_shown(profile)}"


def diff_release_targets(old_target: Path, new_target: Path) -> ReleaseDiff:
    """`diff_releases` of two releases (tarballs or site folders) and, for each workload to delete,
    every other object the old release's bundle rendered for its server in that namespace and the new
    one renders there no more, read from the bundles themselves (`bundle_objects`).

    A tarball's bundles are kept only for the profiles deployed where a namespace loses a server: its
    catalog is read first (a read that stops early), then once more with those bundles and the image
    mapping, and must be the same both times. Every profile's bundles would cost several hundred MB
    at 10,000 servers, for a diff that most often withdraws nothing; of those profiles' server
    folders only the withdrawn servers' are kept and rendered (another server's objects are named
    for it, the build refusing names that collide: reading the 10,000 folders of a profile shipping
    every server cost 1 GB and half the time). Which namespaces lose a server is the admissions'
    business alone (no server's fields compared, no mapping needed), worked out once, from the
    catalogs as scanned (`catalog_scan`: neither held parsed whole)."""
    early = _early_catalog(old_target), _early_catalog(new_target)
    notes: list[str] = []
    admissions = _admissions(early[0][0], early[1][0], notes)
    withdrawn = _withdrawn(*admissions) if admissions is not None else []
    vacated = _vacated(*admissions) if admissions is not None else []
    namespaces = {item.namespace for item in withdrawn} | {item.namespace for item in vacated}
    documents = ({"catalog": early[0][0].catalog}, {"catalog": early[1][0].catalog})
    old_profiles = {item.profile for item in withdrawn if NAME.match(item.profile)} | _profiles_in(documents[0], namespaces)
    new_profiles = _profiles_in(documents[1], namespaces)
    servers = {item.server for item in withdrawn}
    (old, old_bundles), (new, new_bundles) = (read_release(old_target, old_profiles, servers, early[0]),
                                              read_release(new_target, new_profiles, servers, early[1]))
    result = _diff(old, new, admissions, notes)
    if not (result.withdrawn or result.vacated):
        return result
    try:
        result.withdrawn = _with_objects(result.withdrawn, documents, (old_bundles, new_bundles))
        result.vacated = [_with_namespace_objects(item, documents[0], old_bundles, admissions[0].profiles)  # type: ignore[index]
                          for item in result.vacated]
    except UnreadBundle as exc:
        result.catalog.append(f"to delete names each server's workload alone: its other objects were not read from the "
                              f"bundles ({_shown(str(exc))})")
    return result


def _vacated(old: Admissions, new: Admissions) -> list[Vacated]:
    """The namespaces the old release's profiles were deployed to and none of the new release's is."""
    kept = {profile.namespace for profile in new.profiles.values()}
    by_namespace: dict[str, list[str]] = {}
    for profile in old.profiles.values():
        if profile.namespace not in kept:
            by_namespace.setdefault(profile.namespace, []).append(profile.name)
    return [Vacated(namespace, sorted(profiles)) for namespace, profiles in sorted(by_namespace.items())]


# Kinds that confine the namespace's pods (what they may reach, what may reach them): deleted last,
# once nothing else runs there, since without them a pod left there (the registry's PostgreSQL) is open.
CONFINING = frozenset({"networkpolicy", "peerauthentication", "authorizationpolicy"})


def _with_namespace_objects(
    item: Vacated, document: dict[str, Any], bundles: ReleaseBundles, profiles: dict[str, RegistryProfile]
) -> Vacated:
    """`item` with the commands deleting what its profiles' bundles (every variant) rendered outside the
    servers' folders, in three steps: in the namespace, what runs or grants (the registry, its data,
    the Roles, RoleBindings and service account); then the admission policies and bindings, cluster-wide
    but named for the namespace by the build (so no other namespace's are among them), once no Role lets
    deployers create what they confine; then the network and mesh policies. Never the Namespace, which
    may hold what is not the catalog's. The registry's database Secret, made by hand from a template no
    kustomization renders, is named as `_registry_leftovers` names it, under both operators' names."""
    steps: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    for profile in sorted(_profiles_in(document, {item.namespace})):
        for o in bundles.everything(profile):
            kind = o.kind.lower()
            if o.server is not None or kind == "namespace" or (kind not in CLUSTER_SCOPED and o.namespace != item.namespace):
                continue
            steps[1 if kind in CLUSTER_SCOPED else 2 if kind in CONFINING else 0].add(o.reference)
    for name in item.profiles:
        steps[0].update(f"secret/{secret(profiles[name])}" for secret in (pgpass_secret_name, database_secret_name))
    scopes = (f"-n {item.namespace} ", "", f"-n {item.namespace} ")
    commands = [f"kubectl {scope}delete {' '.join(sorted(objects))} --ignore-not-found   # {why}"
                for scope, objects, why in zip(scopes, steps, VACATED_STEPS) if objects]
    return replace(item, commands=commands, objects=[o for objects in steps for o in sorted(objects)])


def _profiles_in(document: dict[str, Any], namespaces: set[str]) -> set[str]:
    """The profiles of a release deployed to one of `namespaces`, by names fit for a path."""
    return {profile["name"] for profile in document["catalog"].get("registries") or []
            if _namespace(profile) in namespaces and NAME.match(profile["name"])}


def _namespace(profile: dict[str, Any]) -> str | None:
    """A profile's namespace as a release's document gives it; None when it is no string (an unchecked
    document may hold a list there, which no set or dict can look up)."""
    namespace = profile.get("namespace")
    return namespace if isinstance(namespace, str) else None


def _owners(
    document: dict[str, Any], bundles: ReleaseBundles, namespaces: set[str]
) -> dict[str, dict[tuple[str, str], set[str | None]]]:
    """Per namespace, each (kind, name) the release's bundles render there and the servers whose folders
    render it (None: a profile-wide part); made once for every withdrawn server of the namespace."""
    found: dict[str, dict[tuple[str, str], set[str | None]]] = {namespace: {} for namespace in namespaces}
    for namespace in namespaces:
        for profile in _profiles_in(document, {namespace}):
            for o in bundles.everything(profile):
                if o.namespace == namespace:
                    found[namespace].setdefault((o.kind.lower(), o.name), set()).add(o.server)
    return found


def _with_objects(
    withdrawn: list[Withdrawn], documents: tuple[dict[str, Any], dict[str, Any]], bundles: tuple[ReleaseBundles, ReleaseBundles]
) -> list[Withdrawn]:
    """Each withdrawn workload as one command per variant of the old bundle deleting everything of its
    server there: the objects its folders rendered in the namespace, but any the new release renders in
    that namespace, any another server's folder (of those `bundles` render: `diff_release_targets`
    renders only the withdrawn servers') or a profile-wide part of the old one rendered there, and any
    of a kind without a namespace; and the Secret made from the server's template where the
    old release shipped one (by hand: it may be absent), unless the new release still deploys the
    server in the namespace (as another kind: it reads the same Secret). Variants deleting the same
    objects share one command."""
    namespaces = {item.namespace for item in withdrawn}
    old_owners, new_owners = (_owners(document, bundle, namespaces) for document, bundle in zip(documents, bundles))
    result = []
    for item in withdrawn:
        old_here = old_owners[item.namespace]
        kept = set(new_owners[item.namespace]) | {key for key, owners in old_here.items() if owners - {item.server}}
        still_deployed = any(item.server in owners for owners in new_owners[item.namespace].values())
        secret = set() if still_deployed else {o.reference for o in bundles[0].secret_template(item.server)
                                               if ("secret", o.name) not in kept}
        by_objects: dict[tuple[str, ...], list[str]] = {}
        for variant, folder in bundles[0].profile(item.profile) if NAME.match(item.profile) else ():
            objects = sorted(secret | {o.reference for o in bundles[0].server_objects(folder, item.server)
                                       if o.namespace == item.namespace and o.kind.lower() not in CLUSTER_SCOPED
                                       and (o.kind.lower(), o.name) not in kept})
            if objects:
                by_objects.setdefault(tuple(objects), []).append(variant)
        if not by_objects:
            result.append(item)
        for objects, variants in by_objects.items():
            command = f"kubectl -n {item.namespace} delete {' '.join(objects)} --ignore-not-found"
            result.append(replace(item, command=command, objects=list(objects), variants=variants))
    return result


class _ToolNames(dict[str, set[str]]):
    """The names of the tools each server of a release offers, its record parsed when first asked for."""

    def __init__(self, release: ReleaseCatalog) -> None:
        super().__init__()
        self._release = release

    def __missing__(self, server: str) -> set[str]:
        self[server] = _names(self._release.record(server).get("tools"))
        return self[server]


@dataclass(frozen=True)
class _ProfileView:
    """What one profile's section compares: the servers it admits in each release (the old release's
    under its old name, when renamed), and of the new release the servers its rules leave out and
    which servers are new; of the servers in both releases, their `_workload_changes`."""

    old: dict[str, Offering]
    new: dict[str, Offering]
    left_out: dict[str, tuple[str, ...]]
    added: set[str]
    workload: dict[str, WorkloadChange]

    @property
    def shipped_changed(self) -> dict[str, list[str]]:
        """The `workload` labels of each server the profile ships in both releases (runs it: a
        reference entry or a server not shipped runs nothing in the namespace)."""
        return {server: self.workload[server].labels for server in sorted(set(self.old) & set(self.new) & set(self.workload))
                if isinstance(self.old[server], list) and isinstance(self.new[server], list)}

    @property
    def left_out_new(self) -> dict[str, list[str]]:
        """Why the profile leaves out each new server its selection picks."""
        return {server: list(reasons) for server, reasons in sorted(self.left_out.items()) if server in self.added}


NO_VIEW = _ProfileView({}, {}, {}, set(), {})
"""A profile whose admissions were not worked out (a release not read as this version's models, or
a removed profile): nothing to compare."""


def _admission_changes(view: _ProfileView, offered: _ToolNames) -> list[str]:
    """Servers the profile now admits (with the tools it keeps, or that it does not ship them) or no
    longer admits (why, when its rules leave it out), the new servers its selection picks and its
    rules leave out, and why; and per server admitted by both releases: what changed of it in what
    the namespace runs when it is shipped in both (`_shipped_line`), whether it is now shipped or no
    longer, and the tools now kept or withheld (a tool the server no longer offers at all is its
    own `removed tool` line, not repeated here)."""
    old, new = view.old, view.new
    changes = [f"now admits {_shown(server)}{_kept(new[server])}" for server in sorted(set(new) - set(old))]
    changes += [f"no longer admits {_shown(server)}{_because(view.left_out.get(server, ()))}"
                for server in sorted(set(old) - set(new))]
    changes += [f"leaves out new server {_shown(server)}{_because(reasons)}" for server, reasons in view.left_out_new.items()]
    shipped_changed = view.shipped_changed
    for server in sorted(set(old) & set(new)):
        before, after = old[server], new[server]
        if server in shipped_changed:
            changes.append(_shipped_line(server, view.workload[server]))
        if _offering(before) != _offering(after):
            changes.append(f"{_shown(server)}: now {_offering(after)}{_kept(after)}" if isinstance(after, list) or after == "reference"
                           else f"{_shown(server)}: no longer {_offering(before)} ({derived.NOT_OFFERED_LABELS[after]})")
        if "reference" in (before, after):
            continue  # a reference entry runs nothing, so keeps and withholds no tool
        was = set(before) if isinstance(before, list) else set()
        now = set(after) if isinstance(after, list) else set()
        changes += [f"{_shown(server)}: now keeps tool {_shown(tool)}" for tool in sorted(now - was)]
        changes += [f"{_shown(server)}: now withholds tool {_shown(tool)}" for tool in sorted(was - now)
                    if tool in offered[server]]
    return changes


def _because(reasons: tuple[str, ...] | list[str]) -> str:
    """Why a profile leaves a server out, as its line ends: nothing when the build gives no reason
    (the server removed, or no longer picked by the profile's selection)."""
    return f": {'; '.join(reasons)}" if reasons else ""


def _shipped_line(server: str, change: WorkloadChange) -> str:
    """A server the profile ships in both releases changed in what its namespace runs: which kinds of
    change, a change of kind with what it became (a container gone remote sends its data out), the
    detail left to the server's own entry."""
    labels = [f"kind ({change.kind})" if label == "kind" else label for label in change.labels]
    return f"{_shown(server)}: changed {', '.join(labels)} (see changed: {_shown(server)})"


def _offering(offering: Offering) -> str:
    """The profile ships the server (its bundle runs it), lists it (a reference entry) or does not ship it."""
    return "shipped" if isinstance(offering, list) else "listed" if offering == "reference" else "not shipped"


def _kept(tools: Offering) -> str:
    """What a profile ships of an admitted server, as the diff says it: the same server may run
    with every tool it has (it declares none) or not at all (every tool withheld, or it declares
    none under a policy withholding tools by their hints); a reference entry runs nothing."""
    if tools == "reference":
        return " (a reference entry: packages only, it runs nothing)"
    if not isinstance(tools, list):
        return f", {derived.not_shipped(tools)}"
    if not tools:
        return " (it declares no tools: it runs with every tool it has)"
    return f" (tools kept: {', '.join(map(_shown, tools))})"


def _egress(permissions: dict[str, Any]) -> tuple[set[str], set[str], bool]:
    """A server's egress as its permissions grant it: the hosts, the ports (as text) and any host."""
    outbound = ((permissions.get("network") or {}).get("outbound")) or {}
    return (set(outbound.get("allow_host") or []), {str(port) for port in outbound.get("allow_port") or []},
            bool(outbound.get("insecure_allow_all")))


def _permission_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    (old_hosts, old_ports, old_any), (new_hosts, new_ports, new_any) = _egress(old), _egress(new)
    changes = _set_changes("egress host", old_hosts, new_hosts) + _set_changes("egress port", old_ports, new_ports)
    if old_any != new_any:
        changes.append(f"egress to any host: {'now allowed' if new_any else 'no longer allowed'}")
    for key in ("read", "write"):
        changes += _set_changes(f"{key} path", set(old.get(key, [])), set(new.get(key, [])))
    return changes


def _set_changes(label: str, old: set[str], new: set[str]) -> list[str]:
    return [f"new {label}: {_shown(item)}" for item in sorted(new - old)] + [
        f"removed {label}: {_shown(item)}" for item in sorted(old - new)
    ]


def _names(tools: list[dict[str, Any]] | None) -> set[str]:
    return {tool["name"] for tool in tools or []}


def _secrets(server: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in server.get("env") or [] if env.get("secret")}
    names |= {header["name"] for header in (server.get("remote") or {}).get("headers", []) if header.get("secret")}
    return names
