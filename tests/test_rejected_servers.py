"""A rejected server ("Rejected: do not deploy") is in no output a machine installs or mirrors from.

Left out: the root ToolHive registry files, the root MCP mirror (list, query index,
search, lookups) and the whole-catalog image-mirror lists; the profiles' outputs never
admitted it. Kept where people review it: its site page (which says why), its API
document (which carries the review) and its catalog-wide bundle folder (for audit).
The build cache must add and remove it when its review changes, byte for byte as a cold build.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from catalog_lists import indexed_responses
from conftest import DEFAULT_SOURCE
from generator import derived, paths
from generator.build import build
from generator.source.validate import read_catalog
from test_build_cache import differences, edit, snapshot
from webservers import nginx_serving, plain_file_server

REJECTED = "slack-mcp-server"
MIRROR_LISTS = ("images.txt", "mapping.txt", "skopeo-copy.txt", "zarf.yaml", "hauler-images.yaml")


def catalog_facts(source: Path, name: str) -> tuple[str, str, str | None, int]:
    """The server's registry name, version and image, and how many servers the catalog's review did not reject."""
    catalog = read_catalog(source).catalog
    server = catalog.server(name)
    kept = sum(1 for s in catalog.servers if derived.review_state(catalog.meta, s) != "rejected")
    return derived.registry_name(catalog.meta, server), server.version, server.image, kept


def root_listings(site: Path) -> dict[str, set[str]]:
    """What each root output a machine installs or mirrors from names: registry names, legacy keys, images."""
    upstream = json.loads((site / "registry.json").read_bytes())
    legacy = json.loads((site / "registry-legacy.json").read_bytes())
    first_page = json.loads((site / "v0.1/servers/index.json").read_bytes())
    return {
        "registry.json": {entry["name"] for entry in upstream["data"]["servers"]},
        "registry-legacy.json": set(legacy["servers"]) | set(legacy["remote_servers"]),
        "v0.1/servers/index.json": {item["server"]["name"] for item in first_page["servers"]},
        "v0.1/servers/query.idx": {item["server"]["name"] for item in indexed_responses(site, "")},
        "lookups": {
            "/".join(path.relative_to(site / "v0.1/servers").parts[:2])
            for path in (site / "v0.1/servers").glob("*/*/versions/**/index.json")
        },
    }


def mirror_text(site: Path) -> str:
    """The whole-catalog image lists, one text."""
    return "".join((site / paths.mirror_list(name, None)).read_text(encoding="utf-8") for name in MIRROR_LISTS)


def assert_left_out(site: Path, name: str, registry_name: str, image: str | None) -> None:
    listings = root_listings(site)
    assert registry_name not in listings["registry.json"]
    assert name not in listings["registry-legacy.json"]
    for where in ("v0.1/servers/index.json", "v0.1/servers/query.idx", "lookups"):
        assert registry_name not in listings[where], where
    assert not (site / "v0.1/servers" / registry_name).exists()
    if image is not None:
        assert image.split(":")[0] not in mirror_text(site)
    assert_kept_for_review(site, name)


def assert_listed(site: Path, name: str, registry_name: str, image: str | None) -> None:
    listings = root_listings(site)
    assert registry_name in listings["registry.json"]
    assert name in listings["registry-legacy.json"]
    assert registry_name in listings["v0.1/servers/query.idx"] and registry_name in listings["lookups"]
    if image is not None:
        assert image.split(":")[0] in mirror_text(site)


def assert_kept_for_review(site: Path, name: str) -> None:
    """Its page, its API document and its catalog-wide bundle folder stay."""
    assert (site / paths.api_server(name)).is_file()
    assert (site / f"servers/{name}/index.html").is_file()
    assert (site / f"bundles/servers/{name}/workload/kustomization.yaml").is_file()


def test_the_default_catalogs_rejected_server_is_only_where_people_review(default_site: Path, plain_site: Path) -> None:
    registry_name, _, image, kept = catalog_facts(DEFAULT_SOURCE, REJECTED)
    for site in (default_site, plain_site):
        assert_left_out(site, REJECTED, registry_name, image)
        assert len(indexed_responses(site, "")) == kept  # every other server stays listed
        for profile in ("production", "sandbox"):
            assert image is not None and image.split(":")[0] not in mirror_text_of_profile(site, profile)
    page = (default_site / f"servers/{REJECTED}/index.html").read_text(encoding="utf-8")
    assert "Rejected: do not deploy" in page and "v0.1/servers" not in page  # no link to a mirror entry
    document = json.loads((default_site / paths.api_server(REJECTED)).read_bytes())
    assert [notice["kind"] for notice in document["notices"]][0] == "rejected" and document["review"] == "rejected"
    assert "mcp" not in document["links"] and "bundle" in document["links"]
    summary = next(s for s in json.loads((default_site / "api/v1/servers.json").read_bytes())["servers"] if s["name"] == REJECTED)
    assert "mcp" not in summary["links"]


def mirror_text_of_profile(site: Path, profile: str) -> str:
    return "".join((site / paths.mirror_list(name, profile)).read_text(encoding="utf-8") for name in MIRROR_LISTS)


@pytest.fixture(scope="module", params=["query-layer", "plain"])
def served(request: pytest.FixtureRequest, default_site: Path, plain_site: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default site behind the shipped nginx config (query layer), and its plain build behind a plain file server."""
    if request.param == "query-layer":
        with nginx_serving(default_site, tmp_path_factory.mktemp("nginx")) as url:
            yield url
    else:
        with plain_file_server(plain_site, tmp_path_factory.mktemp("plain")) as url:
            yield url


