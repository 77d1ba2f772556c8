"""Server overviews: Markdown to safe HTML for the site.

Overviews are hostile input like every source field. Raw HTML is switched
off in the Markdown parser (so `<script>` in an overview becomes visible
text), and the parser's output is then sanitised with nh3 as a second wall:
only a small set of tags survives, links keep only http(s)/mailto/fragment
targets and get `rel="noopener noreferrer"`, and images are dropped because
the site must never load anything from outside. Headings get stable anchors
(prefixed so they cannot collide with the page's own section ids).
"""

from __future__ import annotations

import re
import unicodedata

import markdown
import nh3
from markupsafe import Markup

# Anchors of overview headings live under this prefix, apart from the page's section ids.
ANCHOR_PREFIX = "overview-"

_ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "dl", "dt", "dd", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "del", "kbd", "sub", "sup",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "th": {"align"}, "td": {"align"},
}


def _slugify(text: str, separator: str) -> str:
    """An ASCII anchor for a heading, prefixed to keep it apart from page sections."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", separator, ascii_text.lower()).strip(separator)
    return ANCHOR_PREFIX + (slug or "section")


def _new_parser() -> markdown.Markdown:
    parser = markdown.Markdown(
        extensions=["tables", "fenced_code", "toc"],
        extension_configs={
            # The page's "Overview" is an h2, so an overview's `##` becomes h3 (`#` stays h2).
            "toc": {"baselevel": 2, "slugify": _slugify, "permalink": False},
        },
        output_format="html",
    )
    # Raw HTML off: block-level and inline HTML are then escaped as ordinary text.
    parser.preprocessors.deregister("html_block")
    parser.inlinePatterns.deregister("html")
    return parser


_PARSER = _new_parser()


def render_markdown(text: str) -> Markup:
    """Sanitised HTML for a Markdown overview, safe to insert into a page as is."""
    # One parser reused (building one per page costs more than converting); reset() drops the last page's ids.
    html = _PARSER.reset().convert(text)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(clean)
