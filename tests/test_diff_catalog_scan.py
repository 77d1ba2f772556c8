"""`diff` reads each release's catalog.json server by server (`generator.release.catalog_scan`).

Its servers are kept as bytes and compared by them, parsed again only where they differ; what it
reports must be what comparing the two documents parsed whole reports (`diff_releases`), for any
layout of the JSON, and a document that is no catalog is refused in one line, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.release.diff import diff_release_targets, diff_releases, read_release_catalog


def _release(root: Path, text: str | bytes) -> Path:
    """A site folder holding only its catalog document (all `diff` reads of a folder that withdraws nothing)."""
    document = root / "api/v1/catalog.json"
    document.parent.mkdir(parents=True)
    document.write_bytes(text.encode() if isinstance(text, str) else text)
    return root


@pytest.fixture(scope="module")
def catalog(default_site) -> dict:
    return json.loads((default_site / "api/v1/catalog.json").read_bytes())


def _scanned_and_parsed(tmp_path: Path, old: str | bytes, new: str | bytes) -> tuple[str, str]:
    """The report of the two documents as `diff` reads them (scanned), and as compared parsed whole."""
    targets = _release(tmp_path / "old", old), _release(tmp_path / "new", new)
    scanned = diff_release_targets(*targets)
    parsed = diff_releases(*(read_release_catalog(target) for target in targets))
    return json.dumps(scanned.as_json()) + scanned.as_text(), json.dumps(parsed.as_json()) + parsed.as_text()


def test_a_server_changed_in_one_field_is_reported(tmp_path, catalog):
    """Equal bytes are equal records; a record differing in one byte is parsed and compared."""
    new = json.loads(json.dumps(catalog))
    server = next(s for s in new["servers"] if s.get("tools"))
    server["tools"][-1]["description"] += "!"
    scanned, parsed = _scanned_and_parsed(tmp_path, json.dumps(catalog), json.dumps(new))
    assert scanned == parsed
    assert f"tool {server['tools'][-1]['name']}: deployed description" in scanned


def test_a_reordered_respaced_catalog_is_the_same_catalog(tmp_path, catalog):
    """The same records with their keys reordered, pretty-printed and the servers in another order
    differ in every byte: none needs review; a change in one of them still shows."""
    def reordered(document: dict) -> str:
        servers = [dict(reversed(list(s.items()))) for s in reversed(document["servers"])]
        return json.dumps({"servers": servers, "catalog": document["catalog"]}, indent=2, ensure_ascii=True)

    scanned, parsed = _scanned_and_parsed(tmp_path / "same", json.dumps(catalog), reordered(catalog))
    assert scanned == parsed
    assert scanned.endswith(": none that need review\n")
    changed = json.loads(json.dumps(catalog))
    changed["servers"][0]["tier"] = "community" if changed["servers"][0]["tier"] != "community" else "validated"
    scanned, parsed = _scanned_and_parsed(tmp_path / "changed", json.dumps(catalog), reordered(changed))
    assert scanned == parsed
    assert f"  changed: {catalog['servers'][0]['name']}\n    - tier: " in scanned


def test_the_scan_reads_what_json_loads_reads(tmp_path, catalog):
    """Layouts no build writes but JSON allows read as `json.loads` reads them: a later server of the
    same name or a later `servers` key replaces the earlier, spaces anywhere, escapes for characters,
    a record larger than the first window the scan looks in, characters of several bytes."""
    base = json.dumps(catalog, ensure_ascii=False)
    first, second = catalog["servers"][0], catalog["servers"][1]
    variants = {
        "twice a name": json.dumps({**catalog, "servers": [*catalog["servers"], {**first, "tier": "experimental"}]}),
        "servers twice": json.dumps(catalog)[:-1] + ', "servers": ' + json.dumps(catalog["servers"][1:]) + "}",
        "servers, then not": '{"servers": [' + json.dumps(first) + '], "catalog": ' + json.dumps(catalog["catalog"])
                             + ', "servers": ' + json.dumps(catalog["servers"]) + "}",
        "spaces": "\n\t " + json.dumps(catalog, indent="\t", separators=(" ,\r\n", " : ")) + " \n",
        "escaped": json.dumps({**catalog, "servers": [{**first, "description": "\u00e9\u2014\U0001f600 caf\u00e9"},
                                                      *catalog["servers"][1:]]}, ensure_ascii=True),
        "long record": json.dumps({**catalog, "servers": [{**first, "overview": "\u2014 long line\n" * 20_000},
                                                          *catalog["servers"][1:]]}, ensure_ascii=False),
        "no servers": json.dumps({**catalog, "servers": []}),
        "extra keys": '{"before": [1, {"x": 1e5}], ' + json.dumps(catalog)[1:-1] + ', "after": 12345678901234567890}',
        "one server": json.dumps({**catalog, "servers": [second]}),
    }
    for name, text in variants.items():
        for old, new in ((base, text), (text, base)):
            scanned, parsed = _scanned_and_parsed(tmp_path / f"{name}-{old is base}", old, new)
            assert scanned == parsed, name


def test_a_number_cut_at_the_edge_of_a_window_is_read_whole():
    """A value is parsed from a window of the bytes; one ending right at its edge may be a number cut short."""
    from generator.release.catalog_scan import _value_at

    raw = b'[1234567890, {"a": "\xc3\xa9\xe2\x80\x94"}, 5]'
    assert _value_at(raw, 1, window=4) == (1234567890, 11)
    assert _value_at(raw, 13, window=10) == ({"a": "\u00e9\u2014"}, 13 + len(b'{"a": "\xc3\xa9\xe2\x80\x94"}'))


@pytest.mark.parametrize(("text", "problem"), [
    (b'{"catalog": {"version": "1"}, "servers": [', "at byte 42: Expecting value"),
    (b'{"catalog": {"version": "1"}, "servers": []} x', "at byte 45: extra data after the document"),
    (b'{"catalog": {"version": "1"}, "servers": [{"name": "a"} {"name": "b"}]}', "at byte 56: expecting ']'"),
    (b'{"catalog": {"version": "1"}, "servers": [{"name": "a", "port": NaN}]}', "NaN is not a number JSON has"),
    (b'{"catalog": {"version": "1"}, "servers": [{"name": "\xff"}]}',
     "at byte 52: not UTF-8 (invalid start byte)"),
    (b'\xef\xbb\xbf{"catalog": {"version": "1"}, "servers": []}', "at byte 0: expecting '{'"),
    (b'{"catalog": {"version": "1"}, servers: []}', "at byte 30: expecting a property name in double quotes"),
    (b'{"catalog": {"version": "1"}, "servers": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
     "maximum recursion depth exceeded"),
    (b'{"catalog": {"version": "1"}, "servers": [{"name": "a", "port": ' + b"1" * 5000 + b"}]}",
     "in the value at byte 42: a number of more than 4300 digits"),
])
def test_a_document_that_is_no_json_is_refused_in_one_line(runner, tmp_path, catalog, text, problem):
    """Truncated, trailing bytes, a missing comma, NaN, bytes that are no UTF-8, a byte order mark, a
    bare key, nesting past the parser's depth (a traceback before: json.loads raised RecursionError), an
    integer longer than int() takes (a traceback: the json module raised a plain ValueError)."""
    good = _release(tmp_path / "good", json.dumps(catalog))
    bad = _release(tmp_path / "bad", text)
    for old, new in ((good, bad), (bad, good)):
        result = runner.invoke(main, ["diff", str(old), str(new)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: {bad / 'api/v1/catalog.json'}: not a catalog document ("), result.output
        assert problem in result.output
        assert result.output.count("\n") == 1, result.output


@pytest.mark.parametrize("text", [
    '[]', '{}', '{"catalog": {"version": "1"}}', '{"catalog": {"version": "1"}, "servers": {}}',
    '{"catalog": {"version": 1}, "servers": []}', '{"catalog": {"version": "1"}, "servers": [{"name": 1}]}',
    '{"catalog": {"version": "1"}, "servers": [[]]}', '{"catalog": {"version": "1", "registries": [{}]}, "servers": []}',
    '{"catalog": {"version": "1"}, "servers": [{"name": "a"}], "servers": null}',
])
def test_json_that_is_no_catalog_is_refused_in_one_line(runner, tmp_path, catalog, text):
    good = _release(tmp_path / "good", json.dumps(catalog))
    bad = _release(tmp_path / "bad", text)
    result = runner.invoke(main, ["diff", str(good), str(bad)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {bad / 'api/v1/catalog.json'}: not a catalog document ("), result.output
    assert result.output.count("\n") == 1, result.output
