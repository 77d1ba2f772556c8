"""Partials the site's scripts draw as well as the pages: their skeletons, and the check that a
script draws what the page renders.

search.js draws the cards of the index's search results, the rows of the tools search across
pages and the rows of the reviewer's table across pages from the search data. So that they read
as the (possibly overridden) partial writes them, the build renders the partial once per *variant*
with every text replaced by a slot `⟦name⟧` and the page's root by `⟦root⟧`: a skeleton. A variant
is what the partial may branch on: the item's state (its status, tier, approval, notices, ...) and
which of its texts are empty; the items of one variant share one skeleton. A data file carries
its items' skeletons once and each item's skeleton by number, so it grows by a few skeletons and
a number an item, never by HTML an item. The script parses each skeleton once, clones it and
fills the slots with textContent and setAttribute only: source text never becomes markup, and a
template, which is trusted, stays the only markup.

What a skeleton cannot carry is refused, not drawn wrong: every item a page renders is compared
with its skeleton filled as the script fills it, and the first difference stops the build, naming
the partial, the page and both texts. That catches an override that derives something from a
text (`{{ card.title | upper }}`, a test on its words) or branches on something the variant does
not hold; one using a value the script does not have fails as its skeleton renders. The script
draws a skeleton's top-level elements only, so a skeleton with text outside them is refused too, and
so is a card that is not one element (the script lists one node a card).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from markupsafe import escape

from generator.errors import OutputError

ROOT = "root"
_SLOT = re.compile("\u27e6([a-z_.]+)\u27e7")
# How much of each side of the first difference a refusal quotes.
_QUOTED = 60


def slot(name: str) -> str:
    """The slot a script fills with the text called `name`."""
    return f"\u27e6{name}\u27e7"


@dataclass(frozen=True)
class Drawing:
    """One item as a script draws it: the variant of its skeleton and the texts filling its slots."""

    variant: Hashable
    texts: Mapping[str, str]


def text_or_empty(texts: Mapping[str, str], name: str) -> str:
    """What a skeleton holds for the text `name`: its slot, or "" when the item's text is empty
    (the skeleton is then another variant's, so that `{% if card.publisher %}` works)."""
    return slot(name) if texts[name] else ""


def slot_unless(name: str, empty: tuple[str, ...]) -> str:
    """What a skeleton holds for the text `name` in a variant whose empty texts are `empty`."""
    return "" if name in empty else slot(name)


def empty_texts(texts: Mapping[str, str]) -> tuple[str, ...]:
    """The names of the empty texts: part of every variant."""
    return tuple(name for name, text in texts.items() if not text)


def fill(skeleton: str, texts: Mapping[str, str]) -> str:
    """`skeleton` with each slot replaced by its text escaped, as Jinja writes a value and as the
    script's filled nodes read; one pass, so a text holding a slot's name stays that text."""
    return _SLOT.sub(lambda found: str(escape(texts[found[1]])) if found[1] in texts else found[0], skeleton)


@dataclass(frozen=True)
class Partial:
    """A partial a script draws: its template, what the script draws it with (for messages), and
    the values its skeleton of a variant is rendered with."""

    template: str
    texts: str
    """The texts the script fills in, in the words of the template ("card.name, card.title, ...")."""
    state: str
    """What a variant holds, in the same words ("card.status, card.deprecated, ...")."""
    skeleton_values: Callable[[Any], dict[str, Any]]
    one_element: bool = False
    """Whether an item must be one element: a card is (the script keeps one node a card)."""

    def offers(self) -> str:
        """What the script has, for messages."""
        return f"the texts {self.texts} and the state {self.state}"


Render = Callable[[str, str, dict[str, Any]], str]
"""Renders (template, page path for messages, values) to text."""


class Skeletons:
    """One partial's skeletons, each variant's rendered once a build."""

    def __init__(self, partial: Partial, render: Render) -> None:
        self.partial = partial
        self._render = render
        self._rendered: dict[Hashable, str] = {}

    def of(self, variant: Hashable) -> str:
        """The skeleton of `variant`."""
        if variant not in self._rendered:
            values = {**self.partial.skeleton_values(variant), ROOT: slot(ROOT)}
            try:
                self._rendered[variant] = self._render(self.partial.template, "the skeleton search.js draws", values)
            except OutputError as error:
                raise OutputError(f"{error}. search.js has {self.partial.offers()} only (README, \"Templates\")") from None
            _refuse_what_is_not_drawn(self.partial, self._rendered[variant])
        return self._rendered[variant]

    def listed(self, drawings: Iterable[Drawing]) -> tuple[list[str], list[int]]:
        """The skeletons `drawings` use, in the order first used, and each drawing's number among them."""
        numbers: dict[Hashable, int] = {}
        used = [numbers.setdefault(drawing.variant, len(numbers)) for drawing in drawings]
        return [self.of(variant) for variant in numbers], used

    def check(self, rendered: str, drawings: Sequence[Drawing], root: str, path: str) -> None:
        """Refuse `rendered` (the partial as `path` renders it, for `drawings`) unless it is what
        the script would draw for them, the skeletons filled in turn."""
        expected = "".join(fill(self.of(drawing.variant), {**drawing.texts, ROOT: root}) for drawing in drawings)
        rendered = str(rendered)  # Markup's repr would say so
        if rendered == expected:
            return
        at = next((i for i, (a, b) in enumerate(zip(rendered, expected)) if a != b), min(len(rendered), len(expected)))
        start = max(0, at - _QUOTED)
        raise OutputError(
            f"{self.partial.template}: search.js cannot draw this template as {path} renders it: the page has "
            f"{rendered[start:at + _QUOTED]!r} where the script would draw {expected[start:at + _QUOTED]!r}. It fills "
            f"in {self.partial.texts} as they are; a template may test whether one is empty, and branch on "
            f"{self.partial.state}, but not derive anything from a text (README, \"Templates\")"
        )


# Elements without content (no end tag), and those a start tag of their own name closes (so that
# `<li>a<li>b` counts two items, as a browser builds it).
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_CLOSED_BY_SIBLING = frozenset("li tr td th p dt dd option".split())
# Start tags that close an open <p> first (a browser never nests these in a paragraph: `<p><div>` is
# two elements side by side).
_CLOSES_PARAGRAPH = frozenset(
    "address article aside blockquote details dialog div dl fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hgroup hr main menu nav ol p pre section table ul".split()
)


class _TopLevel(HTMLParser):
    """The names of a fragment's top-level elements, and its non-blank text outside them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[str] = []
        self.loose_text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if self._open and tag in _CLOSED_BY_SIBLING and self._open[-1] == tag:
            self._open.pop()
        if tag in _CLOSES_PARAGRAPH and "p" in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index("p"):]
        if not self._open:
            self.elements.append(tag)
        if tag not in _VOID:
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        # HTML ignores the slash: `<div/>` opens a div as `<div>` does; only a void element ends there.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:  # an end tag closes what it matches and what is open inside it
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag):]
        elif tag == "p" and not self._open:  # a browser makes an empty paragraph of a stray </p>
            self.elements.append(tag)

    def handle_data(self, data: str) -> None:
        if not self._open and data.strip():
            self.loose_text.append(data.strip())


def _refuse_what_is_not_drawn(partial: Partial, skeleton: str) -> None:
    """Refuse a skeleton the script would draw other than the page: text outside its elements (the
    script takes elements only), or, for a partial whose items are one element each, other than one."""
    found = _TopLevel()
    found.feed(skeleton)
    found.close()
    if found.loose_text:
        raise OutputError(
            f"{partial.template}: search.js draws this template's elements only, and it has text outside "
            f"them: {found.loose_text[0][:_QUOTED]!r}. Put the text inside an element (README, \"Templates\")"
        )
    if partial.one_element and len(found.elements) != 1:
        which = ", ".join(f"<{name}>" for name in found.elements) or "none"
        raise OutputError(
            f"{partial.template}: search.js lists each item as one element, and this template renders "
            f"{len(found.elements)} at its top level ({which}). Wrap them in one element, as the shipped "
            f"template's <li> does (README, \"Templates\")"
        )
