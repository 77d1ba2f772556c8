"""Checks for values that read differently from what they are, or that JSON cannot carry.

Every source field is hostile. Bidirectional controls and invisible characters make a
name or a description display as something else (Trojan Source); a name holding one is
an error, any other text a warning, and every message shows them escaped (`\\u202e`),
never raw. NaN, infinities, dates and binary inside a JSON-schema value would validate as
YAML and then break JSON for every client. Two servers whose names or titles look alike (a Cyrillic
"е" in "Fеtch") get a warning naming both. Each check is linear in the size of the
source: the text is searched once, and values are walked only when it found something.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic, dotted_path
from generator.source.yamlsafe import LoadedYaml

# Bidirectional controls (embeddings, overrides, isolates, marks), zero-width and other
# invisible format characters, the soft hyphen and the tag characters.
HIDDEN = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
# Letters of other scripts drawn like a Latin one, by the Latin letter they pass for.
_LOOK_ALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ℓ": "l", "0": "o", "1": "l", "|": "l",
})


def escaped(text: str) -> str:
    """`text` with every hidden character written as `\\uXXXX` (what messages show)."""
    return HIDDEN.sub(lambda found: f"\\u{ord(found.group()):04x}" if ord(found.group()) <= 0xFFFF
                      else f"\\U{ord(found.group()):08x}", text)


def hidden_characters(path: str, text: str, loaded: LoadedYaml) -> list[Diagnostic]:
    """A diagnostic per value holding a hidden character: an error in a `name`, else a warning."""
    if not HIDDEN.search(text):
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


def json_incompatible(path: str, loaded: LoadedYaml) -> list[Diagnostic]:
    """An error per JSON-schema value that JSON cannot carry (NaN, infinities, dates, binary)."""
    found = []
    for index, tool in enumerate(loaded.data.get("tools") or []):
        if isinstance(tool, dict) and "input_schema" in tool:
            for at, what in _non_json(tool["input_schema"], ("tools", index, "input_schema")):
                found.append(Diagnostic(path, loaded.line_of(at), dotted_path(at), f"{what} cannot be written as JSON: {_fix(what)}"))
    return found


def skeleton(text: str) -> str:
    """What `text` looks like: compatibility forms folded, case and accents dropped, look-alike letters made Latin."""
    folded = unicodedata.normalize("NFKD", HIDDEN.sub("", text)).casefold()
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(plain.translate(_LOOK_ALIKES).split())


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
