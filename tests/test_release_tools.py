"""Release review and image mirroring: diff, pin, and the mirror lists build writes."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from conftest import DEFAULT_SOURCE, FETCH_YAML
from generator.build import build
from generator.cli import main


@pytest.fixture
def two_releases(tmp_path):
    old_source = tmp_path / "old-src"
    shutil.copytree(DEFAULT_SOURCE, old_source)
    new_source = tmp_path / "new-src"
    shutil.copytree(DEFAULT_SOURCE, new_source)
    servers = new_source / "servers"
    osv = (servers / "osv.yaml").read_text()
    osv = osv.replace("        - api.osv.dev\n", "        - api.osv.dev\n        - collector.example.net\n")
    osv = osv.replace("  - name: get_vulnerability\n", "  - name: report_usage\n    description: Sends usage.\n  - name: get_vulnerability\n")
    (servers / "osv.yaml").write_text(osv)
    time_file = (servers / "time.yaml").read_text()
    assert "\nstatus:" not in time_file
    (servers / "time.yaml").write_text(time_file + "status: deprecated\n")
    (servers / "fetch.yaml").unlink()
    (servers / "fetch.md").unlink()
    (servers / "added-one.yaml").write_text(FETCH_YAML.replace("name: fetch", "name: added-one").replace("category: web", "category: web"))
    catalog = (new_source / "catalog.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0")
    (new_source / "catalog.yaml").write_text(catalog)
    build(old_source, tmp_path / "old")
    build(new_source, tmp_path / "new")
    return tmp_path / "old", tmp_path / "new"


def test_diff_reports_what_a_review_board_needs(runner, two_releases):
    old, new = two_releases
    result = runner.invoke(main, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Changes from 1.0.0 to 1.1.0"
    assert "  added: added-one" in lines
    assert "  removed: fetch" in lines
    assert "  deprecated: time" in lines
    osv = lines.index("  changed: osv")
    assert lines[osv + 1 : osv + 3] == ["    - new egress host: collector.example.net", "    - new tool: report_usage"]


def test_diff_json_and_tarballs(runner, two_releases, tmp_path):
    from generator.release.package import package_site

    old, new = two_releases
    old_tar = package_site(old, tmp_path / "d1", None).tarball
    new_tar = package_site(new, tmp_path / "d2", None).tarball
    result = runner.invoke(main, ["diff", str(old_tar), str(new_tar), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["added"] == ["added-one"] and document["removed"] == ["fetch"]
    assert {c["name"] for c in document["changed"]} >= {"osv"}


def test_diff_of_identical_releases_says_so(runner, default_site):
    result = runner.invoke(main, ["diff", str(default_site), str(default_site)])
    assert result.exit_code == 0, result.output
    assert result.output == "Changes from 1.0.0 to 1.0.0: none that need review\n"


def test_pin_records_digests_from_skopeo_digestfile(runner, default_source_copy, tmp_path):
    digests = tmp_path / "digests.txt"
    osv_digest, time_digest = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    digests.write_text(
        f"{osv_digest} registry.corp.example/mcp/stackloklabs/osv-mcp/server:0.1.0\n"
        f"docker.io/mcp/time:latest@{time_digest}\n"
        f"{'sha256:' + 'c' * 64} quay.io/nobody/unknown:1\n"
        f"{'sha256:' + 'd' * 64} attacker.example/anything/stackloklabs/gofetch/server:1.0.3\n"
    )
    before = (default_source_copy / "servers" / "osv.yaml").read_text()
    pin = ["pin", "--source", str(default_source_copy), "--digests", str(digests), "--image-mirror", "registry.corp.example/mcp"]
    result = runner.invoke(main, pin)
    assert result.exit_code == 0, result.output
    assert "pinned 2 servers, 0 already pinned, 2 unmatched digests" in result.stderr
    assert "attacker.example/anything/stackloklabs/gofetch/server:1.0.3@sha256:ddd" in result.stderr
    assert "quay.io/nobody/unknown:1@sha256:ccc" in result.stderr
    after = (default_source_copy / "servers" / "osv.yaml").read_text()
    assert after.replace(f"digest: {osv_digest}\n", "") == before, "only the digest line was added"
    from generator.source.validate import read_catalog

    catalog = read_catalog(default_source_copy).catalog
    assert catalog.server("osv").digest == osv_digest and catalog.server("time").digest == time_digest
    assert catalog.server("fetch").digest is None, "an image at another registry pins nothing"
    again = runner.invoke(main, pin)
    assert "pinned 0 servers, 2 already pinned" in again.stderr


def test_pin_refuses_malformed_digest_lines(runner, default_source_copy, tmp_path):
    digests = tmp_path / "digests.txt"
    digests.write_text("sha256:short ghcr.io/x/y:1\n\nnot a line at all\n")
    result = runner.invoke(main, ["pin", "--source", str(default_source_copy), "--digests", str(digests)])
    assert result.exit_code == 1
    assert f"{digests}:1: expected '<digest> <image>' or '<image>@<digest>'" in result.output
    assert f"{digests}:3: expected" in result.output


def test_mirror_lists_cover_catalog_and_profiles(default_site):
    from generator.source.validate import read_catalog

    from generator.derived import toolhive_images

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    images = (default_site / "mirror" / "images.txt").read_text().splitlines()
    servers = sorted({s.image for s in catalog.servers if s.image})
    toolhive = sorted(toolhive_images(catalog.meta).values())
    assert images == sorted(servers + toolhive)
    hauler = yaml.safe_load((default_site / "mirror" / "hauler-images.yaml").read_text())
    assert hauler["apiVersion"] == "content.hauler.cattle.io/v1" and hauler["kind"] == "Images"
    assert [i["name"] for i in hauler["spec"]["images"]] == images
    zarf = yaml.safe_load((default_site / "mirror" / "zarf.yaml").read_text())
    assert zarf["kind"] == "ZarfPackageConfig"
    assert [c["images"] for c in zarf["components"]] == [toolhive, servers]
    skopeo = yaml.safe_load((default_site / "mirror" / "skopeo-sync.yaml").read_text())
    assert skopeo["ghcr.io"]["images"]["stackloklabs/osv-mcp/server"] == ["0.1.0"]
    assert skopeo["docker.io"]["images"]["crystaldba/postgres-mcp"] == ["0.3.0"]
    production = (default_site / "mirror" / "profiles" / "production" / "images.txt").read_text().splitlines()
    assert production and set(production) < set(images)


def test_image_mirror_rewrites_every_emitted_reference(tmp_path):
    out = tmp_path / "site"
    build(DEFAULT_SOURCE, out, image_mirror="registry.corp.example/mcp")
    mapping = dict(line.split("=") for line in (out / "mirror" / "mapping.txt").read_text().splitlines())
    assert mapping["crystaldba/postgres-mcp:0.3.0"] == "registry.corp.example/mcp/crystaldba/postgres-mcp:0.3.0"
    assert mapping["ghcr.io/github/github-mcp-server:v0.30.3"] == "registry.corp.example/mcp/github/github-mcp-server:v0.30.3"
    assert mapping["ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0"] == "registry.corp.example/mcp/stacklok/toolhive/proxyrunner:v0.44.0"
    # A source reference counts as leaked unless it is only the tail of a mirrored one
    # ("crystaldba/postgres-mcp:0.3.0" inside "registry.corp.example/mcp/crystaldba/...").
    patterns = {source: re.compile(r"(?<![\w./-])" + re.escape(source)) for source in mapping}
    # Any source's match is a match of the alternation at or before it: files it finds nothing
    # in (all of them, unless something leaks) skip the one-search-per-source loop, which took
    # most of this test (566 files x 50 sources).
    anyone = re.compile(r"(?<![\w./-])(?:" + "|".join(map(re.escape, mapping)) + ")")
    leaks = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        # mirror/ holds the source column by design; catalog.json is the verbatim source record and
        # the source-format schema names the ToolHive images' defaults.
        if not path.is_file() or relative.startswith("mirror/") or relative in {"api/v1/catalog.json", "schemas/catalog.schema.json"}:
            continue
        text = path.read_text(errors="replace")
        if anyone.search(text):
            leaks += [f"{relative}: {source}" for source, pattern in patterns.items() if pattern.search(text)]
    assert leaks == []


def test_build_previous_adds_a_changes_page(runner, two_releases, tmp_path):
    import html5lib

    old, _new = two_releases
    new_source = tmp_path / "new-src"
    out = tmp_path / "with-changes"
    result = runner.invoke(main, ["build", "--source", str(new_source), "--out", str(out), "--previous", str(old)])
    assert result.exit_code == 0, result.output
    page = (out / "changes" / "index.html").read_text()
    html5lib.HTMLParser(strict=True).parse(page)
    assert "<h1>Changes since 1.0.0</h1>" in page
    assert '<a href="../servers/added-one/index.html">added-one</a>' in page
    assert "<li>fetch</li>" in page, "a removed server is named without a dead link"
    assert "<li>new egress host: collector.example.net</li>" in page
    assert 'href="../changes/index.html"' in (out / "about" / "index.html").read_text()
    plain = tmp_path / "plain"
    assert runner.invoke(main, ["build", "--source", str(new_source), "--out", str(plain)]).exit_code == 0
    assert not (plain / "changes").exists()


def test_build_previous_that_is_not_a_release_fails_before_writing(runner, default_site, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["build", "--source", str(DEFAULT_SOURCE), "--out", str(out), "--previous", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a built site" in result.output
    assert not out.exists()
