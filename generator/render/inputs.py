"""Input keys: a hash of everything a catalog-wide file is made from, computed without making it.

A catalog-wide half may yield a `Deferred` file (see `generator.render.kind`)
instead of its bytes: its path, an input key and the function that makes it.
When the last build of the same output folder made that path from the same key,
the build keeps the file and never calls the function. The key is only as good
as the values it is given, so `InputKeys.of` takes the very values handed to
the template or encoder, and refuses any value type it does not know how to
hash rather than skipping it.

A server counts by its `server_key` (a hash of all its inputs, see
`generator.incremental.cache`), never by its fields: a page showing a server's card changes
whenever that server changes. Everything shared by all files (this program, the
templates, catalog.yaml, the options) is in the build key, and a cache made
under another build key is never consulted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from generator.models import Server


# Lists and dicts of at least this many items are hashed once per object (see InputKeys._shared).
_SHARED_SIZE = 16


class UnknownServer(KeyError):
    """A server with no key in this build: the file must be made."""


class InputKeys:
    """Hashes values for input keys; remembers the hash of large shared objects (the catalog's
    meta, the facets every index page gets)."""

    def __init__(self, server_keys: Mapping[str, str]) -> None:
        self._server_keys = server_keys
        self._known: dict[int, tuple[Any, bytes]] = {}  # id -> (the object, kept alive; its hash)

    def of(self, *values: Any) -> str | None:
        """The key of `values`, or None when one of its servers has no key (then always make the file)."""
        digest = hashlib.sha256()
        try:
            self._feed(digest, values)
        except UnknownServer:
            return None
        return digest.hexdigest()

    def _feed(self, digest: Any, value: Any) -> None:
        # Each value is typed and length-prefixed, so two different values never feed the same bytes.
        if isinstance(value, Server):
            key = self._server_keys.get(value.name)
            if key is None:
                raise UnknownServer(value.name)
            digest.update(b"S" + key.encode())
        elif isinstance(value, str):  # Markup included: it is the HTML as given
            encoded = value.encode("utf-8")
            digest.update(b"s%d:" % len(encoded) + encoded)
        elif value is None or isinstance(value, (bool, int, float)):
            digest.update(b"v" + repr(value).encode() + b";")
        elif isinstance(value, (list, tuple, dict)) and len(value) >= _SHARED_SIZE:
            digest.update(b"h" + self._remembered(value, self._items_hash))
        elif isinstance(value, (list, tuple, dict)):
            self._feed_items(digest, value)
        elif isinstance(value, (set, frozenset)):
            self._feed(digest, sorted(value))
        elif isinstance(value, BaseModel):
            digest.update(b"m" + self._remembered(value, _model_hash))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            digest.update(b"c" + type(value).__qualname__.encode() + b":")
            for item in dataclasses.fields(value):
                self._feed(digest, getattr(value, item.name))
        else:
            raise TypeError(f"cannot compute an input key over a {type(value).__qualname__}")

    def _feed_items(self, digest: Any, container: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> None:
        if isinstance(container, dict):
            digest.update(b"d%d:" % len(container))
            for key, item in container.items():
                self._feed(digest, key)
                self._feed(digest, item)
        else:
            digest.update(b"l%d:" % len(container))
            for item in container:
                self._feed(digest, item)

    def _items_hash(self, container: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> bytes:
        inner = hashlib.sha256()
        self._feed_items(inner, container)
        return inner.digest()

    def _remembered(self, value: Any, hash_of: Callable[[Any], bytes]) -> bytes:
        """`hash_of(value)`, computed once per object: every index page gets the same facets and
        tag lists, and hashing them for each page cost more than rendering it. So a value handed
        to `of` must not change afterwards (site_pages builds each list whole before yielding it
        and never touches it again)."""
        known = self._known.get(id(value))
        if known is None or known[0] is not value:
            known = self._known[id(value)] = (value, hash_of(value))
        return known[1]


def _model_hash(model: BaseModel) -> bytes:
    return hashlib.sha256(type(model).__qualname__.encode() + b":" + model.model_dump_json().encode("utf-8")).digest()
