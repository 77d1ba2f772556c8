"""The site in a real browser: Debian's Chromium driven by Playwright, over file:// and over HTTP.

The default catalog (built once per session) is opened straight from disk and
through `python -m http.server` on 127.0.0.1 under a sub-path, since users do
both. Screenshots go to test-artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import DEFAULT_SOURCE
from generator.build import build
from generator.source.validate import read_catalog
from test_site import HOSTILE_MD, HOSTILE_YAML, INJECTED_IDS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _served(site: Path) -> Iterator[str]:
    """`site` served by http.server under the sub-path /<name>/ (its parent is the served folder)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site.parent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/{site.name}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def http_root(default_site: Path) -> Iterator[str]:
    """The default site served by http.server under the sub-path /site/."""
    with _served(default_site) as url:
        yield url


@pytest.fixture(scope="module")
def chunked_http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default catalog built with search chunks of four servers (as a catalog above
    CHUNK_SIZE servers gets them), served over HTTP so that the test can hold the chunks back."""
    from generator.render.site import search as site_search

    out = tmp_path_factory.mktemp("chunked-site") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_search, "CHUNK_SIZE", 4)
        build(DEFAULT_SOURCE, out, jobs=1)
    assert (out / "assets/search-index-9.js").is_file()
    with _served(out) as url:
        yield url


@pytest.fixture(params=["file", "http"])
def site_url(request: pytest.FixtureRequest, default_site: Path) -> str:
    if request.param == "file":
        return default_site.as_uri() + "/"
    return str(request.getfixturevalue("http_root"))


class Watched:
    """A page with every console error, page error, failed request and dialog recorded."""

    def __init__(self, browser: object, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def cards(self) -> list[str]:
        return self.page.locator("#results > li.card").evaluate_all("els => els.map(e => e.dataset.name)")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: object) -> Iterator[Watched]:
    page = Watched(browser)
    yield page
    page.close()


def test_typing_narrows_the_cards_and_the_hash_restores_it(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "index.html")
    assert len(watched.cards()) == 34  # 36 servers, 2 deprecated hidden by default
    page.fill("#q", "vulnerab")
    assert set(watched.cards()) >= {"osv"} and len(watched.cards()) < 10
    page.fill("#q", "tool:query_vulnerability")
    assert watched.cards() == ["osv"]
    assert "q=tool%3Aquery_vulnerability" in page.url
    page.reload()
    assert page.input_value("#q") == "tool:query_vulnerability"
    assert watched.cards() == ["osv"]
    assert page.inner_text("#status") == "1 server"
    assert watched.problems == [] and watched.dialogs == []


def test_the_status_line_adds_up_with_the_catalog_total(browser: object, watched: Watched, site_url: str) -> None:
    """The header and footer count every server; after load the status line counts the cards shown
    and the deprecated servers the default view hides, so the two agree (36 = 34 + 2)."""
    page = watched.page
    page.goto(site_url + "index.html")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    assert page.inner_text(".index-head .lead").startswith("36 MCP servers:")
    assert page.inner_text(".site-footer").endswith("36 servers.")
    assert len(watched.cards()) == 34
    assert page.inner_text("#status") == "34 servers shown (2 deprecated hidden)"
    page.fill("#q", "atlassian")  # the deprecated atlassian container and the atlassian-remote server
    assert watched.cards() == ["atlassian-remote"]
    assert page.inner_text("#status") == "1 server shown (1 deprecated hidden)"
    page.check("#f-z")
    assert len(watched.cards()) == 2 and page.inner_text("#status") == "2 servers"
    page.fill("#q", "")
    assert len(watched.cards()) == 36 and page.inner_text("#status") == "36 servers"
    assert watched.problems == []

    # Without JavaScript every card is listed, deprecated ones too, and the count says so.
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        static = context.new_page()
        static.goto(site_url + "index.html")
        assert static.locator("#results > li.card").count() == 36
        assert static.locator("#status").text_content() == "36 servers"
    finally:
        context.close()


def test_what_is_typed_while_the_search_data_loads_is_kept(watched: Watched, chunked_http_root: str) -> None:
    # At 10,000 servers the search chunks take about a second to load and the box is already
    # there: a query typed meanwhile must be the one searched, not wiped when the data arrives.
    page = watched.page
    held: list[object] = []
    released = False

    def hold(route: object) -> None:
        if released:
            route.continue_()  # type: ignore[attr-defined]
        else:
            held.append(route)

    page.route("**/assets/search-index-*.js", hold)
    page.goto(chunked_http_root + "index.html", wait_until="domcontentloaded")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(10)
    assert held, "the first search chunk was never requested"
    page.type("#q", "vulnerab")
    assert page.evaluate("window.MCPCatalogPage === undefined")  # the data is still held back
    released = True
    for route in held:
        route.continue_()  # type: ignore[attr-defined]
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    assert page.input_value("#q") == "vulnerab"
    assert set(watched.cards()) >= {"osv"} and len(watched.cards()) < 10
    assert "q=vulnerab" in page.url
    assert watched.problems == []


def test_search_data_reads_back_exactly_in_the_browser(watched: Watched) -> None:
    # The search data is JSON inside a single-quoted JavaScript string: every character that
    # could end the string, the line or the script must come back as it went in.
    from generator.render.site.search import _js_data

    nasty = ["O'Brien", "back\\slash \\' \\\\'", '"quoted"', "line\u2028sep\u2029para", "</script><script>x()</script>",
             "tab\tnew\nline\r", "emoji \U0001f600 ünï", "\\u0041 not an escape", "''", "\x00\x1f\x7f"]
    value = {"list": nasty, "nested": {"k'": nasty[::-1]}, "n": [1, 2.5, True, None]}
    script = _js_data(value)
    assert "<" not in script and "\u2028" not in script and "\n" not in script
    # ASCII: a wider character made Python hold each copy of a 10 MB chunk at 2-4 bytes a character
    assert script.isascii()
    assert watched.page.evaluate(f"() => {script}") == value
    assert watched.problems == []


def test_filters_combine_show_chips_and_clear(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "index.html")
    page.select_option("#f-r", "validated")
    validated = watched.cards()
    page.select_option("#f-k", "remote")
    both = watched.cards()
    assert both and set(both) < set(validated)
    kinds = page.evaluate("names => names.map(n => MCPCatalogSearch.entries.find(e => e.n === n).k)", both)
    assert set(kinds) == {"remote"}
    assert page.locator("#chips button").count() == 2
    page.fill("#q", "zzzz-nothing")
    assert watched.cards() == [] and page.is_visible("#no-results")
    page.click("#clear")
    assert len(watched.cards()) == 34 and page.locator("#chips button").count() == 0
    page.check("#f-z")
    assert len(watched.cards()) == 36
    page.click("#chips button")
    assert len(watched.cards()) == 34
    assert watched.problems == []


def test_a_shared_hash_opens_with_filters_applied(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "index.html#r=validated&k=container&sort=updated")
    names = watched.cards()
    assert names and page.input_value("#f-r") == "validated" and page.input_value("#sort") == "updated"
    dates = page.locator("#results .card-facts time").evaluate_all("els => els.map(e => e.dateTime)")
    assert dates == sorted(dates, reverse=True)


def test_copy_button_puts_the_manifest_on_the_clipboard(browser: object, site_url: str) -> None:
    watched = Watched(browser)
    try:
        if site_url.startswith("http"):
            watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.split("/site")[0])
        page = watched.page
        page.goto(site_url + "servers/osv/index.html#deploy")
        page.click("#deploy-apply details.manifest summary")  # the generic bundle's (each profile's section has its own)
        page.click("button[data-copy=snippet-manifest]")
        selected = page.evaluate("() => window.getSelection().toString()")
        assert "kind: MCPServer" in selected
        # The clipboard answers asynchronously: wait for the button to report the outcome.
        page.wait_for_function(
            "() => ['Copied', 'Selected: press Ctrl+C'].includes("
            "document.querySelector('button[data-copy=snippet-manifest]').textContent.trim())",
            timeout=5000,
        )
        if page.inner_text("button[data-copy=snippet-manifest]") == "Copied" and site_url.startswith("http"):
            assert "kind: MCPServer" in page.evaluate("() => navigator.clipboard.readText()")
        # ...and then offers to copy again instead of saying "Copied" forever.
        page.wait_for_function("() => document.querySelector('button[data-copy=snippet-manifest]').textContent.trim() === 'Copy'",
                               timeout=5000)
        assert watched.problems == []
    finally:
        watched.close()


def test_tools_page_filters_rows(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "tools/index.html")
    page.fill("#tool-q", "jira")
    visible = page.locator("#tool-table tbody tr:not([hidden])")
    assert visible.count() > 0
    assert all("jira" in text.lower() for text in visible.all_inner_texts())
    assert watched.problems == []


def test_pages_work_without_javascript(browser: object, default_site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(default_site.as_uri() + "/index.html")
        assert page.locator("#results > li.card").count() == 36
        assert not page.is_visible("#search")
        page.click("#browse >> text=Security")
        assert page.url.endswith("categories/security/index.html")
        assert page.locator("li.card").count() >= 1
        page.goto(default_site.as_uri() + "/tools/index.html")
        assert not page.is_visible("#tool-search") and page.locator("#tool-table tbody tr").count() > 0
    finally:
        context.close()


@pytest.mark.parametrize("width,height,label", [(1280, 900, "desktop"), (390, 844, "phone")])
def test_screenshots(browser: object, default_site: Path, width: int, height: int, label: str) -> None:
    watched = Watched(browser, width, height)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        watched.page.goto(default_site.as_uri() + "/index.html")
        watched.page.screenshot(path=str(ARTIFACTS / f"site-index-{label}.png"))
        watched.page.goto(default_site.as_uri() + "/servers/github/index.html")
        watched.page.screenshot(path=str(ARTIFACTS / f"site-server-{label}.png"))
        overflow = watched.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the server page scrolls sideways by {overflow}px at {width}px"
        assert watched.problems == []
    finally:
        watched.close()


# How far the page reaches past the screen's right edge, and the buttons left past it, with every
# <details> open (the deploy steps' "Show the objects" among them), those in a box scrolling on its own
# (a table's header) apart: what a phone user scrolls sideways for.
SIDEWAYS = """() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  const width = document.documentElement.clientWidth;
  const scrolled = b => { for (let e = b.parentElement; e; e = e.parentElement) { if (getComputedStyle(e).overflowX !== "visible") return true; } return false; };
  const cut = [...document.querySelectorAll("button")].filter(b => b.offsetParent !== null && !scrolled(b))
    .filter(b => b.getBoundingClientRect().right > width).map(b => b.textContent + " " + (b.dataset.copy || ""));
  return [document.documentElement.scrollWidth - width, cut];
}"""


def _pages_of_every_kind(site: Path) -> list[str]:
    """Every page the site renderer writes but the paged lists' further pages and the API's pages."""
    return sorted(str(page.relative_to(site)) for page in site.rglob("*.html")
                  if page.parts[len(site.parts)] not in ("api", "bundles", "page") and "page" not in page.relative_to(site).parts[1:])


def test_no_page_of_the_default_catalog_scrolls_sideways_on_a_phone(browser: object, default_site: Path) -> None:
    watched = Watched(browser, 375, 812)
    try:
        wide = {}
        for path in _pages_of_every_kind(default_site):
            watched.page.goto(default_site.as_uri() + "/" + path)
            overflow, cut = watched.page.evaluate(SIDEWAYS)
            if overflow > 0 or cut:
                wide[path] = (overflow, cut)
        assert wide == {}, "pages wider than a 375px phone (px past the edge, buttons cut off)"
        assert watched.problems == []
    finally:
        watched.close()


LONG_WORD = "x" * 2000
LONG_WORDS_YAML = f"""\
name: {"l" * 63}
title: {"T" * 80}
description: {"D" * 100}
version: 1.0.0
category: web
tags: [{"t" * 50}]
tier: validated
publisher: {"P" * 120}
transport: stdio
image: ghcr.io/example/{"i" * 200}:1.0.0
args: ["{"a" * 1000}"]
env:
  - name: {"E" * 128}
    description: {"e" * 500}
    secret: true
