"""The MCP mirror's copies: left out by default, answered by the query layer, written by `--hosting plain`.

`build` writes `versions/latest` only where the version has no folder of its own, a profile's
lookup documents only where they differ from the site root's (its policy withholds a tool), and
no one-server `versions` list (the version document wrapped in a ServerList). The shipped nginx
and Apache configurations answer the others from the one file, and compose the list, through
the base's index. Proven here against the full output (`--hosting plain`, every document a
file, each with the bytes builds before the cut wrote): every URL of the official API and its
/v0 alias, and each by its file's path (`.../index.json`), answers the same bytes from the cut
output, the composed list with the headers of the file it replaces; every spelling of a lookup,
and spellings that name no document, answer as under plain hosting (status, bytes, headers); a
profile never answers for a server it leaves out; and the cut output holds no two identical
lookup documents.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import pytest
import requests

from catalog_lists import BASES, catalog_lists
from webservers import apache_serving, nginx_serving

# A lookup document as `build` lays it out: {base}v0.1/servers/<ns>/<name>/versions[/<version>]/index.json.
LOOKUP = re.compile(r"^(?P<base>(?:registry/[a-z0-9-]+/)?)v0\.1/servers/(?P<name>[^/]+/[^/]+)/versions(?:/(?P<version>[^/]+))?/index\.json$")
# What the index of our own API lists changes with the files written; nothing else may.
INDEXES_OF_WRITTEN_FILES = {"api/v1/index.json", "api/v1/index.html", "files.txt"}


@pytest.fixture(scope="module", params=["nginx", "apache"])
def cut_site_url(request: pytest.FixtureRequest, default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default build (copies left out) behind each web server's shipped configuration."""
    serving = nginx_serving if request.param == "nginx" else apache_serving
    with serving(default_site, tmp_path_factory.mktemp(f"copies-{request.param}")) as url:
        yield url


def files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def lookup_documents(site: Path) -> dict[str, bytes]:
    return {path: data for path, data in files(site).items() if LOOKUP.match(path)}


def api_urls(path: str) -> list[str]:
    """The URLs a document answers: the v0.1 lookup with the name's slash as %2F (and a trailing slash, and its file's
    name after it), its /v0 alias, and for `latest` the old `GET /v0/servers/{name}`; the list's first page at `{base}v0.1/servers`."""
    lookup = LOOKUP.match(path)
    if lookup is None:
        base = path.removesuffix("v0.1/servers/index.json")
        return [f"{base}v0.1/servers", f"{base}v0/servers"] if path.endswith("v0.1/servers/index.json") else [path]
    base, name, version = lookup["base"], quote(lookup["name"], safe=""), lookup["version"]
    tail = f"{name}/versions" + (f"/{version}" if version else "")
    # The file's own path too: a mirror copy, wget or any static-file client asks for it.
    return [f"{base}v0.1/servers/{tail}", f"{base}v0.1/servers/{tail}/", f"{base}v0/servers/{tail}",
            f"{base}v0.1/servers/{tail}/index.json"] + ([f"{base}v0/servers/{name}"] if version == "latest" else [])


def versions_list(version_document: bytes) -> bytes:
    """The one-server list of a version document, as `build --hosting plain` writes it."""
    return b'{"servers":[' + version_document.removesuffix(b"\n") + b'],"metadata":{"count":1}}\n'


def test_the_full_output_is_the_cut_one_plus_copies(default_site: Path, plain_site: Path) -> None:
    cut, full = files(default_site), files(plain_site)
    assert set(cut) <= set(full)
    assert sorted(p for p in cut if cut[p] != full[p]) == sorted(INDEXES_OF_WRITTEN_FILES)
    left_out = sorted(set(full) - set(cut))
    assert left_out and all(LOOKUP.match(path) for path in left_out), left_out[:5]
    kept = defaultdict(list)
    for path, data in lookup_documents(default_site).items():
        kept[data].append(path)
    lists = [path for path in left_out if LOOKUP.match(path)["version"] is None]
    assert len(lists) == sum(1 for path in full if path.endswith("/versions/latest/index.json")), "a versions list was written"
    for path in lists:
        assert full[path] == versions_list(full[path.replace("/versions/", "/versions/latest/")]), path
    for path in set(left_out) - set(lists):
        assert full[path] in kept, f"{path} was left out, but no document written has its bytes"


