"""The static HTML catalog: every page and asset under the site root.

Pages come from Jinja templates (shipped in `templates/`, each overridable by
a file of the same name in `--templates`) with autoescape on everywhere, so
every source string is inert text. Every link is relative and ends in a file
name, built from `generator.paths`, so the site works from `file://` and under
any sub-path. Nothing here reads the clock: dates come from the catalog.
The page builders live in `site_pages`; this module owns the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from generator import derived, paths
from generator.errors import OutputError
from generator.output import OutputFile
from generator.render.site import drawn
from generator.render.site import pages as site_pages
from generator.render.site import search as site_search
from generator.render.site import review as site_review
from generator.render.site import views as site_views
from generator.render.context import RenderContext
from generator.render.inputs import InputKeys
from generator.render.kind import Deferred, OutputKind, render_kind
from generator.models import RegistryProfile, Server
from generator.render.site.markdown import render_markdown

# The shipped templates sit at the repository root, beside the package (editable installs keep them there).
SHIPPED_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
# Static files copied as they are (through the loader, so `--templates` can replace them too).
ASSETS = ("site.css", "noscript.css", "search.js")


@jinja2.pass_context
def _url(context: jinja2.runtime.Context, target: str) -> str:
    """`target` (a path from the site root) relative to the page being rendered."""
    return str(context["root"]) + target


def template_environment(overrides: Path | None, compiled: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: overrides first, then the shipped templates; autoescape always on.

    With `compiled`, templates compiled by an earlier build are loaded from there (Jinja checks each
    against its source's checksum): compiling the templates costs a rebuild more than rendering
    its changed pages.
    """
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
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)) if compiled else None,
    )
    environment.globals.update(url=_url, paths=paths, notice_labels=derived.NOTICE_LABELS)
    environment.filters["markdown"] = lambda text: render_markdown(text) if text else Markup("")
    return environment


def _asset(environment: jinja2.Environment, name: str) -> OutputFile:
    source, _, _ = environment.loader.get_source(environment, f"assets/{name}")  # type: ignore[union-attr]
    return OutputFile(paths.site_asset(name), source.encode("utf-8"))


def render_page(environment: jinja2.Environment, template: str, path: str, values: dict[str, Any]) -> OutputFile:
    """One HTML page at `path`, its links made relative to it."""
    # `values` may set its own root: the 404 page links from the site root wherever it is served.
    html = _rendered(environment, template, path, **{"root": "../" * path.count("/"), "page_path": path, **values})
    return OutputFile(path, html.encode("utf-8"))


def _rendered(environment: jinja2.Environment, template: str, path: str, **values: Any) -> str:
    """`template` rendered with `values` for the page at `path`; a template error names the template."""
    try:
        return environment.get_template(template).render(**values)
    except jinja2.TemplateSyntaxError as error:
        raise OutputError(f"{error.filename or template}:{error.lineno}: template error: {error.message}") from None
    except jinja2.TemplateError as error:
        raise OutputError(f"{template}: template error while rendering {path}: {error}") from None


# What `_review_row.html` gets besides `row` and `root`.
REVIEW_ROW_VALUES = {"tiers": site_pages.TIERS, "approval_labels": site_views.APPROVALS}


def skeletons(environment: jinja2.Environment) -> tuple[drawn.Skeletons, drawn.Skeletons, drawn.Skeletons]:
    """The skeletons of what search.js draws (see `drawn`): the index's cards, the tools table's
    rows and the reviewer's table's rows, rendered by `environment` on first use."""
    def render(given: dict[str, Any]) -> drawn.Render:
        return lambda template, path, values: _rendered(environment, template, path, **given, **values)

    return (drawn.Skeletons(site_views.CARD, render({})), drawn.Skeletons(site_search.TOOL_ROWS, render({})),
            drawn.Skeletons(site_review.REVIEW_ROW, render(REVIEW_ROW_VALUES)))


def _environment(context: RenderContext) -> jinja2.Environment:
    """The build's one Jinja environment (it caches compiled templates), made on first use."""
    if "site.environment" not in context.shared:
        context.shared["site.environment"] = template_environment(context.templates, context.compiled_templates)
    return context.shared["site.environment"]


