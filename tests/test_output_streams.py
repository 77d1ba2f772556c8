"""Whole-catalog documents are written as streams: never held whole, the same bytes and records as bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import tracemalloc
from pathlib import Path

import pytest

from generator.output import OutputFile, OutputTree, WrittenFile
from generator.render.encoding import Lazy, Spliced
from generator.render.registry.query_index import ListEntry, query_index

MEMBERS, MEMBER_SIZE = 100, 100_000  # 10 MB of members


def _member(number: int) -> bytes:
    return b'{"n":%d,"pad":"%s"}' % (number, b"x" * (MEMBER_SIZE - 20))


def _lazy(number: int) -> Lazy:
    return Lazy(lambda: _member(number), lambda: len(_member(number)))


def _peak_while_written(out: Path, item: OutputFile) -> tuple[int, dict[str, WrittenFile]]:
    tracemalloc.start()
    try:
        with OutputTree(out) as tree:
            tree.write(item)
        return tracemalloc.get_traced_memory()[1], tree.written
    finally:
        tracemalloc.stop()


def test_a_query_index_is_written_holding_one_response_at_a_time(tmp_path):
    entries = [ListEntry(f"com.example/s{n:04d}", "1.0.0", dt.date(2026, 1, 1), _lazy(n)) for n in range(MEMBERS)]
    held = [ListEntry(e.name, e.version, e.updated, _member(n)) for n, e in enumerate(entries)]
    expected = bytes(query_index(held))  # the same index from responses given as bytes
    peak, written = _peak_while_written(tmp_path / "site", OutputFile("v0.1/servers/query.idx", query_index(entries)))
    data = (tmp_path / "site/v0.1/servers/query.idx").read_bytes()
    assert data == expected
    assert written["v0.1/servers/query.idx"] == WrittenFile(hashlib.sha256(data).hexdigest(), len(data))
    assert peak < 10 * MEMBER_SIZE, f"{peak:,} bytes held to write {len(data):,}"


def test_a_spliced_document_is_written_holding_one_member_at_a_time(tmp_path):
    document = Spliced((b'{"servers":[', [_lazy(n) for n in range(MEMBERS)], b"]}\n"))
    peak, written = _peak_while_written(tmp_path / "site", OutputFile("registry.json", document))
    data = (tmp_path / "site/registry.json").read_bytes()
    assert data == bytes(document) == b'{"servers":[' + b",".join(_member(n) for n in range(MEMBERS)) + b"]}\n"
    assert written["registry.json"] == WrittenFile(hashlib.sha256(data).hexdigest(), len(data))
    assert peak < 10 * MEMBER_SIZE, f"{peak:,} bytes held to write {len(data):,}"
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["registry.json"]  # no partial file left


def test_a_stream_that_fails_leaves_nothing_and_the_output_as_it_was(tmp_path):
    out = tmp_path / "site"
    with OutputTree(out) as tree:
        tree.write(OutputFile("catalog.json", b"{}\n"))

    def broken() -> bytes:
        raise RuntimeError("a renderer failed half-way")

    document = Spliced((b"[", [_lazy(1), Lazy(broken, lambda: 1)], b"]"))
    with pytest.raises(RuntimeError, match="half-way"), OutputTree(out) as tree:
        tree.write(OutputFile("catalog.json", b"{}\n"))
        tree.write(OutputFile("registry.json", document))
    assert sorted(p.name for p in out.iterdir()) == ["catalog.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left beside it


def test_a_stream_the_output_already_holds_is_linked_and_its_written_copy_dropped(tmp_path):
    out = tmp_path / "site"
    document = Spliced((b"[", [_lazy(n) for n in range(3)], b"]\n"))
    with OutputTree(out) as tree:
        tree.write(OutputFile("registry.json", document))
    first = (out / "registry.json").stat()
    with OutputTree(out, previous=dict(tree.written)) as again:
        again.write(OutputFile("registry.json", document))
    assert again.staged == set()  # not written: the live folder held these bytes
    assert (out / "registry.json").stat().st_ino == first.st_ino
    assert sorted(p.name for p in out.iterdir()) == ["registry.json"]  # the streamed copy did not stay


def test_a_query_index_refuses_a_response_whose_size_was_misreported():
    liar = Lazy(lambda: _member(1), lambda: len(_member(1)) - 1)
    index = query_index([ListEntry("com.example/a", "1.0.0", dt.date(2026, 1, 1), liar)])
    with pytest.raises(ValueError, match="not the .* measured for the index"):
        bytes(index)
