"""The index page's search data, emitted as classic `<script>` files.

The site must work from `file://`, where `fetch()` of JSON is refused, so the
data is JavaScript that assigns a global. Small catalogs get one file; above
CHUNK_SIZE entries the data is split into chunk files that `search.js` loads
on demand (on the first keystroke or filter), so the index page stays light
even at 10,000 servers. Entries use short keys because they are repeated for
every server; `search.js` documents the same keys.

The tools page searches every tool of the catalog from the same entries (server
name, title, page, tool names); what only it needs, each tool's description and
behaviour, is in `tools-index-N.js` files sliced as the search data is, which
only the tools page loads, on its first search.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import partial
from types import SimpleNamespace
from typing import Any

from generator import derived, paths
from generator.models import Catalog, Server, Tool
from generator.output import OutputFile
from generator.render.inputs import InputKeys
from generator.render.kind import Deferred
from generator.render.site.drawn import Drawing, Partial, Skeletons, empty_texts, slot_unless
from generator.render.site.views import (
    EXPIRY_SOON_DAYS,
    Card,
    approval_badge,
    behaviour_counts,
    card as card_of,
    card_drawing,
    egress,
    secret_names,
    tier_badge,
    tool_behaviour,
)

CHUNK_SIZE = 5000
INDEX_FILE = "search-index.js"
TOOLS_FILE = "tools-index-{number}.js"
# Cards rendered per page, server-side (no-JS pagination) and by search.js alike.
# Cards a page, server-rendered and in the search results: keeps index.html under 100 KB.
PAGE_SIZE = 60


def search_entry(catalog: Catalog, server: Server, card: Card) -> dict[str, Any]:
    """One server as search.js sees it (short keys: the file repeats them per server), `card` its
    card; the card's skeleton ("f", a number) is given by `entries`."""
    meta = catalog.meta
    reach, hosts = egress(server)
    behaviour = behaviour_counts(server)
    return {
        "n": server.name,
        "t": server.title,
        "d": server.description,
        "p": server.publisher,
        "c": server.category,
        "g": list(server.tags),
        "o": [tool.name for tool in server.tools],
        "b": [behaviour.tools, behaviour.read_only, behaviour.destructive, behaviour.open_world],
        "r": server.tier,
        "a": derived.review_state(meta, server),
        "ae": card.approval.explanation,
        "v": card.expires,
        "x": server.transport,
        "k": server.kind,
        "w": reach,
        "y": hosts,
        "s": secret_names(server),
        "h": bool(server.digest),
        "z": server.status == "deprecated",
        "nt": list(card.notices),
        "u": card.updated,
        "l": card.page,
        **_deployed_names(server.tools),
    }


def _deployed_names(tools: Sequence[Tool]) -> dict[str, list[str]]:
    """"od": the names an override deploys tools under, which MCP clients list and a developer then
    searches for; absent when no tool is renamed (most servers: the key would repeat at 10,000)."""
    renamed = [tool.override.name for tool in tools if tool.override and tool.override.name and tool.override.name != tool.name]
    return {"od": renamed} if renamed else {}


def entries(catalog: Catalog, servers: Sequence[Server], cards: Skeletons) -> dict[str, Any]:
    """`servers`' search entries and the card skeletons they use ("cards"; each entry's "f" is its number there)."""
    listed: list[dict[str, Any]] = []

    def drawings() -> Iterator[Drawing]:
        # Each card made once, for its entry and its drawing, and not held: 5,000 a chunk.
        for server in servers:
            card = card_of(catalog.meta, server)
            listed.append(search_entry(catalog, server, card))
            yield card_drawing(card)

    skeletons, numbers = cards.listed(drawings())
    for entry, number in zip(listed, numbers):
        entry["f"] = number
    return {"cards": skeletons, "entries": listed}


def search_header(catalog: Catalog, facets: dict[str, Any]) -> dict[str, Any]:
    """What every search needs besides the entries: labels, badge tones and the catalog's date."""
    tiers = {server.tier: tier_badge(server) for server in catalog.servers}
    approvals = {derived.review_state(catalog.meta, server): approval_badge(catalog.meta, server) for server in catalog.servers}
    return {
        "facets": facets,
        "badges": {
            "r": {tier: [badge.label, badge.tone, badge.explanation] for tier, badge in sorted(tiers.items())},
            "a": {state: [badge.label, badge.tone] for state, badge in sorted(approvals.items())},
        },
        "asOf": catalog.meta.last_updated.date().isoformat(),
        "soonDays": EXPIRY_SOON_DAYS,
        "pageSize": PAGE_SIZE,
        "total": len(catalog.servers),
    }


def _script(statement: str) -> bytes:
    return (statement + "\n").encode("utf-8")


def _js_data(value: Any) -> str:
    """`value` as a JavaScript expression: `JSON.parse('...')` of its compact JSON.

    Chromium reads a large JSON string with JSON.parse about twice as fast as the same data
    written as an object literal (3.6 MB chunk: ~150 ms against ~280 ms). The JSON escapes every
    character outside ASCII (`ensure_ascii`), the two line terminators a JavaScript string may not
    hold raw included, and "<", which keeps the data inert even if someone inlines the file into a
    page one day; inside the single quotes only backslashes and single quotes then need escaping.
    ASCII also keeps memory down: one character beyond it (a slot mark of the skeletons, an accent
    in a description) makes Python hold each copy of a 10 MB chunk's text at two or four bytes a
    character, 40 MB more at 10,000 servers.
    """
    text = json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")
    quoted = text.replace("\\", "\\\\").replace("'", "\\'")
    return "JSON.parse('" + quoted + "')"


