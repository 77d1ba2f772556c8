"""`mcp-catalog import`: read every input, map and validate every entry, then write.

The order matters, as in the build. All inputs are read and recognised first,
so an unreadable file stops the import before anything is written; every
candidate is validated against the same models `mcp-catalog validate` uses, so
a written file is one the validator accepts; names are assigned over the whole
set at once, so collisions resolve the same way whatever the input order.
Every check that can come before writing does; then `write.put_in_place` writes
all the files or none (see `_new_files` for the order that keeps a killed run's
source valid).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from generator.diagnostics import dotted_path
from generator.errors import UsageError
from generator.importers import docker, mcp_registry, source_files, toolhive, toolhive_legacy, write
from generator.importers.inputs import Input, read_inputs
from generator.importers.mapping import Candidate, assign_names, dns_label
from generator.importers.write import NewFile
from generator.models import DNS_LABEL, Server
from generator.source.load import SERVERS_DIR
from generator.source.yamlsafe import MAX_DEPTH

Action = Literal["imported", "updated", "unchanged", "skipped", "rejected"]


@dataclass(frozen=True)
class ImportOptions:
    """What the user asked for on the command line."""

    into: Path
    fmt: str = "auto"
    only: tuple[str, ...] = ()
    tier: Literal["validated", "community"] = "community"
    category: str = "imported"
    update: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one upstream entry."""

    action: Action
    name: str
    position: str
    detail: str = ""
    warnings: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """Every entry's outcome, plus what happened to catalog.yaml, for the CLI to print."""

    outcomes: list[Outcome] = field(default_factory=list)
    created_catalog: bool = False
    added_categories: list[str] = field(default_factory=list)
    unmatched_only: list[str] = field(default_factory=list)
    removed_leftovers: list[Path] = field(default_factory=list)

    def count(self, action: Action) -> int:
        """How many entries had `action`."""
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def exit_code(self) -> int:
        """0 when anything was imported, updated or already present; 1 when every entry was rejected."""
        return 0 if any(o.action != "rejected" for o in self.outcomes) else 1


def import_sources(paths: list[Path], options: ImportOptions) -> ImportReport:
    """Import `paths` into `options.into`; raises CatalogError for unreadable inputs or targets."""
    if not re.fullmatch(DNS_LABEL, options.category):
        raise UsageError(f"--category '{options.category}' is not a category slug (a DNS-1123 label)")
    new_catalog = source_files.check_target(options.into)
    inputs = read_inputs(paths, options.fmt)
    report = ImportReport()
    candidates = _select(list(_all_candidates(inputs)), options.only, report)
    names = assign_names((c.key, c.short_name) for c in candidates if c.problem is None)
    planned = [_plan(c, names.get(c.key), options) for c in candidates]
    written = [p for p in planned if p[0].action in ("imported", "updated")]
    # A dry run makes every check the run makes before writing (its own report: it creates nothing).
    files = _new_files(options, new_catalog, written, ImportReport() if options.dry_run else report) if written else []
    if options.dry_run:
        write.check_targets(options.into, files)
    else:
        report.removed_leftovers = write.put_in_place(options.into, files)
    report.outcomes = sorted((p[0] for p in planned), key=lambda o: (o.action, o.name, o.position))
    return report


def _all_candidates(inputs: list[Input]) -> Iterator[Candidate]:
    for item in inputs:
        if item.format == "docker":
            yield from (docker.candidate(folder) for folder in item.document)
        elif item.format == "toolhive":
            yield from toolhive.candidates(item.document, item.origin)
        elif item.format == "toolhive-legacy":
            yield from toolhive_legacy.candidates(item.document, item.origin)
        else:
            yield from mcp_registry.candidates(item.document, item.origin)


def _select(candidates: list[Candidate], only: tuple[str, ...], report: ImportReport) -> list[Candidate]:
    """Apply --only (upstream name, its last part, or our name) and reject repeated upstream names."""
    if only:
        wanted = set(only)
        candidates = [c for c in candidates if {c.key, c.short_name, dns_label(c.short_name)} & wanted]
        seen = {n for c in candidates for n in (c.key, c.short_name, dns_label(c.short_name))}
        report.unmatched_only = sorted(wanted - seen)
    first: dict[str, str] = {}
    for candidate in candidates:
        if candidate.key in first and candidate.problem is None:
            candidate.problem = f"repeats {candidate.key}, already read at {first[candidate.key]}"
        first.setdefault(candidate.key, candidate.position)
    return candidates


Planned = tuple[Outcome, Server | None, str | None]


