"""The build's memo of pieces (see `generator.render.memo`), backed by the fragment store.

A build gives each task (a slice of servers rendered, a catalog-wide half) a `StoredMemo`
over what is known: the refs of every piece the last build stored for a server whose key
is unchanged, and of the pieces this build's per-server tasks stored. A known piece is read back with one `pread`, measured from
its ref alone; anything else is made and kept in memory until the task ends or the pieces made
come to `FLUSH_BYTES`, then appended to the store in one write (equal pieces of one write once;
the same piece made again after a write is stored again, which costs store space, never other
bytes), and read back from there if asked for again. The task hands the refs back to the build,
which records them in the cache beside their server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from generator.incremental.store import FragmentRef, FragmentStore, length_of

Refs = dict[str, dict[str, FragmentRef]]
"""a server's name -> piece name -> where the store holds it."""
# What a task holds of the pieces it made before it stores them: a slice of servers or a
# catalog-wide half making pieces the per-server tasks did not (a changed profile's) would
# otherwise keep them all until it ends.
FLUSH_BYTES = 8 << 20


class StoredMemo:
    """Pieces looked up in `known`, else made here and stored by `stored()`."""

    def __init__(self, store: FragmentStore, known: Mapping[str, Mapping[str, FragmentRef]]) -> None:
        self._store = store
        self._known = known
        self._made: dict[tuple[str, str], bytes] = {}
        self._made_bytes = 0
        self._flushed: dict[tuple[str, str], FragmentRef] = {}

    def _ref(self, owner: str, name: str) -> FragmentRef | None:
        return self._known.get(owner, {}).get(name)

    def piece(self, owner: str, name: str, make: Callable[[], bytes]) -> bytes:
        ref = self._ref(owner, name)
        if ref is not None:
            return self._store.read(ref)
        made = self._made.get((owner, name))
        if made is not None:
            return made
        flushed = self._flushed.get((owner, name))
        if flushed is not None:
            return self._store.read(flushed)
        made = self._made[(owner, name)] = make()
        self._made_bytes += len(made)
        if self._made_bytes >= FLUSH_BYTES:
            self._flush()
        return made

    def size(self, owner: str, name: str, make: Callable[[], bytes]) -> int:
        ref = self._ref(owner, name)
        if ref is None:
            ref = self._flushed.get((owner, name))
        return length_of(ref) if ref is not None else len(self.piece(owner, name, make))

    def stored(self) -> Refs:
        """Append what is still held here to the store; the refs of every piece made, by owner."""
        self._flush()
        found: Refs = {}
        for (owner, name), ref in self._flushed.items():
            found.setdefault(owner, {})[name] = ref
        self._flushed.clear()
        return found

    def _flush(self) -> None:
        """Append the pieces held to the store in one write (equal ones once) and forget their bytes."""
        distinct: dict[bytes, int] = {}  # each distinct piece numbered
        numbers = {key: distinct.setdefault(content, len(distinct)) for key, content in self._made.items()}
        refs = self._store.add(distinct)
        for key, number in numbers.items():
            self._flushed[key] = refs[number]
        self._made.clear()
        self._made_bytes = 0