def test_no_two_lookup_documents_are_the_same_bytes(default_site: Path) -> None:
    by_content = defaultdict(list)
    for path, data in lookup_documents(default_site).items():
        by_content[hashlib.sha256(data).hexdigest()].append(path)
    assert [paths for paths in by_content.values() if len(paths) > 1] == []


def test_latest_is_left_out_only_where_the_version_has_a_folder(default_site: Path) -> None:
    documents = lookup_documents(default_site)
    latest = [path for path in documents if path.endswith("/versions/latest/index.json")]
    with_folder = {path.rsplit("/", 2)[0] for path in documents if LOOKUP.match(path)["version"] not in {None, "latest"}}
    assert all(path.removesuffix("/latest/index.json") not in with_folder for path in latest)


def mirror_documents(full_site: Path) -> dict[str, bytes]:
    return {path: data for path, data in files(full_site).items()
            if path.startswith(("v0.1/", "registry/")) or path.endswith("openapi.yaml")}


def wrong_answers(site_url: str, full_site: Path) -> list[tuple[str, int, str]]:
    """Every URL of every mirror document of `full_site` whose answer at `site_url` is not that document's bytes."""
    wrong = []
    with requests.Session() as session:
        for path, data in sorted(mirror_documents(full_site).items()):
            for url in api_urls(path):
                answer = session.get(f"{site_url}/{url}", timeout=10)
                if answer.status_code != 200 or answer.content != data:
                    wrong.append((url, answer.status_code, answer.text[:80]))
    return wrong


def test_every_document_url_answers_the_full_outputs_bytes(cut_site_url: str, plain_site: Path) -> None:
    """Every document of the MCP mirror (lookups, lists, OpenAPI descriptions), at every base and
    through every URL a client uses for it, served from the cut output under the shipped config."""
    assert sum(1 for path in mirror_documents(plain_site) if path.endswith("/versions/latest/index.json")) > 36
    assert wrong_answers(cut_site_url, plain_site) == []


@pytest.mark.parametrize("serving", [nginx_serving, apache_serving], ids=["nginx", "apache"])
def test_a_version_without_a_folder_keeps_its_latest_document(serving, write_tree, tmp_path: Path) -> None:
    """`1.0~rc1` (a Debian-style pre-release) is no folder name: `latest` is the only version document, written at the root and
    answered from there for the profiles that keep every tool."""
    from conftest import FETCH_YAML
    from generator.build import build

    source = write_tree({"fetch.yaml": FETCH_YAML.replace("version: 1.0.3", "version: 1.0~rc1")})
    cut, full = tmp_path / "cut" / "site", tmp_path / "full" / "site"
    build(source, cut, use_cache=False, cache_dir=tmp_path / "cache-cut")
    build(source, full, hosting="plain", use_cache=False, cache_dir=tmp_path / "cache-full")
    assert sorted(lookup_documents(cut)) == ["v0.1/servers/com.example.test/fetch/versions/latest/index.json"]
    assert len(lookup_documents(full)) == 6
    (tmp_path / "server").mkdir()
    with serving(cut, tmp_path / "server") as url:
        assert wrong_answers(url, full) == []


