"""`mcp-catalog diff OLD NEW`: what changed between two releases that a review board must see.

The pipeline, one module a step: read both releases (`read_releases`: each one's normalised
`api/v1/catalog.json`, which holds catalog.yaml's settings as well as every server, its
`mirror/mapping.txt`, and the bundles of the namespaces losing a server), work out which servers
each profile admits in each (`admissions`), compare (`compare_records`: the settings and each
server; `compare_profiles`: each profile; `cleanup`: what to delete in the cluster), and word the
report (`diff_report`, every value from a release `shown` as `wording` decides). Everything is
decided from the two releases alone. Reported, in four groups:

- catalog-wide: the registry namespace server names default under, the image mirror
  (catalog.yaml's and the one the manifests use), the ToolHive images, charts, pull secrets and
  cluster DNS;
- per registry profile: new and removed profiles (a new one taking a removed one's namespace is that
  profile renamed, compared with it; a removed or renamed one's registry objects, which no release
  ships any more, named with the commands deleting them), every changed selection or policy field, and
  the effect a reviewer signs: the servers the profile now admits or no longer admits, why it leaves
  out a new server its selection picks, and, per server it keeps admitting, the tools it now keeps
  or withholds and, shipped in both releases, which of what its namespace runs changed (kind, image,
  args, env values, headers, egress, secrets, resources...: the reviewer signing for a namespace sees
  every change to what runs there)
  (worked out with the same rules the build uses, `generator.derived`, from each release's own data);
- what to delete: each MCPServer or MCPRemoteProxy a profile's namespace was shipped and no longer
  is (the server withdrawn, all its tools withheld, the profile gone or moved), with the command
  that deletes it and, when the releases' bundles are at hand (`diff_release_targets`, and
  `diff_previous_release` for `build --previous`), every other
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.release.admissions import Admissions, release_admissions
from generator.output import OutputFile
from generator.release.bundle_objects import NAME, ReleaseBundles, UnreadBundle
from generator.release.catalog_scan import ReleaseCatalog
from generator.release.cleanup import (
    namespace_objects, profiles_in, vacated_namespaces, with_namespace_objects, with_server_objects, withdrawn_workloads,
)
from generator.release.compare_profiles import profile_changes
from generator.release.compare_records import WorkloadChange, catalog_changes, server_changes, workload_change
from generator.release.diff_report import ReleaseDiff, ServerChange
from generator.release.read_releases import (
    PULLED_FROM, early_catalog, read_release, read_release_catalog, read_scanned_release, release_bundles, rendered_bundles,
)
from generator.release.wording import shown

__all__ = ["ReleaseDiff", "diff_previous_release", "diff_release_targets", "diff_releases", "read_release_catalog"]
"""The `diff` command's API: a release's catalog document (as `package` reads it), the diff of two
documents, of two releases on disk, or of a release and the one being built (`build --previous`), and
the result."""


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
    result.introduced = [ServerChange(name, server_changes({}, new.record(name))) for name in result.added]
    result.removed = sorted(before - after)
    result.catalog = catalog_changes(old, new) + notes
    # The servers first: each profile says which of those it ships changed in what its namespace runs.
    workload: dict[str, WorkloadChange] = {}
    for name in sorted(before & after):
        if old.same(name, new):
            continue  # equal records: no change and no deprecation
        was, now = old.record(name), new.record(name)
        if was.get("status") != "deprecated" and now.get("status") == "deprecated":
            result.deprecated.append(name)
        changes = server_changes(was, now)
        if changes:
            result.changed.append(ServerChange(name, changes))
        if (change := workload_change(was, now)) is not None:
            workload[name] = change
    result.profiles = profile_changes(old, new, admissions, workload)
    if admissions is not None:
        result.withdrawn = withdrawn_workloads(*admissions)
        result.vacated = vacated_namespaces(*admissions)
    return result


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
    early = early_catalog(old_target), early_catalog(new_target)
    notes: list[str] = []
    admissions = release_admissions(early[0][0], early[1][0], notes)
    needed = _bundles_needed(early[0][0], early[1][0], admissions)
    (old, old_bundles), (new, new_bundles) = (read_release(old_target, needed.old_profiles, needed.servers, early[0]),
                                              read_release(new_target, needed.new_profiles, needed.servers, early[1]))
    result = _diff(old, new, admissions, notes)
    return _with_bundle_objects(result, needed, lambda: old_bundles, lambda: new_bundles, admissions)


RenderedFiles = Callable[[set[str], set[str]], Iterable[OutputFile]]
"""The files a release being built renders for some profiles and servers: given the profiles' names
and the servers', their bundle files (`generator.render.kubernetes.bundles.bundle_files_of`)."""


