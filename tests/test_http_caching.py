"""Validators and Cache-Control, on real nginx and Apache with the shipped configs.

Every answer carries `Cache-Control: no-cache` (no file name changes with its content, so a browser
must ask again before it reuses a page, the search data or a stylesheet: it never combines two
releases) and a validator, so that asking again costs a 304 without body. The answers of the Lua
query layer (the list, with or without a query, and Apache's list file) have a strong ETag made
from the base's index and the query: the same after a rebuild that writes the same index, another
after one that changes the list, and the same under both web servers. An nginx caching proxy in
front, set as docs/api.md says, stores them and revalidates them with the origin.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import DEFAULT_SOURCE
from webservers import PREFIX, apache_serving, nginx_serving, small_nginx

FETCH = "com.example.mcp%2Ffetch"

# One request per kind of answer: pages, the assets that change with the catalog and those that
# change only with the program, our API, the ToolHive and MCP documents, the Lua layer's answers
# (lists, composed list, lookups it redirects), a bundle.
KINDS = ["/", "/servers/fetch/", "/assets/search-index.js", "/assets/search.js", "/assets/site.css",
         "/assets/noscript.css", "/api/v1/servers.json", "/registry.json", "/openapi.yaml",
         "/v0.1/servers", "/v0.1/servers/", "/v0.1/servers/index.json", "/v0.1/servers?limit=5",
         "/registry/production/v0.1/servers?search=git", f"/v0.1/servers/{FETCH}/versions",
         f"/v0.1/servers/{FETCH}/versions/latest", f"/registry/sandbox/v0.1/servers/{FETCH}/versions/latest",
         f"/v0/servers/{FETCH}", "/v0/servers?search=fetch", "/bundles/registries/sandbox/all.yaml"]

# The answers the query layer writes itself under both servers (on nginx, the list's file is a file).
LISTS = ["/v0.1/servers", "/v0.1/servers/", "/v0.1/servers?limit=5", "/v0.1/servers?search=GIT&limit=100",
         "/registry/production/v0.1/servers?search=git", "/registry/sandbox/v0.1/servers?cursor=com.example.mcp%2Ffetch",
         "/v0/servers?updated_since=2026-01-01T00:00:00Z"]


@pytest.fixture(scope="module")
def servers(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with (nginx_serving(default_site, tmp_path_factory.mktemp("nginx")) as nginx,
          apache_serving(default_site, tmp_path_factory.mktemp("apache")) as apache):
        yield {"nginx": nginx, "apache": apache}


@pytest.fixture(scope="module", params=["nginx", "apache"])
def site_url(request: pytest.FixtureRequest, servers: dict[str, str]) -> str:
    return servers[request.param]


def get(url: str, method: str = "GET", **headers: str) -> requests.Response:
    """Uncompressed unless asked: compressed, nginx marks a tag weak and Apache suffixes it."""
    return requests.request(method, url, headers={"Accept-Encoding": "identity", **headers}, allow_redirects=False,
                            timeout=10)


@pytest.mark.parametrize("path", KINDS)
def test_every_kind_of_answer_is_revalidated_and_has_a_validator(site_url: str, path: str) -> None:
    answer = get(site_url + path)
    assert answer.status_code == 200, (path, answer.status_code)
    assert answer.headers.get("Cache-Control") == "no-cache", (path, answer.headers)
    assert answer.headers.get("ETag") and answer.headers.get("Last-Modified"), (path, answer.headers)
    again = get(site_url + path, **{"If-None-Match": answer.headers["ETag"]})
    assert (again.status_code, again.content) == (304, b""), (path, again.status_code)
    assert again.headers.get("Cache-Control") == "no-cache", (path, again.headers)


def test_a_missing_page_is_not_reused_either(site_url: str) -> None:
    for path in ("/nope/", "/api/nope.json", "/v0.1/servers/com.example.mcp%2Fnope/versions/latest"):
        answer = get(site_url + path)
        assert answer.status_code == 404 and answer.headers.get("Cache-Control") == "no-cache", (path, answer.headers)


@pytest.mark.parametrize("path", LISTS)
def test_a_list_the_layer_answers_has_a_strong_stable_tag_and_answers_304(site_url: str, path: str) -> None:
    """A client polling the list (an MCP Registry client, ToolHive's registry server, a proxy
    revalidating) gets a 304 and no body while the list is unchanged: by its tag, compressed or not,
    by its date, for GET and HEAD."""
    first, second = get(site_url + path), get(site_url + path)
    tag, modified = first.headers.get("ETag"), first.headers.get("Last-Modified")
    assert first.status_code == 200 and tag and tag.startswith('"') and modified, (path, first.headers)
    assert (second.headers["ETag"], second.headers["Last-Modified"], second.content) == (tag, modified, first.content)
    compressed = get(site_url + path, **{"Accept-Encoding": "gzip"})
    assert compressed.headers.get("Content-Encoding") == "gzip" and compressed.content == first.content, path
    for method, condition in [("GET", {"If-None-Match": tag}), ("HEAD", {"If-None-Match": tag}),
                              ("GET", {"If-None-Match": f'"other", {compressed.headers["ETag"]}'}),
                              ("GET", {"If-None-Match": "*"}), ("GET", {"If-Modified-Since": modified})]:
        kept = get(site_url + path, method, **condition)
        assert (kept.status_code, kept.content) == (304, b""), (path, method, condition, kept.status_code)
        assert (kept.headers.get("ETag"), kept.headers.get("Last-Modified")) == (tag, modified), (path, kept.headers)
    for condition in ({"If-None-Match": '"other"'}, {"If-None-Match": '"other"', "If-Modified-Since": modified},
                      {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:01 GMT"}):
        changed = get(site_url + path, **condition)
        assert (changed.status_code, changed.content) == (200, first.content), (path, condition)


def test_the_layer_tags_a_list_alike_under_both_servers_and_by_its_query(servers: dict[str, str]) -> None:
    """The tag is the layer's, not the server's: a client moved between nginx and Apache keeps its
    copies. Two spellings of one query are one list; two queries, two tags."""
    tags = {path: {get(url + path).headers["ETag"] for url in servers.values()} for path in LISTS}
    assert all(len(both) == 1 for both in tags.values()), tags
    assert len({tag for both in tags.values() for tag in both}) == len(LISTS) - 1  # "/v0.1/servers" and ".../"
    url = servers["nginx"]
    assert (get(f"{url}/v0.1/servers?search=Git&limit=030&extra=1").headers["ETag"]
            == get(f"{url}/v0.1/servers?limit=30&search=git").headers["ETag"])


def rebuild(source: Path, site: Path, **options: object) -> None:
    from generator.build import build

    build(source, site, **options)


def test_a_rebuild_changes_the_tag_exactly_when_it_changes_the_list(tmp_path: Path) -> None:
    """Served in place by both servers while it is rebuilt: a cached rebuild and a cold one of the
    same source keep every list's tag (a client keeps its copy: 304); an edit of a listed server
    changes the tags of the lists showing it, and the old tag then gets the new list."""
    readable = Path(tempfile.mkdtemp(prefix="mcp-catalog-caching-"))
    readable.chmod(0o755)
    try:
        source, site = tmp_path / "source", readable / "site"
        shutil.copytree(DEFAULT_SOURCE, source)
        rebuild(source, site)
        (tmp_path / "apache").mkdir()
        with (nginx_serving(site, tmp_path / "nginx") as nginx,
              apache_serving(site, tmp_path / "apache", in_place=True) as apache):
            paths = ["/v0.1/servers", "/v0.1/servers?search=fetch", "/registry/sandbox/v0.1/servers?limit=100"]
            before = {(url, path): get(url + path) for url in (nginx, apache) for path in paths}
            for options in ({}, {"use_cache": False}):
                rebuild(source, site, **options)
                for (url, path), answer in before.items():
                    kept = get(url + path, **{"If-None-Match": answer.headers["ETag"]})
                    assert kept.status_code == 304, (url, path, options)
            server = source / "servers" / "fetch.yaml"
            server.write_text(server.read_text(encoding="utf-8").replace("\ndescription: ", "\ndescription: Rebuilt. ", 1),
                              encoding="utf-8")
            rebuild(source, site)
            for (url, path), answer in before.items():
                now = get(url + path, **{"If-None-Match": answer.headers["ETag"]})
                assert now.status_code == 200 and b"Rebuilt." in now.content, (url, path, now.status_code)
                assert now.headers["ETag"] != answer.headers["ETag"], (url, path)
                assert get(url + path, **{"If-None-Match": now.headers["ETag"]}).status_code == 304, (url, path)
    finally:
        shutil.rmtree(readable, ignore_errors=True)


# What docs/api.md ("Caching") tells an administrator to add; `1s` stands for its lifetime.
PROXY_SETTINGS = "proxy_ignore_headers Cache-Control; proxy_cache_valid 200 1s; proxy_cache_revalidate on;"


@pytest.mark.parametrize("settings", ["", PROXY_SETTINGS], ids=["default", "documented"])
def test_an_nginx_caching_proxy_in_front(servers: dict[str, str], tmp_path: Path, settings: str) -> None:
    """nginx's proxy_cache stores no answer marked no-cache, validators or not: by default the
    proxy passes every request through, and a client's revalidation even becomes a full download
    (it drops the client's If-None-Match, and answers no 304 for what it did not store). With the
    documented settings it stores each answer for the lifetime given, then revalidates it with the
    origin's validators (a 304, no body), the Lua layer's lists as the files; its clients still get
    no-cache, and their revalidations a 304 from the proxy."""
    origin = servers["nginx"].removesuffix(PREFIX)
    location = (f"location / {{ proxy_pass {origin}; proxy_cache catalog; {settings}\n"
                "add_header X-Cache-Status $upstream_cache_status always; }")
    with small_nginx(tmp_path, location, http=f"proxy_cache_path {tmp_path}/cache keys_zone=catalog:1m;") as proxy:
        for path in ("/v0.1/servers?limit=3", "/assets/search-index.js"):
            statuses = [get(proxy + path).headers["X-Cache-Status"] for _ in range(2)]
            time.sleep(2.5)  # nginx expires an entry only once the second after its lifetime begins
            statuses.append(get(proxy + path).headers["X-Cache-Status"])
            assert statuses == (["MISS", "HIT", "REVALIDATED"] if settings else ["MISS"] * 3), (path, statuses)
            answer = get(proxy + path)
            assert answer.headers["Cache-Control"] == "no-cache"
            revalidated = get(proxy + path, **{"If-None-Match": answer.headers["ETag"]})
            assert revalidated.status_code == (304 if settings else 200), path


@pytest.mark.parametrize("path", ["", "/servers/%2e%2e/%2e%2e/", "/.git/config", "/servers/fetch"])
def test_answers_the_web_server_gives_before_the_site_folder_are_not_reused_either(site_url: str, path: str) -> None:
    """The prefix without its slash (301), a path climbing out of the site or a hidden file (403 or
    400), a page's folder without its slash (301): answered before any file is read, they carry
    no-cache too (Apache's headers sat in its <Directory>, which these answers never reach)."""
    answer = get(site_url + path)
    assert answer.status_code in (301, 400, 403, 404), (path, answer.status_code)
    assert answer.headers.get("Cache-Control") == "no-cache", (path, answer.status_code, answer.headers)