tools:
  - name: {"n" * 128}
    description: {LONG_WORD}
    input_schema:
      type: object
      properties:
        {"p" * 200}: {{type: string, description: {LONG_WORD}}}
review:
  status: approved
  by: {"B" * 200}
  date: 2026-10-01
  expires: 2027-10-01
  notes: {LONG_WORD}
"""
LONG_WORDS_MD = f"## {LONG_WORD}\n\n{LONG_WORD}\n\n[{LONG_WORD}](https://example.org/{LONG_WORD})\n\n```\n{LONG_WORD}\n```\n"


@pytest.mark.parametrize("width", [375, 1280])
def test_source_text_of_long_words_wraps_instead_of_widening_the_page(
    browser: object, write_tree: Callable[..., Path], tmp_path: Path, width: int
) -> None:
    """A title, description, publisher, tool description, review note or overview of one word of up to
    2,000 characters (a URL, an identifier) wraps on the screen; a code block scrolls on its own."""
    from conftest import FETCH_YAML

    name = "l" * 63
    source = write_tree({"fetch.yaml": FETCH_YAML, f"{name}.yaml": LONG_WORDS_YAML, f"{name}.md": LONG_WORDS_MD})
    out = tmp_path / "site"
    build(source, out)
    watched = Watched(browser, width, 900)
    try:
        wide = {}
        for path in ("index.html", f"servers/{name}/index.html", "tools/index.html", "reviews/index.html",
                     "categories/web/index.html", f"tags/{'t' * 50}/index.html", "registries/sandbox/index.html"):
            watched.page.goto(out.as_uri() + "/" + path)
            overflow, cut = watched.page.evaluate(SIDEWAYS)
            if overflow > 0 or cut:
                wide[path] = (overflow, cut)
        assert wide == {}, f"pages wider than {width}px (px past the edge, buttons cut off)"
    finally:
        watched.close()


def test_hostile_catalog_does_not_execute(browser: object, write_tree: Callable[..., Path], tmp_path: Path) -> None:
    source = write_tree({"hostile.yaml": HOSTILE_YAML.replace("%%", "%"), "hostile.md": HOSTILE_MD})
    out = tmp_path / "site"
    build(source, out)
    watched = Watched(browser)
    try:
        page = watched.page
        for path in ("index.html", "servers/hostile/index.html", "tools/index.html", "categories/web/index.html"):
            page.goto(out.as_uri() + "/" + path)
            if path == "index.html":
                page.fill("#q", "hostile")  # the card is then drawn by search.js, not the template
            page.mouse.move(200, 200)
            found = page.evaluate("ids => ids.filter(id => document.getElementById(id))", list(INJECTED_IDS))
            assert found == [], path
            assert page.locator("script:not([src])").count() == 0
        assert watched.dialogs == []
    finally:
        watched.close()


def test_prototype_names_and_a_mangled_hash_do_not_break_search(
    watched: Watched, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """Catalog text is used as map keys in search.js: `constructor` must be an ordinary name."""
    from conftest import FETCH_YAML

    named = FETCH_YAML.replace("name: fetch", "name: constructor").replace("tags: [web, http]", "tags: [constructor, http]")
    out = tmp_path / "site"
    build(write_tree({"constructor.yaml": named}), out)
    page = watched.page
    page.goto(out.as_uri() + "/index.html#q=%E0%A4%A&t=constructor")
    page.fill("#q", "constr")
    page.wait_for_function("() => document.querySelectorAll('#results article, #results li, #results .card').length > 0")
    assert page.locator('#results a[href*="servers/constructor/"]').count() >= 1
    assert watched.problems == []


CONTRAST_SCRIPT = """
() => {
  function rgb(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(',').map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  }
  function lum(c) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(el) {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  }
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || el.closest('[hidden]')) continue;
    const fg = rgb(style.color), bg = background(el);
    const ratio = (Math.max(lum(fg), lum(bg)) + 0.05) / (Math.min(lum(fg), lum(bg)) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) failures.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return failures;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_meets_wcag_aa_contrast(browser: object, default_site: Path, scheme: str) -> None:
    """Every visible text on the index, a server page, the tools and profiles pages, in both colour schemes (WCAG 2 AA)."""
    context = browser.new_context(color_scheme=scheme)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        for path in ("index.html", "servers/github/index.html", "tools/index.html", "registries/index.html"):
            page.goto((default_site / path).as_uri())
            assert page.evaluate(CONTRAST_SCRIPT) == [], f"{scheme} {path}"
    finally:
        context.close()


