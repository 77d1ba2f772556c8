"""What a web server administrator checks after installing the shipped configs, on real nginx and Apache.

The home page at the prefix, with and without its slash; a page's folder asked for without its
slash redirected to it (where its relative links resolve), the query and the sub-path kept;
nothing of the document root outside the site served; the site at the root of a host; each
kind of file's type and compression; a rebuild seen at once.
"""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conftest import DEFAULT_SOURCE
from webservers import PREFIX, apache_serving, nginx_serving

SECRET = b"a file beside the site in the document root"
LOOKUP = "/v0.1/servers/com.example.mcp%2Ffetch/versions/latest"


SERVING = {"nginx": nginx_serving, "apache": apache_serving}


@pytest.fixture(scope="module", params=sorted(SERVING))
def site_url(request: pytest.FixtureRequest, default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with SERVING[request.param](default_site, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="module")
def nginx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nginx-alone")


@pytest.fixture(scope="module")
def nginx(default_site: Path, nginx_root: Path) -> Iterator[str]:
    with nginx_serving(default_site, nginx_root) as url:
        yield url


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, allow_redirects=False, timeout=10)


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no dot-segment or escape clean-up on the client's side)."""
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_the_home_page_answers_at_the_prefix(site_url: str, default_site: Path) -> None:
    answer = get(f"{site_url}/")
    assert answer.status_code == 200, answer.headers
    assert answer.content == (default_site / "index.html").read_bytes()


@pytest.mark.parametrize(("asked", "moved_to"), [
    ("", "/"), ("?q=kube", "/?q=kube"), ("/servers/fetch", "/servers/fetch/"), ("/tools?x=1", "/tools/?x=1"),
    ("/registries/production", "/registries/production/")])
def test_a_folder_without_its_slash_is_redirected_within_the_prefix(site_url: str, asked: str, moved_to: str) -> None:
    """Served without the redirect, a page's "../../assets/site.css" would resolve above the prefix."""
    answer = get(site_url + asked)
    assert answer.status_code == 301, (asked, answer.status_code)
    location = urlsplit(answer.headers["Location"])
    assert (location.path + (f"?{location.query}" if location.query else "")) == PREFIX + moved_to


@pytest.mark.parametrize("folder", ["/v0.1/servers", "/api/v1", "/registry/production/v0.1/servers"])
def test_an_api_folder_answers_without_a_redirect(site_url: str, folder: str) -> None:
    answer = get(site_url + folder)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json"), folder


def test_nginx_redirects_name_the_path_not_its_own_host(nginx: str) -> None:
    """Behind a proxy or TLS terminator, nginx's own http://host:port would send clients around it."""
    answer = get(nginx, Host="intranet.example")
    assert answer.status_code == 301 and answer.headers["Location"] == f"{PREFIX}/"


@pytest.mark.parametrize("path", ["/outside.txt", "/dist/release.key", f"{PREFIX}/../outside.txt",
                                  f"{PREFIX}/..%2foutside.txt", f"{PREFIX}/api/v1/..%2f..%2f..%2fdist/release.key",
                                  f"{PREFIX}x/../outside.txt"])
def test_nginx_serves_nothing_of_the_document_root_outside_the_site(nginx: str, nginx_root: Path, path: str) -> None:
    """The config's @DOCROOT@ is the site's parent folder (/srv/www for /srv/www/catalog): other files live there."""
    docroot = nginx_root / "docroot"
    (docroot / "outside.txt").write_bytes(SECRET)
    (docroot / "dist").mkdir(exist_ok=True)
    (docroot / "dist" / "release.key").write_bytes(SECRET)
    status, body = raw_get(nginx, path)
    assert status == 404 and SECRET not in body, (path, status)


