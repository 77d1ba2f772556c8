"""The site's pages as (template, path, values): what each page shows, decided from the catalog.

Every list is sorted (servers by name, tags alphabetically, categories in the
order `catalog.yaml` declares them) so two builds give identical bytes. A
detail page carries only its own server: no page embeds the whole catalog,
so the build stays linear in the number of servers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from generator import derived, paths

from generator.models import Catalog, CatalogMeta, RegistryProfile, Server, Tool
from generator.output import OutputFile
from generator.release.diff_report import vacated_commands
from generator.render.site import install as site_install
from generator.render.site import review as site_review
from generator.render.site import search as site_search
from generator.render.context import RenderContext
from generator.render.inputs import InputKeys
from generator.render.kind import Deferred
from generator.render.site.drawn import Skeletons
from generator.render.site.deploy import deploy_plan, placements, withheld_reasons
from generator.render.site.views import (
    APPROVALS,
    EXPIRY_SOON_DAYS,
    TRANSPORTS,
    card,
    behaviour_counts,
    egress,
    needs_egress,
    server_badges,
    tier_badge,
    tool_behaviour,
    tool_parameters,
    touch_summary,
)

Page = tuple[str, str, dict[str, Any]]
NOT_FOUND_ROOT = "./"

TIERS = {"validated": "Validated", "community": "Community"}
KINDS = {"container": "Container in your cluster", "remote": "Remote endpoint", "reference": "Reference (packages)"}


CARD_SERVERS, CARD_PROFILE, ROW_SPANS, CARDS_DRAWN, REVIEW_ROWS = (
    "card_servers", "card_profile", "row_spans", "cards_drawn", "review_rows")
"""Values naming what site.py turns into HTML before rendering: the servers whose cards a page
shows, the registry profile whose view of them the cards give (the tools it keeps; absent: the
whole catalog's view), the rows of the tools table as (server, first tool index, end index)
spans, whether search.js draws the page's cards too (each is then checked against its skeleton,
see `drawn`), and the reviewer's table's rows (`review.ReviewRow`s, drawn by `_review_row.html`
as `review_rows`). Pages hold servers and rows, not their HTML, so that a page's input key can be
computed without rendering anything."""


def _paged(template: str, first: str, servers: Sequence[Server], values: dict[str, Any]) -> Iterator[Page]:
    """A list of servers as pages of PAGE_SIZE cards: `first`, then `.../page/N/index.html` (one page when empty)."""
    return _pages(template, partial(paths.paged, first), servers, CARD_SERVERS, site_search.PAGE_SIZE, values, minimum=1)


def _pages(template: str, path_of: Callable[[int], str], items: Sequence[Any], key: str, size: int,
           values: dict[str, Any], minimum: int = 0) -> Iterator[Page]:
    """`items` `size` a page under `key`, page N at `path_of(N)`, with what the pager needs; at least `minimum` pages."""
    count = max(minimum, -(-len(items) // size))
    page_paths = [path_of(number) for number in range(1, count + 1)]
    for number, path in enumerate(page_paths, 1):
        yield template, path, {**values, key: items[(number - 1) * size:number * size],
                               "total": len(items), "page": number, "pages": count, "page_paths": page_paths}


def _facet(values: list[str], labels: dict[str, str]) -> list[tuple[str, str, int]]:
    counts = Counter(values)
    return [(key, label, counts[key]) for key, label in labels.items() if counts[key]]


def _facets(catalog: Catalog, titles: dict[str, str]) -> dict[str, list[tuple[str, str, int]]]:
    servers = catalog.servers
    tags = sorted({tag for server in servers for tag in server.tags})
    return {
        "c": _facet([s.category for s in servers], titles),
        "r": _facet([s.tier for s in servers], TIERS),
        "a": _facet([derived.review_state(catalog.meta, s) for s in servers], APPROVALS),
        "x": _facet([s.transport for s in servers], TRANSPORTS),
        "k": _facet([s.kind for s in servers], KINDS),
        "g": _facet([t for s in servers for t in s.tags], {tag: tag for tag in tags}),
    }


# The index's checkbox filters: search data key, label, and which servers have the flag.
FLAGS: tuple[tuple[str, str, Callable[[CatalogMeta, Server], bool]], ...] = (
    ("n", "Needs egress", lambda meta, server: needs_egress(server)),
    ("e", "Needs no egress", lambda meta, server: egress(server)[0] == "none"),
    ("d", "Has destructive tools", lambda meta, server: behaviour_counts(server).destructive > 0),
    ("s", f"Approval expires within {EXPIRY_SOON_DAYS} days", derived.expires_soon),
    ("h", "Pinned by digest", lambda meta, server: bool(server.digest)),
    ("z", "Show deprecated", lambda meta, server: server.status == "deprecated"),
)


def _flags(catalog: Catalog) -> list[tuple[str, str, int]]:
    """Each checkbox filter with the number of servers it matches (search.js keeps them live)."""
    return [(key, label, sum(1 for server in catalog.servers if test(catalog.meta, server))) for key, label, test in FLAGS]


def _summary(total: int, approvals: list[tuple[str, str, int]]) -> str:
    """The index's opening count, saying how many servers are approved rather than calling them all reviewed."""
    counts = {state: count for state, _, count in approvals}
    parts = [f"{counts[state]} {label.lower()}" for state, label in APPROVALS.items() if counts.get(state)]
    return f"{total} MCP server{'s' if total != 1 else ''}" + (f": {', '.join(parts)}." if parts else ".")


