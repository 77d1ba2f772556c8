"""What the site's scripts draw follows template overrides, in Chromium.

search.js draws a search's cards, the tools search's rows across pages and the reviewer's rows
across pages from skeletons of `_card.html`, `_tool_rows.html` and `_review_row.html` (see
generator/render/site/drawn.py). These overrides branch on the item's state in ways a single
prototype cannot carry (an else branch, a test on a tone, a tier, a review's status), so each
test compares what the script draws with what the page renders, element for element.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import DEFAULT_SOURCE, FETCH_YAML
from generator.build import build
from test_site import HOSTILE_MD, HOSTILE_YAML, INJECTED_IDS
from test_site_browser import CHROMIUM, Watched, browser, watched  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium")

CARD = """\
{% from "macros/ui.html" import badge with context %}
<li class="card mine-card" data-name="{{ card.name }}">
  <h3><a href="{{ url(card.page) }}">{{ card.title }}</a></h3>
  {% if card.deprecated %}<del class="mine-state">retired</del>{% else %}<ins class="mine-state">{{ card.status }}</ins>{% endif %}
  <span class="mine-{{ card.approval.tone }}">{% if card.approval.tone == "good" %}cleared{% else %}{{ card.approval.label }}{% endif %}</span>
  {% if not card.expires %}<i>no expiry</i>{% endif %}{{ badge(card.tier) }}
  <p>{{ card.description }}</p>
</li>
"""
TOOL_ROWS = """\
{% for tool, behaviour in rows %}
<tr class="mine-row"><th scope="row"><code>{{ tool.name }}</code></th><td>{% if server.review and server.review.status == "approved" %}<strong>{{ server.title }}</strong>{% else %}<a href="{{ url(paths.server_page(server.name)) }}#tool-{{ tool.name }}">{{ server.title }}</a>{% endif %} <small>{{ server.tier }}</small></td><td>{{ tool.description }}</td><td>{{ behaviour | join(", ") }}</td></tr>
{% endfor %}
"""
REVIEW_ROW = """\
<tr class="mine-review"{% for risk, flag in row.risks.items() %} data-{{ risk }}="{{ 1 if flag else 0 }}"{% endfor %}><th scope="row"><a href="{{ url(paths.server_page(row.name)) }}">{{ row.title }}</a><br><code>{{ row.name }}</code></th><td>{% if row.tier == "validated" %}<b>V</b>{% else %}c{% endif %}</td><td>{{ row.approval }}</td><td>{{ row.reviewer or "nobody" }}</td><td data-sort="{{ row.expires or '9999' }}">{{ row.expires or "never" }}</td><td>{{ row.egress_words }}</td><td data-sort="{{ row.secrets_count }}">{{ row.secrets_words }}</td><td data-sort="{{ row.destructive_tools }}">{{ row.destructive_tools }}</td><td data-sort="{{ row.open_world_tools }}">{{ row.open_world_tools }}</td><td>{{ "pinned" if row.pinned else "-" }}</td></tr>
"""
OVERRIDES = {"_card.html": CARD, "_tool_rows.html": TOOL_ROWS, "_review_row.html": REVIEW_ROW}

# Elements as comparable strings: links made absolute (a page's depth changes their "../"), the
# `hidden` a filter sets left out.
OUTER = """els => els.map(el => { const copy = el.cloneNode(true);
  copy.querySelectorAll('a').forEach(a => a.setAttribute('href', a.href)); copy.removeAttribute('hidden');
  return copy.outerHTML; })"""


def _templates(folder: Path) -> Path:
    folder.mkdir()
    for name, text in OVERRIDES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def overridden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with the three overrides, three cards a page (twelve index pages), 40
    tools a tools page (twelve pages) and ten rows a page of the reviewer's table (four)."""
    from generator.render.site import pages as site_pages
    from generator.render.site import review as site_review
    from generator.render.site import search as site_search

    base = tmp_path_factory.mktemp("drawn-overrides")
    out = base / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_search, "PAGE_SIZE", 3)
        patch.setattr(site_search, "CHUNK_SIZE", 10)
        patch.setattr(site_pages, "TOOLS_PER_PAGE", 40)
        patch.setattr(site_review, "ROWS_PER_PAGE", 10)
        build(DEFAULT_SOURCE, out, jobs=1, templates=_templates(base / "templates"))
    assert (out / "page/12/index.html").is_file() and (out / "tools/page/12/index.html").is_file()
    assert (out / "reviews/page/4/index.html").is_file()
    return out


