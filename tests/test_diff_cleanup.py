"""`diff`'s `to delete`: everything of a server a profile no longer ships, as the bundles render it.

`kubectl apply` of the new release deletes nothing: a withdrawn server's tool config, permission
ConfigMap and NetworkPolicies stay beside its MCPServer, and the policies keep allowing what the new
release no longer grants. The expected objects come from the real `kubectl kustomize` of both
releases' profile folders, never from the diff's own reading of them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_SOURCE
from generator.build import build
from generator.cli import main
from generator.release.package import package_site
from kustomized import kustomize

WITHDRAWN = "osv"  # removed from the catalog: production and sandbox shipped it
WITH_SECRET = "grafana"  # removed too: its Secret (a template, made by hand) holds a credential
NOT_SHIPPED = "sqlite"  # every tool now destructive: production withholds them all, sandbox still ships it
STILL_SHIPPED = ("fetch", "github", "k8s")
LINE = re.compile(r"^    kubectl -n (?P<namespace>[a-z0-9-]+) delete (?P<objects>[^ ]+( [^ ]+)*) --ignore-not-found"
                  r"   # (?P<server>[a-z0-9-]+), withdrawn from profile (?P<profile>[a-z0-9-]+)(?P<variant> \(.*\))?$")


@pytest.fixture(scope="module")
def two_tarballs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cleanup")
    old_source, new_source = root / "old-src", root / "new-src"
    shutil.copytree(DEFAULT_SOURCE, old_source)
    shutil.copytree(DEFAULT_SOURCE, new_source)
    for suffix in (".yaml", ".md"):
        for server in (WITHDRAWN, WITH_SECRET):
            (new_source / "servers" / f"{server}{suffix}").unlink(missing_ok=True)
    sqlite = new_source / "servers" / f"{NOT_SHIPPED}.yaml"
    text = sqlite.read_text()
    assert text.count("destructiveHint: false") >= 3
    sqlite.write_text(text.replace("destructiveHint: false", "destructiveHint: true"))
    catalog = new_source / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    sites = root / "old", root / "new"
    build(old_source, sites[0])
    build(new_source, sites[1])
    tarballs = tuple(package_site(site, root / f"dist-{site.name}", None).tarball for site in sites)
    return sites, tarballs


def _variant_folders(site: Path, profile: str) -> list[Path]:
    base = site / "bundles" / "registries" / profile
    return [folder for folder in (base, base / "legacy") if (folder / "platform").is_dir() or (folder / "servers").is_dir()]


def _rendered_for(site: Path, profile: str, server: str) -> set[str]:
    """What kubectl kustomize of each variant's folders renders for `server`: its overlay, and the objects
    of the variant's platform part labelled with its name."""
    objects = set()
    for folder in _variant_folders(site, profile):
        if (folder / "servers" / server).is_dir():
            objects |= {_ref(o) for o in kustomize(folder / "servers" / server)}
        if (folder / "platform").is_dir():
            objects |= {_ref(o) for o in kustomize(folder / "platform")
                        if o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == server}
    return objects


def _rendered_anywhere(site: Path, profile: str) -> set[str]:
    """Every object kubectl kustomize renders from the profile's folders, each server overlay included."""
    base = site / "bundles" / "registries" / profile
    objects = {_ref(o) for o in kustomize(base)}
    for folder in _variant_folders(site, profile):
        objects |= {_ref(o) for o in kustomize(folder)}
        for overlay in sorted((folder / "servers").glob("*/")):
            objects |= {_ref(o) for o in kustomize(overlay)}
    return objects


def _profile_wide(site: Path, profile: str) -> set[str]:
    base = site / "bundles" / "registries" / profile
    return {_ref(o) for folder in (base / "base", base / "legacy") if folder.is_dir() for o in kustomize(folder)
            if folder.name == "base" or o["metadata"].get("labels", {}).get("app.kubernetes.io/name") is None}


def _made_by_hand(site: Path, server: str) -> set[str]:
    """The Secret the server's template in the catalog-wide folder names (no kustomization renders it)."""
    template = site / "bundles" / "servers" / server / "secret.example.yaml"
    return {_ref(yaml.safe_load(template.read_text()))} if template.is_file() else set()


def _ref(document: dict) -> str:
    return f"{document['kind'].lower()}/{document['metadata']['name']}"