def server_files(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """The server's page."""
    yield render_page(_environment(context), *site_pages.server_page(context, server))


def catalog_files(context: RenderContext) -> Iterator[OutputFile | Deferred]:
    """The assets, every list and index page, and the search data.

    Pages are deferred: a rebuild makes only those whose input key (the values the
    template gets, with each listed server counted by its server key) changed.
    """
    environment = _environment(context)
    for name in ASSETS:
        yield _asset(environment, name)

    # Partials are rendered by the page showing them, with its root, and never rewritten afterwards,
    # so an override renders exactly as written. A card is the same at one depth on every page
    # (a server shows on some eight lists, at two or three depths): each is rendered once per depth,
    # and once more per registry profile showing it (its card says how many tools the profile keeps).
    # Held as UTF-8: a str is two bytes a character once one character is past Latin-1, and every
    # approved server's card has two (the isolates around its reviewer): 20 MB more at 10,000 servers.
    cards: dict[tuple[str, str, str | None], bytes] = {}
    # What search.js draws, from skeletons of the same partials: each item a page renders is
    # checked against its skeleton filled, so that the script never draws another design.
    drawn_cards, drawn_rows, drawn_reviews = skeletons(environment)

    def card_at(server: Server, path: str, root: str, profile: RegistryProfile | None, checked: bool) -> Markup:
        key = (server.name, root, profile.name if profile else None)
        # Only the rendered cards are kept: keeping their Cards too cost 80 MB at 10,000 servers.
        card = site_views.card(context.catalog.meta, server, profile) if checked or key not in cards else None
        if key not in cards:
            cards[key] = _rendered(environment, "_card.html", path, card=card, root=root).encode("utf-8")
        html = Markup(cards[key].decode("utf-8"))  # autoescaped when rendered
        if card is not None and checked:
            drawn_cards.check(html, [site_views.card_drawing(card)], root, path)
        return html

    def rows_at(server: Server, first: int, end: int, path: str, root: str) -> Markup:
        rows = site_pages.tool_rows(server)[first:end]
        html = _rendered(environment, "_tool_rows.html", path, server=server, rows=rows, root=root)
        drawn_rows.check(html, [site_search.tool_row_drawing(server, tool, words) for tool, words in rows], root, path)
        return Markup(html)  # autoescaped

    def review_row_at(row: site_review.ReviewRow, path: str, root: str) -> Markup:
        html = _rendered(environment, "_review_row.html", path, row=row, root=root, **REVIEW_ROW_VALUES)
        drawn_reviews.check(html, [site_review.review_row_drawing(row)], root, path)
        return Markup(html)  # autoescaped

    def make(template: str, path: str, values: dict[str, Any]) -> bytes:
        root = "../" * path.count("/")
        values = dict(values)
        profile = values.pop(site_pages.CARD_PROFILE, None)
        checked = values.pop(site_pages.CARDS_DRAWN, False)
        if site_pages.CARD_SERVERS in values:
            servers = values.pop(site_pages.CARD_SERVERS)
            values["cards"] = [card_at(server, path, root, profile, checked) for server in servers]
        if site_pages.ROW_SPANS in values:
            values["rows"] = [rows_at(server, first, end, path, root) for server, first, end in values.pop(site_pages.ROW_SPANS)]
        if site_pages.REVIEW_ROWS in values:
            values["review_rows"] = [review_row_at(row, path, root) for row in values.pop(site_pages.REVIEW_ROWS)]
        return render_page(environment, template, path, values).content

    keys = InputKeys(context.server_keys)
    # The changes page and the feed show the same summary of each added server: made once for both.
    added = site_review.added_summaries(context.catalog, context.changes) if context.changes is not None else {}
    for template, path, values in site_pages.catalog_pages(context, added):
        yield Deferred(path, keys.of(template, path, values), partial(make, template, path, values))
    yield from site_pages.search_data(context, keys, cards=drawn_cards, rows=drawn_rows)
    yield from site_review.review_files(context.catalog, context.changes, added, site_pages.TIERS, drawn_reviews)


KIND = OutputKind("site", catalog_files, server_files)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield every page and asset of the site."""
    return render_kind(KIND, context)