@pytest.fixture(scope="module", params=sorted(SERVING))
def at_root(request: pytest.FixtureRequest, default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site served at the root of the host (an empty @PREFIX@)."""
    with SERVING[request.param](default_site, tmp_path_factory.mktemp(f"{request.param}-root"), prefix="") as url:
        yield url


@pytest.mark.parametrize(("path", "kind"), [("/", "text/html"), ("/servers/fetch/", "text/html"),
                                            ("/v0.1/servers?limit=2", "application/json"), (LOOKUP, "application/json"),
                                            ("/v0/servers/com.example.mcp%2Ffetch", "application/json")])
def test_the_site_at_the_root_of_a_host(at_root: str, path: str, kind: str) -> None:
    answer = get(at_root + path)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind), (path, answer.status_code)


def test_the_site_at_the_root_of_a_host_answers_misses(at_root: str) -> None:
    page = get(f"{at_root}/nope/")
    assert page.status_code == 404 and 'href="/assets/site.css"' in page.text
    assert get(f"{at_root}/api/nope.json").json() == {"error": "Not found"}
    moved = get(f"{at_root}/servers/fetch")
    assert moved.status_code == 301 and urlsplit(moved.headers["Location"]).path == "/servers/fetch/"


# What a file is and how it travels: (path, types either server may name it by, compressed when asked).
FILES = [
    ("/index.html", {"text/html; charset=utf-8"}, True),
    ("/api/v1/servers.json", {"application/json; charset=utf-8"}, True),
    ("/openapi.yaml", {"application/yaml; charset=utf-8"}, True),
    ("/assets/search.js", {"application/javascript; charset=utf-8", "text/javascript; charset=utf-8"}, True),
    ("/assets/site.css", {"text/css; charset=utf-8"}, True),
    ("/reviews/reviews.csv", {"text/csv; charset=utf-8"}, True),
    ("/mirror/skopeo-copy.txt", {"text/plain; charset=utf-8"}, True),
    ("/bundles/registries/sandbox/all.yaml", {"application/yaml; charset=utf-8"}, True),
]


@pytest.mark.parametrize(("path", "types", "compressed"), FILES)
def test_each_kind_of_file_has_its_type_and_compression(site_url: str, default_site: Path, path: str,
                                                        types: set[str], compressed: bool) -> None:
    """Every file here is over 1 KB: text goes gzipped to a client accepting it."""
    answer = get(site_url + path, **{"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] in types, (path, answer.headers)
    assert (answer.headers.get("Content-Encoding") == "gzip") == compressed, (path, answer.headers)
    assert answer.content == (default_site / path.lstrip("/")).read_bytes()


def test_a_bundle_is_served_in_ranges(site_url: str, default_site: Path) -> None:
    """An interrupted download of a bundle resumes (wget -c, curl -C -: neither asks for gzip)."""
    whole = (default_site / "bundles/registries/sandbox/all.yaml").read_bytes()
    answer = get(f"{site_url}/bundles/registries/sandbox/all.yaml", Range="bytes=1000-1999", **{"Accept-Encoding": "identity"})
    assert answer.status_code == 206 and answer.content == whole[1000:2000]
    assert answer.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"


def test_nginx_serves_a_rebuilt_site_at_once_under_an_open_file_cache(tmp_path: Path) -> None:
    """`build` swaps in a new tree; nginx's open_file_cache, common in an administrator's `http { }`,
    kept serving the files it had open in the old one (a stale page beside new ones) until it
    looked again."""
    from generator.build import build

    source, site = tmp_path / "source", tmp_path / "site"
    shutil.copytree(DEFAULT_SOURCE, source)
    build(source, site)
    tuning = "open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s;"
    with nginx_serving(site, tmp_path / "nginx", tuning=tuning) as url:
        before = get(f"{url}/servers/fetch/index.html").content
        assert get(f"{url}/servers/fetch/index.html").content == before  # now held open
        server = source / "servers" / "fetch.yaml"
        server.write_text(server.read_text(encoding="utf-8").replace("\ndescription: ", "\ndescription: Rebuilt. ", 1),
                          encoding="utf-8")
        build(source, site)
        now = (site / "servers" / "fetch" / "index.html").read_bytes()
        assert now != before and b"Rebuilt." in now
        assert get(f"{url}/servers/fetch/index.html").content == now
