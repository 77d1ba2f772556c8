"""The fragment store: fragments kept in a file instead of memory, read back exactly or not at all."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from generator.incremental import store as fragment_store
from generator.incremental.store import EMPTY, DamagedStore, FragmentStore


def test_fragments_read_back_as_added_and_equal_ones_may_share_a_ref(tmp_path: Path) -> None:
    with FragmentStore.fresh(tmp_path / "f.bin") as store:
        first = store.add([b"alpha", b"", b"\x00binary\xff"])
        second = store.add([b"beta" * 1000])
        assert [store.read(ref) for ref in first + second] == [b"alpha", b"", b"\x00binary\xff", b"beta" * 1000]
        assert first[1] == EMPTY
        assert store.identity()[1] == len(b"alpha\x00binary\xff") + 4000


def _append_many(store: FragmentStore, worker: int, start: object, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    start.wait()  # type: ignore[attr-defined]  # all at once: the appends must overlap
    added = []
    for n in range(400):
        content = f"{worker}-{n}:".encode() * 500
        added += [(ref, content) for ref in store.add([content])]
    queue.put(added)


def test_workers_appending_at_once_never_overwrite_each_other(tmp_path: Path) -> None:
    """Forked workers share the descriptor; each append must land in a range of its own."""
    context = multiprocessing.get_context("fork")
    queue, start = context.Queue(), context.Barrier(3)
    with FragmentStore.fresh(tmp_path / "f.bin") as store:
        workers = [context.Process(target=_append_many, args=(store, worker, start, queue)) for worker in range(3)]
        for process in workers:
            process.start()
        added = [item for _ in workers for item in queue.get(timeout=60)]
        for process in workers:
            process.join(timeout=60)
        assert len(added) == 1200
        assert all(store.read(ref) == content for ref, content in added)


def test_a_changed_byte_or_a_short_file_is_reported_not_returned(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    with FragmentStore.fresh(path) as store:
        ref, tail = store.add([b"x" * 100, b"tail"])
        with open(path, "r+b") as raw:
            raw.seek(50)
            raw.write(b"y")
        with pytest.raises(DamagedStore, match="damaged"):
            store.read(ref)
        os.truncate(path, 102)
        with pytest.raises(DamagedStore):
            store.read(tail)


def test_a_store_is_reopened_only_as_the_file_it_was(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    with FragmentStore.fresh(path) as store:
        store.add([b"data"])
        identity = store.identity()
    reopened = FragmentStore.reopen(path, identity)
    assert reopened is not None
    reopened.close()
    path.rename(tmp_path / "old.bin")  # still alive, so the new file cannot get its inode
    path.write_bytes(b"data")
    assert FragmentStore.reopen(path, identity) is None  # another file, even with the same bytes
    os.replace(tmp_path / "old.bin", path)
    os.truncate(path, 2)
    assert FragmentStore.reopen(path, identity) is None  # shorter than recorded
    assert FragmentStore.reopen(tmp_path / "missing.bin", identity) is None


def test_compaction_keeps_the_live_fragments_and_drops_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    with FragmentStore.fresh(path) as store:
        live = store.add([b"keep-1", b"drop" * 100, b"keep-2"])
        kept = [live[0], live[2], live[0]]  # a ref used twice
        assert store.compact(live) == {}  # nothing to drop: left alone
        moved = store.compact(kept)
        assert set(moved) == {live[0], live[2]}
        assert [store.read(moved[ref]) for ref in kept] == [b"keep-1", b"keep-2", b"keep-1"]
        assert path.stat().st_size == len(b"keep-1keep-2")
        assert not list(tmp_path.glob("*.tmp-*"))
        later = store.add([b"after"])  # appends go to the compacted file
        assert store.read(later[0]) == b"after"


def test_an_anonymous_store_leaves_nothing_behind(tmp_path: Path) -> None:
    with FragmentStore.temporary(tmp_path) as store:
        ref = store.add([b"gone"])[0]
        assert store.read(ref) == b"gone"
        assert list(tmp_path.iterdir()) == []
        assert store.compact([]) == {}  # nothing to rename: an anonymous store is never compacted


def test_the_garbage_factor_is_a_real_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fragment_store, "_GARBAGE_FACTOR", 3)
    with FragmentStore.fresh(tmp_path / "f.bin") as store:
        live = store.add([b"a" * 100, b"b" * 150])
        assert store.compact(live[:1]) == {}  # 250 bytes <= 3 x 100
        assert store.identity()[1] == 250
        assert store.compact([]) == {}  # nothing live: everything goes
        assert store.identity()[1] == 0


def test_the_build_memo_reads_what_is_known_and_stores_what_it_made_once(tmp_path: Path) -> None:
    from generator.incremental.memo import StoredMemo

    made: list[str] = []

    def make(content: bytes) -> object:
        return lambda: made.append(content.decode()) or content

    with FragmentStore.fresh(tmp_path / "f.bin") as store:
        record, entry = store.add([b"record", b"entry"])
        memo = StoredMemo(store, {"fetch": {"record": record, "entry": entry}})
        assert memo.piece("fetch", "record", make(b"other")) == b"record" and made == []  # known: read back
        assert memo.size("fetch", "entry", make(b"other")) == len(b"entry") and made == []  # measured from the ref
        assert memo.piece("git", "record", make(b"git")) == b"git"
        assert memo.piece("git", "record", make(b"again")) == b"git" and made == ["git"]  # made once
        assert memo.piece("time", "record", make(b"git")) == b"git"  # equal content, stored once
        size = store.identity()[1]
        refs = memo.stored()
        assert store.identity()[1] == size + len(b"git")
        # Only what was made comes back: the known pieces' refs are the build's already.
        assert refs == {"git": {"record": refs["git"]["record"]}, "time": {"record": refs["git"]["record"]}}
        assert store.read(refs["git"]["record"]) == b"git"


def test_the_build_memo_stores_what_it_made_once_it_holds_too_much_and_reads_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.incremental import memo as memo_module

    monkeypatch.setattr(memo_module, "FLUSH_BYTES", 10)
    made: list[bytes] = []

    def make(content: bytes) -> object:
        return lambda: made.append(content) or content

    with FragmentStore.fresh(tmp_path / "f.bin") as store:
        memo = memo_module.StoredMemo(store, {})
        assert memo.piece("a", "p", make(b"12345")) == b"12345" and store.identity()[1] == 0  # 5 bytes: held
        assert memo.piece("b", "p", make(b"678901")) == b"678901"
        assert store.identity()[1] == 11  # 11 bytes held: both appended, their bytes let go
        assert memo.piece("a", "p", make(b"other")) == b"12345"  # read back from the store, not made again
        assert memo.size("b", "p", make(b"other")) == 6 and made == [b"12345", b"678901"]
        assert memo.piece("c", "p", make(b"xy")) == b"xy"
        refs = memo.stored()
        assert store.identity()[1] == 13
        assert {owner: store.read(pieces["p"]) for owner, pieces in refs.items()} == {"a": b"12345", "b": b"678901", "c": b"xy"}


def test_a_per_server_piece_is_keyed_by_server_name_and_positional_arguments() -> None:
    from generator.models import Catalog
    from generator.render.context import RenderContext
    from generator.render.memo import per_server

    calls: list[tuple[str, str | None, int]] = []

    @per_server
    def test_piece(context: RenderContext, server: object, profile: str | None = None, *, hint: int = 0) -> bytes:
        calls.append((server.name, profile, hint))  # type: ignore[attr-defined]
        return f"{server.name}:{profile}".encode()  # type: ignore[attr-defined]

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

    context = RenderContext(Catalog.model_construct(servers=()))
    fetch, git = Named("fetch"), Named("git")
    assert test_piece(context, fetch, "p", hint=1) == b"fetch:p"
    assert test_piece(context, fetch, "p", hint=2) == b"fetch:p"  # keyword arguments are not part of the key
    assert test_piece(context, fetch) == b"fetch:None" and test_piece(context, git, "p") == b"git:p"
    assert test_piece(context, fetch, None) == b"fetch:None"  # an omitted argument counts as its default: one call
    assert test_piece.lazy(context, git, "p").size() == len(b"git:p")
    assert calls == [("fetch", "p", 1), ("fetch", None, 0), ("git", "p", 0)]
    with pytest.raises(TypeError, match="str or None"):
        test_piece(context, fetch, 3)  # type: ignore[arg-type]

    def elsewhere() -> object:
        def test_piece(context: RenderContext, server: object) -> bytes:
            return b""
        return test_piece

    with pytest.raises(ValueError, match="two per-server pieces are named test_piece"):
        per_server(elsewhere())  # type: ignore[arg-type]
