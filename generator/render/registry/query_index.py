"""The MCP mirror's list, paged: the first page as a file, and the compact index the query layer reads.

`GET {base}/v0.1/servers` takes `search`, `version`, `updated_since`, `limit` and
`cursor`. A file cannot apply them, so every base gets two documents:

- `v0.1/servers/index.json`, the answer to the request without parameters: the first
  `DEFAULT_LIMIT` servers by name, with `nextCursor` when the page is full (as the official
  registry answers, even when no server follows). It never grows with the catalog.
- `v0.1/servers/query.idx`, read by the query layer shipped in deploy/web/ (Lua inside
  nginx or Apache): one header line, one line per server, then every ServerResponse.
  The layer keeps only the small lines in memory and reads the responses of a page from
  the file, so a new build answers at once (the header's digest changes) without a reload;
  that header line also makes the ETag of the layer's answers (docs/api.md, "Caching").

The index format (version 1), all ASCII but the responses:

    mcp-catalog-query-index 1 <count> <sha256 of everything after this line>\\n
    <name>\\t<version>\\t<updated, Unix seconds>\\t<offset>\\t<length>\\n      (count lines, by name)
    <response>,<response>,...                                        (offsets from here)

Names and versions never hold a tab or a newline (the source patterns refuse whitespace),
and compact JSON holds neither, so the lines split without escaping.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from generator.render.encoding import Lazy, spliced

DEFAULT_LIMIT = 30
"""The official registry's page size when `limit` is not given (its maximum is 100)."""

MAGIC = b"mcp-catalog-query-index 1"


@dataclass(frozen=True)
class ListEntry:
    """One server as a list shows it: what the query layer filters on, and its encoded ServerResponse."""

    name: str
    version: str
    updated: dt.date
    response: bytes | Lazy
    """The response, or how to read and measure it: a base's responses (100 MB at 10,000 servers)
    are read while its index is written, never held together."""

    def encoded(self) -> bytes:
        return self.response if isinstance(self.response, bytes) else self.response.read()

    def size(self) -> int:
        return len(self.response) if isinstance(self.response, bytes) else self.response.size()


def cursor_after(entry: ListEntry) -> str:
    """The `nextCursor` of a page ending with `entry`: `name:version`, as the official registry pages."""
    return f"{entry.name}:{entry.version}"


def first_page(entries: Sequence[ListEntry]) -> bytes:
    """The ServerList answering a request without parameters: the first page, by name, with a
    cursor when more servers follow. Not on a page that is merely full, as the official registry
    (and the layer, for `limit`) would: a plain file server ignores `?cursor=` and would send a
    client following it the same page forever."""
    page = entries[:DEFAULT_LIMIT]
    return encoded_page([e.encoded() for e in page], cursor_after(page[-1]) if len(entries) > DEFAULT_LIMIT else None)


def encoded_page(responses: Iterable[bytes] | Sequence[bytes], next_cursor: str | None) -> bytes:
    """A ServerList of encoded responses; `metadata` holds `nextCursor` (when a page follows) then `count`.

    The layer writes the same bytes for the same page (deploy/web/lua/mcp_registry_query.lua)."""
    members = list(responses)
    cursor = b"" if next_cursor is None else b'"nextCursor":' + _json_string(next_cursor) + b","
    return spliced(b'{"servers":[', members, b'],"metadata":{' + cursor + b'"count":%d}}\n' % len(members))


def query_index(entries: Sequence[ListEntry]) -> QueryIndex:
    """The compact index of one base (format in the module docstring); `entries` sorted by name."""
    return QueryIndex(entries)


@dataclass(frozen=True)
class QueryIndex:
    """A base's index as a `Stream` of its bytes: its lines, from the responses' sizes, then the
    digest of lines and responses, read once to hash them and once more to write them out, so that
    no more than one response is held at a time (they were held whole, then copied twice more)."""

    entries: Sequence[ListEntry]

    def chunks(self) -> Iterator[bytes]:
        lines, sizes, offset = [], [], 0
        for entry in self.entries:
            stamp = calendar.timegm(entry.updated.timetuple())
            sizes.append(size := entry.size())
            lines.append(b"%s\t%s\t%d\t%d\t%d\n" % (entry.name.encode(), entry.version.encode(), stamp, offset, size))
            offset += size + 1
        body = hashlib.sha256()
        for piece in itertools.chain(lines, self._responses(sizes)):
            body.update(piece)
        yield _header(len(self.entries), body)
        yield from lines
        yield from self._responses(sizes)

    def _responses(self, sizes: Sequence[int]) -> Iterator[bytes]:
        """The responses, each checked against the size its line gives (the offsets depend on it)."""
        for number, (entry, size) in enumerate(zip(self.entries, sizes)):
            if number:
                yield b","
            response = entry.encoded()
            if len(response) != size:
                raise ValueError(f"{entry.name}: its response has {len(response)} bytes, not the {size} measured for the index")
            yield response

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks())


def _header(count: int, body: Any) -> bytes:
    return b"%s %d %s\n" % (MAGIC, count, body.hexdigest().encode())


def _json_string(text: str) -> bytes:
    """`text` as a JSON string, escaped by one rule the Lua layer applies byte for byte:
    `"`, `\\` and control bytes as `\\u00XX`, everything else (UTF-8 included) as is."""
    raw = text.encode("utf-8")
    return b'"' + b"".join(b"\\u%04x" % c if c < 0x20 or c in b'"\\' else bytes([c]) for c in raw) + b'"'
