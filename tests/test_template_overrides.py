"""Overridden partials render exactly as written, on every page that uses them.

A card and the tool rows are rendered by the page that shows them, with that page's
root; nothing rewrites their HTML afterwards. These overrides are hostile to any
rewriting: an absolute link in a card, tool rows that do not end in `</tr>` and a newline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.build import build
from generator.cli import main

ABSOLUTE_CARD = """\
<li class="card" data-name="{{ card.name }}"><a href="{{ url(card.page) }}">{{ card.title }}</a> <a href="https://status.example.com/{{ card.name }}">status</a> <a href="#top">top</a> <a href="/absolute/path">root</a></li>
"""

ONE_LINE_ROWS = """\
{% for tool, behaviour in rows %}<tr class="mine"><td>{{ tool.name }}</td><td><a href="{{ url(paths.server_page(server.name)) }}">{{ server.title }}</a></td></tr>{% endfor %}"""


def overrides(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_an_absolute_link_in_an_overridden_card_stays_absolute_at_every_depth(
    write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build(write_tree(), out, templates=overrides(tmp_path, {"_card.html": ABSOLUTE_CARD}))
    for page, root in (("index.html", ""), ("categories/web/index.html", "../../"), ("tags/http/index.html", "../../")):
        html = (out / page).read_text(encoding="utf-8")
        card = re.search(r'<li class="card" data-name="fetch">.*</li>', html)
        assert card is not None, page
        assert card.group(0) == (
            f'<li class="card" data-name="fetch"><a href="{root}servers/fetch/index.html">Fetch</a> '
            '<a href="https://status.example.com/fetch">status</a> <a href="#top">top</a> '
            '<a href="/absolute/path">root</a></li>'
        ), page


def test_tool_rows_of_any_markup_fill_the_tools_table(write_tree: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(write_tree(), out, templates=overrides(tmp_path, {"_tool_rows.html": ONE_LINE_ROWS}))
    html = (out / "tools/index.html").read_text(encoding="utf-8")
    body = re.search(r"<tbody>\n(.*)  </tbody>", html, re.DOTALL)
    assert body is not None
    assert body.group(1) == (
        '<tr class="mine"><td>search_docs</td><td><a href="../servers/docs-remote/index.html">Docs (remote)</a></td></tr>'
        '<tr class="mine"><td>fetch</td><td><a href="../servers/fetch/index.html">Fetch</a></td></tr>'
    )


@pytest.mark.parametrize(
    ("name", "template", "expected"),
    [
        ("_card.html", "<li>\n{% if %}</li>\n", "{overrides}/_card.html:2: template error: Expected an expression, got 'end of statement block'"),
        ("_tool_rows.html", "{{ no_such_value }}", "_tool_rows.html: template error while rendering tools/index.html: 'no_such_value' is undefined"),
    ],
)
def test_a_broken_partial_override_gets_a_message(
    write_tree: Callable[..., Path], tmp_path: Path, name: str, template: str, expected: str
) -> None:
    folder = overrides(tmp_path, {name: template})
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["build", "-j", "1", "--source", str(write_tree()), "--out", str(out), "--templates", str(folder)]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"Error: {expected.format(overrides=folder)}\n" in result.output
    assert not out.exists()


# What search.js draws comes from skeletons of these partials (generator/render/site/drawn.py): an
# override whose items the skeletons cannot carry is refused, so that a search never draws another
# design than the pages. A filter on a text, and a value the script does not have:
DERIVED_CARD = """\
<li class="card" data-name="{{ card.name }}"><a href="{{ url(card.page) }}">{{ card.title | upper }}</a></li>
"""
UNKNOWN_ROW_VALUE = """\
{% for tool, behaviour in rows %}<tr><td>{{ tool.name }}</td><td>{% if server.review %}{{ server.review.by }}{% endif %}</td></tr>{% endfor %}"""
CARD_TEXTS = ("card.name, card.title, card.description, card.publisher, card.page, card.category, card.category_page, "
              "card.expires, card.transport, card.tools, card.tools_label, card.updated, card.kept_tools, "
              "card.kept_tools_label, card.tier.label, card.tier.explanation, card.approval.label, card.approval.explanation")


@pytest.mark.parametrize(
    ("name", "template", "expected"),
    [
        ("_card.html", DERIVED_CARD,
         "_card.html: search.js cannot draw this template as index.html renders it: the page has "
         """'"card" data-name="fetch"><a href="servers/fetch/index.html">FETCH</a></li>\\n' where the """
         """script would draw '"card" data-name="fetch"><a href="servers/fetch/index.html">⟦TITLE⟧</a></li>\\n'. """
         f"It fills in {CARD_TEXTS} as they are; a template may test whether one is empty, and branch on card.status, "
         "card.deprecated, card.notices, card.tier.tone and card.approval.tone, but not derive anything from a text "
         '(README, "Templates")'),
        ("_tool_rows.html", UNKNOWN_ROW_VALUE,
         "_tool_rows.html: template error while rendering the skeleton search.js draws: 'types.SimpleNamespace object' "
         "has no attribute 'by'. search.js has the texts server.name, server.title, tool.name, tool.description and "
         'behaviour (one text: the words joined by ", ") and the state server.status, server.tier and '
         'server.review.status (server.review is none without a review) only (README, "Templates")'),
    ],
)
def test_an_override_search_js_cannot_draw_is_refused(
    write_tree: Callable[..., Path], tmp_path: Path, name: str, template: str, expected: str
) -> None:
    from conftest import FETCH_YAML

    source = write_tree({"fetch.yaml": FETCH_YAML.replace("tools:", "review:\n  status: approved\n  by: sec-team\n  date: 2026-01-05\ntools:", 1)})
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["build", "-j", "1", "--source", str(source), "--out", str(out), "--templates", str(overrides(tmp_path, {name: template}))]
    )
    assert result.exit_code == 1, result.output
    assert f"Error: {expected}\n" in result.output
    assert not out.exists()


def test_an_override_branching_on_state_and_empty_texts_builds(write_tree: Callable[..., Path], tmp_path: Path) -> None:
    """What the skeletons do carry: tests of the state (an else branch too) and of an empty text."""
    card = ('<li data-name="{{ card.name }}">{% if card.deprecated %}old{% else %}{{ card.status }}{% endif %}'
            '{% if card.approval.tone == "good" %} ok{% endif %}{% if not card.expires %} open{% endif %}</li>\n')
    out = tmp_path / "site"
    build(write_tree(), out, templates=overrides(tmp_path, {"_card.html": card}))
    assert '<li data-name="fetch">active open</li>' in (out / "index.html").read_text(encoding="utf-8")
    script = (out / "assets/search-index.js").read_text(encoding="utf-8")
    quoted = script.removeprefix("window.MCPCatalogSearch=JSON.parse('").removesuffix("');\n")
    data = json.loads(quoted.replace("\\'", "'").replace("\\\\", "\\"))
    assert '<li data-name="⟦name⟧">active open</li>\n' in data["cards"]
    assert {entry["n"]: data["cards"][entry["f"]] for entry in data["entries"]}["fetch"].endswith(">active open</li>\n")


# search.js keeps one node a card and draws a skeleton's elements only (templates/assets/search.js,
# `draw`): a card of two elements would lose its second on every search, text outside an element
# would be missing from every drawn row. Both pass the page check (the page renders them), so the
# skeleton itself is judged.
TWO_ELEMENT_CARD = """\
<li class="card" data-name="{{ card.name }}"><a href="{{ url(card.page) }}">{{ card.title }}</a></li>
<li class="card-extra">{{ card.description }}</li>
"""
LOOSE_TEXT_ROWS = """\
{% for tool, behaviour in rows %}{{ tool.name }}: <tr><td>{{ tool.name }}</td></tr>{% endfor %}"""


@pytest.mark.parametrize(
    ("name", "template", "expected"),
    [
        ("_card.html", TWO_ELEMENT_CARD,
         "_card.html: search.js lists each item as one element, and this template renders 2 at its top level "
         "(<li>, <li>). Wrap them in one element, as the shipped template's <li> does (README, \"Templates\")"),
        ("_card.html", '{% if card.deprecated %}<li data-name="{{ card.name }}">old</li>{% endif %}\n',
         "_card.html: search.js lists each item as one element, and this template renders 0 at its top level "
         "(none). Wrap them in one element, as the shipped template's <li> does (README, \"Templates\")"),
        ("_card.html", '<p class="card" data-name="{{ card.name }}"><a href="{{ url(card.page) }}">{{ card.title }}</a><div>{{ card.description }}</div></p>\n',
         "_card.html: search.js lists each item as one element, and this template renders 3 at its top level "
         "(<p>, <div>, <p>). Wrap them in one element, as the shipped template's <li> does (README, \"Templates\")"),
        ("_tool_rows.html", LOOSE_TEXT_ROWS,
         "_tool_rows.html: search.js draws this template's elements only, and it has text outside them: "
         "'⟦tool.name⟧:'. Put the text inside an element (README, \"Templates\")"),
    ],
)
def test_an_override_whose_skeleton_the_script_would_draw_short_is_refused(
    write_tree: Callable[..., Path], tmp_path: Path, name: str, template: str, expected: str
) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["build", "-j", "1", "--source", str(write_tree()), "--out", str(out),
               "--templates", str(overrides(tmp_path, {name: template}))]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"Error: {expected}\n" in result.output
    assert not out.exists()


def test_a_card_whose_inner_markup_browsers_close_by_themselves_is_one_element(
    write_tree: Callable[..., Path], tmp_path: Path
) -> None:
    """Unclosed paragraphs, a void element and a self-closed one inside the card, and a card opened by
    `<div .../>` (HTML ignores the slash of a non-void element: it holds what follows): one element."""
    card = ('<div class="wrap"/><li class="card" data-name="{{ card.name }}"><p>{{ card.title }}<p>{{ card.description }}<br>'
            '<img src="x.png" alt=""/></li></div>\n')
    out = tmp_path / "site"
    build(write_tree(), out, templates=overrides(tmp_path, {"_card.html": card}))
    assert '<li class="card" data-name="fetch"><p>Fetch<p>' in (out / "index.html").read_text(encoding="utf-8")