# --- one card template, one pager, the first screen, search by facts ----------------------------

CARDS_BY_NAME = "els => Object.fromEntries(els.map(e => [e.dataset.name, e.outerHTML]))"


def test_search_js_cards_are_the_server_rendered_cards(browser: object, default_site: Path) -> None:
    """search.js fills the <template> rendered from _card.html: every card is byte-for-byte the Jinja card."""
    static = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = static.new_page()
        page.goto(default_site.as_uri() + "/index.html")
        expected = page.locator("#results > li.card").evaluate_all(CARDS_BY_NAME)
    finally:
        static.close()
    watched = Watched(browser)
    try:
        watched.page.goto(default_site.as_uri() + "/index.html#z=1")
        watched.page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        drawn = watched.page.locator("#results > li.card").evaluate_all(CARDS_BY_NAME)
        assert len(drawn) == len(expected) == 36
        assert drawn == expected
        assert watched.problems == []
    finally:
        watched.close()


def test_an_override_of_the_card_template_shows_in_search_results(
    watched: Watched, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "_card.html").write_text(
        '<li class="card" data-name="{{ card.name }}"><a href="{{ url(card.page) }}">{{ card.title }}</a>'
        ' <em class="custom">Custom card of {{ card.name }}, {{ card.tools }} tools</em></li>\n')
    out = tmp_path / "site"
    build(write_tree(), out, templates=templates)
    page = watched.page
    page.goto(out.as_uri() + "/index.html")
    page.fill("#q", "fetch")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    assert page.locator("#results .custom").all_inner_texts() == ["Custom card of fetch, 1 tools"]
    assert page.locator("#results a").get_attribute("href") == "servers/fetch/index.html"
    assert watched.problems == []


def test_every_search_help_example_returns_results(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "index.html")
    page.click("#search-help summary")
    examples = page.locator("#search-help .examples a")
    assert examples.count() >= 10
    for number in range(examples.count()):
        example = examples.nth(number)
        text = example.inner_text()
        example.click()
        page.wait_for_function("q => document.getElementById('q').value === q", arg=text)
        assert watched.cards(), f"the help example {text!r} finds nothing"
        assert page.locator("#chips button", has_text=f"Search: {text}").count() == 1
    assert watched.problems == []


@pytest.mark.parametrize("query,expected", [
    ("postgres read-only", {"postgres-mcp-pro"}),
    ("is:read-only tool:query", {"osv"}),
    ("egress:none is:destructive", {"filesystem", "git", "memory", "sqlite"}),
    ("approval:expired", {"prometheus"}),
    ("expires:<91d", set()),
    ("expires:<92d", {"osv", "time"}),
    ("secret:slack_mcp_xoxp", {"slack-mcp-server"}),
    ("is:deprecated", {"atlassian", "genai-toolbox"}),
    # Declared ".github.com" admits github.com and every subdomain; a host merely ending so does not.
    ("egress:api.github.com", {"github"}),
    ("egress:objects.githubusercontent.com", {"github"}),
    ("egress:github.com", {"github"}),
    ("egress:notgithub.com", set()),
    ("egress:api.osv.dev", {"osv"}),
    ("egress:foo.api.osv.dev", set()),
])
def test_fact_and_behaviour_terms(watched: Watched, default_site: Path, query: str, expected: set[str]) -> None:
    page = watched.page
    page.goto(default_site.as_uri() + "/index.html")
    page.fill("#q", query)
    assert set(watched.cards()) == expected


def test_a_tool_is_found_by_the_name_an_override_deploys_it_under(
    watched: Watched, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """MCP clients list a renamed tool under its override's name, and a developer searches the catalog
    for that name: the search knew only the name the server reports, and found nothing."""
    from conftest import FETCH_YAML
    renamed = FETCH_YAML.replace("    description: Fetch a URL.\n",
                                 "    description: Fetch a URL.\n    override:\n      name: get_web_page\n")
    source = write_tree({"fetch.yaml": renamed, "fetch.md": "## Fetch\n"})
    out = tmp_path / "site"
    build(source, out)
    page = watched.page
    page.goto(out.as_uri() + "/index.html")
    for query in ("tool:get_web_page", "get_web_page", '"get_web_page"'):
        page.fill("#q", query)
        assert watched.cards() == ["fetch"], query
    page.fill("#q", "tool:get_web_pages")
    assert watched.cards() == []
    assert watched.problems == []


@pytest.mark.parametrize("query", ["tool:", "-tool:", "egress:", "secret:", "is:"])
def test_a_search_key_with_no_value_yet_narrows_nothing(watched: Watched, default_site: Path, query: str) -> None:
    """Typing "tool:" on the way to "tool:query" must not search for the word "tool" meanwhile."""
    page = watched.page
    page.goto(default_site.as_uri() + "/index.html")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    every = watched.cards()
    page.fill("#q", "postgres " + query)
    assert watched.cards() == ["postgres-mcp-pro"]
    page.fill("#q", query)
    assert watched.cards() == every
    assert page.inner_text("#status") == "34 servers shown (2 deprecated hidden)"


def test_checkbox_facets_have_live_counts(watched: Watched, default_site: Path) -> None:
    page = watched.page
    page.goto(default_site.as_uri() + "/index.html")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    before = int(page.inner_text("#n-d"))
    page.check("#f-d")
    destructive = watched.cards()
    assert len(destructive) == before and before > 0
    page.select_option("#f-k", "remote")
    assert int(page.inner_text("#n-d")) == len(watched.cards()) < before
    assert page.inner_text("label[for=f-d]").startswith("Has destructive tools")


@pytest.mark.parametrize("width,height,least", [(1400, 1000, 8), (390, 844, 1)])
def test_the_first_screen_shows_results(browser: object, default_site: Path, width: int, height: int, least: int) -> None:
    for javascript in (True, False):
        context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)  # type: ignore[attr-defined]
        try:
            page = context.new_page()
            page.goto(default_site.as_uri() + "/index.html")
            whole = page.locator("#results > li.card").evaluate_all(
                "els => els.filter(e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length")
            assert whole >= least, f"{width}x{height}, JavaScript {javascript}: {whole} whole cards on the first screen"
        finally:
            context.close()


def test_the_filters_are_a_panel_behind_a_button_on_phones(browser: object, default_site: Path) -> None:
    watched = Watched(browser, 390, 844)
    try:
        page = watched.page
        page.goto(default_site.as_uri() + "/index.html")
        assert not page.is_visible("#facets")
        page.click("#filters-toggle")
        assert page.is_visible("#f-d") and page.get_attribute("#filters-toggle", "aria-expanded") == "true"
        page.check("#f-d")
        assert page.locator("#chips button", has_text="Has destructive tools").count() == 1
        page.goto(default_site.as_uri() + "/servers/github/index.html")
        behaviour = page.locator("table.tools td[data-label=Behaviour]").first.bounding_box()
        assert behaviour and behaviour["x"] + behaviour["width"] <= 390, behaviour
        assert watched.problems == []
    finally:
        watched.close()