def diff_previous_release(previous: Path, built: Callable[[], ReleaseCatalog], rendered: RenderedFiles) -> ReleaseDiff:
    """What `diff_release_targets` of the release `previous` (tarball or site folder) and the one being
    built gives: `build --previous`, for the changes page and feed. `built` makes the catalog being
    built (`read_releases.built_catalog`).

    `previous` is read once, before the build writes anything, its catalog scanned as `diff` scans it,
    and the one being built made record by record as asked for (neither held parsed: 300 MB each at
    10,000 servers, which took a 10,000-server build from 450 to 780 MB). Only when a namespace
    loses a server is `previous` read again, for its bundles (as `diff` keeps them: those of the
    profiles deployed there, of their server folders the withdrawn servers'), and are the new
    release's bundles of the same profiles and servers rendered, in memory (`rendered`: the build
    writes its own later), both catalogs let go first; each delete line then names what `diff` of
    the two releases names."""
    before, digest = read_scanned_release(previous)
    after = built()
    notes: list[str] = []
    admissions = release_admissions(before, after, notes)
    result = _diff(before, after, admissions, notes)
    if not (result.withdrawn or result.vacated):
        return result
    needed = _bundles_needed(before, after, admissions)
    del before, after
    return _with_bundle_objects(
        result, needed, lambda: release_bundles(previous, needed.old_profiles, needed.servers, digest),
        lambda: rendered_bundles(rendered(needed.new_profiles, needed.servers), needed.new_profiles, needed.servers),
        admissions)


@dataclass(frozen=True)
class _NeededBundles:
    """What of each release's bundles tells what to delete: the profiles deployed where a namespace
    loses a server (in the old release, also those a withdrawn workload was shipped by), and of the
    server folders only the withdrawn servers'."""

    documents: tuple[dict[str, Any], dict[str, Any]]
    """Each release's catalog settings, as `cleanup` reads them (`{"catalog": ...}`)."""
    old_profiles: set[str]
    new_profiles: set[str]
    servers: set[str]


def _bundles_needed(old: ReleaseCatalog, new: ReleaseCatalog, admissions: tuple[Admissions, Admissions] | None) -> _NeededBundles:
    withdrawn = withdrawn_workloads(*admissions) if admissions is not None else []
    vacated = vacated_namespaces(*admissions) if admissions is not None else []
    namespaces = {item.namespace for item in withdrawn} | {item.namespace for item in vacated}
    documents = ({"catalog": old.catalog}, {"catalog": new.catalog})
    return _NeededBundles(
        documents,
        {item.profile for item in withdrawn if NAME.match(item.profile)} | profiles_in(documents[0], namespaces),
        profiles_in(documents[1], namespaces),
        {item.server for item in withdrawn},
    )


def _with_bundle_objects(
    result: ReleaseDiff, needed: _NeededBundles, old_bundles: Callable[[], ReleaseBundles],
    new_bundles: Callable[[], ReleaseBundles], admissions: tuple[Admissions, Admissions] | None,
) -> ReleaseDiff:
    """`result` with every object of each workload to delete and of each vacated namespace, read from the
    releases' bundles; a bundle that cannot be read leaves a catalog-wide note saying what it left out.
    What the new bundles render in the namespaces concerned is read first, and they are let go before
    the old ones are made (`build --previous` renders the new ones, hundreds of MB a profile at 10,000
    servers, and reads the old ones from a tarball)."""
    if not (result.withdrawn or result.vacated):
        return result
    old: list[ReleaseBundles] = []

    def old_once() -> ReleaseBundles:
        if not old:
            old.append(old_bundles())
        return old[0]
    # Each part on its own: a bundle one of them cannot read leaves the other's objects named.
    try:
        if result.withdrawn:
            still = namespace_objects(needed.documents[1], new_bundles(), {item.namespace for item in result.withdrawn})
            result.withdrawn = with_server_objects(result.withdrawn, needed.documents[0], old_once(), still)
    except UnreadBundle as exc:
        result.catalog.append(f"to delete names each server's workload alone: its other objects were not read from the "
                              f"bundles ({shown(str(exc))})")
    try:
        result.vacated = [with_namespace_objects(item, needed.documents[0], old_once(), admissions[0].profiles)  # type: ignore[index]
                          for item in result.vacated]
    except UnreadBundle as exc:
        result.catalog.append(f"what the old release left in a namespace no profile is deployed to any more was not read "
                              f"from its bundles ({shown(str(exc))}): find it there and delete it by hand")
    return result
