"""A release's catalog document as `diff` compares it: its settings parsed, its servers kept as bytes.

`api/v1/catalog.json` is 93 MB at 10,000 servers and some 300 MB parsed; two releases held parsed
were most of a diff's memory, while most diffs change a handful of servers. A scanned catalog holds
the document's bytes, its `catalog` object parsed and, per server, where its record lies and the
SHA-256 of its bytes: records with the same bytes in two releases are the same record, and only
those that differ are parsed again (one at a time). It must not decide anything about a change;
`diff` does, through `ReleaseCatalog`, whichever way the catalog was read.

A release is hostile input: the scan reads exactly what `json.loads` reads (any JSON layout, a later
key or server of the same name replacing an earlier one), each value parsed by the json module
itself, and refuses in one line what is no catalog document (also NaN and the infinities, which
`json.loads` takes but no build writes, and nesting deeper than the parser goes).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.errors import UsageError

WHITESPACE = re.compile(rb"[ \t\n\r]*")
"""What JSON takes for spaces between its tokens, as the json module does."""
FIRST_WINDOW = 1 << 16
"""The bytes a value is first looked for in; doubled until the value fits (a record is about 10 kB)."""


class _NotJson(ValueError):
    """Raised where the document is no JSON (or JSON no build writes)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a number JSON has")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


@dataclass
class ReleaseCatalog:
    """One release's catalog document: `catalog` (catalog.yaml's settings), its servers by name, and the
    registries its manifests pull from (`read_releases.PULLED_FROM`) when known. Built from a parsed document
    (`of_document`), from the document's bytes (`scan_catalog`: a server's record is parsed when asked
    for) or, for the catalog being built, from its records as made (`of_records`); two records of which
    both catalogs know the bytes' SHA-256 are the same when their bytes are."""

    catalog: dict[str, Any]
    pulled_from: list[str] | None = None
    _records: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    _raw: bytes = b""
    _spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    _digests: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of_document(cls, document: dict[str, Any], pulled_from_key: str) -> ReleaseCatalog:
        """A parsed catalog document (`read_release_catalog`)."""
        return cls(document["catalog"], document.get(pulled_from_key), {s["name"]: s for s in document["servers"]})

    @classmethod
    def of_records(cls, catalog: dict[str, Any], pulled_from: list[str], records: Mapping[str, dict[str, Any]],
                   digests: dict[str, bytes]) -> ReleaseCatalog:
        """A catalog whose records `records` makes as they are asked for (the one being built, none of its
        records held), given the SHA-256 of each record's bytes as its catalog.json holds them."""
        return cls(catalog, pulled_from, records, b"", {}, digests)

    @property
    def names(self) -> KeysView[str]:
        """Every server's name."""
        return self._spans.keys() if self._raw else self._records.keys()

    def record(self, name: str) -> dict[str, Any]:
        """The server's record, as `json.loads` of the whole document gives it."""
        if not self._raw:
            return self._records[name]
        start, end = self._spans[name]
        return json.loads(self._raw[start:end])

    def same(self, name: str, other: ReleaseCatalog) -> bool:
        """Whether both releases hold the server with an equal record: the same bytes, or records that
        parse equal (keys reordered, spaces)."""
        if name not in self.names or name not in other.names:
            return False
        if self._digests and other._digests and self._digests[name] == other._digests[name]:
            return True
        return self.record(name) == other.record(name)


