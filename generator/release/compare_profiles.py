"""Compare each registry profile of two releases: its fields and what it now admits, ships and withholds.

Per profile: new, removed and renamed profiles (a removed or renamed one's registry objects named
with the commands deleting them), every changed field (a move from `legacy/` to the current
operator with its steps: `operator_move`), the servers it now admits or no longer admits, why it
leaves out a new server its selection picks, the tools it now keeps or withholds, and which servers it ships in both releases changed in what its namespace runs (`WorkloadChange`, from
`compare_records`). Worked out from each release's `release_admissions`; it reads no release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import derived
from generator.release.admissions import Admissions, Offering
from generator.release.catalog_scan import ReleaseCatalog
from generator.release.cleanup import profile_namespace, renamed_profiles
from generator.release.compare_records import TOOL_CHANGES, WorkloadChange, field_changes, tool_names
from generator.release.diff_report import ProfileChange
from generator.release.operator_move import legacy_move_lines
from generator.release.wording import shown, shown_or
from generator.render.kubernetes.names import (
    database_secret_name, pgpass_secret_name, registry_data_name, registry_resource_name, registry_service_name,
)


def profile_changes(
    old: ReleaseCatalog, new: ReleaseCatalog, admissions: tuple[Admissions, Admissions] | None,
    workload: dict[str, WorkloadChange],
) -> list[ProfileChange]:
    """Per registry profile: its changed fields, then the servers and tools it now admits or withholds,
    the new servers it leaves out and why, and which servers it ships changed in what its namespace
    runs (`workload`: per server in both releases, its `workload_changes`). A new profile taking a
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
                changes = [f"new profile: namespace {shown_or(after[name].get('namespace'))}"]
            else:
                changes = _continued_profile_changes(was, before[was], after[name], admissions)
            if admissions is not None:
                view = _ProfileView(admissions[0].admitted.get(was or name, {}), admissions[1].admitted[name],
                                    admissions[1].left_out[name], added, workload, (was or name, name))
                changes += _admission_changes(view, _ToolNames(new))
        if changes:
            entries = {line: server for server, line in view.shipped_lines.items()}
            result.append(ProfileChange(name, changes, view.shipped_changed, view.left_out_new, entries))
    return result


def _continued_profile_changes(
    was: str, old: dict[str, Any], new: dict[str, Any], admissions: tuple[Admissions, Admissions] | None
) -> list[str]:
    """The changed fields of a profile both releases have (`was` its old name, when renamed) and, when
    it was renamed or moved to another namespace, the registry it leaves where it was: the new
    release's objects have other names or another namespace, so nothing replaces or deletes them."""
    fields = [item for key in [*new, *(k for k in old if k not in new)] if key != "name"
              for item in field_changes(shown(key), old.get(key), new.get(key))]
    if was == new["name"]:
        if old.get("namespace") != new.get("namespace"):
            return fields + _registry_leftovers(was, admissions)
        return fields + (legacy_move_lines(admissions[0].profiles[was], admissions[1].profiles[was]) if admissions else [])
    return [f"renamed from {shown(was)} (same namespace {shown_or(new.get('namespace'))}): "
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
        return f"profile removed: namespace {shown_or(namespace)} no longer gets its registry or servers"
    return (f"profile removed: namespace {shown_or(namespace)} now gets profile {', '.join(map(shown, others))}'s "
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


class _ToolNames(dict[str, set[str]]):
    """The names of the tools each server of a release offers, its record parsed when first asked for."""

    def __init__(self, release: ReleaseCatalog) -> None:
        super().__init__()
        self._release = release

    def __missing__(self, server: str) -> set[str]:
        self[server] = tool_names(self._release.record(server).get("tools"))
        return self[server]


@dataclass(frozen=True)
class _ProfileView:
    """What one profile's section compares: the servers it admits in each release (the old release's
    under its old name, when renamed), and of the new release the servers its rules leave out and
    which servers are new; of the servers in both releases, their `workload_change`; and the profile's
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
        it ships in both releases (`_kept_in_both`), when any."""
        labels = {server: self.workload[server].labels_in(*self.names, kept) for server, kept in self._kept_in_both.items()}
        return {server: found for server, found in labels.items() if found}

    @property
    def shipped_lines(self) -> dict[str, str]:
        """The line of each server of `shipped_changed`: which kinds of change, a change of kind with what
        it became (a container gone remote sends its data out), a tool's name or description with which
        tools; the detail is the server's own entry (`ProfileChange.entries`)."""
        lines = {}
        for server, found in self.shipped_changed.items():
            change, kept = self.workload[server], self._kept_in_both[server]
            labels = [f"kind ({change.kind})" if label == "kind"
                      else f"{label} ({', '.join(map(shown, change.tools_changed(label, kept)))})" if label in TOOL_CHANGES
                      else label for label in found]
            lines[server] = f"{shown(server)}: changed {', '.join(labels)}"
        return lines

    @property
    def _kept_in_both(self) -> dict[str, set[str]]:
        """Each server of `workload` the profile ships in both releases (runs it: a reference entry or a
        server not shipped runs nothing in the namespace), with the tools it keeps in both."""
        return {server: set(self.old[server]) & set(self.new[server])  # type: ignore[arg-type]
                for server in sorted(set(self.old) & set(self.new) & set(self.workload))
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
    the namespace runs or its clients read when it is shipped in both (`shipped_lines`), whether it is now shipped or no
    longer (with the tools it keeps), and, shipped in both, the tools now kept or withheld (a tool the
    server no longer offers at all is its own `removed tool` line, not repeated here)."""
    old, new = view.old, view.new
    changes = [f"now admits {shown(server)}{_kept(new[server])}" for server in sorted(set(new) - set(old))]
    changes += [f"no longer admits {shown(server)}{_because(view.left_out.get(server, ()))}"
                for server in sorted(set(old) - set(new))]
    changes += [f"leaves out new server {shown(server)}{_because(reasons)}" for server, reasons in view.left_out_new.items()]
    shipped_lines = view.shipped_lines
    for server in sorted(set(old) & set(new)):
        before, after = old[server], new[server]
        if server in shipped_lines:
            changes.append(shipped_lines[server])
        if _offering(before) != _offering(after):
            changes.append(f"{shown(server)}: now {_offering(after)}{_kept(after)}" if isinstance(after, list) or after == "reference"
                           else f"{shown(server)}: no longer {_offering(before)} ({derived.NOT_OFFERED_LABELS[after]})")
        if not (isinstance(before, list) and isinstance(after, list)):
            # Not shipped in one of them: the line above says which tools it now keeps, or that it
            # keeps none; a line per tool repeated it (20 for a server withdrawn by a tool policy).
            continue
        was, now = set(before), set(after)
        changes += [f"{shown(server)}: now keeps tool {shown(tool)}" for tool in sorted(now - was)]
        changes += [f"{shown(server)}: now withholds tool {shown(tool)}" for tool in sorted(was - now)
                    if tool in offered[server]]
    return changes


def _because(reasons: tuple[str, ...] | list[str]) -> str:
    """Why a profile leaves a server out, as its line ends: nothing when the build gives no reason
    (the server removed, or no longer picked by the profile's selection)."""
    return f": {'; '.join(reasons)}" if reasons else ""


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