def _delete_lines(output: str) -> dict[tuple[str, str, str], set[str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  to delete ("))
    found = {}
    for line in lines[start + 1:]:
        if not line.startswith("    kubectl"):
            break
        match = LINE.match(line)
        assert match, line
        key = (match["profile"], match["server"], match["namespace"])
        assert key not in found, f"one line per server and profile when its variants agree: {line}"
        found[key] = set(match["objects"].split())
    return found


def test_diff_deletes_every_object_the_old_bundle_rendered_for_a_server_no_longer_shipped(runner, two_tarballs):
    (old, new), (old_tar, new_tar) = two_tarballs
    result = runner.invoke(main, ["diff", str(old_tar), str(new_tar)])
    assert result.exit_code == 0, result.output
    found = _delete_lines(result.output)
    assert set(found) == {("production", WITHDRAWN, "mcp-production"), ("sandbox", WITHDRAWN, "mcp-sandbox"),
                          ("production", WITH_SECRET, "mcp-production"), ("sandbox", WITH_SECRET, "mcp-sandbox"),
                          ("production", NOT_SHIPPED, "mcp-production")}, result.output
    for (profile, server, _namespace), objects in found.items():
        expected = _rendered_for(old, profile, server) - _rendered_anywhere(new, profile) | _made_by_hand(old, server)
        assert objects == expected, (profile, server)
        assert {"networkpolicy/" + server + "-egress", "mcptoolconfig/" + server + "-tools"} <= objects
        assert not objects & _profile_wide(old, profile)
        for shipped in STILL_SHIPPED:
            assert not objects & _rendered_for(old, profile, shipped), shipped
    assert not any(NOT_SHIPPED == server and profile == "sandbox" for profile, server, _ in found)


def test_diff_deletes_the_secret_made_from_a_withdrawn_servers_template(runner, two_tarballs):
    """The Secret made by hand from `secret.example.yaml` was left out of the delete lines (the docs
    said to delete it yourself): a withdrawn server's credentials stayed in each namespace."""
    (old, _new), (old_tar, new_tar) = two_tarballs
    assert _made_by_hand(old, WITH_SECRET) == {f"secret/{WITH_SECRET}-secrets"}
    text = runner.invoke(main, ["diff", str(old_tar), str(new_tar)])
    assert text.exit_code == 0, text.output
    found = _delete_lines(text.output)
    for namespace, profile in (("mcp-production", "production"), ("mcp-sandbox", "sandbox")):
        assert f"secret/{WITH_SECRET}-secrets" in found[profile, WITH_SECRET, namespace]
    assert not any(o.startswith("secret/") for key, objects in found.items() if key[1] != WITH_SECRET for o in objects)
    as_json = runner.invoke(main, ["diff", str(old_tar), str(new_tar), "--json"])
    assert as_json.exit_code == 0, as_json.output
    withdrawn = [item for item in json.loads(as_json.stdout)["withdrawn"] if item["server"] == WITH_SECRET]
    assert {item["profile"] for item in withdrawn} == {"production", "sandbox"}
    for item in withdrawn:
        assert f"secret/{WITH_SECRET}-secrets" in item["objects"]
        assert item["command"] == f"kubectl -n {item['namespace']} delete {' '.join(item['objects'])} --ignore-not-found"


def test_diff_json_names_each_object_and_the_variants(runner, two_tarballs):
    (old, new), (old_tar, new_tar) = two_tarballs
    result = runner.invoke(main, ["diff", str(old_tar), str(new_tar), "--json"])
    assert result.exit_code == 0, result.output
    withdrawn = json.loads(result.stdout)["withdrawn"]
    sandbox = next(item for item in withdrawn if item["profile"] == "sandbox" and item["server"] == WITHDRAWN)
    assert sandbox["variants"] == ["current", "legacy"], "the sandbox ships both operators' folders"
    assert set(sandbox["objects"]) == _rendered_for(old, "sandbox", WITHDRAWN) - _rendered_anywhere(new, "sandbox")
    assert sandbox["command"] == f"kubectl -n mcp-sandbox delete {' '.join(sandbox['objects'])} --ignore-not-found"
    assert sandbox["objects"] == sorted(sandbox["objects"])


def test_site_folders_give_the_same_commands_as_tarballs(runner, two_tarballs):
    (old, new), (old_tar, new_tar) = two_tarballs
    folders = runner.invoke(main, ["diff", str(old), str(new)])
    tarballs = runner.invoke(main, ["diff", str(old_tar), str(new_tar)])
    assert folders.exit_code == 0, folders.output
    assert folders.output == tarballs.output
    assert f"networkpolicy/{WITHDRAWN}-egress" in folders.output


def _with_name_prefix(site: Path, folder: str, tmp_path: Path) -> Path:
    """A copy of `site` whose profile folder `folder` (`production/platform`) renames its objects, as an
    old site's kustomization could: `namePrefix: x-`."""
    copy = tmp_path / "old"
    shutil.copytree(site, copy)
    kustomization = copy / "bundles/registries" / folder / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "namePrefix: x-\n")
    return copy


def test_a_bundle_renaming_objects_is_not_read_and_the_report_says_so(runner, two_tarballs, tmp_path):
    """A kustomization this version cannot render names from (a name prefix) gives no command built on
    a name kustomize would not render: the workload's command alone, and a note."""
    (old, new), _ = two_tarballs
    copy = _with_name_prefix(old, "production/platform", tmp_path)
    result = runner.invoke(main, ["diff", str(copy), str(new)])
    assert result.exit_code == 0, result.output
    assert f"    kubectl -n mcp-production delete mcpserver/{WITHDRAWN} --ignore-not-found   # {WITHDRAWN}, withdrawn " \
           "from profile production" in result.output.splitlines()
    assert "namePrefix may rename objects; not rendered" in result.output


def test_an_object_another_part_of_the_old_profile_renders_too_is_never_in_a_servers_delete_line() -> None:
    """A kind and name the withdrawn server's folder renders and so does a profile-wide part of the old
    bundle (or another server's folder) is not the server's to delete, even when the new release renders
    it no more: deleting it would take the other part's object away. Read from kustomizations laid out as
    the bundles lay them out."""
    from generator.release.bundle_objects import ReleaseBundles, _listing_reader
    from generator.release.cleanup import Withdrawn, namespace_objects, with_server_objects

    def manifest(kind: str, name: str) -> bytes:
        return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n".encode()

    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\nresources: [{}]\n"
    old = {
        "bundles/registries/p/kustomization.yaml": kustomization.format("shared.yaml").encode(),
        "bundles/registries/p/shared.yaml": manifest("ConfigMap", "shared"),
        "bundles/registries/p/servers/a/kustomization.yaml": kustomization.format("objects.yaml, other.yaml").encode(),
        "bundles/registries/p/servers/a/objects.yaml": manifest("MCPServer", "a") + b"---\n" + manifest("ConfigMap", "shared"),
        "bundles/registries/p/servers/a/other.yaml": manifest("ConfigMap", "b-settings"),
        "bundles/registries/p/servers/b/kustomization.yaml": kustomization.format("objects.yaml").encode(),
        "bundles/registries/p/servers/b/objects.yaml": manifest("ConfigMap", "b-settings"),
    }
    new = {"bundles/registries/p/kustomization.yaml": kustomization.format("").encode()}  # renders nothing
    documents = ({"catalog": {"registries": [{"name": "p", "namespace": "ns"}]}},) * 2
    item = Withdrawn("p", "a", "ns", "mcpserver", "a", "kubectl -n ns delete mcpserver/a --ignore-not-found")
    [result] = with_server_objects([item], documents[0], ReleaseBundles(_listing_reader(old)),
                                   namespace_objects(documents[1], ReleaseBundles(_listing_reader(new)), {"ns"}))
    assert result.objects == ["mcpserver/a"]
    assert result.command == "kubectl -n ns delete mcpserver/a --ignore-not-found"


def test_the_secret_of_a_server_still_deployed_in_the_namespace_is_not_deleted() -> None:
    """A server that only changes kind (an image replaced by a remote URL) loses its MCPServer, but its
    MCPRemoteProxy in the same namespace reads the same Secret: only the MCPServer goes. Withdrawn, the
    Secret goes with it."""
    from generator.release.bundle_objects import ReleaseBundles, _listing_reader
    from generator.release.cleanup import Withdrawn, namespace_objects, with_server_objects

    def manifest(kind: str, name: str) -> bytes:
        return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n".encode()

    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\nresources: [{}]\n"
    old = {
        "bundles/registries/p/kustomization.yaml": kustomization.format("").encode(),
        "bundles/registries/p/servers/a/kustomization.yaml": kustomization.format("objects.yaml").encode(),
        "bundles/registries/p/servers/a/objects.yaml": manifest("MCPServer", "a"),
        "bundles/servers/a/secret.example.yaml": manifest("Secret", "a-secrets"),
    }
    as_remote = {
        "bundles/registries/p/kustomization.yaml": kustomization.format("").encode(),
        "bundles/registries/p/servers/a/kustomization.yaml": kustomization.format("objects.yaml").encode(),
        "bundles/registries/p/servers/a/objects.yaml": manifest("MCPRemoteProxy", "a"),
        "bundles/servers/a/secret.example.yaml": manifest("Secret", "a-secrets"),
    }
    withdrawn = {"bundles/registries/p/kustomization.yaml": kustomization.format("").encode()}
    documents = ({"catalog": {"registries": [{"name": "p", "namespace": "ns"}]}},) * 2
    item = Withdrawn("p", "a", "ns", "mcpserver", "a", "kubectl -n ns delete mcpserver/a --ignore-not-found")
    for new, objects in ((as_remote, ["mcpserver/a"]), (withdrawn, ["mcpserver/a", "secret/a-secrets"])):
        still = namespace_objects(documents[1], ReleaseBundles(_listing_reader(new)), {"ns"})
        [result] = with_server_objects([item], documents[0], ReleaseBundles(_listing_reader(old)), still)
        assert result.objects == objects
        assert result.command == f"kubectl -n ns delete {' '.join(objects)} --ignore-not-found"


def test_each_tarball_is_read_once_and_no_further_than_its_last_file_needed(runner, two_tarballs, monkeypatch):
    """diff read each tarball twice when a server was withdrawn (catalog, then bundles), the second
    read going to the end: 7.4 s instead of 2.1 s at 1,000 servers (bench/RESULTS.md). Now each is read
    once through, after a read of its catalog that stops at `api/v1/catalog.json` (a few members in)."""
    from generator.release import tarball_reading

    (_old, _new), tarballs = two_tarballs
    reads, real = [], tarball_reading.read_tarball

    def counted(path, key, release=None):
        result = real(path, key, release)
        reads.append((path, list(result.digests)[-1]))
        return result
    monkeypatch.setattr(tarball_reading, "read_tarball", counted)
    result = runner.invoke(main, ["diff", *map(str, tarballs)])
    assert result.exit_code == 0, result.output
    assert f"networkpolicy/{WITHDRAWN}-egress" in result.output
    assert reads == [(tarball, "api/v1/catalog.json") for tarball in tarballs] + [
        (tarball, "mirror/mapping.txt") for tarball in tarballs], "the catalogs, then each tarball up to its mapping"


def test_bundles_are_kept_only_when_a_namespace_loses_a_server(runner, two_tarballs, monkeypatch):
    """Reading each tarball once, diff kept every profile's bundle files, registry data included, even
    when nothing was withdrawn: +76 MB at 1,000 servers, some 800 MB at 10,000. It keeps them only for
    the profiles deployed where a namespace loses a server."""
    from generator.release import read_releases
    from generator.release.bundle_objects import folder_owner

    (_old, _new), tarballs = two_tarballs
    kept: list[str] = []
    real = read_releases.read_release_files_hashed

    def recorded(*args, **kwargs):
        found, digests = real(*args, **kwargs)
        kept.extend(path for path in found if path.startswith("bundles/"))
        return found, digests
    monkeypatch.setattr(read_releases, "read_release_files_hashed", recorded)
    same = runner.invoke(main, ["diff", str(tarballs[0]), str(tarballs[0])])
    assert same.exit_code == 0 and "none that need review" in same.output, same.output
    assert kept == []
    withdrawn = runner.invoke(main, ["diff", *map(str, tarballs)])
    assert withdrawn.exit_code == 0 and f"networkpolicy/{WITHDRAWN}-egress" in withdrawn.output
    assert any(path.startswith("bundles/registries/production/") for path in kept)
    assert any(path.startswith("bundles/servers/") for path in kept)
    # Of the server folders only the withdrawn servers' (all 10,000 of a profile shipping every server were
    # kept and rendered: 1 GB and half the time at 10,000 servers); the profile-wide parts all.
    assert {folder_owner(path) for path in kept} == {None, WITHDRAWN, WITH_SECRET, NOT_SHIPPED}
    assert any(path.startswith("bundles/registries/production/base/") for path in kept)


def test_only_what_names_an_object_is_parsed_of_a_manifest(two_tarballs):
    """A registry data ConfigMap (up to 1 MiB of registry JSON) was parsed whole for its kind and name."""
    from generator.release.bundle_objects import UnreadBundle, _file_objects, _identity_part

    (old, _new), _ = two_tarballs
    data = sorted((old / "bundles/registries/production/base").glob("configmap-*-data-*.yaml"))[0]
    raw = data.read_bytes()
    assert len(_identity_part(raw)) < 1000 < len(raw)
    [found] = _file_objects(raw, "bundles/registries/production/base/x.yaml")
    assert (found.kind, found.name, found.namespace, found.server) == ("ConfigMap", data.stem.removeprefix("configmap-"),
                                                                        "mcp-production", None)
    head = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
    for whole, expected in [
        (head + b"data:\n  x: |\n    {not: yaml\n", ["a"]),  # the value is never parsed
        (head + b"data:\n  x: 1\n---\n" + head.replace(b"name: a", b"name: b") + b"data:\n  y: 2\n", ["a", "b"]),
        (b"kind: ConfigMap\nmetadata: {name: a,\n  labels: {}}\ndata:\n  x: 1\n", ["a"]),
        (b"apiVersion: v1\nmetadata:\n  name: a\nkind: ConfigMap\n", ["a"]),  # a naming key last: nothing cut
        (b'kind: ConfigMap\nmetadata:\n  name: a\n  note: "x\ndata:\n  y"\n', ["a"]),  # a cut inside a quoted value
    ]:
        assert [o.name for o in _file_objects(whole, "bundles/registries/p/base/x.yaml")] == expected, whole
    with pytest.raises(UnreadBundle, match="an object without a Kubernetes kind and name"):
        _file_objects(b"# a comment\nspec:\n  x: 1\n", "bundles/registries/p/base/x.yaml")


def test_a_tarball_replaced_between_its_two_readings_is_refused(runner, two_tarballs, tmp_path, monkeypatch):
    """The bundles diff keeps are those its first reading of the catalogs asked for. A tarball replaced
    before the second reading (a `package --replace` renaming a new one in) could withdraw servers
    whose bundles were not kept: `to delete` then named their workloads alone, without a word."""
    from generator.release import diff

    (_old, _new), (old_tar, new_tar) = two_tarballs
    target = tmp_path / "new.tar.gz"
    shutil.copyfile(old_tar, target)  # at the first reading: the old release again, nothing withdrawn
    real = diff.early_catalog

    def then_replaced(path):
        document = real(path)
        if path == target:
            shutil.copyfile(new_tar, tmp_path / "next.tar.gz")
            (tmp_path / "next.tar.gz").replace(target)
        return document
    monkeypatch.setattr(diff, "early_catalog", then_replaced)
    result = runner.invoke(main, ["diff", str(old_tar), str(target)])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: {target}: its catalog changed between two readings (replaced, or still being "
                             "written?): try again once it is complete\n")


def test_the_first_readings_documents_are_let_go_before_the_second_reading(small_site, tmp_path):
    """diff held the documents of its first reading of each catalog through the second reading: four
    parsed catalogs at once, some 400 MB more at 10,000 servers. A 46 MB catalog (one overview made
    long) diffed with itself peaked at 324 MB so, at 232 MB when only the second reading's are held."""
    from conftest import REPO
    from test_release_package import PEAK_OF

    site = tmp_path / "site"
    shutil.copytree(small_site, site)
    document = json.loads((site / "api/v1/catalog.json").read_text())
    document["servers"][0]["overview"] = "\n".join(["an overview line of the long one"] * 1_500_000)
    (site / "api/v1/catalog.json").write_text(json.dumps(document))
    tarball = package_site(site, tmp_path / "dist", None).tarball
    command = [sys.executable, "-m", "generator", "diff", str(tarball), str(tarball)]
    measured = subprocess.run([sys.executable, "-c", PEAK_OF, *command], cwd=REPO, capture_output=True, text=True)
    code, peak = map(int, measured.stdout.split())
    assert code == 0, measured.stderr
    assert peak < 280 << 10, f"peak RSS {peak >> 10} MB"


def test_each_tarballs_catalog_is_parsed_once(runner, two_tarballs, monkeypatch):
    """The early reading parsed each catalog, then the main reading parsed the same bytes again (93 MB
    at 10,000 servers, about a seventh of a diff's time): the early document is kept instead."""
    from generator.release import read_releases

    (_old, _new), tarballs = two_tarballs
    parsed, real = [], read_releases.scan_catalog

    def counted(raw, where):
        parsed.append(where)
        return real(raw, where)
    monkeypatch.setattr(read_releases, "scan_catalog", counted)
    result = runner.invoke(main, ["diff", *map(str, tarballs)])
    assert result.exit_code == 0 and f"networkpolicy/{WITHDRAWN}-egress" in result.output, result.output
    assert sorted(parsed) == sorted(f"{tarball}:api/v1/catalog.json" for tarball in tarballs)


def test_only_the_withdrawn_servers_folders_are_rendered() -> None:
    """diff keeps of a profile's server folders only the withdrawn servers'; the platform part still
    names every server's folder, and those of the others (their objects named for them) are passed
    over, not taken for missing files."""
    from generator.release.bundle_objects import ReleaseBundles, UnreadBundle, _listing_reader

    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\nresources: [{}]\n"
    files = {
        "bundles/registries/p/platform/kustomization.yaml":
            kustomization.format("../../../servers/a/platform, ../../../servers/b/platform").encode(),
        "bundles/servers/a/platform/kustomization.yaml": kustomization.format("objects.yaml").encode(),
        "bundles/servers/a/platform/objects.yaml": b"apiVersion: v1\nkind: NetworkPolicy\nmetadata:\n  name: a-egress\n",
    }
    only_a = ReleaseBundles(_listing_reader(files), {"a"})
    assert [o.reference for o in only_a.server_objects("bundles/registries/p/", "a")] == ["networkpolicy/a-egress"]
    with pytest.raises(UnreadBundle, match="bundles/servers/b/platform is missing"):
        ReleaseBundles(_listing_reader(files)).server_objects("bundles/registries/p/", "a")


def test_large_bundle_files_are_kept_compressed_and_read_whole() -> None:
    """A profile's registry data and admission policies, some 300 MB a release at 10,000 servers, were
    kept as read until the few lines naming their objects were parsed."""
    import zlib

    from generator.release.bundle_objects import PACKED_FROM, Packed, _listing_reader, packed

    large = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: " + b"y" * PACKED_FROM + b"\n"
    small = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
    kept = {"bundles/registries/p/base/large.yaml": packed(large), "bundles/registries/p/base/small.yaml": packed(small)}
    assert isinstance(kept["bundles/registries/p/base/large.yaml"], Packed)
    assert len(kept["bundles/registries/p/base/large.yaml"]) < len(large) // 20
    assert kept["bundles/registries/p/base/small.yaml"] is small
    read = _listing_reader(kept)
    assert read("bundles/registries/p/base/large.yaml") == large and read("bundles/registries/p/base/small.yaml") == small
    compressed = zlib.compress(large)  # a release's own bytes are never taken for packed ones
    assert _listing_reader({"bundles/x.yaml": compressed})("bundles/x.yaml") == compressed


@pytest.fixture(scope="module")
def moved_sandbox(tmp_path_factory):
    """The default catalog, then the same with the sandbox profile moved to another namespace."""
    root = tmp_path_factory.mktemp("moved")
    new_source = root / "new-src"
    shutil.copytree(DEFAULT_SOURCE, new_source)
    catalog = new_source / "catalog.yaml"
    text = catalog.read_text()
    assert text.count("namespace: mcp-sandbox\n") == 1
    catalog.write_text(text.replace("version: 1.0.0", "version: 1.1.0").replace("namespace: mcp-sandbox\n",
                                                                                 "namespace: mcp-eval\n"))
    sites = root / "old", root / "new"
    build(DEFAULT_SOURCE, sites[0])
    build(new_source, sites[1])
    return sites, tuple(package_site(site, root / f"dist-{site.name}", None).tarball for site in sites)


def _profile_wide_everywhere(site: Path, profile: str) -> set[tuple[str, str]]:
    """(kind/name, namespace) of every object kubectl kustomize renders from the profile's folders (each
    variant, with its mesh) that is no server's (no `app.kubernetes.io/name` label), the Namespace but."""
    base = site / "bundles" / "registries" / profile
    found = set()
    for folder in (base, base / "with-mesh", base / "legacy", base / "legacy" / "with-mesh"):
        if (folder / "kustomization.yaml").is_file():
            found |= {(_ref(o), o["metadata"].get("namespace", "")) for o in kustomize(folder)
                      if o["kind"] != "Namespace" and "app.kubernetes.io/name" not in o["metadata"].get("labels", {})}
    return found


def test_a_namespace_no_profile_is_deployed_to_any_more_gets_every_object_of_the_old_bundle_deleted(runner, moved_sandbox):
    """A profile moved to another namespace (or removed) left its old namespace as the old release set
    it, and the diff named only the MCP servers there: the deployers' Role (which still let them create
    servers), the registry serving the old entries, and the admission policies bound to the namespace
    kept working, unnamed; a moved profile's registry was not even among its changes."""
    (old, _new), (old_tar, new_tar) = moved_sandbox
    result = runner.invoke(main, ["diff", str(old_tar), str(new_tar), "--json"])
    assert result.exit_code == 0, result.output
    vacated = json.loads(result.stdout)["vacated"]
    assert [(item["namespace"], item["profiles"]) for item in vacated] == [("mcp-sandbox", ["sandbox"])]
    rendered = _profile_wide_everywhere(old, "sandbox")
    assert {namespace for _ref_, namespace in rendered} == {"mcp-sandbox", ""}
    namespaced = sorted(ref for ref, namespace in rendered if namespace == "mcp-sandbox")
    cluster_wide = sorted(ref for ref, namespace in rendered if namespace == "")
    assert {"role/mcp-deployer", "mcpregistry/sandbox", "networkpolicy/default-deny"} <= set(namespaced)
    assert "validatingadmissionpolicy/mcp-catalog-mcp-sandbox-servers" in cluster_wide
    secrets = ["secret/sandbox-db", "secret/sandbox-pgpass"]  # made by hand from the registry's templates
    confining = [ref for ref in namespaced if ref.split("/")[0] in {"networkpolicy", "peerauthentication", "authorizationpolicy"}]
    first = sorted(set(namespaced) - set(confining) | set(secrets))
    assert vacated[0]["objects"] == first + cluster_wide + confining
    assert [command.split("   # ")[0] for command in vacated[0]["commands"]] == [
        f"kubectl -n mcp-sandbox delete {' '.join(first)} --ignore-not-found",
        f"kubectl delete {' '.join(cluster_wide)} --ignore-not-found",
        f"kubectl -n mcp-sandbox delete {' '.join(confining)} --ignore-not-found",
    ]
    text = runner.invoke(main, ["diff", str(old), str(_new)])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert "    - namespace: mcp-sandbox -> mcp-eval" in lines
    assert any(line.startswith("    - sandbox's registry in namespace mcp-sandbox is shipped no more") for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("  namespace mcp-sandbox (profile sandbox of 1.0.0): "))
    assert lines[header + 1:header + 4] == [f"    {command}" for command in vacated[0]["commands"]]
    assert text.output == runner.invoke(main, ["diff", str(old_tar), str(new_tar)]).output


def test_a_vacated_namespace_whose_bundle_is_not_read_is_left_to_be_cleaned_by_hand(runner, moved_sandbox, tmp_path):
    """diff told the user to run mcp-catalog diff on the two releases for the commands: the command
    they had just run, which had read the bundles and failed. It says the objects could not be read
    and must be found and deleted by hand; the servers' lines keep the objects read elsewhere."""
    (old, new), _ = moved_sandbox
    copy = _with_name_prefix(old, "sandbox/base", tmp_path)
    result = runner.invoke(main, ["diff", str(copy), str(new)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("  namespace mcp-sandbox (profile sandbox of "))
    assert lines[header + 1] == (
        "    (its objects could not be read from the old release's bundles, as a catalog-wide note says: find them in the "
        "namespace and among the admission policies bound to it, and delete them by hand)")
    assert "run mcp-catalog diff" not in result.output
    assert any(line.startswith("    - what the old release left in a namespace no profile is deployed to any more was not "
                               "read from its bundles") and "find it there and delete it by hand" in line for line in lines)


def test_a_crafted_old_bundle_gets_no_delete_line_beyond_what_the_build_renders_for_the_namespace(
        runner, moved_sandbox, tmp_path):
    """Every object of a kind without a namespace in the vacated profile's old bundle got a cluster-wide
    `kubectl delete`: an old release of another version, or a crafted one, holding the MCPServer
    CustomResourceDefinition would have removed every MCPServer in the cluster. Only the admission
    policies and bindings the build names for the namespace are deleted cluster-wide, only the kinds it
    renders there with `-n` (`-n` does not confine a Node); the rest is listed to check by hand."""
    (old, new), _ = moved_sandbox
    copy = tmp_path / "old"
    shutil.copytree(old, copy)
    base = copy / "bundles/registries/sandbox/base"
    crafted = {
        "crd.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
                    "  name: mcpservers.toolhive.stacklok.dev\n",
        "clusterrole.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: admin\n",
        "node.yaml": "apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n  namespace: mcp-sandbox\n",
        "other-policy.yaml": "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n"
                             "  name: mcp-catalog-mcp-production-servers\n",
        "other-binding.yaml": "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
                              "metadata:\n  name: mcp-catalog-mcp-production-servers\n",
    }
    for name, text in crafted.items():
        (base / name).write_text(text)
    kustomization = base / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n" + "".join(
        f"  - {name}\n" for name in crafted)))
    refused = ["clusterrole/admin", "customresourcedefinition/mcpservers.toolhive.stacklok.dev", "node/worker-1",
               "validatingadmissionpolicy/mcp-catalog-mcp-production-servers",
               "validatingadmissionpolicybinding/mcp-catalog-mcp-production-servers"]
    result = runner.invoke(main, ["diff", str(copy), str(new)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert not any(reference in line for line in lines if line.lstrip().startswith("kubectl") for reference in refused)
    header = next(i for i, line in enumerate(lines) if line.startswith("  namespace mcp-sandbox (profile sandbox of "))
    commands = lines[header + 1:header + 4]
    assert [line.split(" delete ")[0] for line in commands] == [
        "    kubectl -n mcp-sandbox", "    kubectl", "    kubectl -n mcp-sandbox"]
    assert all(reference.startswith("validatingadmissionpolicy") and "mcp-sandbox" in reference
               for reference in commands[1].split(" --ignore-not-found")[0].split(" delete ")[1].split())
    assert not any("--all" in line or "namespace/" in line for line in commands)
    assert lines[header + 4] == ("    # not deleted, not what this version's bundles render for the namespace: check by hand: "
                                 + " ".join(refused))
    as_json = runner.invoke(main, ["diff", str(copy), str(new), "--json"])
    assert as_json.exit_code == 0, as_json.output
    [vacated] = json.loads(as_json.stdout)["vacated"]
    assert vacated["unchecked"] == refused
    assert not set(refused) & set(vacated["objects"])
    untouched = runner.invoke(main, ["diff", str(old), str(new), "--json"])
    assert json.loads(untouched.stdout)["vacated"][0]["objects"] == vacated["objects"], "what the build renders: all of it"


def test_a_crafted_server_folder_gets_no_delete_line_for_a_kind_the_build_never_renders_there() -> None:
    """A withdrawn server's folder holding a kind the build never renders in a namespace (a Node the
    kustomization's `namespace` placed there) got `kubectl -n ns delete node/...`, which `-n` does not
    confine: listed to check by hand instead."""
    from generator.release.bundle_objects import ReleaseBundles, _listing_reader
    from generator.release.cleanup import Withdrawn, namespace_objects, with_server_objects

    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\nresources: [{}]\n"
    old = {
        "bundles/registries/p/kustomization.yaml": kustomization.format("").encode(),
        "bundles/registries/p/servers/a/kustomization.yaml": kustomization.format("objects.yaml").encode(),
        "bundles/registries/p/servers/a/objects.yaml": b"apiVersion: v1\nkind: MCPServer\nmetadata:\n  name: a\n---\n"
                                                       b"apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n",
    }
    new = {"bundles/registries/p/kustomization.yaml": kustomization.format("").encode()}
    documents = ({"catalog": {"registries": [{"name": "p", "namespace": "ns"}]}},) * 2
    item = Withdrawn("p", "a", "ns", "mcpserver", "a", "kubectl -n ns delete mcpserver/a --ignore-not-found")
    [result] = with_server_objects([item], documents[0], ReleaseBundles(_listing_reader(old)),
                                   namespace_objects(documents[1], ReleaseBundles(_listing_reader(new)), {"ns"}))
    assert result.command == "kubectl -n ns delete mcpserver/a --ignore-not-found"
    assert result.unchecked == ["node/worker-1"]