def global_script(name: str, value: Any) -> bytes:
    """A classic script setting `window.<name>` to `value`: data a page loads from file://, where fetch() is refused."""
    return _script(f"window.{name}={_js_data(value)};")


def search_files(catalog: Catalog, facets: dict[str, Any], keys: InputKeys, *, tools_paged: bool,
                 cards: Skeletons, rows: Skeletons) -> Iterator[OutputFile | Deferred]:
    """assets/search-index.js, plus assets/search-index-N.js chunks above CHUNK_SIZE servers and,
    when the tools table has more than one page (`tools_paged`), assets/tools-index-N.js (with one
    page, the page itself holds every tool, and nothing loads them). Each file holding entries or
    tools holds the skeletons of their cards (`cards`) or rows (`rows`) it uses: no file depends on another's.

    Chunks are deferred (see generator.render.inputs): a rebuild remakes only those holding a changed server.
    """
    servers = catalog.servers
    slices = [servers[i:i + CHUNK_SIZE] for i in range(0, len(servers), CHUNK_SIZE)] or [[]]
    header = search_header(catalog, facets)
    header["tools"] = [TOOLS_FILE.format(number=number) for number in range(1, len(slices) + 1)] if tools_paged else []
    chunked = len(slices) > 1
    if not chunked:
        header.update(entries(catalog, servers, cards))
    header["chunks"] = [f"search-index-{number}.js" for number in range(1, len(slices) + 1)] if chunked else []
    yield OutputFile(paths.site_asset(INDEX_FILE), global_script("MCPCatalogSearch", header))
    for number, chunk in enumerate(slices if chunked else [], start=1):
        key = keys.of("search chunk", number, catalog.meta, chunk)
        yield Deferred(paths.site_asset(f"search-index-{number}.js"), key, partial(_chunk_script, catalog, number, chunk, cards))
    for number, chunk in enumerate(slices if tools_paged else [], start=1):
        key = keys.of("tools chunk", number, chunk)
        yield Deferred(paths.site_asset(TOOLS_FILE.format(number=number)), key, partial(_tools_script, number, chunk, rows))


def _chunk_script(catalog: Catalog, number: int, servers: Sequence[Server], cards: Skeletons) -> bytes:
    data = entries(catalog, servers, cards)
    return _script(f"window.MCPCatalogChunks=window.MCPCatalogChunks||{{}};window.MCPCatalogChunks[{number}]={_js_data(data)};")


def tools_entry(server: Server, behaviours: dict[str, int], skeleton: int) -> list[str | int]:
    """A server's tools as the tools page's search adds them to its search entry: the number of
    its rows' skeleton in the file, then for each tool (in the order of the entry's tool names),
    its description and the number of its behaviour words in the file's list, flat, since the
    file repeats them for some 200,000 tools."""
    flat: list[str | int] = [skeleton]
    for tool in server.tools:
        words = ", ".join(tool_behaviour(tool))
        flat += [tool.description, behaviours.setdefault(words, len(behaviours))]
    return flat


def _tools_script(number: int, servers: Sequence[Server], rows: Skeletons) -> bytes:
    behaviours: dict[str, int] = {}
    drawn = [server for server in servers if server.tools]  # a server without tools has no row to draw
    skeletons, numbers = rows.listed(Drawing(tool_row_variant(server), {}) for server in drawn)
    number_of = dict(zip((server.name for server in drawn), numbers))
    flat = [tools_entry(server, behaviours, number_of.get(server.name, -1)) for server in servers]
    data = {"b": list(behaviours), "s": skeletons, "e": flat}
    return _script(f"window.MCPCatalogTools=window.MCPCatalogTools||{{}};window.MCPCatalogTools[{number}]={_js_data(data)};")


def tool_row_variant(server: Server) -> tuple[Any, ...]:
    """What a row of the server's tools may branch on: the server's state. Every row of a server
    has the same (a tool's name and description are never empty), so a tools file numbers a
    skeleton a server, not a tool."""
    review = server.review.status if server.review else None
    return server.status, server.tier, review, empty_texts({"server.name": server.name, "server.title": server.title})


def tool_row_drawing(server: Server, tool: Tool, behaviour: list[str]) -> Drawing:
    """A tool's row as the tools search draws it (see `drawn`)."""
    texts = {"server.name": server.name, "server.title": server.title, "tool.name": tool.name,
             "tool.description": tool.description, "behaviour": ", ".join(behaviour)}
    return Drawing(tool_row_variant(server), texts)


def _tool_row_skeleton(variant: tuple[str, str, str | None, tuple[str, ...]]) -> dict[str, Any]:
    status, tier, review, empty = variant
    text = partial(slot_unless, empty=empty)
    server = SimpleNamespace(name=text("server.name"), title=text("server.title"), status=status, tier=tier,
                             review=None if review is None else SimpleNamespace(status=review))
    tool = SimpleNamespace(name=text("tool.name"), description=text("tool.description"))
    return {"server": server, "rows": [(tool, [text("behaviour")])]}


TOOL_ROWS = Partial(
    "_tool_rows.html",
    "server.name, server.title, tool.name, tool.description and behaviour (one text: the words joined by \", \")",
    "server.status, server.tier and server.review.status (server.review is none without a review)",
    _tool_row_skeleton,
)
"""The tools table's rows: search.js draws a search of every page from `_tool_rows.html`'s skeletons,
one tool at a time (so the partial must draw each tool of `rows` alone, as the shipped one does)."""
