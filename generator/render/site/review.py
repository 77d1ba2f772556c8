"""The reviewer's view: one table of every server's risk facts, as a page, CSV and JSON, and an Atom feed.

A security reviewer asked "which servers need egress or have destructive tools, with approval and
expiry" should find the answer in one table (sortable and filterable by search.js, complete without
it; ROWS_PER_PAGE rows a page, the script sorting and filtering every page's rows from
`assets/reviews-index.js`) or in `reviews/reviews.csv` / `reviews/reviews.json`, not by visiting
every server page. The
Atom feed `reviews/changes.atom` lists what the `--previous` diff found, so reviewers subscribe
instead of checking; without `--previous` it is a valid feed with no entries.
Dates come from the catalog, never the clock: two builds give identical bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from generator import derived, paths
from generator.models import Catalog, Server
from generator.output import OutputFile
from generator.release.diff_report import ReleaseDiff, vacated_commands
from generator.release.wording import shown
from generator.render.site.drawn import Drawing, Partial, Skeletons, empty_texts, slot_unless
from generator.render.site.search import global_script
from generator.render.site.views import APPROVALS, behaviour_counts, egress, secret_names

ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
# Rows a page of the reviewer's table. All 10,000 rows of a large catalog on one page (8.4 MB, 184,000
# elements) took Chromium so long to lay out that Lighthouse gave up on it; 1,000 rows cost 1.9 s of
# style and layout on Lighthouse's phone, and 500 a page still scored 91-92 there. Above one page the
# script loads every row (REVIEWS_DATA) to sort and filter them all.
ROWS_PER_PAGE = 250
REVIEWS_DATA = "reviews-index.js"
# Spreadsheets run a cell starting with one of these as a formula: such cells get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReviewRow:
    """One server's facts a security review looks at (the page's row, a CSV line, a JSON object)."""

    name: str
    title: str
    tier: str
    kind: str
    approval: str
    reviewer: str
    decided: str
    expires: str
    days_left: int | None
    egress: str
    egress_hosts: list[str]
    secrets: list[str]
    tools: int
    read_only_tools: int
    destructive_tools: int
    open_world_tools: int
    pinned: bool | None
    deprecated: bool

    @property
    def risks(self) -> dict[str, bool]:
        """The flags the table's risk checkboxes filter by: the page's rows and reviews-index.js both take these."""
        return {"egress": self.egress in ("hosts", "any", "remote"), "destructive": self.destructive_tools > 0,
                "unapproved": self.approval != "approved", "unpinned": self.pinned is False}

    @property
    def egress_words(self) -> str:
        """The Egress cell's words (reviews.html stresses "any host" and "not declared")."""
        if self.egress == "remote":
            return "remote: " + ", ".join(self.egress_hosts)
        if self.egress == "hosts":
            return ", ".join(self.egress_hosts)
        return {"none": "none", "any": "any host", "not-declared": "not declared"}.get(self.egress, "n/a")

    @property
    def secrets_words(self) -> str:
        """The Secrets cell's words: the names, comma-separated ("" without secrets)."""
        return ", ".join(self.secrets)

    @property
    def secrets_count(self) -> int:
        """How many secrets (the Secrets column sorts by it)."""
        return len(self.secrets)

    @property
    def expires_in(self) -> str:
        """When the approval expires, counted from the catalog's date ("in 12 days", "3 days ago"); "" without an expiry."""
        if self.days_left is None:
            return ""
        return f"{-self.days_left} days ago" if self.days_left < 0 else f"in {self.days_left} days"


def review_row(catalog: Catalog, server: Server) -> ReviewRow:
    """The server's row; `days_left` counts from the catalog's date and is None without an expiry."""
    review = server.review
    reach, hosts = egress(server)
    counts = behaviour_counts(server)
    expires = review.expires if review else None
    return ReviewRow(
        name=server.name,
        title=server.title,
        tier=server.tier,
        kind=server.kind,
        approval=derived.review_state(catalog.meta, server),
        reviewer=(review.by or "") if review else "",
        decided=review.date.isoformat() if review and review.date else "",
        expires=expires.isoformat() if expires else "",
        days_left=(expires - catalog.meta.last_updated.date()).days if expires else None,
        egress=reach,
        egress_hosts=hosts,
        secrets=secret_names(server),
        tools=counts.tools,
        read_only_tools=counts.read_only,
        destructive_tools=counts.destructive,
        open_world_tools=counts.open_world,
        pinned=bool(server.digest) if server.kind == "container" else None,
        deprecated=server.status == "deprecated",
    )


