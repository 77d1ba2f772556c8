"""The end-of-import report as lines: every entry's outcome, warnings, rejections with their reason."""

from __future__ import annotations

import os

from generator.importers.run import ImportReport

VERBS = {
    "imported": ("imported", "would import"),
    "updated": ("updated", "would update"),
    "unchanged": ("unchanged", "unchanged"),
    "skipped": ("skipped", "would skip"),
    "rejected": ("rejected", "would reject"),
}


def format_report(report: ImportReport, *, verbose: bool = True, dry_run: bool = False) -> list[str]:
    """One line per entry (rejections always, the rest when `verbose`), then the summary."""
    lines: list[str] = []
    if report.removed_leftovers:
        folder = os.path.commonpath([p.parent for p in report.removed_leftovers])
        lines.append(f"removed {len(report.removed_leftovers)} temporary file(s) an interrupted import left in {folder}")
    if report.created_catalog:
        lines.append("created catalog.yaml: set its title, description and namespace before publishing")
    for slug in report.added_categories:
        lines.append(f"added category '{slug}' to catalog.yaml: give it a proper title")
    for outcome in report.outcomes:
        verb = VERBS[outcome.action][dry_run]
        if outcome.action == "rejected":
            lines.append(f"{verb} {outcome.position}: {outcome.name}: {outcome.detail}")
        elif verbose:
            lines.append(f"{verb} {outcome.name}: {outcome.detail}")
        if verbose:
            lines.extend(f"  warning: {outcome.name}: {w}" for w in outcome.warnings)
    for name in report.unmatched_only:
        lines.append(f"--only {name}: no such server in the input")
    counts = ", ".join(f"{report.count(a)} {VERBS[a][dry_run]}" for a in VERBS)  # type: ignore[arg-type]
    lines.append(f"{counts}{' (dry run: nothing written)' if dry_run else ''}")
    return lines
