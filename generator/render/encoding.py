"""Byte-stable encodings shared by every renderer: same value in, same bytes out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
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
    of a JSON list or object, as `json_piece` encodes them).

    Items are taken one at a time into one buffer that becomes the result without a copy, so
    a 100 MB registry document costs about 100 MB; `b"".join` of a list of members held three
    copies at once (the members, the members joined, the document).
    """
    buffer = io.BytesIO()
    for part in parts:
        if isinstance(part, bytes):
            buffer.write(part)
            continue
        separator = b""
        for item in part:
            buffer.write(separator)
            buffer.write(item)
            separator = b","
    return buffer.getvalue()