def scan_catalog(raw: bytes, where: str) -> ReleaseCatalog:
    """The catalog document `raw` (the bytes of a release's catalog.json, `where` in messages), its
    servers left unparsed; a UsageError of one line when it is no catalog document."""
    try:
        return _scanned(raw)
    except (_NotJson, RecursionError) as exc:
        raise UsageError(f"{where}: not a catalog document ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    except _NotCatalog:
        raise UsageError(
            f"{where}: not a catalog document (expected catalog.version, servers[].name and catalog.registries[].name)"
        ) from None


class _NotCatalog(Exception):
    """JSON, but not shaped as a catalog document."""


def _scanned(raw: bytes) -> ReleaseCatalog:
    fields: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] | None = None
    at = _expect(raw, _skip(raw, 0), b"{")
    if raw[at:at + 1] == b"}":
        at += 1
    else:
        while True:
            if raw[at:at + 1] != b'"':
                raise _NotJson(f"at byte {at}: expecting a property name in double quotes")
            key, at = _value_at(raw, at)
            at = _expect(raw, _skip(raw, at), b":")
            if key == "servers" and raw[at:at + 1] == b"[":
                spans, at = _records(raw, at)
                fields.pop(key, None)
            else:
                fields[key], at = _value_at(raw, at)
                at = _skip(raw, at)
                spans = None if key == "servers" else spans
            if raw[at:at + 1] == b",":
                at = _skip(raw, at + 1)
                continue
            at = _expect(raw, at, b"}")
            break
    if at != len(raw):
        raise _NotJson(f"at byte {at}: extra data after the document")
    catalog = fields.get("catalog")
    registries = catalog.get("registries", []) if isinstance(catalog, dict) else None
    if (spans is None or not isinstance(catalog, dict) or not isinstance(catalog.get("version"), str)
            or not isinstance(registries, list)
            or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in registries)):
        raise _NotCatalog
    view = memoryview(raw)  # slices of it copy nothing
    digests = {name: hashlib.sha256(view[start:end]).digest() for name, (start, end) in spans.items()}
    return ReleaseCatalog(catalog, None, {}, raw, spans, digests)


def _records(raw: bytes, at: int) -> tuple[dict[str, tuple[int, int]], int]:
    """Where each server record of the array at `at` lies (a later one of a name replacing an earlier
    one, as in a dict), and the position after the array; each record parsed, checked, let go."""
    spans: dict[str, tuple[int, int]] = {}
    at = _skip(raw, at + 1)
    if raw[at:at + 1] == b"]":
        return spans, _skip(raw, at + 1)
    for start, record, end in _items(raw, at):
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            raise _NotCatalog
        spans[record["name"]] = (start, end)
        at = end
    return spans, _expect(raw, _skip(raw, at), b"]")


def _items(raw: bytes, at: int) -> Iterator[tuple[int, Any, int]]:
    """(start, value, end) of each item of an array whose first item begins at `at`."""
    window = FIRST_WINDOW
    while True:
        value, end = _value_at(raw, at, window)
        window = max(FIRST_WINDOW, 2 * (end - at))
        yield at, value, end
        after = _skip(raw, end)
        if raw[after:after + 1] != b",":
            return
        at = _skip(raw, after + 1)


def _value_at(raw: bytes, at: int, window: int = FIRST_WINDOW) -> tuple[Any, int]:
    """The JSON value beginning at byte `at` (parsed by the json module) and the position after it.
    Parsed from a window of the bytes, widened until the value ends inside it: a value ending
    right at a window's edge may be a number cut short, so that is widened too."""
    while True:
        end = min(len(raw), at + window)
        for _ in range(3):  # never cut inside a character (of at most three continuation bytes)
            if end < len(raw) and raw[end] & 0xC0 == 0x80:
                end -= 1
        try:
            text = str(memoryview(raw)[at:end], "utf-8")
        except UnicodeDecodeError as exc:
            raise _NotJson(f"at byte {at + exc.start}: not UTF-8 ({exc.reason})") from None
        try:
            value, used = _DECODER.raw_decode(text)
        except json.JSONDecodeError as exc:
            if end == len(raw):
                raise _NotJson(f"at byte {at + len(text[:exc.pos].encode())}: {exc.msg}") from None
            window *= 2
            continue
        except _NotJson:
            raise
        except ValueError:  # an integer of more digits than int() takes (sys.get_int_max_str_digits)
            raise _NotJson(f"in the value at byte {at}: a number of more than {sys.get_int_max_str_digits()} digits") from None
        if used == len(text) and end < len(raw):
            window *= 2
            continue
        return value, at + (used if text.isascii() else len(text[:used].encode()))


def _skip(raw: bytes, at: int) -> int:
    """The position after the spaces at `at`."""
    return WHITESPACE.match(raw, at).end()  # type: ignore[union-attr]


def _expect(raw: bytes, at: int, token: bytes) -> int:
    """The position after `token` at `at` and the spaces after it."""
    if raw[at:at + 1] != token:
        raise _NotJson(f"at byte {at}: expecting {token.decode()!r}")
    return _skip(raw, at + 1)