def _index_pages(catalog: Catalog, common: dict[str, Any], facets: dict[str, Any]) -> Iterator[Page]:
    # The browse list keeps the most used tags, alphabetically, so the page does not grow with
    # the number of tags; every tag stays in the filter and on the server pages.
    top_tags = sorted(sorted(facets["g"], key=lambda facet: (-facet[2], facet[0]))[:TOP_TAGS])
    values = {**common, "facets": facets, "pager": "index", "top_tags": top_tags, "flags": _flags(catalog),
              "summary": _summary(len(catalog.servers), facets["a"]), CARDS_DRAWN: True}
    # Deprecated servers come last: search.js hides them by default, and then only the end of the list goes.
    listed = sorted(catalog.servers, key=lambda server: server.status == "deprecated")
    yield from _paged("index.html", paths.SITE_INDEX, listed, values)


def server_page(context: RenderContext, server: Server) -> Page:
    """The server's own page; like every per-server file it shows nothing of other servers."""
    catalog = context.catalog
    common = _common(catalog)
    placed = placements(catalog.meta, server)
    tools = [(tool, tool_behaviour(tool), tool_parameters(tool)) for tool in server.tools]
    return "server.html", paths.server_page(server.name), {
        **common,
        "server": server,
        "category_title": common["category_titles"][server.category],
        "registry_name": derived.registry_name(catalog.meta, server),
        "in_mcp_mirror": derived.installable(catalog.meta, server),  # a rejected server is in no MCP mirror
        "updated": derived.updated(catalog.meta, server).isoformat(),
        "badges": server_badges(catalog.meta, server),
        "notices": derived.notices(catalog.meta, server),
        "image": derived.deploy_image(catalog.meta, server, context.image_mirror),
        "key_facts": card(catalog.meta, server),
        "touch": touch_summary(server),
        "overview": catalog.overviews.get(server.name, ""),
        "tools": tools,
        "deploy": deploy_plan(context, server, placed),
        "placements": placed,
        "transport_label": TRANSPORTS[server.transport],
    }


