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
not hold; one using a value the script does not have fails as its skeleton renders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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
