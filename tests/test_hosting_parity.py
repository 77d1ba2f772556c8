"""nginx and Apache answer every request alike: one broad set of requests sent to both.

Both serve one copy of the default build under the sub-path `/catalog`, with dot-files and a
release's signature files added. Each request goes to each server byte for byte as written (no
client normalises its path), and each answer is compared as a client sees it: status, type,
the headers a browser, a cache or a CORS check acts on, and the body (a JSON body parsed; a
redirect's by its `Location`). What may differ is listed in `SERVER_OWN` and docs/api.md
("Serving it", "Where nginx and Apache differ").
"""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from webservers import PREFIX, apache_serving, nginx_serving

FETCH = "com.example.mcp%2Ffetch"
VERSION_OF_FETCH = "1.0.3"
SECRET = b"must never be served"

# Headers each server writes its own way, for the same meaning: the validators of a file (nginx
# "<mtime>-<length>", Apache "<length>-<mtime in microseconds>"; the layer's list tag is compared),
# framing (a length or chunks, the connection), and Accept-Ranges, which is advisory (both honour
# a Range on a file; nginx leaves the header out of a 304 and a compressed answer, Apache out of
# the list the query layer writes, its index.json included).
SERVER_OWN = {"date", "server", "etag", "content-length", "transfer-encoding", "connection", "keep-alive",
              "accept-ranges"}