# A row's texts a script fills in (slots); the rest (tier, approval, egress, deprecated, pinned, the
# risk flags) is its variant. reviews-index.js holds the same values (data_row).
REVIEW_TEXTS = ("name", "title", "reviewer", "decided", "expires", "expires_in", "egress_words", "secrets_words",
                "secrets_count", "destructive_tools", "open_world_tools", "tools")


def review_row_drawing(row: ReviewRow) -> Drawing:
    """The row as search.js draws it across pages (see `drawn`)."""
    texts = {name: str(getattr(row, name)) for name in REVIEW_TEXTS}
    variant = (row.tier, row.approval, row.egress, row.deprecated, row.pinned, tuple(row.risks.items()), empty_texts(texts))
    return Drawing(variant, texts)


def _review_row_skeleton(variant: tuple[Any, ...]) -> dict[str, Any]:
    tier, approval, egress_kind, deprecated, pinned, risks, empty = variant
    texts = {name: slot_unless(name, empty) for name in REVIEW_TEXTS}
    return {"row": SimpleNamespace(**texts, tier=tier, approval=approval, egress=egress_kind, deprecated=deprecated,
                                   pinned=pinned, risks=dict(risks))}


REVIEW_ROW = Partial(
    "_review_row.html",
    "row." + ", row.".join(REVIEW_TEXTS),
    "row.tier, row.approval, row.egress, row.deprecated, row.pinned and row.risks",
    _review_row_skeleton,
)
"""The reviewer's table's rows: search.js draws a sort or filter of every page from `_review_row.html`'s skeletons."""


def review_rows(catalog: Catalog) -> list[ReviewRow]:
    """Every server's row, in the catalog's (name) order."""
    return [review_row(catalog, server) for server in catalog.servers]


