"""The changes page of `build --previous` and its feed give the delete lines `mcp-catalog diff` gives.

A reviewer told "after applying this release, run each command" by the page ran `delete mcpserver/<name>`
alone, while `diff` of the same two releases also deleted the server's NetworkPolicies (which keep
allowing egress to whatever pod carries their labels), its tool config, permission ConfigMap and the
Secret of its credentials: the page compared the catalogs alone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import pytest

from conftest import FETCH_YAML, REMOTE_YAML
from generator.build import build
from generator.paths import CHANGES_FEED, CHANGES_PAGE
from generator.release.diff import diff_release_targets
from generator.release.diff_report import vacated_commands
from generator.release.package import package_site

ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
KEYED_FETCH = FETCH_YAML + "env:\n  - name: FETCH_TOKEN\n    description: Token for the sites it fetches.\n    required: true\n    secret: true\n"
CLOCK = FETCH_YAML.replace("name: fetch\n", "name: clock\n", 1).replace("  - name: fetch\n", "  - name: now\n")
CLOCK_REMOTE = REMOTE_YAML.replace("name: docs-remote\n", "name: clock\n", 1).replace("tier: community", "tier: validated")


def page_commands(site: Path) -> str:
    """The text of the page's "To delete in the cluster" block."""
    document = html5lib.parse((site / CHANGES_PAGE).read_text(), namespaceHTMLElements=False)
    (block,) = [pre for pre in document.iter("pre") if pre.get("id") == "to-delete-commands"]
    return "".join(block.itertext())


def feed_commands(site: Path) -> str:
    """The commands of the feed's "To delete in the cluster" entry."""
    feed = ET.fromstring((site / CHANGES_FEED).read_bytes())
    (entry,) = [entry for entry in feed.iter(f"{ATOM}entry") if entry.findtext(f"{ATOM}title") == "To delete in the cluster"]
    return "".join(entry.find(f".//{XHTML}pre").itertext())


@pytest.fixture
def releases(write_tree, tmp_path: Path):
    """Release 1.2.3 (packaged) with fetch, which needs a secret, and clock, a container; the source of
    the next one: fetch withdrawn, clock a remote server now."""
    source = write_tree({"fetch.yaml": KEYED_FETCH, "clock.yaml": CLOCK})
    build(source, tmp_path / "old-site")
    old = package_site(tmp_path / "old-site", tmp_path / "dist", None).tarball
    (source / "servers" / "fetch.yaml").unlink()
    (source / "servers" / "clock.yaml").write_text(CLOCK_REMOTE)
    catalog = source / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("version: 1.2.3", "version: 1.2.4"))
    build(source, tmp_path / "site", previous=old)
    return old, tmp_path / "site"


def test_a_withdrawn_servers_lines_on_the_page_are_the_diffs_its_secret_among_them(releases) -> None:
    old, site = releases
    expected = diff_release_targets(old, site).withdrawn_commands
    fetch = [line for line in expected.splitlines() if "# fetch," in line]
    assert fetch == [
        f"kubectl -n {namespace} delete configmap/fetch-permissions mcpserver/fetch mcptoolconfig/fetch-tools "
        f"networkpolicy/fetch-egress networkpolicy/fetch-ingress secret/fetch-secrets --ignore-not-found   "
        f"# fetch, withdrawn from profile {profile}"
        for namespace, profile in (("mcp-prod", "production"), ("mcp-sandbox", "sandbox"))
    ]
    assert page_commands(site) == expected
    assert feed_commands(site) == expected


def test_a_server_now_of_another_kind_gets_the_diffs_line_on_the_page(releases) -> None:
    """clock is a remote server now: its MCPServer and what only a container had (its permission
    ConfigMap) are to delete; its tool config and egress policy the new release renders again, and
    the Secret it would read stays."""
    old, site = releases
    expected = diff_release_targets(old, site).withdrawn_commands
    clock = [line for line in expected.splitlines() if "# clock," in line]
    assert [line.split(" delete ")[0] for line in clock] == ["kubectl -n mcp-prod", "kubectl -n mcp-sandbox"]
    for line, profile in zip(clock, ("production", "sandbox")):
        assert " delete configmap/clock-permissions mcpserver/clock " in line, line
        assert "mcptoolconfig/clock-tools" not in line and "networkpolicy/clock-egress" not in line and "secret/" not in line
        assert line.endswith(f"--ignore-not-found   # clock, now an mcpremoteproxy of profile {profile}"), line
    assert page_commands(site) == expected
    assert feed_commands(site) == expected


def test_a_namespace_no_profile_is_deployed_to_gets_the_diffs_commands(write_tree, tmp_path: Path) -> None:
    """A profile removed leaves its namespace to nobody: the page said `mcp-catalog diff` would give what
    to delete there; it gives the diff's commands itself, in the same order."""
    lab = "  - name: lab\n    namespace: mcp-lab\n"
    source = write_tree({"fetch.yaml": KEYED_FETCH})
    catalog = source / "catalog.yaml"
    catalog.write_text(catalog.read_text() + lab)
    build(source, tmp_path / "old")
    catalog.write_text(catalog.read_text().replace(lab, "").replace("version: 1.2.3", "version: 1.2.4"))
    build(source, tmp_path / "site", previous=tmp_path / "old")
    expected = diff_release_targets(tmp_path / "old", tmp_path / "site")
    (vacated,) = expected.vacated
    assert vacated.namespace == "mcp-lab" and len(vacated.commands) == 3
    document = html5lib.parse((tmp_path / "site" / CHANGES_PAGE).read_text(), namespaceHTMLElements=False)
    (block,) = [pre for pre in document.iter("pre") if pre.get("id") == "vacated-mcp-lab-commands"]
    assert "".join(block.itertext()) == vacated_commands(vacated)
    assert page_commands(tmp_path / "site") == expected.withdrawn_commands
    assert "secret/fetch-secrets" in expected.withdrawn_commands
    feed = ET.fromstring((tmp_path / "site" / CHANGES_FEED).read_bytes())
    (entry,) = [entry for entry in feed.iter(f"{ATOM}entry") if entry.findtext(f"{ATOM}title").endswith(": mcp-lab")]
    assert "".join(entry.find(f".//{XHTML}pre").itertext()) == vacated_commands(vacated)