WHOLE_ON_SCREEN = "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
FOCUS_CLEAR_OF_BUTTON = """() => {
  const button = document.getElementById('show-results');
  if (document.activeElement === button) { return true; }
  const f = document.activeElement.getBoundingClientRect(), b = button.getBoundingClientRect();
  return f.bottom <= b.top || f.top >= b.bottom;
}"""


def _filter_by_keyboard(page: object) -> None:
    """Category "Databases and data" and Tier "Validated", typed into the selects as a keyboard user would."""
    page.focus("#f-c")  # type: ignore[attr-defined]
    page.keyboard.type("Databases")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    page.keyboard.type("Validated")  # type: ignore[attr-defined]
    assert page.inner_text("#status") == "2 servers"  # type: ignore[attr-defined]


def test_the_phone_filter_panel_leads_to_the_results(browser: object, default_site: Path) -> None:
    """Filtering in the phone panel must not leave the results below it: the panel's last control,
    "Show N servers", is on the screen while the panel is open, and closes it with focus and the
    first result card on the screen. Wide screens need no such button: the results are beside the filters."""
    watched = Watched(browser, 390, 844)
    try:
        page = watched.page
        page.goto(default_site.as_uri() + "/index.html")
        page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        page.focus("#filters-toggle")
        page.keyboard.press("Enter")
        _filter_by_keyboard(page)
        show = page.locator("#show-results")
        assert show.count() == 1, "the filter panel has no way to the results"
        assert show.inner_text() == "Show 2 servers" and show.get_attribute("aria-controls") == "results"
        assert show.evaluate(WHOLE_ON_SCREEN), "the way to the results is below the screen"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "site-index-phone-filters-open.png"))
        while page.evaluate("document.activeElement.id") != "show-results":
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.closest('#facets') !== null"), "Tab left the panel before its button"
            assert page.evaluate(FOCUS_CLEAR_OF_BUTTON), "the button covers the focused control"
        page.keyboard.press("Enter")
        assert page.get_attribute("#filters-toggle", "aria-expanded") == "false"
        assert not page.is_visible("#facets")
        assert page.evaluate("document.activeElement.id") == "results-title"
        assert watched.cards() == ["mongodb", "sqlite"]
        assert page.locator("#results > li.card").first.evaluate(WHOLE_ON_SCREEN), "the first result is not on the screen"
        page.screenshot(path=str(ARTIFACTS / "site-index-phone-filters-shown.png"))
        assert watched.problems == []
    finally:
        watched.close()

    desktop = Watched(browser, 1400, 1000)
    try:
        page = desktop.page
        page.goto(default_site.as_uri() + "/index.html")
        page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        _filter_by_keyboard(page)
        assert not page.is_visible("#show-results") and page.is_visible("#facets")
        assert page.locator("#results > li.card").first.evaluate(WHOLE_ON_SCREEN)
    finally:
        desktop.close()


LAYOUT_SHIFTS = """() => new Promise(resolve => {
  const shifts = [];
  new PerformanceObserver(list => { for (const entry of list.getEntries()) { shifts.push(
    entry.sources.map(source => source.node ? source.node.id || source.node.className : '?').join(' ') + ': ' + entry.value.toFixed(4)); } })
    .observe({type: 'layout-shift', buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve(shifts), 100)));
})"""


@pytest.mark.parametrize("width,height", [(390, 844), (412, 823)])
@pytest.mark.parametrize("path", ["index.html", "tools/index.html", "reviews/index.html"])
def test_nothing_moves_when_the_scripts_start(browser: object, default_site: Path, path: str, width: int, height: int) -> None:
    """The pages are laid out for search.js from the start: its first draw (status lines, the tools
    filter) moves nothing. Lighthouse counts any such shift against the page (412x823 is its phone)."""
    watched = Watched(browser, width, height)
    try:
        watched.page.goto(f"{default_site.as_uri()}/{path}")
        assert watched.page.evaluate(LAYOUT_SHIFTS) == []
        assert watched.problems == []
    finally:
        watched.close()


def _open_phone_panel(browser: object, url: str) -> Watched:
    """A phone-sized page at `url` with the search started and the filter panel opened from the keyboard."""
    watched = Watched(browser, 390, 844)
    page = watched.page
    page.goto(url)
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    page.focus("#filters-toggle")
    page.keyboard.press("Enter")
    assert page.is_visible("#f-c") and page.get_attribute("#filters-toggle", "aria-expanded") == "true"
    return watched


@pytest.mark.parametrize("start", ["#f-c", "#f-d", "#show-results", "#filters-toggle", "nothing"])
@pytest.mark.parametrize("listing", ["index.html", "page/2/index.html"])
def test_escape_closes_the_phone_filter_panel_and_returns_focus(browser: object, many_pages_site: Path, listing: str, start: str) -> None:
    """Escape closes the open panel from any control in it, or from the button that opened it, and focus
    goes back to that button: left on a control of the closed panel, it would be on nothing visible.
    "nothing": a click on the panel's background took focus off every control. Every index page has
    the panel (the category, tag, tier and tools pages have no filters)."""
    watched = _open_phone_panel(browser, f"{many_pages_site.as_uri()}/{listing}")
    try:
        page = watched.page
        if start == "nothing":
            page.evaluate("document.activeElement.blur()")
        else:
            page.focus(start)
        page.keyboard.press("Escape")
        assert not page.is_visible("#facets"), f"Escape from {start} left the panel open"
        assert page.get_attribute("#filters-toggle", "aria-expanded") == "false"
        assert page.evaluate("document.activeElement.id") == "filters-toggle"
        page.keyboard.press("Enter")
        assert page.is_visible("#f-c") and page.get_attribute("#filters-toggle", "aria-expanded") == "true"
        assert watched.problems == []
    finally:
        watched.close()


def test_escape_elsewhere_leaves_the_filters_alone(browser: object, default_site: Path) -> None:
    """Escape in the search box is the box's own (it clears the query); on wide screens the filters
    are a column beside the results, not a panel, and Escape must not hide them or move focus."""
    watched = _open_phone_panel(browser, default_site.as_uri() + "/index.html")
    try:
        page = watched.page
        page.focus("#q")
        page.keyboard.type("git")
        page.keyboard.press("Escape")
        assert page.is_visible("#facets") and page.evaluate("document.activeElement.id") == "q"
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.focus("#f-d")
        page.keyboard.press("Escape")
        assert page.is_visible("#f-d") and page.evaluate("document.activeElement.id") == "f-d"
        assert watched.problems == []
    finally:
        watched.close()