def test_the_served_root_mirror_neither_lists_nor_finds_it(served: str) -> None:
    registry_name, version, _, _ = catalog_facts(DEFAULT_SOURCE, REJECTED)
    escaped = quote(registry_name, safe="")
    for lookup in ("versions", "versions/latest", f"versions/{version}"):
        answer = requests.get(f"{served}/v0.1/servers/{escaped}/{lookup}", timeout=10)
        assert answer.status_code == 404, (lookup, answer.status_code)
    first = requests.get(f"{served}/v0.1/servers", timeout=10).json()
    assert registry_name not in {item["server"]["name"] for item in first["servers"]}
    search = requests.get(f"{served}/v0.1/servers", params={"search": "slack", "limit": 100}, timeout=10).json()
    assert registry_name not in {item["server"]["name"] for item in search["servers"]}
    everything = requests.get(f"{served}/v0.1/servers", params={"limit": 100}, timeout=10).json()
    assert registry_name not in {item["server"]["name"] for item in everything["servers"]}


def test_a_review_turning_to_rejected_and_back_reaches_a_cached_rebuild(default_source_copy: Path, tmp_path: Path) -> None:
    """Rejecting a server takes it out of the root registry files, MCP mirror and image lists on a cached
    rebuild, as a cold build does; approving it again brings it back, to the bytes of the first build."""
    catalog, site = default_source_copy, tmp_path / "site"
    name = "fetch"
    registry_name, _, image, _ = catalog_facts(catalog, name)
    build(catalog, site, jobs=2)
    first = snapshot(site)
    assert_listed(site, name, registry_name, image)

    for step, (old, new) in enumerate((("  status: approved\n", "  status: rejected\n"),
                                       ("  status: rejected\n", "  status: approved\n"))):
        edit(catalog / f"servers/{name}.yaml", old, new)
        warm = build(catalog, site, jobs=2)
        assert warm.rendered_servers == 1
        cold = tmp_path / f"cold-{step}"
        build(catalog, cold, jobs=1, use_cache=False)
        assert differences(snapshot(site), snapshot(cold)) == [], new
        if new.endswith("rejected\n"):
            assert_left_out(site, name, registry_name, image)
        else:
            assert_listed(site, name, registry_name, image)
    assert differences(snapshot(site), first) == []