def review_pages(catalog: Catalog) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each page of the reviewer's table and what reviews.html shows on it besides the common values."""
    rows = review_rows(catalog)
    count = max(1, -(-len(rows) // ROWS_PER_PAGE))
    page_paths = [paths.reviews_page(number) for number in range(1, count + 1)]
    for number, path in enumerate(page_paths, 1):
        yield path, {"rows": rows[(number - 1) * ROWS_PER_PAGE:number * ROWS_PER_PAGE], "total": len(rows),
                     "approval_labels": APPROVALS, "as_of": catalog.meta.last_updated.date().isoformat(),
                     "page": number, "pages": count, "pager": "reviews", "page_paths": page_paths}


def data_row(row: ReviewRow, tiers: dict[str, str], skeleton: int) -> list[str | int]:
    """One row of assets/reviews-index.js: the number of its skeleton in the file (fourth), each
    cell's words as the shipped row writes them (for sorting and filtering), the risk flags last."""
    pinned = "n/a" if row.pinned is None else ("yes" if row.pinned else "no")
    risks = "".join("1" if flag else "0" for flag in row.risks.values())
    return [row.name, row.title, int(row.deprecated), skeleton, tiers[row.tier], row.approval,
            APPROVALS[row.approval], row.decided, row.reviewer, row.expires, row.expires_in, row.egress, row.egress_words,
            row.secrets_words, row.secrets_count, row.destructive_tools, row.open_world_tools, row.tools, pinned, risks]


def reviews_data(rows: Sequence[ReviewRow], tiers: dict[str, str], skeletons: Skeletons) -> bytes:
    """assets/reviews-index.js: every row and their skeletons, as a classic script (file:// refuses fetch())."""
    listed, numbers = skeletons.listed(review_row_drawing(row) for row in rows)
    return global_script("MCPCatalogReviews", {"s": listed, "rows": [data_row(row, tiers, n) for row, n in zip(rows, numbers)]})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = " ".join(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def reviews_csv(rows: list[ReviewRow]) -> bytes:
    """The rows as CSV (RFC 4180 quoting, "\\n" line ends); lists are space-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = list(ReviewRow.__dataclass_fields__)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(getattr(row, field)) for field in fields])
    return buffer.getvalue().encode("utf-8")


def reviews_json(catalog: Catalog, rows: list[ReviewRow]) -> bytes:
    """The rows as JSON, with the date they are true on."""
    document = {"as_of": catalog.meta.last_updated.date().isoformat(), "servers": [asdict(row) for row in rows]}
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


ADDED_REST = "the rest (env, resources, each tool's hints and input schema): its page, or mcp-catalog diff"
"""Where the changes page and feed send a reader for what an added server's summary leaves out."""


def added_summaries(catalog: Catalog, changes: ReleaseDiff) -> dict[str, list[str]]:
    """What a reviewer signs off on for each added server (`added_summary`), by name. The page and the
    feed show these, not `ReleaseDiff.brings`: every change from nothing, each tool's input schema and
    hints among them, made them ten times larger (9.1 MB and 8.1 MB for 1,000 added servers)."""
    added = set(changes.added)
    return {server.name: added_summary(catalog, server) for server in catalog.servers if server.name in added}


def added_summary(catalog: Catalog, server: Server) -> list[str]:
    """An added server as a reviewer signs it off: what runs (image and digest, remote URL, or nothing),
    tier, review and status, where its traffic may go, the files it reads and writes, its arguments,
    the secrets it needs and its tools by behaviour; each value from the source `shown` as `diff` shows it."""
    row = review_row(catalog, server)
    facts = [_runs(server), f"tier: {shown(row.tier)}; review: {shown(row.approval)}"
             + (f", expires {row.expires}" if row.expires else "") + ("; deprecated" if row.deprecated else "")]
    if server.kind == "container":  # a remote's traffic goes to its URL's host, which `_runs` names
        facts.append(f"egress: {_egress_words(server, row)}")
    permissions = server.permissions
    for label, paths_of in (("reads", permissions.read if permissions else []), ("writes", permissions.write if permissions else [])):
        if paths_of:
            facts.append(f"{label} files: {', '.join(map(shown, paths_of))}")
    if server.args:
        facts.append(f"args: {shown(list(server.args))}")
    facts.append(f"secrets: {', '.join(map(shown, row.secrets)) or 'none'}")
    facts.append(f"tools: {row.tools} ({row.destructive_tools} destructive, {row.open_world_tools} open-world, "
                 f"{row.read_only_tools} read-only)" if row.tools else "tools: none declared")
    return facts


def _runs(server: Server) -> str:
    """What an added server runs: its image (pinned or not), the remote its clients' data goes to, or nothing."""
    if server.kind == "container":
        return f"container image {shown(server.image)}" + (f" @ {shown(server.digest)}" if server.digest else ", no digest")
    if server.kind == "remote" and server.remote is not None:
        return f"remote {shown(str(server.remote.url))}: clients' data leaves the cluster"
    return "reference entry: packages only, it runs nothing"


def _egress_words(server: Server, row: ReviewRow) -> str:
    """Where an added container's traffic may go, with the ports it is allowed."""
    hosts = ", ".join(map(shown, row.egress_hosts))
    if row.egress in ("none", "not-declared"):
        return {"none": "none", "not-declared": "not declared"}[row.egress]
    outbound = server.permissions.network.outbound  # type: ignore[union-attr]
    ports = (f" (port{'s' if len(outbound.allow_port) > 1 else ''} {', '.join(map(str, outbound.allow_port))})"
             if outbound.allow_port else "")
    return ("any host" + (f", naming {hosts}" if hosts else "") if row.egress == "any" else hosts) + ports


def _entry_id(namespace: str, version: str, what: str, name: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"mcp-catalog:{namespace}:{version}:{what}:{name}"))


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text
    return element


@dataclass(frozen=True)
class FeedSummary:
    """An entry's summary as the feed gives it (XHTML): a sentence, then its changes one an item, or
    commands one a line. Joined into one line, a profile of a large release read as a run of hundreds
    of clauses, and the commands as one line whose first `#` commented out all the others."""

    lead: str = ""
    items: tuple[str, ...] = ()
    commands: str = ""


def _feed_entries(changes: ReleaseDiff, present: set[str], added: dict[str, list[str]]) -> Iterator[tuple[str, str, str, str, FeedSummary]]:
    """(title, id kind, id name, link, summary) of each change, in the changes page's order; an added
    server's summary is its `added_summary`."""
    page = "../" + paths.CHANGES_PAGE
    if changes.catalog:
        yield "Catalog-wide changes", "Catalog", "", page + "#catalog-wide", FeedSummary(items=tuple(changes.catalog))
    for profile in changes.profiles:
        link = f"{page}#profile-{profile.name}"
        lines = profile.worded(lambda server: f" (details: the entry Changed: {server})")
        yield f"Profile: {profile.name}", "Profile", profile.name, link, FeedSummary(items=tuple(lines))
    if changes.withdrawn:
        yield ("To delete in the cluster", "Delete", "", page + "#to-delete",
               FeedSummary("No longer shipped to these namespaces; what a deployer applied earlier keeps running "
                           "until deleted: after applying this release, run", commands=changes.withdrawn_commands))
    for namespace in changes.vacated:
        yield (f"Namespace no profile is deployed to: {namespace.namespace}", "Vacated", namespace.namespace,
               f"{page}#vacated-{namespace.namespace}",
               FeedSummary(f"Release {changes.old_version} deployed profile {', '.join(namespace.profiles)} there; its "
                           "Role, registry and admission policies keep working until deleted: after the commands "
                           "of the entry To delete in the cluster, run in this order", commands=vacated_commands(namespace)))
    for what, names in (("Added", changes.added), ("Removed", changes.removed), ("Deprecated", changes.deprecated)):
        for name in names:
            link = "../" + paths.server_page(name) if name in present else page
            if what == "Added" and added.get(name):
                summary = FeedSummary(f"Added in release {changes.new_version}:", (*added[name], ADDED_REST))
            else:
                summary = FeedSummary(f"{what} in release {changes.new_version}.")
            yield f"{what}: {name}", what, name, link, summary
    for change in changes.changed:
        link = "../" + paths.server_page(change.name) if change.name in present else page
        yield f"Changed: {change.name}", "Changed", change.name, link, FeedSummary(items=tuple(change.changes))


def _summary(entry: ET.Element, summary: FeedSummary) -> None:
    """The entry's summary as XHTML: each value is an element's text, escaped once by the serialiser."""
    element = ET.SubElement(entry, f"{{{ATOM}}}summary", {"type": "xhtml"})
    div = ET.SubElement(element, f"{{{XHTML}}}div")
    if summary.lead:
        ET.SubElement(div, f"{{{XHTML}}}p").text = summary.lead
    if summary.items:
        items = ET.SubElement(div, f"{{{XHTML}}}ul")
        for item in summary.items:
            ET.SubElement(items, f"{{{XHTML}}}li").text = item
    if summary.commands:
        ET.SubElement(div, f"{{{XHTML}}}pre").text = summary.commands


def changes_feed(catalog: Catalog, changes: ReleaseDiff | None, added: dict[str, list[str]]) -> bytes:
    """The Atom feed of this release's changes since `--previous` (none without it); `added`: each
    added server's summary (`added_summaries`)."""
    meta = catalog.meta
    updated = meta.last_updated.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.register_namespace("", ATOM)
    ET.register_namespace("xhtml", XHTML)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", f"{meta.title}: changes that need review")
    _text(feed, "id", "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"mcp-catalog:{meta.namespace}:changes")))
    _text(feed, "updated", updated)
    _text(feed, "link", "", rel="self", href="changes.atom")
    if changes is not None:
        _text(feed, "link", "", rel="alternate", type="text/html", href="../" + paths.CHANGES_PAGE)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", meta.publisher or meta.title)
    present = {server.name for server in catalog.servers}
    entries = _feed_entries(changes, present, added) if changes is not None else ()
    for title, what, name, target, summary in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", title)
        _text(entry, "id", _entry_id(meta.namespace, changes.new_version, what, name))  # type: ignore[union-attr]
        _text(entry, "updated", updated)
        _text(entry, "link", "", rel="alternate", type="text/html", href=target)
        _summary(entry, summary)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def review_files(catalog: Catalog, changes: ReleaseDiff | None, added: dict[str, list[str]], tiers: dict[str, str],
                 skeletons: Skeletons) -> Iterator[OutputFile]:
    """reviews/reviews.csv, reviews/reviews.json, reviews/changes.atom (`added`: each added server's
    summary) and, when the table has more than one page, assets/reviews-index.js (with one, the page
    holds every row, and nothing loads them)."""
    rows = review_rows(catalog)
    if len(rows) > ROWS_PER_PAGE:
        yield OutputFile(paths.site_asset(REVIEWS_DATA), reviews_data(rows, tiers, skeletons))
    yield OutputFile(paths.REVIEWS_CSV, reviews_csv(rows))
    yield OutputFile(paths.REVIEWS_JSON, reviews_json(catalog, rows))
    yield OutputFile(paths.CHANGES_FEED, changes_feed(catalog, changes, added))
