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
  ships any more, named with the commands deleting them), every changed selection or policy field (a
  move from `legacy/` to the current operator with its steps: `operator_move`), and
  the effect a reviewer signs: the servers the profile now admits or no longer admits, why it leaves
  out a new server its selection picks, and, per server it keeps admitting, the tools it now keeps
  or withholds and, shipped in both releases, which of what its namespace runs changed (kind, image,
  args, env values, headers, egress, secrets, resources...: the reviewer signing for a namespace sees
  every change to what runs there)
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
from dataclasses import asdict, dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator import derived
from generator.errors import UsageError
from generator.models import IMAGE_REF
from generator.paths import CATALOG_JSON, mirror_list
from generator.release.admissions import Admissions, Offering, release_admissions
from generator.release.catalog_scan import ReleaseCatalog, scan_catalog
from generator.release.bundle_objects import (
    MAX_BUNDLE_FILE, NAME, PROFILES, ReleaseBundles, UnreadBundle, folder_owner, bundles_of, folder_bundles,
    is_bundle_file, packed,
)
from generator.release.cleanup import (
    UNCHECKED, VACATED_NOTE, VACATED_UNREAD, Vacated, Withdrawn, profile_namespace, profiles_in, renamed_profiles,
    vacated_namespaces, with_namespace_objects, with_server_objects, withdrawn_workloads,
)
from generator.release.operator_move import legacy_move_lines
from generator.release.verify import read_release_files, read_release_files_hashed
from generator.release.wording import shown
from generator.render.kubernetes.names import (
    database_secret_name, pgpass_secret_name, registry_data_name, registry_resource_name, registry_service_name,
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
    (`WORKLOAD_CHANGES`: kind, image, remote URL, transport, port, args, env, headers, egress, file
    paths, secrets, resources; `env` when the values the profile's namespace gets changed, a variable's
    per-profile value counting for that profile alone), by name: the labels of what changed, the
    server's own `changed` entry giving the detail. `changes` says the same in words."""
    left_out_new: dict[str, list[str]] = field(default_factory=dict)
    """Each server new in this release that the profile's selection picks and its rules leave out,
    by name: why (`derived.left_out_because`). `changes` says the same in words."""


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
                         + (f"; {UNCHECKED}: {' '.join(item.unchecked)}" if item.unchecked else "")
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
        lines = [f"Changes from {shown(self.old_version)} to {shown(self.new_version)}"]
        if self.empty:
            return lines[0] + ": none that need review\n"
        if self.catalog:
            lines.append("  catalog-wide:")
            lines.extend(f"    - {item}" for item in self.catalog)
        for profile in self.profiles:
            lines.append(f"  profile: {shown(profile.name)}")
            lines.extend(f"    - {item}" for item in profile.changes)
        if self.withdrawn:
            lines.append("  to delete (no longer shipped to the namespace; admission refuses only new ones, so what a "
                         "deployer applied earlier keeps running):")
            lines.extend(f"    {command}" for command in self.withdrawn_commands.splitlines())
        for namespace in self.vacated:
            lines.append(f"  namespace {namespace.namespace} (profile {', '.join(map(shown, namespace.profiles))} of "
                         f"{shown(self.old_version)}): {VACATED_NOTE}; after the commands above, in this order:")
            lines.extend(f"    {command}" for command in namespace.commands or [VACATED_UNREAD])
            if namespace.unchecked:
                lines.append(f"    # {UNCHECKED}: {' '.join(namespace.unchecked)}")
        brings = self.brings
        for label, names in (("added", self.added), ("removed", self.removed), ("deprecated", self.deprecated)):
            for name in names:
                lines.append(f"  {label}: {shown(name)}")
                lines.extend(f"    - {item}" for item in brings.get(name, []) if label == "added")
        for change in self.changed:
            lines.append(f"  changed: {shown(change.name)}")
            lines.extend(f"    - {item}" for item in change.changes)
        return "\n".join(lines) + "\n"


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
    admissions = release_admissions(before, after, notes)
    return _diff(before, after, admissions, notes)


def _diff(
    old: ReleaseCatalog, new: ReleaseCatalog, admissions: tuple[Admissions, Admissions] | None, notes: list[str]
) -> ReleaseDiff:
    """Compare two releases' catalogs, given their `release_admissions` (and the notes that made)."""
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
        if (change := _workload_change(was, now)) is not None:
            workload[name] = change
    result.profiles = _profile_changes(old, new, admissions, workload)
    if admissions is not None:
        result.withdrawn = withdrawn_workloads(*admissions)
        result.vacated = vacated_namespaces(*admissions)
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
        changes.append(f"args: {shown(old.get('args') or [])} -> {shown(new.get('args') or [])}")
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


WORKLOAD_CHANGES = ("kind", "image", "remote URL", "transport", "port", "args", "env", "headers", "egress",
                    "file paths", "secrets", "resources")
"""What a profile's section says changed of a server it ships in both releases, in this order: what
its namespace runs and what leaves it (its other changes are in the server's own entry)."""


@dataclass(frozen=True)
class WorkloadChange:
    """Which of `WORKLOAD_CHANGES` a server's two records differ in wherever it runs, its `_kind_change`,
    and each record's `env`: the values a namespace gets depend on its profile (`labels_in`)."""

    labels: list[str]
    """Of `WORKLOAD_CHANGES`, all but `env`."""
    kind: str | None
    env: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    def labels_in(self, was: str, profile: str) -> list[str]:
        """The labels of what changed in the namespace of `profile` (`was` its name in the old release):
        `env` when the values its bundle sets differ (a per-profile value reaches that profile alone)."""
        env = _env_values(self.env[0], was) != _env_values(self.env[1], profile)
        return [label for label in WORKLOAD_CHANGES if label in self.labels or (label == "env" and env)]


def _workload_change(old: dict[str, Any], new: dict[str, Any]) -> WorkloadChange | None:
    """What changed between two records of a server in what a namespace running it runs; None when
    nothing did in any namespace."""
    labels, env = _workload_changes(old, new), (old.get("env") or [], new.get("env") or [])
    if not labels and env[0] == env[1]:
        return None
    return WorkloadChange(labels, _kind_change(old, new), env)


def _env_values(env: list[dict[str, Any]], profile: str) -> list[tuple[str, Any]]:
    """The (name, value) pairs a profile's bundle sets, as `derived.env_values` makes them: each plain
    variable's value in the profile, else its default (secrets come from the Secret)."""
    values = []
    for var in env:
        value = (var.get("profiles") or {}).get(profile, var.get("default"))
        if not var.get("secret") and value is not None:
            values.append((var.get("name"), value))
    return values


def _workload_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which of `WORKLOAD_CHANGES` but `env` (`WorkloadChange.labels_in`) differ between two records of
    a server: a remote's headers without their descriptions (what the proxy is configured with)."""
    old_permissions, new_permissions = old.get("permissions") or {}, new.get("permissions") or {}
    differ = {
        "kind": _kind(old) != _kind(new),
        "image": (old.get("image"), old.get("digest")) != (new.get("image"), new.get("digest")),
        # A change of kind names the remote's URL.
        "remote URL": _kind(old) == _kind(new) and (old.get("remote") or {}).get("url") != (new.get("remote") or {}).get("url"),
        "transport": old.get("transport") != new.get("transport"),
        "port": old.get("port") != new.get("port"),
        "args": (old.get("args") or []) != (new.get("args") or []),
        "headers": _headers(old) != _headers(new),
        "egress": _egress(old_permissions) != _egress(new_permissions),
        "file paths": any(set(old_permissions.get(key) or []) != set(new_permissions.get(key) or [])
                          for key in ("read", "write")),
        "secrets": _secrets(old) != _secrets(new),
        "resources": (old.get("resources") or {}) != (new.get("resources") or {}),
    }
    return [label for label in WORKLOAD_CHANGES if differ.get(label)]


def _headers(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A remote's headers as its proxy takes them: without their descriptions (prose for people)."""
    return [{key: value for key, value in header.items() if key != "description"}
            for header in (record.get("remote") or {}).get("headers") or []]


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
        changes += _field_changes(shown(key), was, now)
    return changes


def _tool_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Per tool: what a deployment or a client takes from it, changed since the old release, or
    brought by a new tool (as changes from nothing): annotations, deployed name and description
    (what clients and their LLM read), the description it is known by when an override replaces
    it, and the input schema."""
    before = {tool["name"]: tool for tool in old}
    changes = []
    for tool in new:
        name, previous = shown(tool["name"]), before.get(tool["name"])
        was = previous or {}
        old_hints, new_hints = was.get("annotations") or {}, tool.get("annotations") or {}
        for hint in sorted(set(old_hints) | set(new_hints)):
            if old_hints.get(hint) != new_hints.get(hint):
                changes.append(f"tool {name}: {shown(hint)} {_hint(old_hints.get(hint))} -> {_hint(new_hints.get(hint))}")
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
        name, was = shown(key_name), before.get(key_name, {})
        for key in ("required", "secret"):
            if bool(was.get(key)) != bool(now.get(key)):
                changes.append(f"{short} {name}: {key} {_yes(was.get(key))} -> {_yes(now.get(key))}")
        if was.get("description", "") != now.get("description", ""):
            changes.append(f"{short} {name}: description {_text(was.get('description'))} -> {_text(now.get('description'))}")
    return changes


def _hint(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "not declared" if value is None else shown(value)


def _env_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The variables' changes (`_input_changes`), then their defaults and per-profile values, a new
    variable's too: they reach the workload."""
    before = {var["name"]: var for var in old}
    changes = _input_changes("env variable", old, new)
    for now in new:
        name, was = shown(now["name"]), before.get(now["name"], {})
        if was.get("default") != now.get("default"):
            changes.append(f"env {name}: default {_text(was.get('default'))} -> {_text(now.get('default'))}")
        old_values, new_values = was.get("profiles") or {}, now.get("profiles") or {}
        for profile in sorted(set(old_values) | set(new_values)):
            if old_values.get(profile) != new_values.get(profile):
                changes.append(
                    f"env {name}: value required in profile {shown(profile)} "
                    f"{_text(old_values.get(profile))} -> {_text(new_values.get(profile))}"
                )
    return changes


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _either(value: Any, absent: str = "none") -> str:
    """`shown(value)`, or `absent` when the release has no value (or an empty one) there."""
    return absent if value is None or value == "" else shown(value)


# catalog.yaml settings whose change alters what crosses the gap, where it runs or what clients look
# it up by (`namespace`: every server's MCP registry name defaults to <namespace>/<name>); its title,
# description, publisher and categories do not, and `last_updated` counts through the admissions.
CATALOG_FIELDS = ("namespace", "image_mirror", "toolhive")


def _catalog_changes(old: ReleaseCatalog, new: ReleaseCatalog) -> list[str]:
    changes = []
    for key in CATALOG_FIELDS:
        changes += _field_changes(key, old.catalog.get(key), new.catalog.get(key))
    if old.pulled_from is not None and new.pulled_from is not None and old.pulled_from != new.pulled_from:
        words = [", ".join(_either(r, "the images' own registries") for r in pulled) for pulled in (old.pulled_from, new.pulled_from)]
        changes.append(f"manifests pull images from: {words[0]} -> {words[1]}")
    return changes


def _field_changes(label: str, old: Any, new: Any) -> list[str]:
    """Each differing leaf of two JSON values, by dotted path: lists as added and removed items."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in [*new, *(k for k in old if k not in new)]:
            changes += _field_changes(f"{label}.{shown(key)}", old.get(key), new.get(key))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return [f"{label}: new {shown(item)}" for item in new if item not in old] + [
            f"{label}: removed {shown(item)}" for item in old if item not in new
        ]
    if old == new or (old in (None, "") and new in (None, "")):
        return []  # an empty text and none read the same to a reviewer (an added server's `publisher: ""`)
    return [f"{label}: {'none' if old is None else shown(old)} -> {'none' if new is None else shown(new)}"]


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
                                    admissions[1].left_out[name], added, workload, (was or name, name))
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
              for item in _field_changes(shown(key), old.get(key), new.get(key))]
    if was == new["name"]:
        if old.get("namespace") != new.get("namespace"):
            return fields + _registry_leftovers(was, admissions)
        return fields + (legacy_move_lines(admissions[0].profiles[was], admissions[1].profiles[was]) if admissions else [])
    return [f"renamed from {shown(was)} (same namespace {_either(new.get('namespace'))}): "
            f"its servers and tools are compared with {shown(was)}'s", *_registry_leftovers(was, admissions), *fields]


def _renamed(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, str]:
    """`renamed_profiles` of two releases' documents' profiles."""
    return renamed_profiles({name: profile_namespace(profile) for name, profile in before.items()},
                            {name: profile_namespace(profile) for name, profile in after.items()})


def _removed_profile(profile: dict[str, Any], after: dict[str, dict[str, Any]]) -> str:
    """What the namespace of a removed profile gets now: nothing of the catalog, or another profile's."""
    namespace = profile.get("namespace")
    others = [name for name, other in after.items() if other.get("namespace") == namespace]
    if not others:
        return f"profile removed: namespace {_either(namespace)} no longer gets its registry or servers"
    return (f"profile removed: namespace {_either(namespace)} now gets profile {', '.join(map(shown, others))}'s "
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
    admissions = release_admissions(early[0][0], early[1][0], notes)
    withdrawn = withdrawn_workloads(*admissions) if admissions is not None else []
    vacated = vacated_namespaces(*admissions) if admissions is not None else []
    namespaces = {item.namespace for item in withdrawn} | {item.namespace for item in vacated}
    documents = ({"catalog": early[0][0].catalog}, {"catalog": early[1][0].catalog})
    old_profiles = {item.profile for item in withdrawn if NAME.match(item.profile)} | profiles_in(documents[0], namespaces)
    new_profiles = profiles_in(documents[1], namespaces)
    servers = {item.server for item in withdrawn}
    (old, old_bundles), (new, new_bundles) = (read_release(old_target, old_profiles, servers, early[0]),
                                              read_release(new_target, new_profiles, servers, early[1]))
    result = _diff(old, new, admissions, notes)
    if not (result.withdrawn or result.vacated):
        return result
    # Each part on its own: a bundle one of them cannot read leaves the other's objects named.
    try:
        result.withdrawn = with_server_objects(result.withdrawn, documents, (old_bundles, new_bundles))
    except UnreadBundle as exc:
        result.catalog.append(f"to delete names each server's workload alone: its other objects were not read from the "
                              f"bundles ({shown(str(exc))})")
    try:
        result.vacated = [with_namespace_objects(item, documents[0], old_bundles, admissions[0].profiles)  # type: ignore[index]
                          for item in result.vacated]
    except UnreadBundle as exc:
        result.catalog.append(f"what the old release left in a namespace no profile is deployed to any more was not read "
                              f"from its bundles ({shown(str(exc))}): find it there and delete it by hand")
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
    which servers are new; of the servers in both releases, their `_workload_change`; and the profile's
    name in each release."""

    old: dict[str, Offering]
    new: dict[str, Offering]
    left_out: dict[str, tuple[str, ...]]
    added: set[str]
    workload: dict[str, WorkloadChange]
    names: tuple[str, str] = ("", "")

    @property
    def shipped_changed(self) -> dict[str, list[str]]:
        """The `workload` labels in the profile's namespace (`WorkloadChange.labels_in`) of each server
        it ships in both releases (runs it: a reference entry or a server not shipped runs nothing in
        the namespace), when any."""
        shipped = [server for server in sorted(set(self.old) & set(self.new) & set(self.workload))
                   if isinstance(self.old[server], list) and isinstance(self.new[server], list)]
        labels = {server: self.workload[server].labels_in(*self.names) for server in shipped}
        return {server: found for server, found in labels.items() if found}

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
    changes = [f"now admits {shown(server)}{_kept(new[server])}" for server in sorted(set(new) - set(old))]
    changes += [f"no longer admits {shown(server)}{_because(view.left_out.get(server, ()))}"
                for server in sorted(set(old) - set(new))]
    changes += [f"leaves out new server {shown(server)}{_because(reasons)}" for server, reasons in view.left_out_new.items()]
    shipped_changed = view.shipped_changed
    for server in sorted(set(old) & set(new)):
        before, after = old[server], new[server]
        if server in shipped_changed:
            changes.append(_shipped_line(server, shipped_changed[server], view.workload[server].kind))
        if _offering(before) != _offering(after):
            changes.append(f"{shown(server)}: now {_offering(after)}{_kept(after)}" if isinstance(after, list) or after == "reference"
                           else f"{shown(server)}: no longer {_offering(before)} ({derived.NOT_OFFERED_LABELS[after]})")
        if "reference" in (before, after):
            continue  # a reference entry runs nothing, so keeps and withholds no tool
        was = set(before) if isinstance(before, list) else set()
        now = set(after) if isinstance(after, list) else set()
        changes += [f"{shown(server)}: now keeps tool {shown(tool)}" for tool in sorted(now - was)]
        changes += [f"{shown(server)}: now withholds tool {shown(tool)}" for tool in sorted(was - now)
                    if tool in offered[server]]
    return changes


def _because(reasons: tuple[str, ...] | list[str]) -> str:
    """Why a profile leaves a server out, as its line ends: nothing when the build gives no reason
    (the server removed, or no longer picked by the profile's selection)."""
    return f": {'; '.join(reasons)}" if reasons else ""


def _shipped_line(server: str, found: list[str], kind: str | None) -> str:
    """A server the profile ships in both releases changed in what its namespace runs: which kinds of
    change, a change of kind with what it became (a container gone remote sends its data out), the
    detail left to the server's own entry."""
    labels = [f"kind ({kind})" if label == "kind" else label for label in found]
    return f"{shown(server)}: changed {', '.join(labels)} (see changed: {shown(server)})"


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
    return f" (tools kept: {', '.join(map(shown, tools))})"


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
    return [f"new {label}: {shown(item)}" for item in sorted(new - old)] + [
        f"removed {label}: {shown(item)}" for item in sorted(old - new)
    ]


def _names(tools: list[dict[str, Any]] | None) -> set[str]:
    return {tool["name"] for tool in tools or []}


def _secrets(server: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in server.get("env") or [] if env.get("secret")}
    names |= {header["name"] for header in (server.get("remote") or {}).get("headers", []) if header.get("secret")}
    return names