def _list_pages(catalog: Catalog, common: dict[str, Any]) -> Iterator[Page]:
    by_category: dict[str, list[Server]] = defaultdict(list)
    by_tag: dict[str, list[Server]] = defaultdict(list)
    by_tier: dict[str, list[Server]] = defaultdict(list)
    for server in catalog.servers:  # one pass: looking up each tag's servers in the whole list was quadratic
        by_category[server.category].append(server)
        by_tier[server.tier].append(server)
        for tag in dict.fromkeys(server.tags):
            by_tag[tag].append(server)
    for category in catalog.meta.categories:
        values = {**common, "heading": category.title, "kind": "Category", "intro": category.description, "pager": "list"}
        yield from _paged("listing.html", paths.category_page(category.slug), by_category[category.slug], values)
    for tag in sorted(by_tag):
        values = {**common, "heading": tag, "kind": "Tag", "intro": "", "pager": "list"}
        yield from _paged("listing.html", paths.tag_page(tag), by_tag[tag], values)
    for tier, label in TIERS.items():
        members = by_tier[tier]
        intro = tier_badge(members[0]).explanation if members else ""
        values = {**common, "heading": label, "kind": "Tier", "intro": intro, "pager": "list"}
        yield from _paged("listing.html", paths.tier_page(tier), members, values)


def _registry_pages(catalog: Catalog, common: dict[str, Any], mirror: str | None) -> Iterator[Page]:
    summaries: list[tuple[RegistryProfile, int, int]] = []
    for profile in catalog.meta.registries:
        admitted = derived.profile_servers(catalog, profile)
        withheld = [(server, tool) for server in admitted for tool in withheld_reasons(profile, server)]
        summaries.append((profile, len(admitted), len(withheld)))
        image_refused = derived.left_out_by_image_rule_all(catalog, profile)
        steps = site_install.profile_steps(catalog, profile, mirror)
        # The first page counts the withheld tools and the servers the image rule leaves out, and links
        # to their tables: listed there, 10,000 servers' withheld tools made it 636 KB.
        servers_held = len({server.name for server, _ in withheld})
        held = {"tools": len(withheld), "servers": servers_held} if withheld else {}
        values = {**common, "profile": profile, "withheld": held, "image_refused": len(image_refused), "pager": "list",
                  "steps": steps, CARD_PROFILE: profile}
        for template, path, page in _paged("registry.html", paths.profile_page(profile.name), admitted, values):
            yield template, path, page if page["page"] == 1 else {**page, "withheld": {}, "image_refused": 0, "steps": []}
        about = {**common, "profile": profile}
        yield from _table_pages("withheld.html", partial(paths.profile_withheld_page, profile.name), withheld,
                                {**about, "servers": servers_held, "pager": "withheld"})
        yield from _table_pages("left_out.html", partial(paths.profile_left_out_page, profile.name),
                                sorted(image_refused.items()), {**about, "pager": "left-out"})
    # The page every profile page's breadcrumb leads back to.
    yield "registries.html", paths.PROFILES_PAGE, {**common, "profiles": summaries}


def _table_pages(template: str, path_of: Callable[[int], str], rows: Sequence[Any], values: dict[str, Any]) -> Iterator[Page]:
    """`rows` as a table in `template`, TOOLS_PER_PAGE rows a page as the tools table, page N at
    `path_of(N)`: a profile's withheld tools (its server, why) or the servers its image rule leaves
    out (why); no page for no rows."""
    return _pages(template, path_of, rows, "rows", TOOLS_PER_PAGE, values)


TOP_TAGS = 50
# The tools table is paginated so that no page grows with the catalog (10,000 servers
# carry some 200,000 tools); its search loads every tool (search.search_files) to cover every page at once.
# 500 rows: at 1,000 Lighthouse's mobile score fell to 89 (78 to 96) with the CPU slowed tenfold, as on a
# busy machine, where 500 scored 98 (half the DOM, two thirds of the main-thread time). The tables of
# withheld tools take the same size.
TOOLS_PER_PAGE = 500


