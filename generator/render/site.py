"""The static HTML catalog: every page and asset under the site root.

Pages come from Jinja templates (shipped in `templates/`, each overridable by
a file of the same name in `--templates`) with autoescape on everywhere, so
every source string is inert text. Every link is relative and ends in a file
name, built from `generator.paths`, so the site works from `file://` and under
any sub-path. Nothing here reads the clock: dates come from the catalog.
The page builders live in `site_pages`; this module owns the environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from generator import paths
from generator.errors import OutputError
from generator.output import OutputFile
from generator.render import site_pages, site_review, site_views
from generator.render.context import RenderContext
from generator.render.inputs import InputKeys
from generator.render.kind import Deferred, Fragment, OutputKind, render_kind
from generator.models import Server
from generator.render.markdown import render_markdown

# The shipped templates sit at the repository root, beside the package (editable installs keep them there).
SHIPPED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Static files copied as they are (through the loader, so `--templates` can replace them too).
ASSETS = ("site.css", "noscript.css", "search.js")


@jinja2.pass_context
def _url(context: jinja2.runtime.Context, target: str) -> str:
    """`target` (a path from the site root) relative to the page being rendered."""
    return str(context["root"]) + target


def template_environment(overrides: Path | None) -> jinja2.Environment:
    """The Jinja environment: overrides first, then the shipped templates; autoescape always on."""
    search_path = [str(overrides)] if overrides else []
    search_path.append(str(SHIPPED_TEMPLATES))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search_path),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change during a build: skip a stat per page
    )
    environment.globals.update(url=_url, paths=paths)
    environment.filters["markdown"] = lambda text: render_markdown(text) if text else Markup("")
    return environment


def _asset(environment: jinja2.Environment, name: str) -> OutputFile:
    source, _, _ = environment.loader.get_source(environment, f"assets/{name}")  # type: ignore[union-attr]
    return OutputFile(paths.site_asset(name), source.encode("utf-8"))


def render_page(environment: jinja2.Environment, template: str, path: str, values: dict[str, Any]) -> OutputFile:
    """One HTML page at `path`, its links made relative to it."""
    depth = path.count("/")
    try:
        html = environment.get_template(template).render(**{"root": "../" * depth, "page_path": path, **values})
    except jinja2.TemplateSyntaxError as error:
        raise OutputError(f"{error.filename or template}:{error.lineno}: template error: {error.message}") from None
    except jinja2.TemplateError as error:
        raise OutputError(f"{template}: template error while rendering {path}: {error}") from None
    return OutputFile(path, html.encode("utf-8"))


def _environment(context: RenderContext) -> jinja2.Environment:
    """The build's one Jinja environment (it caches compiled templates), made on first use."""
    if "site.environment" not in context.shared:
        context.shared["site.environment"] = template_environment(context.templates)
    return context.shared["site.environment"]


# Every row ends so; escaped source text cannot contain it, so it splits the rows safely.
_ROW_END = "</tr>\n"


def server_files(context: RenderContext, server: Server) -> Iterator[OutputFile | Fragment]:
    """The server's page, and its card as each list depth shows it."""
    yield render_page(_environment(context), *site_pages.server_page(context, server))
    yield Fragment(_CARD, _card_html(context, server))
    yield Fragment(_ROWS, _rows_html(context, server))


# A card and the tool rows are rendered once, for a page at the site root, and moved to a
# page's depth by `relocated`: their links are all root-relative.
_CARD, _ROWS = "site-card", "site-tool-rows"
_LINK = re.compile(rb'href="(?!#)')


def relocated(html: bytes, depth: int) -> bytes:
    """`html` rendered for the site root, as rendered for a page `depth` folders down.

    Every link these snippets hold is `href="` + the root prefix + a site path (source text
    is escaped, so it cannot contain `href="`); in-page anchors (`href="#`) stay as they are.
    """
    return _LINK.sub(b'href="' + b"../" * depth, html) if depth else html


def _rows_html(context: RenderContext, server: Server) -> bytes:
    template = _environment(context).get_template("_tool_rows.html")
    return template.render(server=server, rows=site_pages.tool_rows(server), root="").encode("utf-8")


def _card_html(context: RenderContext, server: Server) -> bytes:
    return _render_card(context, site_views.card(context.catalog.meta, server))


def _render_card(context: RenderContext, card: site_views.Card) -> bytes:
    return _environment(context).get_template("_card.html").render(card=card, root="").encode("utf-8")


def catalog_files(context: RenderContext) -> Iterator[OutputFile | Deferred]:
    """The assets, every list and index page, and the search data.

    Pages are deferred: a rebuild makes only those whose input key (the values the
    template gets, with each listed server counted by its server key) changed.
    """
    environment = _environment(context)
    for name in ASSETS:
        yield _asset(environment, name)

    def card_at(server: Server, depth: int) -> Markup:
        html = context.fragment(server, _CARD, lambda: _card_html(context, server))
        return Markup(relocated(html, depth).decode("utf-8"))  # rendered with autoescape on

    def rows_at(server: Server, depth: int) -> list[Markup]:
        html = context.fragment(server, _ROWS, lambda: _rows_html(context, server))
        text = relocated(html, depth).decode("utf-8")
        return [Markup(row + _ROW_END) for row in text.split(_ROW_END)[:-1]]  # rendered with autoescape on

    def make(template: str, path: str, values: dict[str, Any]) -> bytes:
        depth = path.count("/")
        values = dict(values)
        if site_pages.CARD_SERVERS in values:
            values["cards"] = [card_at(server, depth) for server in values.pop(site_pages.CARD_SERVERS)]
        if values.pop(site_pages.CARD_TEMPLATE, False):
            values["card_template"] = Markup(relocated(prototype, depth).decode("utf-8"))  # rendered with autoescape on
        if site_pages.ROW_SPANS in values:
            values["rows"] = [row for server, first, end in values.pop(site_pages.ROW_SPANS)
                              for row in rows_at(server, depth)[first:end]]
        return render_page(environment, template, path, values).content

    prototype = _render_card(context, site_views.CARD_PROTOTYPE)
    keys = InputKeys(context.server_keys)
    for template, path, values in site_pages.catalog_pages(context):
        yield Deferred(path, keys.of(template, path, values), partial(make, template, path, values))
    yield from site_pages.search_data(context, keys)
    yield from site_review.review_files(context.catalog, context.changes)


KIND = OutputKind("site", catalog_files, server_files)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield every page and asset of the site."""
    return render_kind(KIND, context)