@pytest.mark.parametrize("serving", [nginx_serving, apache_serving], ids=["nginx", "apache"])
def test_a_version_without_a_folder_answers_at_its_own_url(serving, write_tree, tmp_path: Path) -> None:
    """The official registry answers `versions/<version>` for every version it lists (an exact match):
    a version with no folder of its own is answered from `latest`, at every base, in both builds, through
    every spelling of its URL (`~` and `%7E`, a trailing slash, the file's name, the /v0 alias)."""
    from conftest import FETCH_YAML
    from generator.build import build

    source = write_tree({"fetch.yaml": FETCH_YAML.replace("version: 1.0.3", "version: 1.0~rc1")})
    for hosting in ("query-layer", "plain"):
        site = tmp_path / hosting / "site"
        build(source, site, hosting=hosting, use_cache=False, cache_dir=tmp_path / f"cache-{hosting}")
        (tmp_path / f"server-{hosting}").mkdir()
        with serving(site, tmp_path / f"server-{hosting}") as url, KeptAlive(url) as client:
            for base in ("", "registry/production/", "registry/sandbox/"):
                latest = client.ask("GET", f"{base}v0.1/servers/com.example.test%2Ffetch/versions/latest")
                assert latest.status == 200 and b'"version":"1.0~rc1"' in latest.body
                for spelling in ("v0.1/servers/com.example.test%2Ffetch/versions/1.0~rc1",
                                 "v0.1/servers/com.example.test%2Ffetch/versions/1.0%7Erc1",
                                 "v0.1/servers/com.example.test%2Ffetch/versions/1.0~rc1/",
                                 "v0.1/servers/com.example.test%2Ffetch/versions/1.0~rc1/index.json",
                                 "v0.1/servers/com.example.test/fetch/versions/1.0%7erc1",
                                 "v0/servers/com.example.test%2Ffetch/versions/1.0%7Erc1"):
                    answer = client.ask("GET", f"{base}{spelling}")
                    assert (answer.status, answer.body) == (200, latest.body), (hosting, base, spelling)
                assert client.ask("GET", f"{base}v0.1/servers/com.example.test%2Ffetch/versions/1.0~rc2").status == 404


@pytest.mark.parametrize("base", BASES[1:])
def test_a_profile_never_answers_for_a_server_it_leaves_out(cut_site_url: str, default_site: Path, base: str) -> None:
    """The fallback to the site root's files is bounded by the profile's own index: a server the
    root lists and the profile does not is a 404 at every lookup URL under the profile."""
    lists = catalog_lists()
    admitted = {item.name for item in lists[base]}
    left_out = [item for item in lists[""] if item.name not in admitted]
    assert left_out, f"{base} admits every server: nothing to check"
    for item in left_out:
        name = quote(item.name, safe="")
        assert (default_site / f"v0.1/servers/{item.name}/versions/{item.version}/index.json").is_file()
        for url in (f"v0.1/servers/{name}/versions", f"v0.1/servers/{name}/versions/", f"v0.1/servers/{name}/versions/index.json",
                    f"v0/servers/{name}/versions", f"v0.1/servers/{name}/versions/latest",
                    f"v0.1/servers/{name}/versions/latest/index.json", f"v0.1/servers/{item.name}/versions/latest/index.json",
                    f"v0.1/servers/{name}/versions/{item.version}", f"v0.1/servers/{name}/versions/{item.version}/index.json",
                    f"v0/servers/{name}/versions/{item.version}/index.json", f"v0/servers/{name}",
                    f"v0.1/servers/{item.name}/versions/latest"):
            answer = requests.get(f"{cut_site_url}/{base}{url}", timeout=10)
            assert (answer.status_code, answer.json()) == (404, {"error": "Not found"}), (base, url)


@pytest.mark.parametrize("url", ["v0.1/servers/com.example.mcp%2Ffetch/versions/9.9.9",
                                 "v0.1/servers/com.example.mcp%2Fno-such/versions",
                                 "registry/no-such/v0.1/servers/com.example.mcp%2Ffetch/versions",
                                 "registry/production/v0.1/servers/com.example.mcp%2Ffetch/versions/9.9.9",
                                 "registry/no-such/v0.1/servers/com.example.mcp%2Ffetch/versions/latest",
                                 "registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch%2Fextra/versions/latest",
                                 "v0.1/servers/com.example.mcp%2Ffetch/versions/9.9.9/index.json",
                                 "registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch/versions/latest/index.json/extra",
                                 "registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch/versions/index.json/index.json",
                                 "v0.1/servers/com.example.mcp%2Ffetch/versions/index.json/",
                                 "registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch/versions/index.json/",
                                 "registry/no-such/v0.1/servers/com.example.mcp%2Ffetch/versions/latest/index.json"])
def test_other_versions_and_bases_are_not_found(cut_site_url: str, url: str) -> None:
    answer = requests.get(f"{cut_site_url}/{url}", timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"error": "Not found"}), url


# What may follow `{base}v0.1/servers/<name>/versions[/<version>]` in a request: nothing, a slash, the
# document's file name (how a mirror copy, wget or a static-file client names it), and forms that
# name no document, which must stay a 404 wherever plain hosting answers 404.
AFTER_A_LOOKUP = ("", "/", "/index.json", "/index.json/", "/index.json/extra", "/index.json/index.json", "/extra",
                  "/extra/index.json", "//index.json")


