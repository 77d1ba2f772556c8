"""The built site served by real nginx and Apache with the shipped configs in deploy/web/.

Each server starts once per module on 127.0.0.1 and a free port, from a throwaway
prefix in tmp, and is always stopped. The tests replay what the real clients send
(thv, the ToolHive registry server, VS Code / Copilot, Docker) request by request
and apply the checks each client applies; `wget --mirror` copies the site.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urljoin

import pytest
import requests
import yaml

from api_schemas import UPSTREAM, errors
from conftest import SHARED
from webservers import PREFIX, apache_serving, nginx_serving

OFFICIAL = "io.modelcontextprotocol.registry/official"
KNOWN = "com.example.mcp/fetch"


@pytest.fixture(scope="module")
def nginx(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site behind nginx at http://127.0.0.1:<port>/catalog, with deploy/web/nginx/*.conf."""
    with nginx_serving(default_site, tmp_path_factory.mktemp("nginx")) as url:
        yield url


@pytest.fixture(scope="module")
def apache(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site behind Apache httpd at http://127.0.0.1:<port>/catalog, with deploy/web/apache/*.conf."""
    with apache_serving(default_site, tmp_path_factory.mktemp("apache")) as url:
        yield url


@pytest.fixture(scope="module", params=["nginx", "apache"])
def site_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param)


def get_json(url: str, **headers: str) -> requests.Response:
    answer = requests.get(url, headers={"Accept": "application/json", **headers}, timeout=10)
    assert "application/json" in answer.headers.get("Content-Type", ""), (url, answer.headers)
    return answer


def assert_cors(answer: requests.Response) -> None:
    assert answer.headers.get("Access-Control-Allow-Origin") == "*", answer.url


def bases(url: str) -> list[str]:
    return [url, f"{url}/registry/production", f"{url}/registry/sandbox"]


# --- thv ------------------------------------------------------------------------------


def test_thv_static_registry_file(site_url: str) -> None:
    answer = get_json(f"{site_url}/registry.json")
    assert answer.status_code == 200
    document = answer.json()
    assert not {"servers", "remote_servers", "groups"} & set(document)
    assert {"$schema", "version", "meta", "data"} <= set(document) and document["meta"]["last_updated"]
    assert document["data"]["servers"]
    assert errors(UPSTREAM, document) == []


def test_thv_api_base(site_url: str) -> None:
    for base in bases(site_url):
        probe = get_json(f"{base}/v0.1/servers?limit=1&version=latest")
        assert 200 <= probe.status_code < 300
        assert isinstance(probe.json()["servers"], list) and isinstance(probe.json()["metadata"], dict)
        listing = get_json(f"{base}/v0.1/servers?limit=100&version=latest").json()
        assert "nextCursor" not in listing["metadata"]
        name = listing["servers"][0]["server"]["name"]
        found = get_json(f"{base}/v0.1/servers/{quote(name, safe='')}/versions/latest")
        assert found.status_code == 200 and found.json()["server"]["name"] == name
        assert found.json()["_meta"][OFFICIAL]["updatedAt"].endswith("Z")
        missing = get_json(f"{base}/v0.1/servers/{quote('com.example.mcp/no-such', safe='')}/versions/latest")
        assert missing.status_code == 404 and missing.json() == {"error": "Not found"}


def test_encoded_slash_reaches_the_right_file(site_url: str) -> None:
    answer = get_json(f"{site_url}/v0.1/servers/com.example.mcp%2Ffetch/versions/latest")
    assert answer.status_code == 200 and answer.json()["server"]["name"] == KNOWN


# --- ToolHive registry server, api: source --------------------------------------------


def test_registry_server_api_source(site_url: str) -> None:
    for base in bases(site_url):
        answer = requests.get(f"{base}/openapi.yaml", timeout=10)
        assert answer.status_code == 200
        document = yaml.safe_load(answer.text)
        assert document["info"]["version"] == "1.0.0"
        assert "https://github.com/modelcontextprotocol/registry" in document["info"]["description"]
        assert get_json(f"{base}/v0.1/servers?limit=100").json()["servers"]


# --- VS Code / GitHub Copilot ---------------------------------------------------------


