"""`mcp-catalog diff OLD NEW`: what changed between two releases that a review board must see.

Each release is read from its normalised `api/v1/catalog.json`, out of a tarball (without
extracting) or a site folder. Only changes that matter for approval are reported: servers
added, removed or deprecated, and per server the image or digest, remote URL, permissions
(hosts, ports, open egress, file paths), tools, secrets, tier and review state.
"""

from __future__ import annotations

import json
import tarfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from generator.errors import UsageError
from generator.paths import CATALOG_JSON


@dataclass(frozen=True)
class ServerChange:
    """One server's review-relevant changes, each a short sentence."""

    name: str
    changes: list[str]


@dataclass
class ReleaseDiff:
    """The difference between two catalog releases."""

    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    deprecated: list[str] = field(default_factory=list)
    changed: list[ServerChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing review-relevant changed."""
        return not (self.added or self.removed or self.deprecated or self.changed)

    def as_json(self) -> dict[str, Any]:
        """A plain, stable JSON form."""
        return asdict(self)

    def as_text(self) -> str:
        """The report a reviewer reads."""
        lines = [f"Changes from {self.old_version} to {self.new_version}"]
        if self.empty:
            return lines[0] + ": none that need review\n"
        for label, names in (("added", self.added), ("removed", self.removed), ("deprecated", self.deprecated)):
            for name in names:
                lines.append(f"  {label}: {name}")
        for change in self.changed:
            lines.append(f"  changed: {change.name}")
            lines.extend(f"    - {item}" for item in change.changes)
        return "\n".join(lines) + "\n"


# catalog.json of a 10,000-server catalog is tens of MB; anything far larger is not ours.
MAX_CATALOG_BYTES = 512 << 20


def read_release_catalog(target: Path) -> dict[str, Any]:
    """The normalised catalog document of a release tarball or site folder."""
    if target.is_dir():
        document = target / CATALOG_JSON
        if not document.is_file() or document.is_symlink():
            raise UsageError(f"{target} is not a built site ({CATALOG_JSON} is missing)")
        if document.stat().st_size > MAX_CATALOG_BYTES:
            raise UsageError(f"{document} is larger than any catalog document: not an mcp-catalog release")
        return _checked_document(document.read_bytes(), str(document))
    if not target.is_file():
        raise UsageError(f"{target} does not exist: pass a release tarball or a site folder")
    try:
        with tarfile.open(target, mode="r:gz") as archive:
            for member in archive.getmembers():
                parts = PurePosixPath(member.name).parts
                if member.isfile() and not member.issparse() and "/".join(parts[1:]) == CATALOG_JSON:
                    if member.size > MAX_CATALOG_BYTES:
                        break
                    handle = archive.extractfile(member)
                    assert handle is not None
                    return _checked_document(handle.read(), f"{target}:{member.name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise UsageError(f"{target}: cannot read the release ({exc}); run `mcp-catalog verify` on it") from None
    raise UsageError(f"{target}: no {CATALOG_JSON} inside: not an mcp-catalog release")


def _checked_document(raw: bytes, where: str) -> dict[str, Any]:
    """The parsed catalog document, or a UsageError when it is not one."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: not a catalog document ({exc})") from None
    servers = document.get("servers") if isinstance(document, dict) else None
    catalog = document.get("catalog") if isinstance(document, dict) else None
    if (
        not isinstance(servers, list)
        or not isinstance(catalog, dict)
        or not isinstance(catalog.get("version"), str)
        or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in servers)
    ):
        raise UsageError(f"{where}: not a catalog document (expected catalog.version and servers[].name)")
    return document


def diff_releases(old: dict[str, Any], new: dict[str, Any]) -> ReleaseDiff:
    """Compare two normalised catalog documents."""
    before = {s["name"]: s for s in old["servers"]}
    after = {s["name"]: s for s in new["servers"]}
    result = ReleaseDiff(old["catalog"]["version"], new["catalog"]["version"])
    result.added = sorted(set(after) - set(before))
    result.removed = sorted(set(before) - set(after))
    for name in sorted(set(before) & set(after)):
        if before[name].get("status") != "deprecated" and after[name].get("status") == "deprecated":
            result.deprecated.append(name)
        changes = _server_changes(before[name], after[name])
        if changes:
            result.changed.append(ServerChange(name, changes))
    return result


def _server_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    for key, label in (("image", "image"), ("digest", "digest"), ("tier", "tier"), ("transport", "transport")):
        if old.get(key) != new.get(key):
            changes.append(f"{label}: {old.get(key) or 'none'} -> {new.get(key) or 'none'}")
    old_url, new_url = (old.get("remote") or {}).get("url"), (new.get("remote") or {}).get("url")
    if old_url != new_url:
        changes.append(f"remote URL: {old_url or 'none'} -> {new_url or 'none'}")
    changes += _permission_changes(old.get("permissions") or {}, new.get("permissions") or {})
    changes += _set_changes("tool", _names(old.get("tools")), _names(new.get("tools")))
    changes += _set_changes("secret", _secrets(old), _secrets(new))
    old_review, new_review = (old.get("review") or {}).get("status"), (new.get("review") or {}).get("status")
    if old_review != new_review:
        changes.append(f"review: {old_review or 'not reviewed'} -> {new_review or 'not reviewed'}")
    return changes


def _permission_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    old_out = ((old.get("network") or {}).get("outbound")) or {}
    new_out = ((new.get("network") or {}).get("outbound")) or {}
    changes = _set_changes("egress host", set(old_out.get("allow_host", [])), set(new_out.get("allow_host", [])))
    changes += _set_changes(
        "egress port", {str(p) for p in old_out.get("allow_port", [])}, {str(p) for p in new_out.get("allow_port", [])}
    )
    if bool(old_out.get("insecure_allow_all")) != bool(new_out.get("insecure_allow_all")):
        state = "now allowed" if new_out.get("insecure_allow_all") else "no longer allowed"
        changes.append(f"egress to any host: {state}")
    for key in ("read", "write"):
        changes += _set_changes(f"{key} path", set(old.get(key, [])), set(new.get(key, [])))
    return changes


def _set_changes(label: str, old: set[str], new: set[str]) -> list[str]:
    return [f"new {label}: {item}" for item in sorted(new - old)] + [
        f"removed {label}: {item}" for item in sorted(old - new)
    ]


def _names(tools: list[dict[str, Any]] | None) -> set[str]:
    return {tool["name"] for tool in tools or []}


def _secrets(server: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in server.get("env") or [] if env.get("secret")}
    names |= {header["name"] for header in (server.get("remote") or {}).get("headers", []) if header.get("secret")}
    return names