@pytest.fixture
def static(browser: object) -> Iterator[object]:  # noqa: F811
    """A page with JavaScript off: what the build wrote, as the browser reads it."""
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def _written(static: object, pages: list[Path], rows: str, key: str) -> dict[str, str]:
    """Every element `rows` selects on `pages` as written, by the text of its `key` element."""
    found: dict[str, str] = {}
    for page_file in pages:
        static.goto(page_file.as_uri())  # type: ignore[attr-defined]
        elements = static.locator(rows)  # type: ignore[attr-defined]
        found.update(zip(elements.locator(key).all_text_contents(), elements.evaluate_all(OUTER)))
    return found


def _paged(site: Path, first: str, count: int) -> list[Path]:
    return [site / (first if number == 1 else first.replace("index.html", f"page/{number}/index.html")) for number in range(1, count + 1)]


def test_the_cards_a_search_draws_are_the_overridden_cards(watched: Watched, static: object, overridden_site: Path) -> None:
    written = _written(static, _paged(overridden_site, "index.html", 12), "#results > li", "h3")
    assert len(written) == 36 and all('class="card mine-card"' in card for card in written.values())
    # Both branches of each test are on the pages (one prototype drew every card "retired").
    for shown in ('<del class="mine-state">retired</del>', '<ins class="mine-state">active</ins>', ">cleared<", "<i>no expiry</i>"):
        assert any(shown in card for card in written.values()), shown
    page = watched.page
    page.goto(overridden_site.as_uri() + "/index.html")
    page.wait_for_function("() => window.MCPCatalogPage !== undefined")
    first_page = set(page.locator("#results > li h3").all_text_contents())
    # A server from a later page, found by a search: its card is drawn by the script.
    later = next(title for title in written if title not in first_page and "<ins" in written[title] and "cleared" in written[title])
    page.fill("#q", f'"{later.lower()}"')
    page.wait_for_function("title => [...document.querySelectorAll('#results > li h3')].some(h => h.textContent === title)", arg=later)
    drawn = page.locator("#results > li").evaluate_all(OUTER)
    assert written[later] in drawn
    # Every page of the whole list, deprecated servers included, as the script draws it.
    for number in range(2, 13):
        page.goto(f"{overridden_site.as_uri()}/index.html#z=1&page={number}")
        page.wait_for_function(f"() => document.querySelector('#result-pages [aria-current=page]')?.textContent === '{number}'")
        cards = page.locator("#results > li")
        for title, card in zip(cards.locator("h3").all_text_contents(), cards.evaluate_all(OUTER)):
            assert card == written[title], title
    assert watched.problems == []


def test_the_tools_search_draws_the_overridden_rows(watched: Watched, static: object, overridden_site: Path) -> None:
    pages = _paged(overridden_site, "tools/index.html", 12)
    static.goto(pages[0].as_uri())  # type: ignore[attr-defined]
    shown = static.inner_text("#tool-table tbody").lower()  # type: ignore[attr-defined]
    static.goto(pages[11].as_uri())  # type: ignore[attr-defined]
    descriptions = static.locator("#tool-table tbody tr td:nth-child(3)").all_inner_texts()  # type: ignore[attr-defined]
    word = next(w for text in descriptions for w in re.findall(r"[a-z]{7,}", text.lower()) if w not in shown)
    expected: list[str] = []
    for page_file in pages:
        static.goto(page_file.as_uri())  # type: ignore[attr-defined]
        rows = static.locator("#tool-table tbody tr")  # type: ignore[attr-defined]
        texts = [text.lower() for text in rows.evaluate_all("rows => rows.map(row => row.textContent)")]
        expected += [row for row, text in zip(rows.evaluate_all(OUTER), texts) if word in text]
    assert expected and all(row.startswith('<tr class="mine-row">') for row in expected)
    assert any("<strong>" in row for row in expected + [static.inner_html("#tool-table tbody")])  # type: ignore[attr-defined]
    page = watched.page
    page.goto(pages[0].as_uri())
    page.fill("#tool-q", word)
    page.wait_for_function("() => /^\\d+ of 453 tools$/.test(document.getElementById('tool-status').textContent)")
    assert page.locator("#tool-table tbody tr:not([hidden])").evaluate_all(OUTER) == expected
    assert watched.problems == []