def _plan(candidate: Candidate, name: str | None, options: ImportOptions) -> Planned:
    """Validate the candidate and decide imported / updated / unchanged / skipped / rejected."""
    label = name or dns_label(candidate.short_name)
    warnings = tuple(candidate.warnings)
    if candidate.problem or name is None:
        return Outcome("rejected", label, candidate.position, candidate.problem or "rejected", warnings), None, None
    upstream = _source_fields(candidate, name, options)
    target = options.into / SERVERS_DIR / f"{name}.yaml"
    exists = target.is_file()
    shown = json.dumps(candidate.short_name)  # escaped: a look-alike or hidden character shows as \uXXXX
    if name != candidate.short_name:
        if exists and options.update and not candidate.short_name.isascii():
            reason = (f"upstream name {shown} is written with characters outside ASCII and only looks like '{name}': "
                      f"not merged into {target} (a look-alike never replaces a curated server)")
            return Outcome("rejected", name, candidate.position, reason, warnings), None, None
        why = "is not a file name" if dns_label(candidate.short_name) != candidate.short_name else "is another entry's too"
        warnings += (f"upstream name {shown} {why}: named '{name}'",)
    if exists and not options.update:
        return Outcome("skipped", name, candidate.position, f"{target} exists (--update merges upstream changes)", warnings), None, None
    data = source_files.merge_server(source_files.read_server_file(target), upstream) if exists else upstream
    if (deep := _too_deep(data)) is not None:
        reason = (f"does not fit the source format: {dotted_path(deep[:3])}: "
                  f"nested deeper than the {MAX_DEPTH} levels a source file may have")
        return Outcome("rejected", name, candidate.position, reason, warnings), None, None
    try:
        server = Server.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = dotted_path(tuple(error["loc"]))
        reason = f"does not fit the source format: {where + ': ' if where else ''}{error['msg']}"
        return Outcome("rejected", name, candidate.position, reason, warnings), None, None
    if not exists:
        return Outcome("imported", name, candidate.position, str(target), warnings), server, candidate.overview
    changed = _changed_keys(source_files.read_server_file(target), server)
    if not changed:
        return Outcome("unchanged", name, candidate.position, str(target), warnings), None, None
    return Outcome("updated", name, candidate.position, f"{target}: {', '.join(changed)}", warnings), server, None


def _too_deep(data: dict[str, Any]) -> tuple[str | int, ...] | None:
    """The path of a value nested deeper than our loader reads (an upstream input schema can be), or None.

    Walked without recursion: a schema nested hundreds of levels deep is what it looks for."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, at = stack.pop()
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            if isinstance(child, (dict, list)):
                if len(at) + 2 > MAX_DEPTH:  # the top-level mapping is the first level
                    return (*at, key)
                stack.append((child, (*at, key)))
    return None


def _source_fields(candidate: Candidate, name: str, options: ImportOptions) -> dict[str, Any]:
    """The candidate's fields with ours added; None and empty lists left out (they are defaults)."""
    fields = {"name": name, **candidate.fields, "category": options.category, "tier": options.tier}
    return {k: v for k, v in fields.items() if v is not None and v != []}


def _changed_keys(existing: dict[str, Any], server: Server) -> list[str]:
    new = Server.model_validate(existing).model_dump(mode="json", exclude_defaults=True) if _valid(existing) else {}
    fresh = server.model_dump(mode="json", exclude_defaults=True)
    return sorted(k for k in set(new) | set(fresh) if new.get(k) != fresh.get(k))


def _valid(data: dict[str, Any]) -> bool:
    try:
        Server.model_validate(data)
    except ValidationError:
        return False
    return True


def _new_files(options: ImportOptions, new_catalog: bool, written: list[Planned], report: ImportReport) -> list[NewFile]:
    """Every file the import writes, in the order they are put in place.

    A kill can fall between any two renames, so each prefix of this list must leave a valid
    source that the same import, run again, completes. catalog.yaml comes before the server
    files: a server file naming a category catalog.yaml does not declare fails validation, while
    a category no server uses yet is fine. In a new folder the editor schemas come before
    catalog.yaml: until catalog.yaml is there the folder is no source, and the next run starts
    afresh (see `write.holds_only_an_interrupted_import`); after it, the next run imports into
    an existing catalog, which never writes schemas. Each server's overview comes before its
    server file: an overview alone is a warning, and the next run writes the server file; the
    other way round, it would skip the existing server file and never write the overview.
    Every server file was validated on its own, and none depends on another.
    """
    into = options.into
    files: list[NewFile] = []
    if new_catalog:
        dates = [server.updated for _, server, _ in written if server is not None and server.updated]
        files += source_files.new_catalog(into, [options.category], max(dates) if dates else None)
        report.created_catalog = True
    elif missing := source_files.missing_categories(into, [options.category]):
        files.append(source_files.with_categories(into, missing))
        report.added_categories = missing
    folder = into / SERVERS_DIR
    for outcome, server, overview in sorted(written, key=lambda p: p[0].name):
        assert server is not None
        overview_path = folder / f"{server.name}.md"
        if outcome.action == "imported" and overview and not overview_path.exists():
            files.append(NewFile(overview_path, overview.encode("utf-8")))
        files.append(NewFile(folder / f"{server.name}.yaml", source_files.server_yaml(server).encode("utf-8")))
    return files
