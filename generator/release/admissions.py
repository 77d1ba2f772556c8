"""Which servers each registry profile of a release admits and ships, by the build's own rules.

`diff` compares two releases' admissions: the servers and tools a profile now admits or withholds,
and the workloads a namespace is shipped no more (`cleanup`). Worked out with `generator.derived`
from each release's own data, the servers validated one at a time: no release is ever held parsed.
It decides nothing about what to report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from generator import derived
from generator.models import CatalogMeta, RegistryProfile, Server
from generator.release.catalog_scan import ReleaseCatalog
from generator.release.wording import shown
from generator.render.kubernetes.names import ServerNames


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
    (`derived.left_out_because`); of the servers `release_admissions` decided, as `admitted`."""


def release_admissions(
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
                    failed[at] = (f"server {shown(name)}", exc)
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
            f"{shown(release.catalog['version'])}'s {where} does not read as this version's "
            f"({'.'.join(shown(str(part)) for part in error['loc'])}: {shown(error['msg'])})")


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
