"""The diff of two releases as a reviewer reads it: the changes found, worded as a report or as JSON.

`ReleaseDiff` holds what `diff` found, each change already a sentence; this module orders the
groups and words the text report (`as_text`) and the JSON (`as_json`). It compares nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from generator.release.cleanup import UNCHECKED, VACATED_NOTE, VACATED_UNREAD, Vacated, Withdrawn
from generator.release.wording import shown


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
    or its clients read (`WORKLOAD_CHANGES`: kind, image, remote URL, transport, port, args, env,
    headers, egress, file paths, secrets, resources, tool names, tool descriptions; `env` when the
    values the profile's namespace gets changed, a variable's per-profile value counting for that
    profile alone; a tool's name or description when the profile keeps the tool in both releases), by
    name: the labels of what changed, the server's own `changed` entry giving the detail. `changes`
    says the same in words."""
    left_out_new: dict[str, list[str]] = field(default_factory=dict)
    """Each server new in this release that the profile's selection picks and its rules leave out,
    by name: why (`derived.left_out_because`). `changes` says the same in words."""
    entries: dict[str, str] = field(default_factory=dict)
    """The server whose own `changed` entry holds the detail of a line of `changes` (those of
    `shipped_changed`), by the line: each output says where that entry is (`worded`), the changes
    page as a link. Not in the JSON, whose `shipped_changed` says it."""

    def worded(self, pointer: Callable[[str], str]) -> list[str]:
        """`changes`, a line with its detail in a server's own entry followed by `pointer(server)`."""
        return [line + pointer(self.entries[line]) if line in self.entries else line for line in self.changes]


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
        document = asdict(self)
        for profile in document["profiles"]:
            del profile["entries"]
        return document

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
            lines.extend(f"    - {item}" for item in profile.worded(_entry_below))
        if self.withdrawn:
            lines.append("  to delete (no longer shipped to the namespace; admission refuses only new ones, so what a "
                         "deployer applied earlier keeps running):")
            lines.extend(f"    {command}" for command in self.withdrawn_commands.splitlines())
        for namespace in self.vacated:
            lines.append(f"  namespace {namespace.namespace} (profile {', '.join(map(shown, namespace.profiles))} of "
                         f"{shown(self.old_version)}): {VACATED_NOTE}; after the commands above, in this order:")
            lines.extend(f"    {line}" for line in vacated_commands(namespace).splitlines())
        brings = self.brings
        for label, names in (("added", self.added), ("removed", self.removed), ("deprecated", self.deprecated)):
            for name in names:
                lines.append(f"  {label}: {shown(name)}")
                lines.extend(f"    - {item}" for item in brings.get(name, []) if label == "added")
        for change in self.changed:
            lines.append(f"  changed: {shown(change.name)}")
            lines.extend(f"    - {item}" for item in change.changes)
        return "\n".join(lines) + "\n"


def vacated_commands(namespace: Vacated) -> str:
    """The commands deleting what the old release left in a vacated namespace, one a line, in the order
    to run them (`VACATED_UNREAD` when its bundles were not read), then the objects none deletes as a
    comment: what the report, the changes page and its feed give."""
    unchecked = [f"# {UNCHECKED}: {' '.join(namespace.unchecked)}"] if namespace.unchecked else []
    return "\n".join((namespace.commands or [VACATED_UNREAD]) + unchecked)


def _entry_below(server: str) -> str:
    """Where the text report gives the detail of a server a profile's line names: its own entry, below."""
    return f" (details below, under changed: {shown(server)})"
