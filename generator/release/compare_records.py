"""Compare two releases' records: catalog.yaml's settings and each server's, field by field.

Each change is one short sentence, every value from a release `shown` (or `quoted`, for free text)
as `wording` decides; and, per server, which of what a namespace running it runs changed
(`WorkloadChange`), for each profile's section to name. It reads no release and knows nothing of
profiles' admissions: `compare_profiles` and `diff` do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.release.catalog_scan import ReleaseCatalog
from generator.release.wording import quoted, shown, shown_or


# A server's fields `server_changes` compares in its own words; every other field of its record is
# compared leaf by leaf (`_other_field_changes`), but for those of NOT_COMPARED.
PHRASED = frozenset({"name", "image", "digest", "tier", "transport", "status", "remote", "permissions", "tools", "env",
                     "args", "review"})
NOT_COMPARED = frozenset({"overview", "examples", "updated"})
"""Deliberately left out: the Markdown overview and the example prompts (prose for people, no
workload, policy or client acts on them) and the date the entry last changed."""


def server_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    # A change of kind first: a container's narrowed egress reads as a narrowing, while the data now
    # goes to a service outside the cluster.
    kind = _kind_change(old, new) if old else None
    changes = [f"kind: {kind}"] if kind else []
    for key, label in (("image", "image"), ("digest", "digest"), ("tier", "tier"), ("transport", "transport")):
        if old.get(key) != new.get(key):
            changes.append(f"{label}: {shown_or(old.get(key))} -> {shown_or(new.get(key))}")
    if old.get("status") != new.get("status") and new.get("status") != "deprecated":
        changes.append(f"status: {shown_or(old.get('status'))} -> {shown_or(new.get('status'))}")
    old_remote, new_remote = old.get("remote") or {}, new.get("remote") or {}
    if old_remote.get("url") != new_remote.get("url"):
        changes.append(f"remote URL: {shown_or(old_remote.get('url'))} -> {shown_or(new_remote.get('url'))}")
    changes += _permission_changes(old.get("permissions") or {}, new.get("permissions") or {})
    changes += _set_changes("tool", tool_names(old.get("tools")), tool_names(new.get("tools")))
    changes += _tool_changes(old.get("tools") or [], new.get("tools") or [])
    changes += _set_changes("secret", _secrets(old), _secrets(new))
    changes += _env_changes(old.get("env") or [], new.get("env") or [])
    changes += _input_changes("header", old_remote.get("headers") or [], new_remote.get("headers") or [])
    if (old.get("args") or []) != (new.get("args") or []):
        changes.append(f"args: {shown(old.get('args') or [])} -> {shown(new.get('args') or [])}")
    changes += _other_field_changes(old, new)
    old_review, new_review = old.get("review") or {}, new.get("review") or {}
    if old_review.get("status") != new_review.get("status"):
        changes.append(f"review: {shown_or(old_review.get('status'), 'not reviewed')} -> "
                       f"{shown_or(new_review.get('status'), 'not reviewed')}")
    for key, label in (("by", "review by"), ("date", "review date"), ("expires", "review expires")):
        if old_review.get(key) != new_review.get(key):
            changes.append(f"{label}: {shown_or(old_review.get(key))} -> {shown_or(new_review.get(key))}")
    if old_review.get("notes", "") != new_review.get("notes", ""):
        changes.append(f"review notes: {quoted(old_review.get('notes'))} -> {quoted(new_review.get('notes'))}")
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
        return f"remote {shown_or((record.get('remote') or {}).get('url'))}"
    return "reference entry" if kind == "reference" else kind


TOOL_CHANGES = ("tool names", "tool descriptions")
"""What clients in a namespace read of a tool it keeps, as a profile's section names its change: the
deployed name and description (the override's, else the tool's own: what the LLM is told the tool
does), for the tools the profile keeps in both releases (`WorkloadChange.labels_in`)."""
WORKLOAD_CHANGES = ("kind", "image", "remote URL", "transport", "port", "args", "env", "headers", "egress",
                    "file paths", "secrets", "resources", *TOOL_CHANGES)
"""What a profile's section says changed of a server it ships in both releases, in this order: what
its namespace runs and what leaves it, then what its clients read of the tools it keeps (its other
changes are in the server's own entry)."""


@dataclass(frozen=True)
class WorkloadChange:
    """Which of `WORKLOAD_CHANGES` a server's two records differ in wherever it runs, its `_kind_change`,
    each record's `env` (the values a namespace gets depend on its profile) and, per tool in both, which
    of `TOOL_CHANGES` (they reach a namespace keeping the tool): `labels_in` picks those of a profile."""

    labels: list[str]
    """Of `WORKLOAD_CHANGES`, all but `env` and `TOOL_CHANGES`."""
    kind: str | None
    env: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    tools: dict[str, list[str]] = field(default_factory=dict)
    """Per tool both records have, by name, which of `TOOL_CHANGES` it changed in, when any."""

    def labels_in(self, was: str, profile: str, kept: set[str]) -> list[str]:
        """The labels of what changed in the namespace of `profile` (`was` its name in the old release),
        which keeps the tools `kept` in both releases: `env` when the values its bundle sets differ (a
        per-profile value reaches that profile alone), a tool's name or description when it keeps the tool."""
        env = _env_values(self.env[0], was) != _env_values(self.env[1], profile)
        tools = {label for tool in kept for label in self.tools.get(tool, ())}
        return [label for label in WORKLOAD_CHANGES
                if label in self.labels or (label == "env" and env) or label in tools]

    def tools_changed(self, label: str, kept: set[str]) -> list[str]:
        """The tools of `kept` whose `label` (one of `TOOL_CHANGES`) changed, by name."""
        return sorted(tool for tool in kept if label in self.tools.get(tool, ()))


def workload_change(old: dict[str, Any], new: dict[str, Any]) -> WorkloadChange | None:
    """What changed between two records of a server in what a namespace running it runs, or its
    clients read of its tools; None when nothing did in any namespace."""
    labels, env = workload_changes(old, new), (old.get("env") or [], new.get("env") or [])
    tools = _deployed_tool_changes(old.get("tools") or [], new.get("tools") or [])
    if not labels and env[0] == env[1] and not tools:
        return None
    return WorkloadChange(labels, _kind_change(old, new), env, tools)


def _deployed_tool_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per tool both lists have, which of `TOOL_CHANGES` differ, as clients see the tool (`_deployed`)."""
    before = {tool["name"]: tool for tool in old}
    changed = {}
    for tool in new:
        if (previous := before.get(tool["name"])) is None:
            continue  # a new tool a profile keeps is its own `now keeps tool` line
        labels = [label for label, key in zip(TOOL_CHANGES, ("name", "description"))
                  if _deployed(previous, key) != _deployed(tool, key)]
        if labels:
            changed[tool["name"]] = labels
    return changed


def _env_values(env: list[dict[str, Any]], profile: str) -> list[tuple[str, Any]]:
    """The (name, value) pairs a profile's bundle sets, as `derived.env_values` makes them: each plain
    variable's value in the profile, else its default (secrets come from the Secret)."""
    values = []
    for var in env:
        value = (var.get("profiles") or {}).get(profile, var.get("default"))
        if not var.get("secret") and value is not None:
            values.append((var.get("name"), value))
    return values


def workload_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
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
        changes += field_changes(shown(key), was, now)
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
                changes.append(f"tool {name}: {shown(hint)} {shown_or(old_hints.get(hint), 'not declared')} -> "
                               f"{shown_or(new_hints.get(hint), 'not declared')}")
        old_as = None if previous is None else _deployed(previous, "name")
        if old_as != _deployed(tool, "name") and (previous is not None or _deployed(tool, "name") != tool["name"]):
            changes.append(f"tool {name}: deployed as {shown_or(old_as)} -> {shown_or(_deployed(tool, 'name'))}")
        old_text = None if previous is None else _deployed(previous, "description")
        if old_text != _deployed(tool, "description"):
            changes.append(f"tool {name}: deployed description {quoted(old_text)} -> {quoted(_deployed(tool, 'description'))}")
        if was.get("description") != tool.get("description") and (tool.get("override") or {}).get("description"):
            changes.append(f"tool {name}: description (overridden when deployed) {quoted(was.get('description'))} -> "
                           f"{quoted(tool.get('description'))}")
        changes += field_changes(f"tool {name}: input_schema", was.get("input_schema"), tool.get("input_schema"))
    return changes


def _deployed(tool: dict[str, Any], key: str) -> Any:
    """The tool's name or description as clients see it: the override's, else its own."""
    return (tool.get("override") or {}).get(key) or tool.get(key)


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
            changes.append(f"{short} {name}: description {quoted(was.get('description'))} -> {quoted(now.get('description'))}")
    return changes


def _env_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The variables' changes (`_input_changes`), then their defaults and per-profile values, a new
    variable's too: they reach the workload."""
    before = {var["name"]: var for var in old}
    changes = _input_changes("env variable", old, new)
    for now in new:
        name, was = shown(now["name"]), before.get(now["name"], {})
        if was.get("default") != now.get("default"):
            changes.append(f"env {name}: default {quoted(was.get('default'))} -> {quoted(now.get('default'))}")
        old_values, new_values = was.get("profiles") or {}, now.get("profiles") or {}
        for profile in sorted(set(old_values) | set(new_values)):
            if old_values.get(profile) != new_values.get(profile):
                changes.append(
                    f"env {name}: value required in profile {shown(profile)} "
                    f"{quoted(old_values.get(profile))} -> {quoted(new_values.get(profile))}"
                )
    return changes


def _yes(value: Any) -> str:
    return "yes" if value else "no"


# catalog.yaml settings whose change alters what crosses the gap, where it runs or what clients look
# it up by (`namespace`: every server's MCP registry name defaults to <namespace>/<name>); its title,
# description, publisher and categories do not, and `last_updated` counts through the admissions.
CATALOG_FIELDS = ("namespace", "image_mirror", "toolhive")


def catalog_changes(old: ReleaseCatalog, new: ReleaseCatalog) -> list[str]:
    changes = []
    for key in CATALOG_FIELDS:
        changes += field_changes(key, old.catalog.get(key), new.catalog.get(key))
    if old.pulled_from is not None and new.pulled_from is not None and old.pulled_from != new.pulled_from:
        words = [", ".join(shown_or(r, "the images' own registries") for r in pulled) for pulled in (old.pulled_from, new.pulled_from)]
        changes.append(f"manifests pull images from: {words[0]} -> {words[1]}")
    return changes


def field_changes(label: str, old: Any, new: Any) -> list[str]:
    """Each differing leaf of two JSON values, by dotted path: lists as added and removed items."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in [*new, *(k for k in old if k not in new)]:
            changes += field_changes(f"{label}.{shown(key)}", old.get(key), new.get(key))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return [f"{label}: new {shown(item)}" for item in new if item not in old] + [
            f"{label}: removed {shown(item)}" for item in old if item not in new
        ]
    if old == new or (old in (None, "") and new in (None, "")):
        return []  # an empty text and none read the same to a reviewer (an added server's `publisher: ""`)
    return [f"{label}: {shown_or(old)} -> {shown_or(new)}"]


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


def tool_names(tools: list[dict[str, Any]] | None) -> set[str]:
    return {tool["name"] for tool in tools or []}


def _secrets(server: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in server.get("env") or [] if env.get("secret")}
    names |= {header["name"] for header in (server.get("remote") or {}).get("headers", []) if header.get("secret")}
    return names