@dataclass(frozen=True)
class Probe:
    """One request: `path` after the prefix (or from the host's root when it starts with "//"),
    sent as written. `conditional` names the validator header to send with the value the same
    server gave for a plain GET of the path."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    conditional: str = ""

    def __str__(self) -> str:
        extra = "".join(f" {k}:{v}" for k, v in self.headers) + (f" {self.conditional}" if self.conditional else "")
        return f"{self.method} {self.path}{extra}"


def mcp_requests(base: str) -> list[Probe]:
    """The MCP Registry API at one base ("" or "registry/<profile>/"): lists, lookups, errors."""
    servers = f"/{base}v0.1/servers"
    fetch = f"{servers}/{FETCH}/versions"
    lists = ["", "/", "/index.json", "?search=git", "?search=GIT&limit=3", "?limit=5", "?limit=5&cursor=com.example.mcp%2Ffetch%3A1.0.3",
             "?cursor=com.example.mcp%2Ffetch", "?cursor=zzz", "?updated_since=2026-02-01T00:00:00Z",
             "?updated_since=2026-02-01T00:00:00.5%2B01:00", "?version=latest", f"?version={VERSION_OF_FETCH}",
             "?include_deleted=true", "?limit=1&limit=500", "?search=%ff", "?unknown=1",
             # errors: the official 422 and 400 problem bodies
             "?limit=0", "?limit=101", "?limit=-1", "?limit=abc", "?limit=", "?limit=1.5", "?limit=%ff",
             "?limit=9223372036854775807", "?limit=9223372036854775808", "?limit=-9223372036854775808",
             "?limit=0000000000000000000005", "?limit=1234567890123456789", "?limit=99999999999999999999",
             "?cursor=1234567890123456789", "?cursor=99999999999999999999", "?include_deleted=maybe",
             "?updated_since=yesterday", "?updated_since=2026-02-01t00:00:00z",
             "?updated_since=2026-02-01T00:00:00Z&include_deleted=false", "?limit=0&include_deleted=x"]
    lookups = ["", "/", "/index.json", "/latest", "/latest/", "/latest/index.json", f"/{VERSION_OF_FETCH}",
               f"/{VERSION_OF_FETCH}/", f"/{VERSION_OF_FETCH}/index.json", "/9.9.9", "/index.json/index.json",
               f"/{VERSION_OF_FETCH}/index.json/extra", "/latest?include_deleted=nope", "?include_deleted=true"]
    probes = [Probe(servers + q) for q in lists] + [Probe(fetch + q) for q in lookups]
    probes += [Probe(p) for p in (
        f"{servers}/com.example.mcp/fetch/versions/latest", f"{servers}/com.example.mcp%2Fnope/versions",
        f"{servers}/com.example.mcp%2Fnope/versions/latest", f"{servers}/com.example.mcp", f"{servers}/com.example.mcp/",
        f"{servers}/{FETCH}", f"{servers}/{FETCH}/", f"{servers}/nothing", f"{servers}/query.idx",
        f"/{base}v0.1", f"/{base}v0.1/", f"/{base}v0.1/nothing", f"/{base}v0.2/servers", f"/{base}v0",
        f"/{base}v0/servers", f"/{base}v0/servers?search=fetch", f"/{base}v0/servers/{FETCH}",
        f"/{base}v0/servers/{FETCH}/versions/latest", f"/{base}openapi.yaml")]
    for path in (servers, f"{servers}?search=fetch", f"{fetch}", f"{fetch}/latest", f"{fetch}/{VERSION_OF_FETCH}"):
        probes += [Probe(path, "HEAD"), Probe(path, conditional="If-None-Match"),
                   Probe(path, conditional="If-Modified-Since"), Probe(path, "POST"), Probe(path, "OPTIONS"),
                   Probe(path, headers=(("Accept-Encoding", "gzip"),))]
    return probes


PROBES = [
    *mcp_requests(""),
    *mcp_requests("registry/production/"),
    *mcp_requests("registry/sandbox/"),
    # the HTML site and its files, one of each type
    *[Probe(p) for p in ("/", "/index.html", "/servers/fetch/", "/servers/fetch", "/servers/fetch?x=1",
                         "/servers/", "/servers", "/servers/nope/", "/nothing.html", "/servers/fetch/index.html/extra",
                         "/registries/production", "/registries/production/", "/404.html", "/about/",
                         "/assets/site.css", "/assets/search.js", "/assets/search-index.js", "/files.txt",
                         "/reviews/reviews.csv", "/reviews/changes.atom", "/registry.json", "/registry-legacy.json",
                         "/bundles/registries/production/all.yaml", "/SIZES", "/SHA256SUMS", "/SHA256SUMS.minisig",
                         "/api/v1", "/api/v1/", "/api/v1/index.json", "/api/v1/index.html", "/api/v1/nope.json",
                         "/api", "/api/", "/assets", "/assets/", "/registry", "/registry/", "/registry/production",
                         "/registry/production/", "/registry/nope/v0.1/servers", "/registries/nope/registry.json")],
    Probe("/", "HEAD"), Probe("/servers/fetch/", conditional="If-None-Match"),
    Probe("/servers/fetch/", conditional="If-Modified-Since"), Probe("/assets/site.css", conditional="If-None-Match"),
    Probe("/", "POST"), Probe("/", "OPTIONS"), Probe("/api/v1/index.json", "OPTIONS"),
    Probe("/api/v1/index.json", "POST"), Probe("/registry.json", "OPTIONS"),
    # methods a file server answers on its own: TRACE echoes the request (cookies, credentials) back
    Probe("/", "TRACE"), Probe("/v0.1/servers", "TRACE"), Probe("/registry/production/v0.1/servers", "TRACE"),
    # a page's folder without its slash is redirected for GET alone
    Probe("/servers/fetch", "POST"), Probe("/registries/production", "POST"), Probe("/servers/fetch", "HEAD"),
    Probe("/bundles/registries/production/all.yaml", headers=(("Range", "bytes=0-99"),)),
    Probe("/", headers=(("Accept-Encoding", "gzip"),)),
    Probe("/assets/search-index.js", headers=(("Accept-Encoding", "gzip"),)),
    Probe("/api/v1/index.json", headers=(("Accept-Encoding", "gzip"),)),
    Probe("/registry.json", headers=(("Accept-Encoding", "gzip"),)),
    # the site without its slash
    Probe(""), Probe("?x=1"),
    # hidden files: dot-files anywhere, in the API and in the site
    *[Probe(p) for p in ("/.env", "/.git/config", "/.git/", "/.git", "/api/.hidden.json", "/v0.1/.hidden",
                         "/v0.1/servers/.hidden", "/registry/production/v0.1/servers/.hidden", "/servers/.hidden",
                         "/%2Eenv", "/%2egit/config", "/.well-known/mcp", "/v0.1/servers/.well-known/versions")],
    # traversal, with every encoding of its dots and slashes
    *[Probe(p) for p in ("/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt",
                         "/v0.1/servers/%2e%2e/%2e%2e/files.txt", "/v0.1/servers/..%2F..%2Ffiles.txt",
                         "/v0.1/servers/%2e%2e%2f%2e%2e%2f.env", "/assets/..%2f..%2fsecret.txt",
                         "/assets/../files.txt", "/%252e%252e/secret.txt", "/..%5csecret.txt", "/%00",
                         "/files.txt%00.json", "//files.txt", "/./files.txt", "/registry/production/../../files.txt",
                         f"/v0.1/servers/{FETCH}/versions/..%2F..%2F..%2Fquery.idx",
                         f"/v0.1/servers/{FETCH}/versions/%2e%2e/%2e%2e/%2e%2e/query.idx")],
    # outside the prefix
    *[Probe(p) for p in ("//", "//secret.txt", "//catalogue", "//catalog.old/", "//.env", "//v0.1/servers",
                         "//catalog/../secret.txt")],
]


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory, default_site: Path) -> Path:
    """The default build with what may lie beside or in a served site: hidden files, a release's
    signature files, and a secret in the folder above it."""
    folder = tmp_path_factory.mktemp("parity")
    site = folder / "site"
    shutil.copytree(default_site, site)
    for hidden in (".env", ".git/config", "api/.hidden.json", "v0.1/.hidden", "v0.1/servers/.hidden",
                   "registry/production/v0.1/servers/.hidden", "servers/.hidden", ".well-known/mcp"):
        (site / hidden).parent.mkdir(parents=True, exist_ok=True)
        (site / hidden).write_bytes(SECRET)
    (site / "SIZES").write_text("1 files.txt\n", encoding="utf-8")
    (site / "SHA256SUMS").write_text("0" * 64 + "  files.txt\n", encoding="utf-8")
    (site / "SHA256SUMS.minisig").write_text("untrusted comment: signature\nRWQ=\n", encoding="utf-8")
    (folder / "secret.txt").write_bytes(SECRET)
    return site


@pytest.fixture(scope="module")
def servers(served_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with (nginx_serving(served_site, tmp_path_factory.mktemp("nginx")) as nginx,
          apache_serving(served_site, tmp_path_factory.mktemp("apache")) as apache):
        yield {"nginx": nginx, "apache": apache}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(url: str, probe: Probe, extra: dict[str, str] | None = None) -> Answer:
    """The request exactly as written: http.client sends the path without normalising it."""
    split = urlsplit(url)
    path = probe.path[1:] if probe.path.startswith("//") else split.path + probe.path
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    try:
        connection.putrequest(probe.method, path, skip_accept_encoding=True)
        headers = {"Accept-Encoding": "identity", **dict(probe.headers), **(extra or {})}
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


def ask(url: str, probe: Probe) -> Answer:
    if not probe.conditional:
        return send(url, probe)
    first = send(url, Probe(probe.path))
    validator = first.headers["etag" if probe.conditional == "If-None-Match" else "last-modified"]
    return send(url, probe, {probe.conditional: validator})


def json_body(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body


def as_seen(answer: Answer, site_404: bytes) -> dict[str, object]:
    """What a client can tell of an answer, with what each server writes its own way left out:
    a redirect's page and its Location's scheme and host (Apache names its own, docs/api.md);
    an error's validators (no client revalidates an error); a
    server's own error page (nginx's and Apache's 405 and 400); Vary on an answer not compressed."""
    headers = {k: v for k, v in answer.headers.items() if k not in SERVER_OWN}
    body = answer.body
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    else:
        headers.pop("vary", None)
    if "location" in headers:
        headers["location"] = urlunsplit(urlsplit(headers["location"])._replace(scheme="", netloc=""))
    seen: dict[str, object] = {"status": answer.status, "headers": headers}
    if answer.status < 400:
        seen["has validators"] = ("etag" in answer.headers, "last-modified" in answer.headers)
    else:
        headers.pop("last-modified", None)
    if 300 <= answer.status < 400 and answer.status != 304:
        headers.pop("content-type")
        seen["body"] = "(a redirect's own page)"
    elif "json" in headers.get("content-type", ""):
        seen["body"] = json_body(body)
    elif answer.status >= 400 and body != site_404:
        for own in ("content-type", "allow"):
            headers.pop(own, None)
        seen["body"] = "(the web server's own error page)"
    else:
        seen["body"] = body
    return seen


