"""The table "What each hosting mode answers" in docs/api.md, read from the file and checked cell by cell.

Modes: the shipped nginx and Apache configs (the query layer) serving the default build, and a
plain file server (nginx with nothing but `try_files $uri $uri/index.json`: what any static
server told to answer a folder with its `index.json` does; GitHub Pages, S3 website hosting and
`python -m http.server` answer a folder with `index.html` only and serve no API path) serving a build for it (`--hosting plain`) and the default build. "exact" is
compared with the official semantics applied in Python to every server the base lists;
"wrong: ..." is checked to be the first page (and not the exact answer); "error N" is the status.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests

from catalog_lists import indexed_responses
from conftest import REPO
from webservers import apache_serving, nginx_serving, plain_file_server

NAME = "com.example.mcp/time"
ROW = re.compile(r"^\| `(?P<request>[^`]+)` \| (?P<layer>[^|]+) \| (?P<plain>[^|]+) \| (?P<plain_default>[^|]+) \|$")


def table_rows() -> list[tuple[str, str, str, str]]:
    text = (REPO / "docs/api.md").read_text(encoding="utf-8")
    section = text[text.index("### What each hosting mode answers"):]
    rows = [ROW.match(line) for line in section.splitlines()]
    return [(m["request"], m["layer"].strip(), m["plain"].strip(), m["plain_default"].strip()) for m in rows if m]


ROWS = table_rows()


@pytest.fixture(scope="module", params=["nginx", "apache", "plain", "plain-default"])
def hosted(request: pytest.FixtureRequest, default_site: Path, plain_site: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    serving = {"nginx": nginx_serving, "apache": apache_serving, "plain": plain_file_server,
               "plain-default": plain_file_server}[request.param]
    site = plain_site if request.param == "plain" else default_site
    with serving(site, tmp_path_factory.mktemp(request.param)) as url:
        yield request.param, url


def official_list(site: Path, params: dict[str, str]) -> dict:
    """The official registry's answer, computed from every server of the base (by name)."""
    servers = indexed_responses(site, "")
    if "search" in params:
        servers = [s for s in servers if params["search"].lower() in s["server"]["name"].lower()]
    if params.get("version", "latest") != "latest":
        servers = [s for s in servers if s["server"]["version"] == params["version"]]
    if "updated_since" in params:
        since = dt.datetime.fromisoformat(params["updated_since"].replace("Z", "+00:00"))
        servers = [s for s in servers if dt.datetime.fromisoformat(
            s["_meta"]["io.modelcontextprotocol.registry/official"]["updatedAt"].replace("Z", "+00:00")) > since]
    if "cursor" in params:
        servers = [s for s in servers if f"{s['server']['name']}:{s['server']['version']}" > params["cursor"]]
    limit = int(params.get("limit", 30))
    page = servers[:limit]
    metadata = {"count": len(page)}
    if len(page) == limit:  # a full page has a cursor, even when nothing follows
        metadata = {"nextCursor": f"{page[-1]['server']['name']}:{page[-1]['server']['version']}", **metadata}
    return {"servers": page, "metadata": metadata}


def exact_answer(site: Path, request: str) -> dict:
    path, query = request.split("?", 1) if "?" in request else (request, "")
    version = next(s for s in indexed_responses(site, "") if s["server"]["name"] == NAME)
    if path.endswith("/versions"):
        return {"servers": [version], "metadata": {"count": 1}}
    if "/servers/" in path:
        return version
    return official_list(site, dict(parse_qsl(query, keep_blank_values=True)))


def concrete(request: str, site: Path) -> str:
    first_page = indexed_responses(site, "")[29]["server"]
    version = next(s for s in indexed_responses(site, "") if s["server"]["name"] == NAME)["server"]["version"]
    return (request.replace("{name}", quote(NAME, safe="")).replace("{version}", version)
            .replace("{cursor}", quote(f"{first_page['name']}:{first_page['version']}", safe="")))


def test_the_table_has_every_row():
    assert len(ROWS) == 15 and {layer for _, layer, _, _ in ROWS} == {"exact", "error 422", "error 400"}


@pytest.mark.parametrize(("request_", "layer", "plain", "plain_default"), ROWS, ids=[r for r, _, _, _ in ROWS])
def test_each_cell_is_true(hosted, default_site, request_, layer, plain, plain_default):
    mode, url = hosted
    cell = {"plain": plain, "plain-default": plain_default}.get(mode, layer)
    request = concrete(request_, default_site)
    answer = requests.get(url + request, timeout=10)
    if cell.startswith("error "):
        assert answer.status_code == int(cell.split()[1]), (mode, request, answer.text[:200])
        return
    assert answer.status_code == 200, (mode, request, answer.text[:200])
    if cell == "wrong: the first page":
        # The exact answer is an error (the layer column says which); a file server gives a list.
        assert answer.content == (default_site / "v0.1/servers/index.json").read_bytes()
        return
    split = urlsplit(url + request)
    expected = exact_answer(default_site, requests.utils.unquote(split.path[len(urlsplit(url).path):])
                            + (f"?{split.query}" if split.query else ""))
    if cell == "exact":
        assert answer.json() == expected, (mode, request)
    else:
        assert cell.startswith("wrong: the first page"), cell
        assert answer.content == (default_site / "v0.1/servers/index.json").read_bytes()
        assert answer.json() != expected, f"{request} is answered exactly: the table should say so"
