"""`api/v1/index.html` and its pages: a link to every API document, for `wget --mirror` and for people.

The first page links to the documents about the whole catalog (the lists, schemas, OpenAPI
descriptions, each profile's files: a number that does not follow the servers) and to the first
SERVERS_PER_PAGE servers' own documents; `api/v1/page/N/index.html` lists the next servers', so no
page grows with the catalog and every document is a few links from the first page (one list of
every document was 3.3 MB at 10,000 servers). The pager is the site's: first, last, two either
side, Previous and Next. The pages are plain HTML with no script or request of their own, and one
line of style (`_STYLE`).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import defaultdict
from collections.abc import Iterator, Sequence

from generator import derived, paths
from generator.models import Catalog
from generator.output import OutputFile

# A server has two documents (our API's export, its MCP mirror entry) and one more per profile
# mirroring it: 250 servers are 500 to 1,000 links, some 100 KB.
SERVERS_PER_PAGE = 250
_MCP_SERVERS = "v0.1/servers/"
_LATER_PAGES = paths.API_BROWSE.removesuffix("index.html") + "page/"


def browse_page_path(number: int) -> str:
    """Page `number` (from 1) of the API's list of links; page 1 is `api/v1/index.html`."""
    return paths.paged(paths.API_BROWSE, number)


def is_browse_page(path: str) -> bool:
    """True for the pages of links (this module's files, not API documents)."""
    return path == paths.API_BROWSE or (path.startswith(_LATER_PAGES) and path.endswith("/index.html"))


def browse_pages(catalog: Catalog, title: str, documents: Sequence[str]) -> Iterator[OutputFile]:
    """The pages linking to every path of `documents` (sorted), each server's on its server's page."""
    catalog_wide, by_server = _by_server(catalog, documents)
    servers = [server.name for server in catalog.servers if server.name in by_server]
    count = max(1, -(-len(servers) // SERVERS_PER_PAGE))
    for number in range(1, count + 1):
        shown = servers[(number - 1) * SERVERS_PER_PAGE:number * SERVERS_PER_PAGE]
        path = browse_page_path(number)
        root = "../" * path.count("/")
        body = [f"<h1>{html.escape(title)}: API documents{f', page {number} of {count}' if count > 1 else ''}</h1>"]
        if number == 1:
            body += [
                "<p>The documents about the whole catalog come first, then each server's own; "
                "<code>index.json</code> lists them all with their SHA-256 and size.</p>",
                "<h2>The catalog</h2>", _links(root, catalog_wide),
            ]
        else:
            body.append(f'<p>The documents about the whole catalog are on <a href="{root}{paths.API_BROWSE}">the first page</a>.</p>')
        if shown:
            first = (number - 1) * SERVERS_PER_PAGE + 1
            body.append(f"<h2>Each server's documents ({first} to {first + len(shown) - 1} of {len(servers)} servers)</h2>")
            body.append("<ul>\n" + "\n".join(
                f"<li>{html.escape(name)}: " + ", ".join(_link(root, doc) for doc in by_server[name]) + "</li>" for name in shown
            ) + "\n</ul>")
        body.append(_pager(root, number, count))
        yield OutputFile(path, _page(title, "\n".join(part for part in body if part)))


def _by_server(catalog: Catalog, documents: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The documents about the whole catalog, and each server's: our API's export of it and its
    entries in the MCP mirrors (`{base}v0.1/servers/<registry name>/...`, at the root and per profile)."""
    exports = {paths.api_server(server.name): server.name for server in catalog.servers}
    registry_names = {derived.registry_name(catalog.meta, server): server.name for server in catalog.servers}
    catalog_wide: list[str] = []
    by_server: dict[str, list[str]] = defaultdict(list)
    for path in documents:
        _, mirrored, rest = path.partition(_MCP_SERVERS)
        owner = exports.get(path) or (registry_names.get("/".join(rest.split("/")[:2])) if mirrored else None)
        (by_server[owner] if owner else catalog_wide).append(path)
    return catalog_wide, by_server


def _link(root: str, path: str) -> str:
    # A path is one long word: <wbr> lets a phone wrap it at its slashes rather than scroll sideways.
    return f'<a href="{html.escape(root + path, quote=True)}">{html.escape(path).replace("/", "/<wbr>")}</a>'


def _links(root: str, documents: Sequence[str]) -> str:
    return "<ul>\n" + "\n".join(f"<li>{_link(root, path)}</li>" for path in documents) + "\n</ul>"


def _pager(root: str, number: int, count: int) -> str:
    """The first and last pages, two either side of this one, Previous and Next (as `_pagination.html`)."""
    if count == 1:
        return ""

    def page(to: int, label: str, rel: str = "") -> str:
        return f'<a href="{root}{browse_page_path(to)}"{rel}>{label}</a>'

    items = [page(number - 1, "Previous", ' rel="prev"')] if number > 1 else []
    for shown in range(1, count + 1):
        if shown == number:
            items.append(f'<span aria-current="page">{shown}</span>')
        elif shown in (1, count) or abs(shown - number) <= 2:
            items.append(page(shown, str(shown)))
        elif abs(shown - number) == 3:
            items.append("…")
    if number < count:
        items.append(page(number + 1, "Next", ' rel="next"'))
    return '<nav aria-label="Pages"><p>' + " · ".join(items) + "</p></nav>"


# Lines twice the text's height keep the links 24 px apart, as touch targets need (Lighthouse's
# accessibility audit); the policy admits this one style by its hash, and nothing else.
_STYLE = "body{line-height:2}"
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'\">\n"
        f"<style>{_STYLE}</style>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}: API documents</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    ).encode("utf-8")
