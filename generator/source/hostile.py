"""Checks for values that read differently from what they are, or that JSON cannot carry.

Every source field is hostile. Bidirectional controls and invisible characters make a
name or a description display as something else (Trojan Source); a name holding one is
an error, any other text (an overview's lines too) a warning, and every message shows them
escaped (`\\u202e`), never raw. NaN, infinities, dates and binary inside a JSON-schema value
would validate as YAML and then break JSON for every client. Two servers whose names or
titles look alike (a Cyrillic "е" in "Fеtch", a Cherokee "Ꮋ", a mathematical "𝐀", "rn" for
"m") get a warning naming both: look-alikes are found by Unicode's own confusables data
(UTS #39 skeletons, from the copy of confusables.txt the `confusable-homoglyphs` package
ships), not by a table of ours. Each check is linear in the size of the source: the text is
searched once, and values are walked only when it found something (a hidden character, or a
backslash that may escape one); look-alikes are one skeleton per text, then a dict.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic, dotted_path
from generator.errors import CatalogError
from generator.source.yamlsafe import LoadedYaml

# Bidirectional controls (embeddings, overrides, isolates, marks), zero-width and other
# invisible format characters, the soft hyphen and the tag characters.
HIDDEN = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


def escaped(text: str) -> str:
    """`text` with every hidden character written as `\\uXXXX` (what messages show)."""
    return HIDDEN.sub(lambda found: f"\\u{ord(found.group()):04x}" if ord(found.group()) <= 0xFFFF
                      else f"\\U{ord(found.group()):08x}", text)


def hidden_characters(path: str, text: str, loaded: LoadedYaml) -> list[Diagnostic]:
    """A diagnostic per value holding a hidden character: an error in a `name`, else a warning.

    `text` is searched first and the values walked only when it may hold one: a value's
    characters are the text's own, except what a double-quoted scalar's escapes make
    (`"\\u202e"`, `"\\xad"`), which need a backslash.
    """
    if not HIDDEN.search(text) and "\\" not in text:
        return []
    found = []
    for at, value in _strings(loaded.data, ()):
        characters = sorted(set(HIDDEN.findall(value)))
        if not characters:
            continue
        shown = ", ".join(escaped(c) for c in characters)
        is_name = bool(at) and at[-1] == "name"
        found.append(Diagnostic(
            path, loaded.line_of(at), dotted_path(at),
            f"holds {shown} (bidirectional control or invisible character): the text '{escaped(value)}' "
            f"does not read as it is; remove it", "error" if is_name else "warning",
        ))
    return found


# Characters of a line shown on each side of the first hidden one in an overview's warning.
_AROUND = 40


def hidden_in_overview(path: str, text: str) -> list[Diagnostic]:
    """A warning per line of an overview (Markdown) holding a hidden character, the line shown escaped.

    Like a description's, with the line number: a code sample whose right-to-left override
    reorders what a reader copies is the Trojan Source attack itself. Long lines are cut
    around the first hidden character.
    """
    if not HIDDEN.search(text):
        return []
    found = []
    for number, line in enumerate(text.split("\n"), start=1):  # "\n" only: the lines an editor numbers
        first = HIDDEN.search(line)
        if first is None:
            continue
        shown = ", ".join(escaped(c) for c in sorted(set(HIDDEN.findall(line))))
        start, end = max(0, first.start() - _AROUND), first.end() + _AROUND
        excerpt = ("..." if start else "") + _printable(line[start:end].rstrip("\r")) + ("..." if end < len(line) else "")
        found.append(Diagnostic(
            path, number, "", f"holds {shown} (bidirectional control or invisible character): the text "
            f"'{excerpt}' does not read as it is; remove it", "warning",
        ))
    return found


def _printable(text: str) -> str:
    """`text` with hidden characters as `\\uXXXX` and any other control character escaped too."""
    return "".join(c if c.isprintable() or c == "\t" else c.encode("unicode_escape").decode("ascii") for c in escaped(text))


def json_incompatible(path: str, loaded: LoadedYaml) -> list[Diagnostic]:
    """An error per JSON-schema value that JSON cannot carry (NaN, infinities, dates, binary)."""
    tools = loaded.data.get("tools")
    if not isinstance(tools, list):
        return []  # no tools, or a value the model refuses with its own message
    found = []
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and "input_schema" in tool:
            for at, what in _non_json(tool["input_schema"], ("tools", index, "input_schema")):
                found.append(Diagnostic(path, loaded.line_of(at), dotted_path(at), f"{what} cannot be written as JSON: {_fix(what)}"))
    return found


def skeleton(text: str) -> str:
    """What `text` looks like: its UTS #39 skeleton, without case, accents, hidden characters or repeated spaces.

    The skeleton is Unicode's (each character replaced by its prototype from Unicode's
    confusables.txt, between two decompositions): two texts with the same skeleton are
    confusable. Three foldings go further than UTS #39, because a reviewer skimming a list
    misses these too: compatibility forms (NFKD: a fullwidth "Ｓｌａｃｋ" is "Slack"), accents
    ("Fétch"), and case (a digit zero beside an "o" in lower-case names).
    """
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFKD", HIDDEN.sub("", text))
    mapped = unicodedata.normalize("NFKD", "".join(prototypes.get(c, c) for c in decomposed))
    plain = "".join(c for c in mapped if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


@functools.cache
def _prototypes() -> dict[str, str]:
    """Character -> the prototype it is confusable with, from the `confusable-homoglyphs` package.

    That package ships Unicode's confusables.txt as pairs (character, prototype) recorded both
    ways (each character's `homoglyphs`), right-to-left characters set between U+200E marks.
    Each prototype with the characters drawn like it forms a star: its centre (the side of
    several pairs, a sequence, or a character found in a sequence) is the prototype. A pair
    that is alone and shows none of these has no centre to tell; either side stands for both,
    which is all a skeleton needs.
    """
    try:
        from confusable_homoglyphs.confusables import confusables_data
    except (ImportError, OSError, ValueError) as error:
        raise CatalogError(f"cannot read Unicode's confusables data ({error}): reinstall mcp-catalog "
                           "(its dependency confusable-homoglyphs ships it)") from None
    linked: dict[str, set[str]] = defaultdict(set)
    for character, homoglyphs in confusables_data.items():
        for homoglyph in homoglyphs:
            one, other = _unmarked(character), _unmarked(homoglyph["c"])
            linked[one].add(other)
            linked[other].add(one)
    # Known prototypes: centres, and every character of a sequence (a prototype is made of prototypes).
    known = {text for text, others in linked.items() if len(others) > 1}
    known.update(character for text in linked if len(text) > 1 for character in text)
    prototypes = {}
    for text, others in linked.items():
        if len(text) != 1 or len(others) != 1 or text in known:
            continue  # a centre, a sequence or a character of one: a prototype
        (other,) = others
        if len(other) > 1 or other in known or other < text:
            prototypes[text] = other
    return prototypes


def _unmarked(text: str) -> str:
    return text.replace("\u200e", "").replace("\u200f", "") if len(text) > 1 else text


def look_alikes(entries: list[tuple[str, str]]) -> Iterator[tuple[int, int]]:
    """Pairs (i, j), i after j, of entries whose texts differ but look the same; entries are (owner, text)."""
    by_skeleton: dict[str, list[int]] = defaultdict(list)
    for index, (_, text) in enumerate(entries):
        by_skeleton[skeleton(text)].append(index)
    for indexes in by_skeleton.values():
        for position, index in enumerate(indexes):
            first = indexes[0]
            if position and entries[index][1] != entries[first][1] and entries[index][0] != entries[first][0]:
                yield index, first


def _strings(value: Any, at: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and HIDDEN.search(key):
                yield (*at, key), key
            yield from _strings(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*at, index))


def _non_json(value: Any, at: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield at, "NaN" if math.isnan(value) else "an infinity"
    elif isinstance(value, (dt.date, dt.datetime)):
        yield at, f"the date {value.isoformat()}"
    elif isinstance(value, (bytes, bytearray)):
        yield at, "binary data"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_json(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_json(item, (*at, index))


def _fix(what: str) -> str:
    if what.startswith("the date"):
        return "quote it to make it a string"
    if what == "binary data":
        return "write it as a base64 string"
    return "write a finite number, or quote it to make it a string"