def test_the_reviewers_table_draws_the_overridden_rows_of_every_page(watched: Watched, static: object, overridden_site: Path) -> None:
    written = _written(static, _paged(overridden_site, "reviews/index.html", 4), "#review-table tbody tr", "th code")
    servers = json.loads((overridden_site / "reviews/reviews.json").read_text())["servers"]
    assert len(written) == 36 and all(row.startswith('<tr class="mine-review"') for row in written.values())
    page = watched.page
    page.goto(overridden_site.as_uri() + "/reviews/index.html")
    last = servers[-1]["name"]
    page.fill("#review-q", last)
    page.wait_for_function("() => document.getElementById('review-status').textContent === '1 of 36 servers'")
    assert page.locator("#review-table tbody tr:not([hidden])").evaluate_all(OUTER) == [written[last]]
    page.fill("#review-q", "")
    page.check("#risk-unapproved")  # a filter across pages: every unapproved server's row, drawn
    unapproved = [server["name"] for server in servers if server["approval"] != "approved"]
    page.wait_for_function(f"() => document.getElementById('review-status').textContent === '{len(unapproved)} of 36 servers'")
    assert page.locator("#review-table tbody tr:not([hidden])").evaluate_all(OUTER) == [written[name] for name in unapproved]
    assert watched.problems == []


def test_overridden_drawings_show_hostile_text_as_text(browser: object, write_tree: Callable[..., Path], tmp_path: Path) -> None:  # noqa: F811
    """The hostile server sits on the second page of each list, so the script draws its card, its
    tool's row and its review row from the overrides' skeletons: the text stays text."""
    from generator.render.site import pages as site_pages
    from generator.render.site import review as site_review
    from generator.render.site import search as site_search

    source = write_tree({"fetch.yaml": FETCH_YAML, "hostile.yaml": HOSTILE_YAML.replace("%%", "%"), "hostile.md": HOSTILE_MD})
    tools = sum(1 for line in (source / "servers" / "fetch.yaml").read_text().splitlines() if line.startswith("  - name:"))
    out = tmp_path / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_search, "PAGE_SIZE", 1)
        patch.setattr(site_pages, "TOOLS_PER_PAGE", tools)
        patch.setattr(site_review, "ROWS_PER_PAGE", 1)
        build(source, out, jobs=1, templates=_templates(tmp_path / "templates"))
    title = '<b id="injected-title" onmouseover="alert(1)">Hostile</b>'
    watched = Watched(browser)
    try:
        page = watched.page
        page.goto(out.as_uri() + "/index.html")
        page.fill("#q", "hostile")
        page.wait_for_function("() => document.querySelector('#results > li[data-name=hostile]') !== null")
        card = page.locator("#results > li[data-name=hostile]")
        assert card.get_attribute("class") == "card mine-card" and card.locator(".mine-state").inner_text() == "active"
        assert card.locator("h3").inner_text() == title
        page.goto(out.as_uri() + "/tools/index.html")
        page.fill("#tool-q", "evil")
        page.wait_for_function("() => /^1 of \\d+ tools$/.test(document.getElementById('tool-status').textContent)")
        row = page.locator("#tool-table tbody tr:not([hidden])")
        assert row.get_attribute("class") == "mine-row" and row.locator("td a").inner_text() == title
        page.goto(out.as_uri() + "/reviews/index.html")
        page.fill("#review-q", "hostile")
        page.wait_for_function("() => document.getElementById('review-status').textContent === '1 of 2 servers'")
        row = page.locator("#review-table tbody tr:not([hidden])")
        assert row.get_attribute("class") == "mine-review" and row.locator("th a").inner_text() == title
        page.mouse.move(200, 200)
        assert page.evaluate("ids => ids.filter(id => document.getElementById(id))", list(INJECTED_IDS)) == []
        assert watched.dialogs == [] and watched.problems == []
    finally:
        watched.close()
