"""A rebuild does a profile bundle's per-server work only for the servers that changed.

Each server's share of a profile's own files (its shape and tool config in the admission
policies, its platform objects in all.yaml) is a `@per_server` piece: a rebuild after one
change makes that server's shares again and joins the others' from the store, and the
result is the bytes of a build without the cache. The registry ConfigMaps splice the
registry document's bytes (themselves spliced from per-server pieces) without encoding them again.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from generator.build import build
from generator.models import RegistryProfile, Server
from generator.render.kubernetes import bundles
from generator.render.kubernetes import policy as k8s_policy
from generator.render.kubernetes import profile as k8s_profile
from generator.render.kubernetes.manifests import yaml_text

from test_build_cache import differences, edit, snapshot


def recording_shipped_servers(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count, by server, the calls that make what a profile ships and encode its admission entry."""
    calls: Counter[str] = Counter()
    make_manifests, encode = bundles.shipped_manifests, k8s_policy.PolicyEntry.of.__func__

    def shipped_manifests(context: object, server: Server, profile: RegistryProfile, variant: str) -> object:
        calls[server.name] += 1
        return make_manifests(context, server, profile, variant)  # type: ignore[arg-type]

    def of(cls: type, shipped: k8s_policy.ShippedServer, url_field: str) -> object:
        calls[shipped.name] += 1
        return encode(cls, shipped, url_field)

    monkeypatch.setattr(bundles, "shipped_manifests", shipped_manifests)
    monkeypatch.setattr(k8s_policy.PolicyEntry, "of", classmethod(of))
    return calls


@pytest.mark.parametrize("server, old, new, reaches", [
    # An image server's shape (its port), pinned in every policy of both profiles.
    ("fetch", "port: 8080\n", "port: 8081\n", "bundles/registries/production/base/admission-policy.yaml"),
    # A remote server's URL, which the legacy policy keys by its own field (remoteURL).
    ("context7-remote", "url: https://mcp.context7.com/mcp\n", "url: https://mcp.context7.com/v2/mcp\n",
     "bundles/registries/sandbox/legacy/admission-policy.yaml"),
])
def test_a_rebuild_encodes_only_the_changed_server_for_the_profile_bundles(
    default_source_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str, old: str, new: str,
    reaches: str,
) -> None:
    catalog, site = default_source_copy, tmp_path / "site"
    build(catalog, site, jobs=1)  # one job: every half runs in this process, where the calls are counted
    before = (site / reaches).read_bytes()
    calls = recording_shipped_servers(monkeypatch)
    edit(catalog / f"servers/{server}.yaml", old, new)
    edit(catalog / f"servers/{server}.yaml", "\ndescription: ", "\ndescription: Changed, ")  # its registry entry
    report = build(catalog, site, jobs=1)
    assert report.rendered_servers == 1
    assert set(calls) == {server}, calls
    assert (site / reaches).read_bytes() != before
    monkeypatch.undo()
    cold = tmp_path / "cold"
    build(catalog, cold, jobs=2, use_cache=False)
    assert differences(snapshot(site), snapshot(cold)) == []


def test_admission_entries_round_trip_through_their_piece() -> None:
    """The piece holds every field of an entry, hostile text included, and gives it back as it was."""
    workload = {"kind": "MCPRemoteProxy", "metadata": {"name": "x", "annotations": {
        "toolhive.stacklok.dev/registry-description": 'a "b"\\\u2028é', "example.com/other": "not published"}},
        "spec": {"remoteURL": 'https://x.example/"\\\u2028é', "replicas": 2, "proxyPort": 8080}}
    tool_config = {"metadata": {"name": "x-tools"}, "spec": {"toolsFilter": ["a\"b"]}}
    entry = k8s_policy.PolicyEntry.of(k8s_policy.ShippedServer("x", workload, tool_config), "remoteURL")
    assert k8s_policy.PolicyEntry.decoded(entry.encoded()) == entry
    assert entry.fields == ("remoteURL", "proxyPort") and entry.address == workload["spec"]["remoteURL"]
    assert "registry-description" in entry.shape and "example.com/other" not in entry.shape


@pytest.mark.parametrize("document", [
    b'{"servers":[{"name":"fetch","description":"Fetch a page"}]}\n',
    '{"description":"Café, naïve… 日本語"}\n'.encode(),
    # What a literal block cannot hold unchanged: the emitter quotes these, and so must the splice.
    '{"description":"a\u2028b"}\n'.encode(), '{"description":"\x85"}\n'.encode(), '{"description":"\ufeff"}\n'.encode(),
    b'{"description":"\x7f"}\n', b'{"description":"tab\tin"}\n', b' {}\n', b'{} \n', b'\n', b'{}\n{}\n', b'{}',
])
def test_a_registry_configmap_splices_its_document_as_the_emitter_writes_it(document: bytes) -> None:
    """The ConfigMap's YAML puts the registry document's bytes in unchanged only where the emitter
    would write the same bytes (one line as a literal block), and is the emitter's YAML everywhere."""
    profile = RegistryProfile(name="production", namespace="mcp-production")
    part = k8s_profile.RegistryPart("production-data-1", lambda: document)
    emitted = yaml_text(k8s_profile.registry_configmap(profile, part)).encode("utf-8")
    assert k8s_profile.registry_configmap_yaml(profile, part) == emitted
    assert yaml.safe_load(emitted)["data"]["registry.json"] == document.decode("utf-8")