@pytest.fixture(scope="module")
def many_pages_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog three cards a page: twelve pages, so the pager must leave numbers out."""
    from generator.render.site import search as site_search

    out = tmp_path_factory.mktemp("paged-site") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_search, "PAGE_SIZE", 3)
        build(DEFAULT_SOURCE, out, jobs=1)
    return out


@pytest.mark.parametrize("number", [1, 6, 12])
def test_the_search_pager_shows_the_same_window_as_the_jinja_pager(browser: object, many_pages_site: Path, number: int) -> None:
    page_path = "index.html" if number == 1 else f"page/{number}/index.html"
    static = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = static.new_page()
        page.goto(f"{many_pages_site.as_uri()}/{page_path}")
        expected = page.locator("#index-pages li").all_inner_texts()
    finally:
        static.close()
    watched = Watched(browser)
    try:
        watched.page.goto(f"{many_pages_site.as_uri()}/index.html#z=1&page={number}")
        watched.page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        assert watched.page.locator("#result-pages li").all_inner_texts() == expected
        assert len(watched.cards()) == 3
    finally:
        watched.close()
    assert "…" in expected and len(expected) <= 11


def test_a_server_rendered_page_opens_at_its_own_cards(browser: object, many_pages_site: Path) -> None:
    """page/6/index.html lists the sixth three servers; search.js starts from it and must keep them
    (it showed the first page's), until a search starts at its own page 1."""
    static = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = static.new_page()
        page.goto(f"{many_pages_site.as_uri()}/page/6/index.html")
        expected = page.locator("#results > li.card").evaluate_all("els => els.map(e => e.dataset.name)")
    finally:
        static.close()
    watched = Watched(browser)
    try:
        page = watched.page
        page.goto(f"{many_pages_site.as_uri()}/page/6/index.html")
        page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        assert watched.cards() == expected and len(expected) == 3
        assert page.inner_text("#result-pages [aria-current=page]") == "6"
        assert page.evaluate("location.hash") == ""
        page.fill("#q", "git")  # a search starts at its first page
        assert page.inner_text("#result-pages [aria-current=page]") == "1" and "page=" not in page.url
        page.fill("#q", "")
        page.click("#result-pages button:text-is('2')")  # page 2 of the whole list, asked for on page/6/
        assert "page=2" in page.url and watched.cards() != expected
        page.reload()
        page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        assert page.inner_text("#result-pages [aria-current=page]") == "2"
        assert watched.problems == []
    finally:
        watched.close()


FOCUSED = "() => document.activeElement.getAttribute('aria-label') || document.activeElement.id"


def test_keyboard_focus_stays_in_place_when_chips_and_pager_are_redrawn(browser: object, many_pages_site: Path) -> None:
    """Removing a chip or turning a page draws the chips or the pager again; focus went to the
    page's start (body), so a keyboard or screen reader user lost their place."""
    watched = Watched(browser)
    try:
        page = watched.page
        page.goto(f"{many_pages_site.as_uri()}/index.html#q=git&c=developer-tools&r=validated")
        page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        page.focus("#chips button[aria-label='Remove Category: Developer tools']")
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED) == "Remove Tier: Validated"  # the chip that took its place
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED) == "Remove Search: git"  # the last one left
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED) == "q" and page.locator("#chips button").count() == 0
        page.focus("#result-pages button[data-rel=next]")
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED) == "results-title" and "page=2" in page.url
        page.keyboard.press("Tab")  # on to the first card of the new page
        assert page.evaluate("document.activeElement.closest('#results > li.card').dataset.name") == watched.cards()[0]
        assert watched.problems == []
    finally:
        watched.close()


def test_a_crafted_sort_in_a_shared_link_adds_no_filter(watched: Watched, default_site: Path) -> None:
    """sort= was kept as any text and written back unencoded: a link with sort=x%26c%3Ddata
    turned into a Category filter once the reader typed (and on reload)."""
    page = watched.page
    page.goto(default_site.as_uri() + "/index.html#sort=x%26c%3Ddata")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    page.fill("#q", "git")
    assert "c=data" not in page.url and page.input_value("#sort") == "name"
    page.reload()
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    assert page.input_value("#f-c") == "" and page.locator("#chips button").count() == 1
    assert watched.problems == []


def test_a_search_chunk_that_fails_to_load_says_so(watched: Watched, chunked_http_root: str) -> None:
    page = watched.page
    page.route("**/assets/search-index-2.js", lambda route: route.abort())
    page.goto(chunked_http_root + "index.html")
    page.wait_for_selector("#load-error:not([hidden])")
    assert "search-index-2.js" in page.inner_text("#load-error")
    assert page.is_disabled("#q")
    assert page.locator("#results > li.card").count() == 34 + 2  # the server-rendered list stays


def test_the_reviewers_table_sorts_and_filters(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "reviews/index.html")
    rows = page.locator("#review-table tbody tr:not([hidden])")
    assert rows.count() == 36
    page.check("#risk-destructive")
    page.check("#risk-egress")
    risky = rows.count()
    assert 0 < risky < 36 and page.inner_text("#review-status") == f"{risky} of 36 servers"
    page.click("#review-table thead th:nth-child(8) button")
    page.click("#review-table thead th:nth-child(8) button")
    counts = [int(text.split(" of ")[0]) for text in page.locator(
        "#review-table tbody tr:not([hidden]) td[data-label=Destructive]").all_inner_texts()]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert page.get_attribute("#review-table thead th:nth-child(8)", "aria-sort") == "descending"
    assert watched.problems == []


def test_the_reviewers_table_shows_every_column_on_a_laptop(browser: object, default_site: Path) -> None:
    """At 1280 pixels the last columns (open-world tools, pinned) must not hide behind a sideways scroll:
    a reviewer skimming for "not pinned" would not see it. Dates and tool counts stay on one line."""
    watched = Watched(browser, 1280, 800)
    try:
        page = watched.page
        page.goto(default_site.as_uri() + "/reviews/index.html")
        hidden = page.evaluate("() => { const t = document.querySelector('#review-table'); return t.scrollWidth - t.parentElement.clientWidth; }")
        assert hidden <= 0, f"the reviewer's table scrolls sideways by {hidden}px at 1280px"
        heights = page.evaluate("""() => [...document.querySelectorAll('#review-table time, #review-table td[data-label=Destructive]')]
          .map(e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; })""")
        assert heights and set(heights) == {1}, "a date or a count wraps"
        assert watched.problems == []
    finally:
        watched.close()


def test_a_card_search_js_fills_is_the_server_rendered_card(browser: object, many_pages_site: Path) -> None:
    """A server not on the page search.js starts from gets a card filled from the template, which must
    read as the server-rendered one (mermaid declares one tool: "1 tool", not "1 tools")."""
    static = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = static.new_page()
        expected: dict[str, str] = {}
        for number in range(1, 13):
            page.goto(f"{many_pages_site.as_uri()}/{'index.html' if number == 1 else f'page/{number}/index.html'}")
            cards = page.locator("#results > li.card").evaluate_all(CARDS_BY_NAME)
            # page/N/ is two folders down: its links climb back to the root the filled card is at
            expected.update({name: card.replace('"../../', '"') for name, card in cards.items()})
    finally:
        static.close()
    assert "1 tool ·" in expected["mermaid"]
    watched = Watched(browser)
    try:
        watched.page.goto(many_pages_site.as_uri() + "/index.html")
        watched.page.wait_for_function("() => window.MCPCatalogPage !== undefined")
        assert "mermaid" not in watched.page.locator("#results > li.card").evaluate_all(CARDS_BY_NAME)
        watched.page.fill("#q", "mermaid")
        watched.page.wait_for_function("() => document.querySelector('#results > li.card[data-name=mermaid]') !== null")
        drawn = watched.page.locator("#results > li.card").evaluate_all(CARDS_BY_NAME)
        assert drawn["mermaid"] == expected["mermaid"]
        assert watched.problems == []
    finally:
        watched.close()