def differences(nginx: dict[str, object], apache: dict[str, object]) -> str:
    """Only what differs, nginx's value first."""
    lines = []
    for key in ("status", "has validators", "body"):
        if nginx.get(key) != apache.get(key):
            lines.append(f"{key}: {str(nginx.get(key))[:300]} | {str(apache.get(key))[:300]}")
    headers = (nginx["headers"], apache["headers"])
    for name in sorted(set(headers[0]) | set(headers[1])):
        if headers[0].get(name) != headers[1].get(name):
            lines.append(f"{name}: {headers[0].get(name)} | {headers[1].get(name)}")
    return "\n".join(lines)


# Differences kept (docs/api.md, "Where nginx and Apache differ"): each status pair is checked,
# so that the list stays true.
KEPT = {
    # nginx refuses a NUL byte in a path as a bad request before any location; Apache finds no file.
    "GET /%00": (400, 404),
    "GET /files.txt%00.json": (400, 404),
    # nginx decodes %2e before it resolves dot segments, Apache after: nginx serves the site's
    # own index (a file every copy of the site has, files.txt lists it), Apache finds no lookup.
    f"GET /v0.1/servers/{FETCH}/versions/%2e%2e/%2e%2e/%2e%2e/query.idx": (200, 404),
}


def site_404(site: Path) -> bytes:
    """The site's 404 page as both servers answer a miss: its links made absolute."""
    return (site / "404.html").read_bytes().replace(b'="./', f'="{PREFIX}/'.encode())


@pytest.mark.parametrize("probe", PROBES, ids=str)
def test_nginx_and_apache_answer_alike(servers: dict[str, str], served_site: Path, probe: Probe) -> None:
    nginx, apache = (as_seen(ask(servers[name], probe), site_404(served_site)) for name in ("nginx", "apache"))
    for seen in (nginx, apache):
        assert SECRET not in json.dumps(seen["body"], default=repr).encode()
    if str(probe) in KEPT:
        assert (nginx["status"], apache["status"]) == KEPT[str(probe)]
        return
    assert nginx == apache, differences(nginx, apache)


def test_the_probes_are_distinct() -> None:
    assert len({str(p) for p in PROBES}) == len(PROBES)
    assert set(KEPT) <= {str(p) for p in PROBES}
