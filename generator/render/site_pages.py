"""The site's pages as (template, path, values): what each page shows, decided from the catalog.

Every list is sorted (servers by name, tags alphabetically, categories in the
order `catalog.yaml` declares them) so two builds give identical bytes. A
detail page carries only its own server: no page embeds the whole catalog,
so the build stays linear in the number of servers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator import derived, paths
from generator.models import Catalog, RegistryProfile, Server
from generator.output import OutputFile
from generator.render import site_search
from generator.render.context import RenderContext
from generator.render.site_deploy import deploy_plan, placements
from generator.render.site_views import (
    Badge,
    approval_badge,
    server_badges,
    tier_badge,
    tool_behaviour,
    tool_parameters,
    touch_summary,
)

Page = tuple[str, str, dict[str, Any]]

TIERS = {"validated": "Validated", "community": "Community"}
APPROVALS = {"approved": "Approved", "under-review": "Under review", "expired": "Approval expired",
             "rejected": "Rejected", "not-reviewed": "Not reviewed"}
TRANSPORTS = {"stdio": "stdio", "sse": "SSE", "streamable-http": "Streamable HTTP"}
KINDS = {"container": "Container in your cluster", "remote": "Remote endpoint", "reference": "Reference (packages)"}


@dataclass(frozen=True)
class Card:
    """A server as one card in a list."""

    server: Server
    category: str
    tier: Badge
    approval: Badge
    transport: str
    updated: str


def _card(catalog: Catalog, titles: dict[str, str], server: Server) -> Card:
    return Card(
        server=server,
        category=titles[server.category],
        tier=tier_badge(server),
        approval=approval_badge(catalog.meta, server),
        transport=TRANSPORTS[server.transport],
        updated=derived.updated(catalog.meta, server).isoformat(),
    )


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


def _index_pages(catalog: Catalog, cards: list[Card], common: dict[str, Any], facets: dict[str, Any]) -> Iterator[Page]:
    size = site_search.PAGE_SIZE
    count = max(1, -(-len(cards) // size))
    # The browse list keeps the most used tags, alphabetically, so the page does not grow with
    # the number of tags; every tag stays in the filter and on the server pages.
    top_tags = sorted(sorted(facets["g"], key=lambda facet: (-facet[2], facet[0]))[:TOP_TAGS])
    for number in range(1, count + 1):
        yield "index.html", paths.index_page(number), {
            **common, "cards": cards[(number - 1) * size:number * size], "page": number, "pages": count,
            "facets": facets, "total": len(cards), "pager": "index", "top_tags": top_tags,
        }


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
        "updated": derived.updated(catalog.meta, server).isoformat(),
        "badges": server_badges(catalog.meta, server),
        "touch": touch_summary(server),
        "overview": catalog.overviews.get(server.name, ""),
        "tools": tools,
        "deploy": deploy_plan(context, server, placed),
        "placements": placed,
        "transport_label": TRANSPORTS[server.transport],
    }


def _list_pages(catalog: Catalog, cards: list[Card], common: dict[str, Any]) -> Iterator[Page]:
    for category in catalog.meta.categories:
        members = [card for card in cards if card.server.category == category.slug]
        yield "listing.html", paths.category_page(category.slug), {
            **common, "heading": category.title, "kind": "Category", "intro": category.description, "cards": members}
    for tag in sorted({tag for server in catalog.servers for tag in server.tags}):
        members = [card for card in cards if tag in card.server.tags]
        yield "listing.html", paths.tag_page(tag), {
            **common, "heading": tag, "kind": "Tag", "intro": "", "cards": members}
    for tier, label in TIERS.items():
        members = [card for card in cards if card.server.tier == tier]
        yield "listing.html", paths.tier_page(tier), {
            **common, "heading": label, "kind": "Tier", "intro": tier_badge(members[0].server).explanation
            if members else "", "cards": members}


def _registry_pages(catalog: Catalog, cards: list[Card], common: dict[str, Any]) -> Iterator[Page]:
    by_name = {card.server.name: card for card in cards}
    for profile in catalog.meta.registries:
        admitted = derived.profile_servers(catalog, profile)
        withheld = {s.name: _withheld_tools(profile, s) for s in admitted}
        yield "registry.html", paths.profile_page(profile.name), {
            **common, "profile": profile, "cards": [by_name[s.name] for s in admitted], "withheld": withheld}


TOP_TAGS = 50
# The tools table is paginated so that no page grows with the catalog (10,000 servers
# carry some 200,000 tools); the server search's tool:NAME covers every page at once.
TOOLS_PER_PAGE = 1000


def _tools_pages(catalog: Catalog, common: dict[str, Any]) -> Iterator[Page]:
    rows = [(server, tool) for server in catalog.servers for tool in server.tools]
    count = max(1, -(-len(rows) // TOOLS_PER_PAGE))
    for number in range(1, count + 1):
        page_rows = rows[(number - 1) * TOOLS_PER_PAGE:number * TOOLS_PER_PAGE]
        yield "tools.html", paths.tools_page(number), {
            **common,
            "rows": [(server, tool, tool_behaviour(tool)) for server, tool in page_rows],
            "total_tools": len(rows), "page": number, "pages": count, "pager": "tools",
        }


def _withheld_tools(profile: RegistryProfile, server: Server) -> list[str]:
    kept = {tool.name for tool in derived.profile_tools(profile, server)}
    return [tool.name for tool in server.tools if tool.name not in kept]


def _common(catalog: Catalog) -> dict[str, Any]:
    """What every page shows: the catalog's name, date and the category titles."""
    return {
        "meta": catalog.meta,
        "last_updated": catalog.meta.last_updated.date().isoformat(),
        "category_titles": {category.slug: category.title for category in catalog.meta.categories},
        "tiers": TIERS,
    }


def catalog_pages(context: RenderContext) -> Iterator[Page]:
    """Every page listing or counting servers (all but the server pages), in a fixed order.

    Only these show the number of servers: a server page must not change when another
    server is added, or the build cache would have to re-render every one of them.
    """
    catalog = context.catalog
    common = {**_common(catalog), "server_count": len(catalog.servers)}
    titles = common["category_titles"]
    cards = [_card(catalog, titles, server) for server in catalog.servers]
    facets = _facets(catalog, titles)
    yield from _index_pages(catalog, cards, common, facets)
    yield from _list_pages(catalog, cards, common)
    yield from _tools_pages(catalog, common)
    yield from _registry_pages(catalog, cards, common)
    yield "about.html", paths.ABOUT_PAGE, {**common, "approvals": APPROVALS, "changes": context.changes}
    if context.changes is not None:
        present = {server.name for server in catalog.servers}
        yield "changes.html", paths.CHANGES_PAGE, {**common, "changes": context.changes, "present": present}
    yield "404.html", paths.NOT_FOUND_PAGE, common


def search_data(context: RenderContext) -> Iterator[OutputFile]:
    """The search index script files for the index page."""
    catalog = context.catalog
    titles = {category.slug: category.title for category in catalog.meta.categories}
    labels = {key: {value: label for value, label, _ in facet} for key, facet in _facets(catalog, titles).items()}
    yield from site_search.search_files(catalog, labels)