@pytest.fixture(scope="module")
def paged_tools_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with 40 tools a tools page (twelve pages) and its search data in chunks of
    ten servers (as above CHUNK_SIZE), so that the tools page must load every chunk to search."""
    from generator.render.site import pages as site_pages
    from generator.render.site import search as site_search

    out = tmp_path_factory.mktemp("paged-tools") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_pages, "TOOLS_PER_PAGE", 40)
        patch.setattr(site_search, "CHUNK_SIZE", 10)
        build(DEFAULT_SOURCE, out, jobs=1)
    assert (out / "tools/page/12/index.html").is_file() and (out / "assets/tools-index-4.js").is_file()
    return out


def _tool_rows(page_file: Path) -> list[tuple[str, str]]:
    """A tools page's rows as the server wrote them: (tool name, the row's words, lower-cased)."""
    import html

    rows = re.findall(r"<tr[^>]*><th scope=\"row\"><code>(.*?)</code>(.*?)</tr>", page_file.read_text(), re.S)
    return [(html.unescape(name), html.unescape(re.sub(r"<[^>]+>", " ", name + " " + rest)).lower()) for name, rest in rows]


def _tools_page(site: Path, number: int) -> Path:
    return site / ("tools/index.html" if number == 1 else f"tools/page/{number}/index.html")


@pytest.mark.parametrize("start,wanted", [(1, 12), (12, 1)])
def test_the_tools_search_finds_a_tool_on_any_page(watched: Watched, paged_tools_site: Path, start: int, wanted: int) -> None:
    every = [row for number in range(1, 13) for row in _tool_rows(_tools_page(paged_tools_site, number))]
    shown = " ".join(text for _, text in _tool_rows(_tools_page(paged_tools_site, start)))
    # A word of a description on page `wanted` that nothing on the opened page holds.
    word = next(w for _, text in _tool_rows(_tools_page(paged_tools_site, wanted))
                for w in re.findall(r"[a-z]{7,}", text) if w not in shown)
    expected = [name for name, text in every if word in text]
    page = watched.page
    own = len(_tool_rows(_tools_page(paged_tools_site, start)))
    page.goto(_tools_page(paged_tools_site, start).as_uri())
    assert page.locator("#tool-table tbody tr").count() == own and page.is_visible("#tools-pages")
    page.fill("#tool-q", word)
    page.wait_for_function("() => /^\\d+ of 453 tools$/.test(document.getElementById('tool-status').textContent)")
    rows = page.locator("#tool-table tbody tr:not([hidden])")
    assert rows.locator("th code").all_inner_texts() == expected
    assert page.inner_text("#tool-status") == f"{len(expected)} of 453 tools"
    # The live region a screen reader announces the count from, and no pager while every page is searched.
    status = page.locator("#tool-status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    assert not page.is_visible("#tools-pages")
    # Each match links to its tool on its server's page.
    link = rows.first.locator("a")
    link.click()
    assert page.url.endswith(f"/index.html#tool-{expected[0]}") and page.locator(f"[id='tool-{expected[0]}']").count() == 1
    page.go_back()
    page.fill("#tool-q", "")
    assert page.locator("#tool-table tbody tr:not([hidden])").count() == own and page.is_visible("#tools-pages")
    assert page.inner_text("#tool-status") == f"{own} of {own} tools"
    assert watched.problems == []


def test_the_tools_search_is_in_the_address_and_a_shared_link_opens_it(watched: Watched, paged_tools_site: Path) -> None:
    """The words typed go to the address (#q=...), replacing the entry; a link holding them opens the
    search of every page; the skip link's #main is a place, not an empty search."""
    from urllib.parse import quote

    shown = " ".join(text for _, text in _tool_rows(_tools_page(paged_tools_site, 1)))
    word = next(w for _, text in _tool_rows(_tools_page(paged_tools_site, 12)) for w in re.findall(r"[a-z]{7,}", text) if w not in shown)
    every = [row for number in range(1, 13) for row in _tool_rows(_tools_page(paged_tools_site, number))]
    expected = [name for name, text in every if word in text]
    page = watched.page
    start = _tools_page(paged_tools_site, 1).as_uri()
    every_page = "() => /^\\d+ of 453 tools/.test(document.getElementById('tool-status').textContent)"
    page.goto(start)
    page.fill("#tool-q", f"{word} x")
    page.wait_for_function(every_page)  # every page loaded: leaving sooner would cut the loads short
    assert page.evaluate("location.href") == f"{start}#q={quote(word + ' x', safe='')}"
    page.fill("#tool-q", "")
    assert page.evaluate("location.href") == start
    page.goto(f"{start}#q={quote(word)}")
    page.reload()  # a hash-only change of address does not reload: open the shared link for real
    page.wait_for_function(every_page)
    assert page.input_value("#tool-q") == word
    assert page.locator("#tool-table tbody tr:not([hidden])").locator("th code").all_inner_texts() == expected
    page.evaluate("() => { location.hash = '#main'; }")
    assert page.input_value("#tool-q") == word
    assert page.locator("#tool-table tbody tr:not([hidden])").count() == len(expected)
    assert watched.problems == []


def test_the_paged_tools_listing_works_without_javascript(browser: object, paged_tools_site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(_tools_page(paged_tools_site, 1).as_uri())
        assert not page.is_visible("#tool-search") and page.locator("#tool-table tbody tr").count() == 40
        page.click("#tools-pages >> text=Next")
        assert page.url.endswith("tools/page/2/index.html")
        assert page.locator("#tool-table tbody tr code").first.inner_text() == _tool_rows(_tools_page(paged_tools_site, 2))[0][0]
    finally:
        context.close()


def test_back_undoes_a_filter_change_and_a_run_of_typing(watched: Watched, default_site: Path) -> None:
    page = watched.page
    start = default_site.as_uri() + "/index.html"
    page.goto(start)
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    everything = watched.cards()
    page.select_option("#f-c", "developer-tools")
    developer = watched.cards()
    page.select_option("#f-r", "validated")
    validated = watched.cards()
    assert len({tuple(everything), tuple(developer), tuple(validated)}) == 3
    page.type("#q", "hub", delay=50)  # one run of typing: one step back
    typed = watched.cards()
    assert typed != validated and "q=hub" in page.url
    page.wait_for_timeout(1200)  # a pause ends the run: the next keystrokes are a step of their own
    page.type("#q", " mcp", delay=50)
    assert "q=hub%20mcp" in page.url
    steps = [("hub", "developer-tools", "validated", typed), ("", "developer-tools", "validated", validated),
             ("", "developer-tools", "", developer), ("", "", "", everything)]
    for query, category, tier, cards in steps:
        page.go_back()
        page.wait_for_function(f"() => document.getElementById('q').value === {query!r} && "
                               f"document.getElementById('f-c').value === {category!r} && document.getElementById('f-r').value === {tier!r}")
        assert watched.cards() == cards
    assert page.url == start
    for _ in range(3):
        page.go_forward()
    page.wait_for_function("() => document.getElementById('q').value === 'hub'")
    assert watched.cards() == typed and page.url.endswith("#q=hub&c=developer-tools&r=validated")
    assert watched.problems == []


def test_the_skip_link_keeps_the_search_and_back_still_steps_through_it(watched: Watched, default_site: Path) -> None:
    """"Skip to content" changes the hash to #main: that is a place on the page, not a search, so the
    search stays as it was (a keyboard user's first Tab + Enter wiped it, cards and box)."""
    page = watched.page
    page.goto(default_site.as_uri() + "/index.html")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    page.select_option("#f-c", "developer-tools")
    page.fill("#q", "hub")
    searched = watched.cards()
    url = page.url
    page.focus("a.skip")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash === '#main'")
    page.wait_for_timeout(100)
    assert page.input_value("#q") == "hub" and page.input_value("#f-c") == "developer-tools"
    assert watched.cards() == searched
    page.go_back()
    page.wait_for_function("() => location.hash !== '#main'")
    assert page.url == url and watched.cards() == searched
    page.go_back()
    page.wait_for_function("() => document.getElementById('q').value === ''")
    assert page.input_value("#f-c") == "developer-tools"
    assert watched.problems == []


def test_the_tools_search_of_every_page_draws_hostile_text_as_text(
    browser: object, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """With two tools pages the search's rows are drawn by search.js from the tools files: the
    hostile server's tool (on page 2) found from page 1 shows its markup as text, runs nothing."""
    from conftest import FETCH_YAML
    from generator.render.site import pages as site_pages

    source = write_tree({"fetch.yaml": FETCH_YAML, "hostile.yaml": HOSTILE_YAML.replace("%%", "%"), "hostile.md": HOSTILE_MD})
    out = tmp_path / "site"
    total = sum(1 for line in (source / "servers" / "fetch.yaml").read_text().splitlines() if line.startswith("  - name:"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_pages, "TOOLS_PER_PAGE", total)  # fetch's tools fill page 1, hostile's go to page 2
        build(source, out, jobs=1)
    assert (out / "tools/page/2/index.html").is_file() and (out / "assets/tools-index-1.js").is_file()
    watched = Watched(browser)
    try:
        page = watched.page
        page.goto(out.as_uri() + "/tools/index.html")
        page.fill("#tool-q", "evil")
        page.wait_for_function("() => /^1 of \\d+ tools$/.test(document.getElementById('tool-status').textContent)")
        row = page.locator("#tool-table tbody tr:not([hidden])")
        assert row.locator("th code").inner_text() == "evil_tool"
        assert row.locator("td").nth(1).inner_text() == '<a id="injected-link" href="javascript:alert(5)">click</a> {{ 6*7 }}'
        page.mouse.move(200, 200)
        assert page.evaluate("ids => ids.filter(id => document.getElementById(id))", list(INJECTED_IDS)) == []
        assert watched.dialogs == [] and watched.problems == []
    finally:
        watched.close()


@pytest.fixture(scope="module")
def paged_reviews_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with ten rows a page of the reviewer's table (four pages of 36 servers)."""
    from generator.render.site import review as site_review

    out = tmp_path_factory.mktemp("paged-reviews") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_review, "ROWS_PER_PAGE", 10, raising=False)  # raising=False: fails on the rows, not here
        build(DEFAULT_SOURCE, out, jobs=1)
    return out


def _reviews_page(site: Path, number: int) -> Path:
    return site / ("reviews/index.html" if number == 1 else f"reviews/page/{number}/index.html")


# Each drawn row as a comparable string: its links made absolute (a page's depth changes their "../").
REVIEW_ROWS = """rows => rows.map(row => { const copy = row.cloneNode(true);
  copy.querySelectorAll('a').forEach(a => a.setAttribute('href', a.href)); copy.removeAttribute('hidden');
  ['egress', 'destructive', 'unapproved', 'unpinned'].forEach(risk => copy.removeAttribute('data-' + risk));
  return copy.outerHTML.replace(/>\\s+</g, '><').trim(); })"""


def test_the_paged_reviewers_table_sorts_and_filters_every_page(watched: Watched, paged_reviews_site: Path) -> None:
    """No page holds every row (10,000 on one page took Chromium longer to lay out than Lighthouse
    waits), yet a filter or a sort covers every page, its rows drawn as the pages write them."""
    import json

    servers = json.loads((paged_reviews_site / "reviews/reviews.json").read_text())["servers"]
    assert len(servers) == 36
    page = watched.page
    written: dict[str, str] = {}
    for number in range(1, 5):
        page.goto(_reviews_page(paged_reviews_site, number).as_uri())
        rows = page.locator("#review-table tbody tr")
        names = rows.locator("th code").all_inner_texts()
        assert names == [server["name"] for server in servers[(number - 1) * 10:number * 10]]
        written.update(zip(names, rows.evaluate_all(REVIEW_ROWS)))
    last = servers[-1]["name"]
    page.goto(_reviews_page(paged_reviews_site, 1).as_uri())
    assert page.inner_text("#review-status") == "10 of 36 servers" and page.is_visible("#reviews-pages")
    page.fill("#review-q", last)
    page.wait_for_function("() => document.getElementById('review-status').textContent === '1 of 36 servers'")
    shown = page.locator("#review-table tbody tr:not([hidden])")
    assert shown.evaluate_all(REVIEW_ROWS) == [written[last]] and not page.is_visible("#reviews-pages")
    page.fill("#review-q", "")
    assert page.locator("#review-table tbody tr:not([hidden]) th code").all_inner_texts() == [s["name"] for s in servers[:10]]
    assert page.is_visible("#reviews-pages") and page.inner_text("#review-status") == "10 of 36 servers"
    page.check("#risk-unapproved")
    unapproved = [s["name"] for s in servers if s["approval"] != "approved"]
    assert page.locator("#review-table tbody tr:not([hidden]) th code").all_inner_texts() == unapproved
    assert page.inner_text("#review-status") == f"{len(unapproved)} of 36 servers"
    page.uncheck("#risk-unapproved")
    page.click("#review-table thead th:nth-child(8) button")
    page.click("#review-table thead th:nth-child(8) button")
    ordered = sorted(servers, key=lambda s: -s["destructive_tools"])  # stable, as the table's sort
    drawn = page.locator("#review-table tbody tr:not([hidden])")
    assert drawn.locator("th code").all_inner_texts() == [s["name"] for s in ordered]
    assert drawn.evaluate_all(REVIEW_ROWS) == [written[s["name"]] for s in ordered]
    assert watched.problems == []


def test_the_paged_reviewers_table_works_without_javascript(browser: object, paged_reviews_site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(_reviews_page(paged_reviews_site, 1).as_uri())
        assert page.locator("#review-table tbody tr").count() == 10
        assert page.inner_text("#review-status") == "10 of 36 servers"
        page.click("#reviews-pages >> text=4")
        assert page.url.endswith("reviews/page/4/index.html") and page.locator("#review-table tbody tr").count() == 6
        page.click("#review-table tbody tr >> nth=0 >> a")
        assert "/servers/" in page.url
    finally:
        context.close()


def test_the_paged_reviewers_table_draws_hostile_text_as_text(
    browser: object, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """The hostile server's row (on page 2) found from page 1 is drawn by search.js from
    reviews-index.js: its title shows as text and runs nothing."""
    from conftest import FETCH_YAML
    from generator.render.site import review as site_review

    source = write_tree({"fetch.yaml": FETCH_YAML, "hostile.yaml": HOSTILE_YAML.replace("%%", "%"), "hostile.md": HOSTILE_MD})
    out = tmp_path / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_review, "ROWS_PER_PAGE", 1, raising=False)
        build(source, out, jobs=1)
    watched = Watched(browser)
    try:
        page = watched.page
        page.goto(out.as_uri() + "/reviews/index.html")
        assert page.locator("#review-table tbody tr th code").all_inner_texts() == ["fetch"]
        page.fill("#review-q", "hostile")
        page.wait_for_function("() => document.getElementById('review-status').textContent === '1 of 2 servers'")
        row = page.locator("#review-table tbody tr:not([hidden])")
        assert row.locator("th a").inner_text() == '<b id="injected-title" onmouseover="alert(1)">Hostile</b>'
        page.mouse.move(200, 200)
        assert page.evaluate("ids => ids.filter(id => document.getElementById(id))", list(INJECTED_IDS)) == []
        assert watched.dialogs == [] and watched.problems == []
    finally:
        watched.close()


def test_a_reviews_data_file_that_fails_to_load_leaves_the_page_filter(watched: Watched, paged_reviews_site: Path) -> None:
    page = watched.page
    page.route("**/assets/reviews-index.js", lambda route: route.abort())
    page.goto(_reviews_page(paged_reviews_site, 1).as_uri())
    first = page.locator("#review-table tbody tr th code").last.inner_text()
    page.fill("#review-q", first)
    page.wait_for_function("() => /could not be loaded/.test(document.getElementById('review-status').textContent)")
    assert page.inner_text("#review-status") == "1 of 36 servers on this page (reviews-index.js could not be loaded)"
    assert page.locator("#review-table tbody tr:not([hidden]) th code").all_inner_texts() == [first]
    assert page.is_visible("#reviews-pages")


@pytest.fixture(scope="module")
def paged_lists_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with tables of 5 tools a page (production's 16 withheld tools take four
    pages) and the API's links to 5 servers' documents a page (eight pages)."""
    from generator.render.api import browse
    from generator.render.site import pages as site_pages

    out = tmp_path_factory.mktemp("paged-lists") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_pages, "TOOLS_PER_PAGE", 5)
        patch.setattr(browse, "SERVERS_PER_PAGE", 5)
        build(DEFAULT_SOURCE, out, jobs=1)
    assert (out / "registries/production/withheld/page/4/index.html").is_file() and (out / "api/v1/page/8/index.html").is_file()
    return out


def _fits_the_screen(page: object) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))  # type: ignore[attr-defined]


def test_a_phone_reaches_every_withheld_tool_from_the_profile_page(browser: object, paged_lists_site: Path) -> None:
    """From file://, at a phone's width: the profile page's summary leads to the table of withheld
    tools, whose Next links show every one (as the policy withholds them) and whose rows lead to the
    tool on its server's page; no page scrolls sideways."""
    from generator import derived
    from generator.source.validate import read_catalog

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    (production,) = [profile for profile in catalog.meta.registries if profile.name == "production"]
    expected = [held.tool.name for server in derived.profile_servers(catalog, production)
                for held in derived.withheld_tools(production, server)]
    watched = Watched(browser, 390, 844)
    try:
        page = watched.page
        page.goto((paged_lists_site / "registries/production/index.html").as_uri())
        page.click("text=Every withheld tool")
        assert page.url.endswith("/registries/production/withheld/index.html")
        seen: list[str] = []
        while True:
            assert _fits_the_screen(page), page.url
            seen += page.locator("#withheld-table tbody th code").all_inner_texts()
            if not page.locator("#withheld-pages a[rel=next]").count():
                break
            page.click("#withheld-pages a[rel=next]")
        assert seen == expected and page.url.endswith("/registries/production/withheld/page/4/index.html")
        row = page.locator("#withheld-table tbody tr").last
        tool = row.locator("th code").inner_text()
        row.locator("a").click()
        assert page.url.endswith(f"/index.html#tool-{tool}") and page.locator(f"[id='tool-{tool}']").count() == 1
        assert watched.problems == []
    finally:
        watched.close()


def test_a_phone_browses_every_api_document_from_the_api_page(browser: object, paged_lists_site: Path) -> None:
    """From file://, at a phone's width: api/v1/index.html and its Next links show a link to every
    document index.json lists, each of which opens; no page scrolls sideways (paths wrap at slashes)."""
    import json

    published = {"api/v1/index.json"} | {
        doc["path"] for doc in json.loads((paged_lists_site / "api/v1/index.json").read_text())["documents"]}
    root = paged_lists_site.as_uri() + "/"
    watched = Watched(browser, 390, 844)
    try:
        page = watched.page
        page.goto(root + "api/v1/index.html")
        linked: list[str] = []
        while True:
            assert _fits_the_screen(page), page.url
            hrefs = page.locator("li a").evaluate_all("links => links.map(link => link.href)")
            linked += [href.removeprefix(root) for href in hrefs]
            if not page.locator("a[rel=next]").count():
                break
            page.click("a[rel=next]")
        assert sorted(linked) == sorted(published) and page.url.endswith("/api/v1/page/8/index.html")
        page.locator("li a").last.click()
        assert page.url == root + linked[-1]
        assert watched.problems == []
    finally:
        watched.close()


# Where `first` and `last` are laid out in `selector` ([top, bottom, left] each).

ORDER = """([selector, first, last]) => {
  const root = document.querySelector(selector);
  if (!root) { return [null, null]; }
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const left = (word) => {
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.nodeValue.indexOf(word);
      if (at >= 0) {
        const range = document.createRange(); range.setStart(node, at); range.setEnd(node, at + word.length);
        const box = range.getBoundingClientRect();
        return [box.top, box.bottom, box.left];
      }
    }
    return null;
  };
  const a = left(first); walker.currentNode = root; const b = left(last);
  return [a, b];
}"""


def _read_in_order(first: list[float], last: list[float]) -> bool:
    """In a left-to-right page, `last` is read after `first`: on a later line, or right of it on the same line
    (a smaller font's box, a marker's, sits inside the line's height: lines are told apart by overlap)."""
    return last[0] >= first[1] or (last[1] > first[0] and last[2] > first[2])


def test_a_name_written_right_to_left_leaves_the_pages_words_in_order(
    browser: object, write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """A publisher, title or reviewer in Hebrew, or holding an unclosed U+202E (validation warns, the
    build goes on), is laid out on its own: the words after it on the card, in the heading and in the
    approval sentence keep their order (<bdi>, and FSI/PDI inside a sentence made as one text)."""
    from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML

    fetch = (FETCH_YAML.replace("publisher: Stacklok", "publisher: \u05d7\u05d1\u05e8\u05d4 \u202eAcme")
             + "review:\n  status: approved\n  by: \"\\u202eBoard\"\n  date: 2026-01-10\n")
    old = REMOTE_YAML.replace("title: Docs (remote)", "title: \u202eDocs").replace("tier: community", "tier: community\nstatus: deprecated")
    catalog = (CATALOG_YAML.replace("title: Test Catalog", "title: \u202eTeam\npublisher: \u202eSec")
               .replace("title: Data", "title: \u202eData"))
    source = write_tree({"fetch.yaml": fetch, "fetch.md": "x", "docs-remote.yaml": old, "docs-remote.md": "x"}, catalog=catalog)
    out = tmp_path / "site"
    build(source, out)
    watched = Watched(browser, 1280, 900)
    try:
        page = watched.page
        checks = {
            "index.html": [('[data-name="fetch"] .card-facts', "Web", "Streamable")],
            "tools/index.html": [('td:has(a[href*="docs-remote"])', "Docs", "Deprecated")],
            "reviews/index.html": [('th:has(a[href*="docs-remote"])', "Docs", "Deprecated")],
            "servers/fetch/index.html": [(".badge-list", "2026-01-10", "expiry"), ("footer", "curated", "last updated")],
            "servers/docs-remote/index.html": [("h1", "Docs", "Deprecated"), (".crumbs", "Data", "Docs")],
        }
        out_of_order = []
        for path, places in checks.items():
            page.goto(out.as_uri() + "/" + path)
            if path == "index.html":
                page.fill("#q", "fetch")  # the card drawn by search.js from the skeleton
                page.wait_for_timeout(300)
            for selector, first, last in places:
                before, after = page.evaluate(ORDER, [selector, first, last])
                assert before is not None and after is not None, (path, selector)
                if not _read_in_order(before, after):
                    out_of_order.append(f"{path} {selector}: {last!r} laid out left of {first!r}")
        assert out_of_order == [], "\n".join(out_of_order)
    finally:
        watched.close()


@pytest.mark.parametrize("start", [1, 12])
def test_the_tools_search_finds_a_servers_tools_by_its_name(watched: Watched, paged_tools_site: Path, start: int) -> None:
    """A server's name (atlassian-remote) is in no text of its rows; typed, it finds every tool of the
    server on the opened page, then on every page."""
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    server = next(s for s in catalog.servers if s.name == "atlassian-remote")
    page = watched.page
    page.goto(_tools_page(paged_tools_site, start).as_uri())
    page.fill("#tool-q", server.name)
    page.wait_for_function("() => /^\\d+ of 453 tools$/.test(document.getElementById('tool-status').textContent)")
    rows = page.locator("#tool-table tbody tr:not([hidden])")
    assert sorted(rows.locator("th code").all_inner_texts()) == sorted(tool.name for tool in server.tools)
    assert watched.problems == []
