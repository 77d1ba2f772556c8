"""Byte-stable encodings shared by every renderer: same value in, same bytes out."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from generator.output import OutputFile


def json_bytes(value: Any, *, pretty: bool = False) -> bytes:
    """UTF-8 JSON with a trailing newline; compact unless `pretty`, keys in the order given."""
    text = json.dumps(value, ensure_ascii=False, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
    return (text + "\n").encode("utf-8")


def json_piece(value: Any) -> bytes:
    """`json_bytes(value)` without its newline: a piece to splice into a larger compact document.

    Compact JSON of a list or object is the pieces of its members joined by commas, so a
    document spliced from pieces has the very bytes `json_bytes` gives for the whole.
    """
    return json_bytes(value)[:-1]


def json_file(path: str, value: Any, *, pretty: bool = False) -> OutputFile:
    """An output file holding `value` as JSON."""
    return OutputFile(path, json_bytes(value, pretty=pretty))


def spliced(*parts: bytes | Iterable[bytes]) -> bytes:
    """The parts one after the other, each iterable part's items joined by commas (the members
    of a JSON list or object, as `json_piece` encodes them); empty items are left out.

    Items are taken one at a time into one buffer that becomes the result without a copy, so
    a 100 MB registry document costs about 100 MB; `b"".join` of a list of members held three
    copies at once (the members, the members joined, the document).
    """
    buffer = io.BytesIO()
    for piece in _pieces(parts):
        buffer.write(piece)
    return buffer.getvalue()


def _pieces(parts: Iterable[bytes | Iterable[bytes]]) -> Iterator[bytes]:
    """What `spliced` joins, in order: each constant part, each non-empty item with its comma."""
    for part in parts:
        if isinstance(part, bytes):
            yield part
            continue
        separator = b""
        for item in part:
            if item:
                yield separator
                yield item
                separator = b","


@dataclass(frozen=True)
class Lazy:
    """A member read only when its bytes are wanted and measured without reading (a memoised piece)."""

    read: Callable[[], bytes]
    size: Callable[[], int]


@dataclass(frozen=True)
class Spliced:
    """A compact document as constant parts and runs of lazy members, one description for both
    its bytes (`bytes(document)`) and its length (`len(document)`, reading no member): a
    ConfigMap split is measured at 10,000 servers without encoding 100 MB documents."""

    parts: tuple[bytes | Sequence[Lazy], ...]

    def __len__(self) -> int:
        total = 0
        for part in self.parts:
            sizes = [len(part)] if isinstance(part, bytes) else [size for member in part if (size := member.size())]
            total += sum(sizes) + (0 if isinstance(part, bytes) else max(0, len(sizes) - 1))
        return total

    def __bytes__(self) -> bytes:
        return spliced(*self._read())

    def chunks(self) -> Iterator[bytes]:
        """Its bytes piece by piece, each member read when its turn comes: written as an output file
        (`generator.output.Stream`), a 100 MB registry document is never held whole."""
        return _pieces(self._read())

    def _read(self) -> Iterator[bytes | Iterator[bytes]]:
        return (part if isinstance(part, bytes) else (member.read() for member in part) for part in self.parts)