def test_vscode_gallery(site_url: str) -> None:
    probe = get_json(f"{site_url}/v0.1/servers?limit=1")
    assert probe.status_code == 200
    assert_cors(probe)
    listing = get_json(f"{site_url}/v0.1/servers?limit=50&version=latest")
    assert_cors(listing)
    for item in listing.json()["servers"]:
        server = item["server"]
        assert server["name"] and server["description"] and server["version"] and isinstance(item["_meta"], dict)
    for item in listing.json()["servers"][:5]:
        name = item["server"]["name"]
        lookup = get_json(f"{site_url}/v0.1/servers/{quote(name, safe='')}/versions/latest")
        assert_cors(lookup)
        assert lookup.json()["server"]["name"] == name


def test_cors_preflight(site_url: str) -> None:
    for path in ("/v0.1/servers", "/registry.json", "/registry/sandbox/v0.1/servers"):
        answer = requests.options(f"{site_url}{path}", timeout=10, headers={
            "Origin": "https://vscode.dev", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert answer.status_code == 204, path
        assert_cors(answer)
        assert {m.strip() for m in answer.headers["Access-Control-Allow-Methods"].split(",")} >= {"GET", "OPTIONS"}
        allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type"} <= allowed


def test_security_headers_and_cors_on_errors(site_url: str) -> None:
    missing = requests.get(f"{site_url}/v0.1/servers/nope%2Fnope/versions", timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "Not found"}
    assert_cors(missing)
    page = requests.get(f"{site_url}/api/v1/servers.json", timeout=10)
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


# --- Docker ---------------------------------------------------------------------------


def test_docker_v0_alias(site_url: str) -> None:
    listing = get_json(f"{site_url}/v0/servers?version=latest&limit=100")
    assert listing.status_code == 200 and listing.json()["servers"]
    versions = get_json(f"{site_url}/v0/servers/{quote(KNOWN, safe='')}/versions").json()["servers"]
    assert len(versions) == 1 and versions[0]["_meta"][OFFICIAL]["isLatest"] is True
    assert get_json(f"{site_url}/registry/production/v0/servers").status_code == 200


# --- wget --mirror --------------------------------------------------------------------


def wget_mirror_api(url: str, target: Path) -> set[str]:
    """`wget --mirror` of the API's page of links: the documents it fetched (site paths)."""
    wget = shutil.which("wget")
    if wget is None:
        pytest.skip("wget not installed: apt-get install wget")
    subprocess.run([wget, "--mirror", "--no-host-directories", "--cut-dirs=1", "--quiet", "-e", "robots=off",
                    "-P", str(target), f"{url}/api/v1/index.html"], check=False, timeout=300)
    return {p.relative_to(target).as_posix() for p in target.rglob("*") if p.suffix in {".json", ".yaml"}}


def published_documents(site: Path) -> set[str]:
    return {"api/v1/index.json"} | {d["path"] for d in json.loads((site / "api/v1/index.json").read_text(encoding="utf-8"))["documents"]}


def test_wget_mirror_gets_every_api_document(nginx: str, default_site: Path, tmp_path: Path) -> None:
    fetched = wget_mirror_api(nginx, tmp_path / "mirror")
    published = published_documents(default_site)
    assert published <= fetched, sorted(published - fetched)[:10]
    built = {p.relative_to(default_site).as_posix() for p in default_site.rglob("*.json")
             if p.relative_to(default_site).parts[0] in {"api", "v0.1", "registry", "registries", "registry.json",
                                                           "registry-legacy.json", "schemas"}}
    assert built <= fetched, sorted(built - fetched)[:10]


def test_wget_mirror_follows_the_api_pages_to_every_document(large_site: Path, tmp_path: Path) -> None:
    """At 1,000 servers the API's links take four pages: the crawl goes through them all."""
    assert (large_site / "api/v1/page/4/index.html").is_file()
    with nginx_serving(large_site, tmp_path / "nginx") as url:
        fetched = wget_mirror_api(url, tmp_path / "mirror")
    published = published_documents(large_site)
    assert published <= fetched, sorted(published - fetched)[:10]
    assert {p.relative_to(tmp_path / "mirror").as_posix() for p in (tmp_path / "mirror").rglob("*.html")} == {
        "api/v1/index.html", "api/v1/page/2/index.html", "api/v1/page/3/index.html", "api/v1/page/4/index.html"}


# --- the official OpenAPI description, run against the nginx-served mirror -------------

MCP_OPENAPI = SHARED / "mcp-registry" / "openapi.yaml"
READ_OPERATIONS = ("/v0.1/servers", "/v0.1/servers/{serverName}/versions", "/v0.1/servers/{serverName}/versions/{version}")


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("path", READ_OPERATIONS)
def test_schemathesis_read_operations(nginx: str, path: str, mode: str) -> None:
    """Generated GET requests (a bounded number per operation and mode) answered within the official
    description: valid ones answered, invalid ones (negative mode) refused.

    Publishing operations (PUT, DELETE, PATCH, POST) are excluded: a static mirror has none.
    """
    if not MCP_OPENAPI.is_file():
        pytest.skip(f"{MCP_OPENAPI} not found: check out ../shared next to the repository")
    schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_dict(official_description_as_implemented())
    operation = schema[path]["GET"]

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    # derandomize: the same generated cases on every run, so a CI run cannot fail by the luck of the draw
    @settings(max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=nginx, excluded_checks=EXCLUDED_CHECKS(schemathesis))

    check()


PROBLEM = {"application/problem+json": {"schema": {
    "type": "object", "required": ["title", "status", "detail"],
    "properties": {"title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}}}}}


def official_description_as_implemented() -> dict:
    """The official OpenAPI description with the bounds the official registry enforces.

    The description leaves `limit` unbounded and lists no error answers; the registry itself
    (huma, `default:"30" minimum:"1" maximum:"100"`) refuses other limits with 422 and a
    malformed `updated_since` with 400, both as problem+json. Without these, a generated
    `limit=137` would count as valid input that must be accepted.
    """
    document = yaml.safe_load(MCP_OPENAPI.read_text(encoding="utf-8"))
    listing = document["paths"]["/v0.1/servers"]["get"]
    for parameter in listing["parameters"]:
        if parameter["name"] == "limit":
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 100, "default": 30}
    listing["responses"]["400"] = {"description": "Malformed updated_since", "content": PROBLEM}
    for path in READ_OPERATIONS:
        document["paths"][path]["get"]["responses"]["422"] = {"description": "Invalid parameter", "content": PROBLEM}
    return document


def EXCLUDED_CHECKS(schemathesis: object) -> list[object]:  # noqa: N802 - read as a constant
    """The one check a mirror cannot pass, and why: positive_data_acceptance. A generated,
    schema-valid server name is almost never one the catalog holds, and the 404 the
    description documents is what the official registry answers too.

    negative_data_rejection stays on: the query layer refuses invalid parameters.
    """
    from schemathesis.checks import CHECKS

    return [check for check in CHECKS.get_all() if check.__name__ == "positive_data_acceptance"]



# --- the HTML site's 404 page ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["/nope.html", "/servers/nope/", "/servers/nope/deeper/index.html", "/tags/a/b/c/d"])
def test_a_missing_page_at_any_depth_gets_the_styled_404_with_working_links(site_url: str, missing: str) -> None:
    answer = requests.get(site_url + missing, timeout=10)
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html"), answer.headers
    assert "<h1>Page not found</h1>" in answer.text
    links = re.findall(r'(?:href|src)="([^"#][^"]*)"', answer.text)
    assert f'href="{PREFIX}/assets/site.css"' in answer.text, links
    for link in links:
        if link.startswith(("https://", "data:")):
            continue
        target = urljoin(answer.url, link)
        assert requests.get(target, timeout=10).status_code == 200, (missing, link, target)


def test_the_404_page_itself_is_served_as_built(site_url: str, default_site: Path) -> None:
    # Only the error answer has its links rewritten: checksums and mirrors need the built bytes.
    answer = requests.get(f"{site_url}/404.html", timeout=10)
    assert answer.status_code == 200 and answer.content == (default_site / "404.html").read_bytes()