def lookup_requests(full_site: Path) -> list[str]:
    """Every form of every lookup of the full output at every base, the profiles' answers for the
    servers they leave out included (each server and version the site root has, under each profile)."""
    lookups = sorted({(m["name"], m["version"]) for path in files(full_site) if (m := LOOKUP.match(path))},
                     key=lambda lookup: (lookup[0], lookup[1] or ""))
    urls = []
    for base in BASES:
        for name, version in lookups:
            tail = "versions" + (f"/{version}" if version else "")
            urls += [f"{base}v0.1/servers/{quote(name, safe='')}/{tail}{after}" for after in AFTER_A_LOOKUP]
            urls += [f"{base}v0.1/servers/{name}/{tail}/index.json", f"{base}v0/servers/{quote(name, safe='')}/{tail}/index.json"]
    return urls


class Answer(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


class KeptAlive:
    """One kept-alive HTTP/1.1 connection to a site, asking as a registry client does (GET and HEAD,
    gzip accepted and undone). `requests` spends about 2 ms of CPU on each request: the thousands
    of lookups compared here took half a minute per web server through it."""

    def __init__(self, site_url: str) -> None:
        parts = urlsplit(site_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def __enter__(self) -> "KeptAlive":
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.close()

    def ask(self, method: str, url: str) -> Answer:
        headers = {"Accept-Encoding": "identity" if method == "HEAD" else "gzip, deflate"}
        for attempt in (1, 2):
            try:
                self.connection.request(method, f"{self.prefix}/{url}", headers=headers)
                response = self.connection.getresponse()
                body = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the kept-alive connection (nginx after 1,000 requests): ask again on a new one.
                self.connection.close()
                if attempt == 2:
                    raise
        found: dict[str, str] = {}
        for name, value in response.getheaders():
            found[name] = f"{found[name]}, {value}" if name in found else value
        if response.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return Answer(response.status, body, found)


@pytest.fixture(scope="module", params=["nginx", "apache"])
def cut_and_full_urls(request: pytest.FixtureRequest, default_site: Path, plain_site: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The default build and the `--hosting plain` one, each behind the same web server's shipped configuration."""
    serving = nginx_serving if request.param == "nginx" else apache_serving
    with (serving(default_site, tmp_path_factory.mktemp(f"cut-{request.param}")) as cut,
          serving(plain_site, tmp_path_factory.mktemp(f"full-{request.param}")) as full):
        yield cut, full


def test_every_form_of_every_lookup_answers_as_plain_hosting(cut_and_full_urls: tuple[str, str], plain_site: Path) -> None:
    """Status, bytes and headers (`comparable`) of each lookup URL, with and without its file's name and a trailing
    slash, at the site root and under each profile: the query layer answers where the file was cut exactly as the
    file does in the full output, and is a 404 wherever the full output is (a server the profile leaves out, a
    suffix after the document's file, a version not listed)."""
    cut, full = cut_and_full_urls
    urls = lookup_requests(plain_site)
    assert len(urls) > 3000 and any("/versions/latest/index.json" in url for url in urls)
    # HEAD as in test_the_composed_list_has_the_headers_of_the_file_it_replaces: uncompressed.
    asked = [("GET", url) for url in urls] + [("HEAD", url) for url in urls if url.endswith("/index.json")]
    different, statuses = [], set()
    with KeptAlive(cut) as at_cut, KeptAlive(full) as at_full:
        for method, url in asked:
            answers = [site.ask(method, url) for site in (at_cut, at_full)]
            statuses.add(answers[1].status)
            if len({(a.status, a.body, tuple(sorted(comparable(method, a.headers).items()))) for a in answers}) > 1:
                different.append((method, url, answers[0].status, answers[1].status))
    assert different == []
    assert statuses == {200, 404}


# The composed list is answered at the moment it is asked for: only the shape of its date and tag is
# the file's (nginx: "<mtime>-<length>", W/ when compressed; Apache: "<length>-<mtime>", -gzip when
# compressed). Accept-Ranges is the one header a file has and the composed list has not: the
# layer serves no byte ranges, which no registry client asks for; nor Vary in the answer to HEAD,
# for which neither server runs its compression under a Lua handler (docs/api.md; so HEAD is
# compared uncompressed).
def comparable(method: str, headers: Mapping[str, str]) -> dict[str, str]:
    shapes = {"date": lambda _: "<date>", "last-modified": lambda _: "<date>",
              "etag": lambda tag: re.sub(r"[0-9a-f]+", "<hex>", tag), "keep-alive": lambda _: "<connection>"}
    left_out = {"accept-ranges"} | ({"vary"} if method == "HEAD" else set())
    kept = {name.lower(): value for name, value in headers.items() if name.lower() not in left_out}
    return {name: shapes.get(name, str)(value) for name, value in kept.items()}


@pytest.mark.parametrize("serving", [nginx_serving, apache_serving], ids=["nginx", "apache"])
def test_the_composed_list_has_the_headers_of_the_file_it_replaces(serving, default_site: Path, plain_site: Path,
                                                                   tmp_path: Path) -> None:
    """Served at the URLs the file was; type, length, compression, CORS and security headers as
    the file's; dated by the version document it wraps, so conditional requests are answered 304
    as for a file."""
    (tmp_path / "cut").mkdir()
    (tmp_path / "full").mkdir()
    with serving(default_site, tmp_path / "cut") as cut, serving(plain_site, tmp_path / "full") as full:
        for form in ("versions", "versions/", "versions//", "versions/index.json", "versions/index.json/", "versions/index.json/x"):
            url = f"registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch/{form}"
            statuses = [requests.get(f"{site}/{url}", timeout=10).status_code for site in (cut, full)]
            assert statuses[0] == statuses[1], (url, statuses)
        for url in ("v0.1/servers/com.example.mcp%2Ffetch/versions", "registry/sandbox/v0.1/servers/com.example.mcp%2Ffetch/versions/"):
            for method, encoding in (("GET", "identity"), ("GET", "gzip"), ("HEAD", "identity")):
                composed, static = (requests.request(method, f"{site}/{url}", headers={"Accept-Encoding": encoding}, timeout=10)
                                    for site in (cut, full))
                assert (composed.status_code, composed.content) == (static.status_code, static.content), (url, encoding)
                assert comparable(method, composed.headers) == comparable(method, static.headers), (url, method, encoding)
            answer = requests.get(f"{cut}/{url}", timeout=10)
            document = requests.get(f"{cut}/{url.rstrip('/')}/latest", timeout=10)
            assert answer.headers["Last-Modified"] == document.headers["Last-Modified"], url
            for condition in ({"If-None-Match": answer.headers["ETag"]}, {"If-Modified-Since": answer.headers["Last-Modified"]}):
                assert requests.get(f"{cut}/{url}", headers=condition, timeout=10).status_code == 304, (url, condition)
            assert requests.get(f"{cut}/{url}", headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200, url


def test_a_rebuild_with_the_other_hosting_mode_writes_or_removes_the_copies(write_tree, tmp_path: Path) -> None:
    """`--hosting` is part of the build's key: a cached rebuild in the other mode is the cold build of that mode."""
    from generator.build import build

    source = write_tree()
    cold = {mode: tmp_path / f"cold-{mode}" / "site" for mode in ("query-layer", "plain")}
    for mode, out in cold.items():
        build(source, out, hosting=mode, use_cache=False, cache_dir=tmp_path / f"cache-cold-{mode}")
    assert len(files(cold["plain"])) > len(files(cold["query-layer"]))
    out = tmp_path / "rebuilt" / "site"
    for mode in ("query-layer", "plain", "query-layer"):
        report = build(source, out, hosting=mode, cache_dir=tmp_path / "cache")
        assert files(out) == files(cold[mode]), mode
        assert report.files == len(files(out)), mode


def test_the_build_command_takes_the_hosting_mode_and_counts_the_files_it_wrote(write_tree, runner, tmp_path: Path) -> None:
    from generator.cli import main

    source = write_tree()
    for mode in ("query-layer", "plain"):
        out = tmp_path / mode / "site"
        result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out), "--hosting", mode])
        assert result.exit_code == 0, result.output
        assert f"({len(files(out))} files" in result.output, result.output
        latest = list(out.glob("v0.1/servers/*/*/versions/latest/index.json"))
        assert len(latest) == (2 if mode == "plain" else 0), mode
