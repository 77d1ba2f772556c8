"""The MCP Registry list answered by the query layer inside the shipped layer and Apache configs.

Every answer is checked against what the catalog says (names, versions, dates, profiles),
computed here from catalog-source/ without the layer's index: search, version,
updated_since, limit and cursor, the errors for invalid parameters, the old /v0 lookup,
and a new index answered without a reload.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import pytest
import requests

from catalog_lists import BASES, Listed, catalog_lists
from generator.render.registry.query_index import ListEntry, first_page, query_index
from webservers import apache_serving, nginx_serving


@pytest.fixture(scope="module", name="catalog_lists")
def catalog_lists_fixture() -> dict[str, list[Listed]]:
    return catalog_lists()


@pytest.fixture(scope="module", params=["nginx", "apache"])
def layer(request: pytest.FixtureRequest, default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site behind the shipped config of each web server, both running the query layer."""
    serving = nginx_serving if request.param == "nginx" else apache_serving
    with serving(default_site, tmp_path_factory.mktemp(request.param)) as url:
        yield url


def listing(url: str, **params: str | int) -> dict:
    answer = requests.get(url, params=params, timeout=10)
    assert answer.status_code == 200, (answer.url, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def names(document: dict) -> list[str]:
    return [item["server"]["name"] for item in document["servers"]]


def every_page(url: str, **params: str | int) -> list[dict]:
    pages = [listing(url, **params)]
    while "nextCursor" in pages[-1]["metadata"]:
        pages.append(listing(url, **params, cursor=pages[-1]["metadata"]["nextCursor"]))
        assert len(pages) < 100, "the cursor does not advance"
    return pages


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("version_path", ["v0.1", "v0"])
def test_paging_with_limit_5_yields_every_server_once(layer, catalog_lists, base, version_path):
    pages = every_page(f"{layer}/{base}{version_path}/servers", limit=5)
    seen = [name for page in pages for name in names(page)]
    assert seen == [item.name for item in catalog_lists[base]]
    # A full page has a cursor (the official rule), so a last page of 5 is followed by an empty one.
    assert len(pages) == len(seen) // 5 + 1
    for page in pages:
        assert page["metadata"]["count"] == len(page["servers"])
        assert len(page["servers"]) == 5 or (page is pages[-1] and len(page["servers"]) < 5)
    assert "nextCursor" not in pages[-1]["metadata"]


@pytest.mark.parametrize("base", BASES)
def test_a_full_last_page_has_a_cursor_to_an_empty_page(layer, catalog_lists, base):
    """The official registry sets nextCursor whenever a page is full (`len(results) >= limit`)."""
    listed = catalog_lists[base]
    last = listing(f"{layer}/{base}v0.1/servers", limit=len(listed))
    assert last["metadata"] == {"nextCursor": f"{listed[-1].name}:{listed[-1].version}", "count": len(listed)}
    after = listing(f"{layer}/{base}v0.1/servers", limit=len(listed), cursor=last["metadata"]["nextCursor"])
    assert after == {"servers": [], "metadata": {"count": 0}}


@pytest.mark.parametrize("base", BASES)
def test_without_parameters_the_official_default_page(layer, catalog_lists, base, default_site):
    answer = requests.get(f"{layer}/{base}v0.1/servers", timeout=10)
    expected = [item.name for item in catalog_lists[base]]
    assert names(answer.json()) == expected[:30]
    assert ("nextCursor" in answer.json()["metadata"]) == (len(expected) >= 30)
    # The static first page, which hosts without the layer serve, is the very same answer.
    assert answer.content == (default_site / base / "v0.1/servers/index.json").read_bytes()


@pytest.mark.parametrize("search", ["com.example.mcp/fetch", "GIT", "remote", "com.example.mcp/no-such", "%", "ünïcode"])
@pytest.mark.parametrize("base", BASES)
def test_search_is_a_case_insensitive_substring_of_the_name(layer, catalog_lists, base, search):
    found = [name for page in every_page(f"{layer}/{base}v0.1/servers", search=search, limit=100) for name in names(page)]
    assert found == [item.name for item in catalog_lists[base] if search.lower() in item.name.lower()]


def test_search_for_a_missing_name_with_limit_1_is_empty(layer):
    document = listing(f"{layer}/v0.1/servers", search="com.example.mcp/no-such", limit=1)
    assert document == {"servers": [], "metadata": {"count": 0}}


@pytest.mark.parametrize("base", BASES)
def test_version_filter(layer, catalog_lists, base):
    everything = [item.name for item in catalog_lists[base]]
    assert [n for p in every_page(f"{layer}/{base}v0.1/servers", version="latest") for n in names(p)] == everything
    for item in catalog_lists[base][:3]:
        found = [n for p in every_page(f"{layer}/{base}v0.1/servers", version=item.version) for n in names(p)]
        assert found == [other.name for other in catalog_lists[base] if other.version == item.version]
    assert listing(f"{layer}/{base}v0.1/servers", version="0.0.0-none")["servers"] == []


@pytest.mark.parametrize("base", BASES)
def test_updated_since(layer, catalog_lists, base):
    dates = sorted({item.updated for item in catalog_lists[base]})
    before, middle, after = dates[0] - dt.timedelta(days=1), dates[len(dates) // 2], dates[-1] + dt.timedelta(days=1)
    for since, shown in [
        (f"{before}T00:00:00Z", f"{before}"),
        (f"{middle}T00:00:00Z", f"{middle}"),
        (f"{middle}T01:30:00.5+02:00", f"{middle - dt.timedelta(days=1)}T23:30:00.5Z"),
        (f"{after}T00:00:00Z", f"{after}"),
    ]:
        found = [n for p in every_page(f"{layer}/{base}v0.1/servers", updated_since=since, limit=100) for n in names(p)]
        cut = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        expected = [i.name for i in catalog_lists[base]
                    if dt.datetime.combine(i.updated, dt.time(), tzinfo=dt.timezone.utc) > cut]
        assert found == expected, shown
    assert listing(f"{layer}/{base}v0.1/servers", updated_since=f"{after}T00:00:00Z")["metadata"] == {"count": 0}


@pytest.mark.parametrize("base", BASES)
def test_a_cursor_without_a_colon_starts_after_that_name(layer, catalog_lists, base):
    """The official registry reads such a cursor as a name alone (`server_name > $1`)."""
    listed = [item.name for item in catalog_lists[base]]
    after_third = listed[3:]
    assert names(listing(f"{layer}/{base}v0.1/servers", cursor=listed[2], limit=100)) == after_third
    assert names(listing(f"{layer}/{base}v0.1/servers", cursor=f"{listed[2]}:", limit=100)) == listed[2:]


@pytest.mark.parametrize(("count", "cursor"), [(29, None), (30, None), (31, "com.example.test/s29:1.0.0")])
def test_the_static_first_page_has_a_cursor_when_more_follow(count, cursor):
    """What a plain file server serves for the list has a cursor only when a page follows: it ignores
    `?cursor=`, so a cursor on a merely full page would send a client round the same page forever."""
    entries = [ListEntry(f"com.example.test/s{i:02}", "1.0.0", dt.date(2026, 1, 1), b"{}") for i in range(count)]
    assert json.loads(first_page(entries))["metadata"] == ({"count": min(count, 30)} | ({"nextCursor": cursor} if cursor else {}))


def test_filters_combine_with_paging(layer, catalog_lists):
    pages = every_page(f"{layer}/v0.1/servers", search="-", limit=2)
    assert [n for p in pages for n in names(p)] == [i.name for i in catalog_lists[""] if "-" in i.name]


class RawAnswer(NamedTuple):
    status_code: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def raw_listing(url: str, query: str) -> RawAnswer:
    """The list asked with `query` sent byte for byte (requests re-encodes a bad escape such as %zz)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}/v0.1/servers?{query}")
        answer = connection.getresponse()
        return RawAnswer(answer.status, answer.read())
    finally:
        connection.close()


def test_the_query_string_is_read_as_go_reads_it(layer, catalog_lists):
    """url.ParseQuery and Values.Get: the first of repeated parameters wins, "+" is a space,
    a pair with a bad escape or a semicolon is dropped; nginx and Apache alike."""
    everything = [item.name for item in catalog_lists[""]]
    first = raw_listing(layer, "search=fetch&search=git&limit=100")
    assert names(first.json()) == [name for name in everything if "fetch" in name] != []
    assert names(raw_listing(layer, "limit=1&limit=500").json()) == everything[:1]
    # An unencoded "+" in a zone offset is a space: no RFC 3339 date any more.
    assert raw_listing(layer, "updated_since=2026-02-01T00:00:00+01:00").status_code == 400
    assert raw_listing(layer, "updated_since=2026-02-01T00:00:00%2B01:00&limit=100").status_code == 200
    assert names(raw_listing(layer, "search=%2Fgit+&limit=100").json()) == []
    assert names(raw_listing(layer, "search=%zz&limit=1").json()) == everything[:1]
    assert names(raw_listing(layer, "limit=1;x&limit=2").json()) == everything[:2]


@pytest.mark.parametrize(("sent", "echoed"), [("%ff", "\ufffd"), ("%c0%ae", "\ufffd\ufffd"), ("%ed%a0%80", "\ufffd" * 3),
                                              ("a%e2%82", "a\ufffd\ufffd"), ("%f4%90%80%80x", "\ufffd" * 4 + "x"),
                                              ("%e2%80%a8%f0%9f%98%80%00", "\u2028\U0001f600\x00")])
def test_a_value_echoed_in_an_error_is_valid_json_whatever_its_bytes(layer, sent, echoed):
    """JSON is UTF-8: a value that is not (a stray %ff, an overlong form, a surrogate) comes back as
    Go's encoding/json writes it, each byte that starts no valid sequence as U+FFFD; valid text as sent."""
    for name in ("limit", "include_deleted"):
        answer = raw_listing(layer, f"{name}={sent}")
        assert answer.status_code == 422
        assert json.loads(answer.body.decode("utf-8"))["errors"][0]["value"] == echoed, (name, answer.body)


LIMIT = "query.limit"


@pytest.mark.parametrize(("params", "status", "body"), [
    ({"limit": "0"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                           "errors": [{"message": "expected number >= 1", "location": LIMIT, "value": 0}]}),
    ({"limit": "101"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                             "errors": [{"message": "expected number <= 100", "location": LIMIT, "value": 101}]}),
    ({"limit": "-3"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                            "errors": [{"message": "expected number >= 1", "location": LIMIT, "value": -3}]}),
    # strconv.ParseInt takes every 64-bit value, so the bounds answer for 19 digits; past them it is no integer.
    ({"limit": "9223372036854775807"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                                             "errors": [{"message": "expected number <= 100", "location": LIMIT,
                                                         "value": 9223372036854775807}]}),
    ({"limit": "-09223372036854775808"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                                               "errors": [{"message": "expected number >= 1", "location": LIMIT,
                                                           "value": -9223372036854775808}]}),
    ({"limit": "9223372036854775808"}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                                             "errors": [{"message": "invalid integer", "location": LIMIT,
                                                         "value": "9223372036854775808"}]}),
    ({"limit": "2.5", "include_deleted": "yes"}, 422, {
        "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
        "errors": [{"message": "invalid integer", "location": LIMIT, "value": "2.5"},
                   {"message": "invalid boolean", "location": "query.include_deleted", "value": "yes"}]}),
    ({"updated_since": "2026-02-30T00:00:00Z"}, 400, {
        "title": "Bad Request", "status": 400,
        "detail": "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)"}),
    ({"limit": ""}, 422, {"title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
                          "errors": [{"message": "invalid integer", "location": LIMIT, "value": ""}]}),
    ({"updated_since": ""}, 400, {
        "title": "Bad Request", "status": 400,
        "detail": "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)"}),
    ({"updated_since": "yesterday"}, 400, {
        "title": "Bad Request", "status": 400,
        "detail": "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)"}),
    *[({"updated_since": since}, 400, {
        "title": "Bad Request", "status": 400,
        "detail": "Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)"})
      for since in ("2026-02-01t00:00:00Z", "2026-02-01T00:00:00z", "2026-02-01t00:00:00+01:00")],
    *[({"updated_since": "2026-02-01T00:00:00Z", "include_deleted": false}, 400, {
        "title": "Bad Request", "status": 400,
        "detail": "Cannot set include_deleted=false when using updated_since (incremental sync requires deleted servers)"})
      for false in ("false", "0", "F")],
])
@pytest.mark.parametrize("base", ["", "registry/sandbox/"])
def test_invalid_parameters_get_the_official_error(layer, base, params, status, body):
    answer = requests.get(f"{layer}/{base}v0.1/servers", params=params, timeout=10)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json() == body


def test_updated_since_takes_include_deleted_true(layer):
    """Incremental sync includes deleted servers: `true` is what the official registry assumes anyway."""
    answer = requests.get(f"{layer}/v0.1/servers", params={"updated_since": "2026-02-01T00:00:00Z", "include_deleted": "true"},
                          timeout=10)
    assert answer.status_code == 200, answer.text


def lookup_urls(layer: str, catalog_lists: dict[str, list[Listed]]) -> list[str]:
    """Each kind of lookup at the root and a profile: a version (a file), `latest` (a copy left out), the
    versions list (composed), each also by its file's name."""
    urls = []
    for base in ("", "registry/sandbox/"):
        item = next(i for i in catalog_lists[base] if i.name == "com.example.mcp/fetch")
        server = f"{layer}/{base}v0.1/servers/{quote(item.name, safe='')}/versions"
        urls += [f"{server}/{item.version}", f"{server}/{item.version}/index.json", f"{server}/latest",
                 f"{server}/latest/index.json", server]
    return urls


def test_lookups_check_their_parameter(layer, catalog_lists):
    for url in lookup_urls(layer, catalog_lists):
        found = requests.get(url, params={"include_deleted": "true"}, timeout=10)
        assert found.status_code == 200, url
        refused = requests.get(url, params={"include_deleted": "perhaps"}, timeout=10)
        assert (refused.status_code, refused.headers["Content-Type"]) == (422, "application/problem+json"), url
        assert refused.json()["errors"] == [{"message": "invalid boolean", "location": "query.include_deleted", "value": "perhaps"}]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("slash", ["%2F", "/"])
def test_old_v0_latest_lookup(layer, base, slash):
    found = requests.get(f"{layer}/{base}v0/servers/com.example.mcp{slash}fetch", timeout=10)
    assert found.status_code == 200 and found.json()["server"]["name"] == "com.example.mcp/fetch"
    missing = requests.get(f"{layer}/{base}v0/servers/com.example.mcp{slash}no-such", timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "Not found"}


def test_only_get_is_served(layer, catalog_lists):
    """The list and every lookup: GET and HEAD only (the OPTIONS preflight aside), a 405 with the API's JSON else."""
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for url in [f"{layer}/v0.1/servers", *lookup_urls(layer, catalog_lists)]:
            answer = requests.request(method, url, json={}, timeout=10)
            assert answer.status_code == 405, (method, url, answer.status_code)
            assert answer.json()["title"] == "Method Not Allowed", (method, url)
    for url in lookup_urls(layer, catalog_lists):
        assert requests.head(url, timeout=10).status_code == 200, url
        assert requests.options(url, headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
                                timeout=10).status_code == 204, url


def test_a_new_index_is_answered_without_a_reload(default_site, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(default_site, site)
    with nginx_serving(site, tmp_path / "nginx") as url:
        assert listing(f"{url}/v0.1/servers", search="fetch")["metadata"]["count"] > 0
        replacement = query_index([ListEntry("com.example.new/fetcher", "2.0.0", dt.date(2026, 1, 1),
                                             b'{"server":{"name":"com.example.new/fetcher"},"_meta":{}}')])
        staged = site / "v0.1/servers/query.idx.new"
        staged.write_bytes(bytes(replacement))
        os.replace(staged, site / "v0.1/servers/query.idx")
        assert names(listing(f"{url}/v0.1/servers", search="fetch")) == ["com.example.new/fetcher"]