def _tools_pages(catalog: Catalog, common: dict[str, Any]) -> Iterator[Page]:
    total = sum(len(server.tools) for server in catalog.servers)
    count = max(1, -(-total // TOOLS_PER_PAGE))
    page_paths = [paths.tools_page(n) for n in range(1, count + 1)]
    spans = _row_spans(catalog.servers)
    for number, path in enumerate(page_paths, 1):
        rows = next(spans, [])
        yield "tools.html", path, {
            **common,
            ROW_SPANS: rows,
            # The filter's status line as search.js first writes it, so that nothing moves when it does.
            "page_tools": sum(end - first for _, first, end in rows),
            "total_tools": total, "page": number, "pages": count, "pager": "tools", "page_paths": page_paths,
        }


def _row_spans(servers: Sequence[Server]) -> Iterator[list[tuple[Server, int, int]]]:
    """Each tools page's rows, TOOLS_PER_PAGE at a time, as (server, first, end) spans of its tools."""
    page: list[tuple[Server, int, int]] = []
    room = TOOLS_PER_PAGE
    for server in servers:
        first = 0
        while first < len(server.tools):
            end = min(len(server.tools), first + room)
            page.append((server, first, end))
            room -= end - first
            first = end
            if not room:
                yield page
                page, room = [], TOOLS_PER_PAGE
    if page:
        yield page


def tool_rows(server: Server) -> list[tuple[Tool, list[str]]]:
    """What the tools table shows of each of the server's tools: the tool and its behaviour."""
    return [(tool, tool_behaviour(tool)) for tool in server.tools]


def _common(catalog: Catalog) -> dict[str, Any]:
    """What every page shows: the catalog's name, date and the category titles."""
    return {
        "meta": catalog.meta,
        "last_updated": catalog.meta.last_updated.date().isoformat(),
        "category_titles": {category.slug: category.title for category in catalog.meta.categories},
        "tiers": TIERS,
    }


def catalog_pages(context: RenderContext, added: dict[str, list[str]]) -> Iterator[Page]:
    """Every page listing or counting servers (all but the server pages), in a fixed order; `added`:
    each added server's summary (`review.added_summaries`) for the changes page.

    Only these show the number of servers: a server page must not change when another
    server is added, or the build cache would have to re-render every one of them.
    """
    catalog = context.catalog
    common = {**_common(catalog), "server_count": len(catalog.servers)}
    facets = _facets(catalog, common["category_titles"])
    yield from _index_pages(catalog, common, facets)
    yield from _list_pages(catalog, common)
    yield from _tools_pages(catalog, common)
    yield from _registry_pages(catalog, common, context.image_mirror)
    yield "install.html", paths.INSTALL_PAGE, {**common, "steps": site_install.install_steps(catalog, context.image_mirror)}
    for path, values in site_review.review_pages(catalog):
        yield "reviews.html", path, {**common, **values, REVIEW_ROWS: values["rows"]}
    yield "about.html", paths.ABOUT_PAGE, {**common, "approvals": APPROVALS, "changes": context.changes}
    if context.changes is not None:
        present = {server.name for server in catalog.servers}
        profiles = {profile.name for profile in catalog.meta.registries}
        cleanup = {item.namespace: vacated_commands(item) for item in context.changes.vacated}
        values = {**common, "changes": context.changes, "present": present, "profiles": profiles,
                  "added": added, "vacated_commands": cleanup}
        yield "changes.html", paths.CHANGES_PAGE, values
    # Web servers answer a missing page at any depth with 404.html: its links start with "./", which the
    # shipped nginx and Apache configs rewrite to the site's sub-path (deploy/web/*; from disk "./" just works).
    yield "404.html", paths.NOT_FOUND_PAGE, {**common, "root": NOT_FOUND_ROOT}


def search_data(context: RenderContext, keys: InputKeys, *, cards: Skeletons, rows: Skeletons) -> Iterator[OutputFile | Deferred]:
    """The search data script files (with the skeletons of their cards and rows): the index page's,
    and the tools page's when it has pages to search."""
    catalog = context.catalog
    titles = {category.slug: category.title for category in catalog.meta.categories}
    labels = {key: {value: label for value, label, _ in facet} for key, facet in _facets(catalog, titles).items()}
    paged = sum(len(server.tools) for server in catalog.servers) > TOOLS_PER_PAGE
    yield from site_search.search_files(catalog, labels, keys, tools_paged=paged, cards=cards, rows=rows)
