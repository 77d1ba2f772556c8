"""The site in a real browser: Debian's Chromium driven by Playwright, over file:// and over HTTP.

The default catalog (built once per session) is opened straight from disk and
through `python -m http.server` on 127.0.0.1 under a sub-path, since users do
both. Screenshots go to test-artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import DEFAULT_SOURCE
from generator.build import build
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
    from generator.render import site_search

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
    from generator.render.site_search import _js_data

    nasty = ["O'Brien", "back\\slash \\' \\\\'", '"quoted"', "line\u2028sep\u2029para", "</script><script>x()</script>",
             "tab\tnew\nline\r", "emoji \U0001f600 ünï", "\\u0041 not an escape", "''", "\x00\x1f\x7f"]
    value = {"list": nasty, "nested": {"k'": nasty[::-1]}, "n": [1, 2.5, True, None]}
    script = _js_data(value)
    assert "<" not in script and "\u2028" not in script and "\n" not in script
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
    dates = page.locator("#results time").evaluate_all("els => els.map(e => e.dateTime)")
    assert dates == sorted(dates, reverse=True)


def test_copy_button_puts_the_manifest_on_the_clipboard(browser: object, site_url: str) -> None:
    watched = Watched(browser)
    try:
        if site_url.startswith("http"):
            watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.split("/site")[0])
        page = watched.page
        page.goto(site_url + "servers/osv/index.html#deploy")
        page.click("details.manifest summary")
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
        page.click("aside.browse >> text=Security")
        assert page.url.endswith("categories/security/index.html")
        assert page.locator("li.card").count() >= 1
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
    """Every visible text on the index and a server page, in both colour schemes (WCAG 2 AA)."""
    context = browser.new_context(color_scheme=scheme)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        for path in ("index.html", "servers/github/index.html", "tools/index.html"):
            page.goto((default_site / path).as_uri())
            assert page.evaluate(CONTRAST_SCRIPT) == [], f"{scheme} {path}"
    finally:
        context.close()
