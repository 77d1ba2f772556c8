"""What the Kubernetes bundles say: layout, policy, security defaults, determinism and size limits.

Schemas and kustomize are exercised in test_bundles_validation.py and the
admission policy and RBAC in test_bundles_admission.py; here the objects'
content is checked against the catalog they came from, and a generated
5,000-server catalog checks the ConfigMap size limit.
"""

from __future__ import annotations

import json
import re
import posixpath
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CATALOG_YAML, DEFAULT_SOURCE, FETCH_YAML, synthetic_catalog
from kustomized import kustomize, overlay_folders, with_overlays_rendered
from generator.errors import OutputError
from generator.incremental.memo import StoredMemo
from generator.incremental.store import FragmentStore
from generator.render.kubernetes import bundles
from generator.render.kubernetes.kustomize import manifest_document
from generator.render.kubernetes import profile as k8s_profile
from generator.render.registry import mirror as mcp_registry
from generator.render.registry import toolhive
from generator.render.context import RenderContext
from generator.derived import profile_servers
from generator.render.kubernetes.manifests import document_bytes, yaml_text
from generator.render.kubernetes.names import resource_name
from generator.render.memo import InMemory
from generator.render.encoding import Spliced, json_bytes
from generator.render.registry.toolhive import legacy_registry_spliced, upstream_registry_spliced
from generator.source.validate import read_catalog

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def render_files(source: Path, **options: Any) -> dict[str, bytes]:
    """The bundles renderer's output for a source folder, as {path: bytes}."""
    context = RenderContext(read_catalog(source).catalog, **options)
    return {item.path: item.content for item in bundles.render(context)}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_files(DEFAULT_SOURCE)


@pytest.fixture(scope="module")
def shipped(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` plus the objects the profiles' server overlays render through kubectl kustomize."""
    return with_overlays_rendered(files)


def load(files: dict[str, bytes], path: str) -> dict[str, Any]:
    return yaml.safe_load(files[path])


def platform_object(files: dict[str, bytes], server: str, kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of `kind` (named `name`, if given) in the server's `platform/objects.yaml` (a
    multi-document file): NetworkPolicy alone is the egress policy, `<server>-ingress` the other."""
    if kind == "NetworkPolicy" and name is None:
        name = f"{server}-egress"
    found = [document for document in yaml.safe_load_all(files[f"bundles/servers/{server}/platform/objects.yaml"])
             if document["kind"] == kind and name in (None, document["metadata"]["name"])]
    assert len(found) == 1, (server, kind)
    return found[0]


def objects(files: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """Every object of every object file, each document of a multi-document file included."""
    return [
        (path, document)
        for path, content in sorted(files.items())
        if path.endswith(".yaml") and not path.endswith(("/kustomization.yaml", "/all.yaml", "values.yaml"))
        for document in yaml.safe_load_all(content)
    ]


# --- layout -----------------------------------------------------------------


def test_each_deployable_server_has_a_bundle_and_reference_servers_none(files: dict[str, bytes]) -> None:
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    for server in catalog.servers:
        folder = f"bundles/servers/{server.name}/"
        if server.kind == "reference":
            assert not any(path.startswith(folder) for path in files), server.name
            continue
        workload = "mcpremoteproxy.yaml" if server.kind == "remote" else "mcpserver.yaml"
        assert f"{folder}workload/{workload}" in files and f"{folder}kustomization.yaml" in files, server.name
        assert load(files, f"{folder}kustomization.yaml")["resources"] == ["workload", "platform"]
        assert platform_object(files, server.name, "NetworkPolicy")["metadata"]["name"] == f"{server.name}-egress"
        # `kubectl apply -k` the folder, or `kubectl kustomize` it into one file: no all.yaml copy.
        assert f"{folder}all.yaml" not in files


def test_profile_server_folders_are_overlays_of_the_catalog_wide_folder(files: dict[str, bytes]) -> None:
    """Each profile's server folder (current and legacy) is one kustomization over the deployer's
    part of bundles/servers/<name>/, and each variant has one platform/ kustomization over every
    shipped server's platform part: no copy of an object, no per-server platform folder."""
    folders = overlay_folders(list(files))
    assert len(folders) > 50
    in_profiles = {path for path in files if re.match(r"bundles/registries/[^/]+/(legacy/)?(servers|platform)/", path)}
    assert in_profiles == {f"{folder}kustomization.yaml" for folder in folders}
    servers = [folder for folder in folders if "/servers/" in folder]
    for folder in servers:
        kustomization = load(files, f"{folder}kustomization.yaml")
        name = re.search(r"/servers/([^/]+)/", folder).group(1)
        resource = kustomization["resources"]
        assert len(resource) == 1 and posixpath.normpath(folder + resource[0]) == f"bundles/servers/{name}/workload", folder
        assert kustomization["namespace"] in ("mcp-production", "mcp-sandbox")
    platform = [folder for folder in folders if folder.endswith("/platform/")]
    assert platform == ["bundles/registries/production/platform/", "bundles/registries/sandbox/legacy/platform/",
                        "bundles/registries/sandbox/platform/"]
    for folder in platform:
        kustomization = load(files, f"{folder}kustomization.yaml")
        names = sorted(re.search(r"/servers/([^/]+)/", server).group(1) for server in servers if server.startswith(folder.removesuffix("platform/") + "servers/"))
        assert [posixpath.normpath(folder + resource) for resource in kustomization["resources"]] == [
            f"bundles/servers/{name}/platform" for name in names], folder
        assert kustomization["namespace"] == ("mcp-production" if "/production/" in folder else "mcp-sandbox")


PLATFORM_WITH_PATCHES = ["bundles/registries/production/platform/kustomization.yaml",
                         "bundles/registries/sandbox/legacy/platform/kustomization.yaml"]


def test_the_platform_kustomization_is_the_whole_documents_encoding(files: dict[str, bytes]) -> None:
    """Each variant's platform/ kustomization splices each server's patches (a per-server piece)
    after the catalog-wide part: byte for byte what encoding the whole document at once gives."""
    for path in PLATFORM_WITH_PATCHES:
        text = files[path].decode("utf-8")
        head = "".join(f"{line}\n" for line in text.splitlines() if line.startswith("#"))
        document = yaml.safe_load(text)
        assert len(document["patches"]) >= 5, path  # production's tool policy, the legacy API
        assert files[path] == document_bytes(head, document), path


def test_the_platform_kustomization_takes_each_servers_patches_from_the_memo() -> None:
    """A rebuild splices the patches the memo holds for each server rather than making them again."""
    context = RenderContext(read_catalog(DEFAULT_SOURCE).catalog, memo=InMemory())
    production = context.catalog.meta.registries[0]
    github = next(server for server in context.catalog.servers if server.name == "github")
    marker = b"  - target: {kind: MCPToolConfig, name: from-the-memo}\n    patch: '[]'\n"
    context.memo.piece(github.name, f"platform_patches:{production.name}:current", lambda: marker)
    made = {item.path: item.content for item in bundles.profile_files(context, production)}
    assert marker in made["bundles/registries/production/platform/kustomization.yaml"]


def test_remote_server_becomes_a_remote_proxy_with_secret_headers(files: dict[str, bytes]) -> None:
    proxy = load(files, "bundles/servers/github-remote/workload/mcpremoteproxy.yaml")
    assert proxy["kind"] == "MCPRemoteProxy"
    assert proxy["spec"]["remoteUrl"] == "https://api.githubcopilot.com/mcp"
    assert proxy["spec"]["headerForward"]["addHeadersFromSecret"] == [
        {"headerName": "Authorization", "valueSecretRef": {"name": "github-remote-secrets", "key": "Authorization"}}
    ]
    policy = platform_object(files, "github-remote", "NetworkPolicy")
    assert policy["spec"]["egress"][-1] == {"ports": [{"protocol": "TCP", "port": 443}]}


def test_container_server_fields(files: dict[str, bytes]) -> None:
    server = load(files, "bundles/servers/github/workload/mcpserver.yaml")["spec"]
    assert server["image"] == "ghcr.io/github/github-mcp-server:v0.30.3"
    assert server["transport"] == "stdio" and server["proxyPort"] == 8080
    assert server["secrets"] == [
        {"name": "github-secrets", "key": "GITHUB_PERSONAL_ACCESS_TOKEN", "targetEnvName": "GITHUB_PERSONAL_ACCESS_TOKEN"}
    ]
    assert server["permissionProfile"] == {"type": "configmap", "name": "github-permissions", "key": "permissions.json"}
    assert server["toolConfigRef"] == {"name": "github-tools"}
    assert server["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}
    profile = yaml.safe_load(platform_object(files, "github", "ConfigMap")["data"]["permissions.json"])
    assert profile["network"]["outbound"] == {
        "insecure_allow_all": False, "allow_host": [".github.com", ".githubusercontent.com"], "allow_port": [443]
    }
    policy = platform_object(files, "github", "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Egress"]
    assert policy["egress"] == [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": 443}]},
    ]


def test_http_server_gets_proxy_and_mcp_ports_and_pinned_digest(write_tree, tmp_path: Path) -> None:
    generated = render_files(write_tree(), image_mirror="mirror.corp:5000/mcp")
    spec = load(generated, "bundles/servers/fetch/workload/mcpserver.yaml")["spec"]
    assert spec["proxyPort"] == 8080 and spec["mcpPort"] == 8080
    assert spec["image"] == (
        "mirror.corp:5000/mcp/stackloklabs/gofetch/server:1.0.3"
        "@sha256:0000000000000000000000000000000000000000000000000000000000000001"
    )


def test_profile_bundle_layout_and_all_yaml(files: dict[str, bytes], shipped: dict[str, bytes]) -> None:
    root = "bundles/registries/production/"
    assert load(files, f"{root}kustomization.yaml")["resources"][0] == "base"
    base = load(files, f"{root}base/kustomization.yaml")["resources"]
    assert "pgpass-secret.example.yaml" not in base
    documents = list(yaml.safe_load_all(files[f"{root}all.yaml"]))
    kinds = [load(files, f"{root}base/{name}")["kind"] for name in base]
    assert [d["kind"] for d in documents][: len(kinds)] == kinds
    # then every server's platform objects, as its platform overlay renders them
    assert load(files, f"{root}kustomization.yaml")["resources"][1:] == ["platform"]
    rendered = [yaml.safe_load(content) for path, content in sorted(shipped.items())
                if path.startswith(f"{root}servers/") and "/platform/" in path and not path.endswith("kustomization.yaml")]
    assert sorted(d["kind"] for d in documents[len(kinds):]) == sorted(d["kind"] for d in rendered)
    namespace = load(files, f"{root}base/namespace.yaml")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert f"{root}mesh/kustomization.yaml" in files and f"{root}with-mesh/kustomization.yaml" in files
    assert f"{root}registry-server/values.yaml" in files
    # production targets current operators only (the default); sandbox says `operator: both`
    assert not any(path.startswith(f"{root}legacy/") for path in files)
    assert "bundles/registries/sandbox/legacy/mcpregistry.yaml" in files
    assert "bundles/registries/sandbox/legacy/servers/github/kustomization.yaml" in files
    # The profile's folder is not also shipped as a tarball: the release carries it (README, cut 9).
    assert not any(path.endswith((".tar.gz", ".tgz", ".tar")) for path in files)


def test_registry_configmap_holds_the_profile_registry(files: dict[str, bytes]) -> None:
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    from generator.derived import profile_servers, registry_name

    profile = catalog.meta.registries[0]
    configmap = load(files, "bundles/registries/production/base/configmap-production-data-1.yaml")
    document = json.loads(configmap["data"]["registry.json"])
    expected = {registry_name(catalog.meta, s) for s in profile_servers(catalog, profile) if s.kind != "reference"}
    assert {entry["name"] for entry in document["data"]["servers"]} == expected
    registry = load(files, "bundles/registries/production/base/mcpregistry.yaml")["spec"]
    config = yaml.safe_load(registry["configYAML"])
    assert config["sources"][0]["file"]["path"] == "/config/registry/production-data-1/registry.json"
    assert registry["volumeMounts"][0]["mountPath"] == "/config/registry/production-data-1"
    assert config["sources"][0]["syncPolicy"] == {"interval": "1h"}
    assert registry["pgpassSecretRef"] == {"name": "production-pgpass", "key": ".pgpass"}


def test_legacy_registry_is_typed_and_enforces(files: dict[str, bytes], shipped: dict[str, bytes]) -> None:
    registry = load(files, "bundles/registries/sandbox/legacy/mcpregistry.yaml")
    assert registry["apiVersion"] == "toolhive.stacklok.dev/v1alpha1"
    assert registry["spec"]["enforceServers"] is True
    assert registry["spec"]["registries"][0]["format"] == "toolhive"
    assert registry["spec"]["registries"][0]["configMapRef"] == {"name": "sandbox-data-1", "key": "registry.json"}
    assert registry["spec"]["registries"][0]["syncPolicy"] == {"interval": "30m"}
    server = load(shipped, "bundles/registries/sandbox/legacy/servers/github/mcpserver.yaml")
    assert server["apiVersion"] == "toolhive.stacklok.dev/v1alpha1"
    assert server["metadata"]["namespace"] == "mcp-sandbox"
    # The v0.15/v0.16 operators' MCPRemoteProxy CRD names the field `remoteURL` (and requires it).
    proxy = load(shipped, "bundles/registries/sandbox/legacy/servers/github-remote/mcpremoteproxy.yaml")["spec"]
    assert proxy["remoteURL"] == "https://api.githubcopilot.com/mcp" and "remoteUrl" not in proxy


def test_rbac_names_the_profile_groups(files: dict[str, bytes]) -> None:
    base = "bundles/registries/production/base/"
    deployer = load(files, f"{base}rolebinding-deployer.yaml")
    assert deployer["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "mcp-deployers"}]
    viewer = load(files, f"{base}role-viewer.yaml")["rules"][0]
    assert viewer["verbs"] == ["get", "list", "watch"]
    deny = load(files, f"{base}networkpolicy-default-deny.yaml")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    api = load(files, f"{base}networkpolicy-registry-api.yaml")["spec"]
    # the API port, from any namespace's pods but ToolHive's (an MCP workload never reaches it)
    not_toolhive = {"matchExpressions": [{"key": "toolhive", "operator": "NotIn", "values": ["true"]}]}
    assert api["ingress"] == [{"from": [{"namespaceSelector": {}, "podSelector": not_toolhive}],
                               "ports": [{"protocol": "TCP", "port": 8080}]}]


def test_mesh_component_is_strict_mtls(files: dict[str, bytes]) -> None:
    mesh = "bundles/registries/sandbox/mesh/"
    assert load(files, f"{mesh}kustomization.yaml")["kind"] == "Component"
    assert load(files, f"{mesh}peerauthentication.yaml")["spec"] == {"mtls": {"mode": "STRICT"}}
    allow = load(files, f"{mesh}authorizationpolicy.yaml")
    assert allow["apiVersion"] == "security.istio.io/v1" and allow["spec"]["action"] == "ALLOW"
    assert allow["spec"]["rules"] == [{"from": [{"source": {"namespaces": ["mcp-sandbox", "toolhive-system"]}}]}]


# --- tool policy ------------------------------------------------------------


def test_production_tool_configs_drop_destructive_tools(shipped: dict[str, bytes]) -> None:
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    github = catalog.server("github")
    destructive = {t.deployed_name for t in github.tools if t.annotations and t.annotations.destructiveHint}
    assert destructive
    production = set(load(shipped, "bundles/registries/production/servers/github/platform/mcptoolconfig.yaml")["spec"]["toolsFilter"])
    sandbox = set(load(shipped, "bundles/registries/sandbox/servers/github/platform/mcptoolconfig.yaml")["spec"]["toolsFilter"])
    assert not production & destructive
    assert destructive <= sandbox
    assert production == sandbox - destructive


def test_tool_filter_uses_renamed_tools_and_override(write_tree) -> None:
    renamed = FETCH_YAML.replace(
        "      openWorldHint: true\n",
        "      openWorldHint: true\n    override:\n      name: web_fetch\n      description: Fetch one page.\n",
    )
    generated = render_files(write_tree({"fetch.yaml": renamed}))
    spec = platform_object(generated, "fetch", "MCPToolConfig")["spec"]
    assert spec["toolsFilter"] == ["web_fetch"]
    assert spec["toolsOverride"] == {"fetch": {"name": "web_fetch", "description": "Fetch one page."}}


def test_profile_withholding_every_tool_gets_no_server_folder(write_tree) -> None:
    catalog = CATALOG_YAML.replace(
        "    include:\n      tiers: [validated]\n",
        "    include:\n      tiers: [validated]\n    tools:\n      exclude_annotations: [openWorldHint]\n",
    )
    generated = render_files(write_tree(catalog=catalog))
    # An empty toolsFilter means "every tool" to ToolHive, so the server must not be deployable there.
    assert not any(path.startswith("bundles/registries/production/servers/fetch/") for path in generated)
    policy = load(generated, "bundles/registries/production/base/admission-policy.yaml")
    assert "gofetch" not in yaml_text(policy)
    assert "bundles/registries/sandbox/servers/fetch/kustomization.yaml" in generated


# --- security policy ----------------------------------------------------------


def pod_templates(files: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    return [(p, d["spec"]["podTemplateSpec"]) for p, d in objects(files) if isinstance(d.get("spec"), dict) and "podTemplateSpec" in d["spec"]]


def test_every_pod_template_meets_the_restricted_profile(shipped: dict[str, bytes]) -> None:
    templates = pod_templates(shipped)
    assert len(templates) > 40
    containers_seen = 0
    for path, template in templates:
        pod = template["spec"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}, path
        for container in template["spec"].get("containers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, path
            assert context["runAsNonRoot"] is True, path
            assert context["capabilities"] == {"drop": ["ALL"]}, path
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, path
            assert context["readOnlyRootFilesystem"] is True, path
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in template["spec"]["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], path
            containers_seen += 1
    assert containers_seen > 30


def test_declared_write_paths_get_writable_volumes(write_tree) -> None:
    with_paths = FETCH_YAML.replace("permissions:\n", "permissions:\n  write: [/data]\n  read: [/etc/fetch]\n")
    generated = render_files(write_tree({"fetch.yaml": with_paths}))
    template = load(generated, "bundles/servers/fetch/workload/mcpserver.yaml")["spec"]["podTemplateSpec"]["spec"]
    assert [m["mountPath"] for m in template["containers"][0]["volumeMounts"]] == ["/tmp", "/data"]
    profile = yaml.safe_load(platform_object(generated, "fetch", "ConfigMap")["data"]["permissions.json"])
    assert profile["read"] == ["/etc/fetch"] and profile["write"] == ["/data"]


def test_no_secret_carries_data(files: dict[str, bytes]) -> None:
    secrets = [(path, doc) for path, doc in objects(files) if doc["kind"] == "Secret"]
    assert len(secrets) > 10
    for path, secret in secrets:
        assert not {"data", "stringData"} & set(secret), path
        assert path.endswith(".example.yaml"), path
        assert files[path].decode().count("TEMPLATE, not applied"), path
    for path, content in files.items():
        if path.endswith("kustomization.yaml"):
            assert ".example.yaml" not in content.decode(), path
        if path.endswith("all.yaml"):
            assert "kind: Secret" not in content.decode(), path


def test_names_are_dns_labels_within_limits(files: dict[str, bytes]) -> None:
    for path, document in objects(files):
        name = document["metadata"]["name"]
        limit = 253 if document["kind"].startswith("ValidatingAdmissionPolicy") else 63
        pattern = DNS_SUBDOMAIN if limit == 253 else DNS_LABEL
        assert pattern.match(name) and len(name) <= limit, (path, name)


def test_longest_server_name_keeps_names_within_63(write_tree) -> None:
    long_name = "a" * 30 + "-" + "b" * 32
    server = FETCH_YAML.replace("name: fetch\n", f"name: {long_name}\n", 1)
    server = server.replace("GITHUB", "X")
    generated = render_files(write_tree({f"{long_name}.yaml": server}))
    names = [doc["metadata"]["name"] for _, doc in objects(generated) if doc["kind"] in {"MCPToolConfig", "NetworkPolicy", "MCPServer"}]
    assert len(names) >= 3
    assert all(len(name) <= 63 and DNS_LABEL.match(name) for name in names), names
    assert resource_name(long_name, "-tools") != resource_name(long_name[:-1] + "c", "-tools")
    assert resource_name(long_name, "-tools").endswith("-tools")


# --- determinism and files ------------------------------------------------------


def test_output_is_byte_identical_across_builds(files: dict[str, bytes]) -> None:
    assert render_files(DEFAULT_SOURCE) == files


def test_every_file_has_one_document_and_a_header(files: dict[str, bytes]) -> None:
    """A server's platform/objects.yaml has several documents, each with the header its own file would have."""
    several = 0
    for path, content in files.items():
        if not path.endswith(".yaml"):
            continue
        text = content.decode("utf-8")
        parts = text.split("\n---\n") if path.endswith("/platform/objects.yaml") else [text]
        several += len(parts) > 1
        for part in parts:
            assert part.startswith("# Generated by mcp-catalog"), path
            assert "# catalog version: 1.0.0\n" in part, path
            assert re.search(r"^# source: (servers/[a-z0-9-]+\.yaml|catalog\.yaml (registries/|toolhive$))", part, re.M), path
            documents = list(yaml.safe_load_all(part))
            assert len(documents) >= 1 and (path.endswith("all.yaml") or len(documents) == 1), path
    assert several > 30


def test_platform_objects_are_one_file_in_the_order_they_are_built(files: dict[str, bytes]) -> None:
    """bundles/servers/<name>/platform/ holds objects.yaml, the platform objects in the order the
    generator builds them, and a kustomization listing only it (the Secret template is a file of
    the server's folder, listed by no kustomization: see test_no_secret_carries_data)."""
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    context = RenderContext(catalog)
    deployable = [server for server in catalog.servers if server.kind != "reference"]
    for server in deployable:
        folder = f"bundles/servers/{server.name}/platform/"
        assert sorted(path for path in files if path.startswith(folder)) == [f"{folder}kustomization.yaml", f"{folder}objects.yaml"]
        assert load(files, f"{folder}kustomization.yaml")["resources"] == ["objects.yaml"]
        manifests = bundles.server_manifests(context, server, server.tools, api=bundles.k8s_server.CURRENT_API, namespace=None)
        built = [manifest_document(manifest) for manifest in manifests if manifest.stem in bundles.PLATFORM_STEMS]
        assert list(yaml.safe_load_all(files[f"{folder}objects.yaml"])) == built, server.name
    assert len(deployable) > 30
    github = yaml.safe_load_all(files["bundles/servers/github/platform/objects.yaml"])
    assert [document["kind"] for document in github] == ["ConfigMap", "MCPToolConfig", "NetworkPolicy", "NetworkPolicy"]


def test_build_writes_bundles_into_the_site(default_site: Path) -> None:
    assert (default_site / "bundles/servers/github/kustomization.yaml").is_file()
    assert (default_site / "bundles/registries/production/all.yaml").is_file()


# --- ConfigMap size ------------------------------------------------------------


@pytest.fixture(scope="module")
def large_profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per profile of a 1,500-server catalog: the ConfigMaps and MCPRegistry of both bundle variants.

    Built with the same functions the renderer uses for these objects; the whole bundle tree
    would take much longer and prove nothing more about size. 1,500 servers (about 10 KB of
    registry JSON each) fill several ConfigMaps in every profile, `production`'s included.
    """
    context = RenderContext(read_catalog(synthetic_catalog(tmp_path_factory.mktemp("large") / "src", 1500)).catalog)
    built = {}
    for profile in context.catalog.meta.registries:
        admitted = [s for s in profile_servers(context.catalog, profile) if s.kind != "reference"]
        current = k8s_profile.split_registry(profile, admitted, lambda c: upstream_registry_spliced(context, c, profile))
        legacy = k8s_profile.split_registry(profile, admitted, lambda c: legacy_registry_spliced(context, c, profile))
        built[profile.name] = {
            "current": [k8s_profile.registry_configmap(profile, part) for part in current],
            "legacy": [k8s_profile.registry_configmap(profile, part) for part in legacy],
            "registry": [k8s_profile.mcp_registry(context.catalog, profile, current)],
            "admitted": [{"count": len(admitted)}],
        }
    return built


def test_large_profile_is_split_across_configmaps_under_the_limit(large_profiles: dict[str, Any]) -> None:
    for profile, built in large_profiles.items():
        for variant in ("current", "legacy"):
            assert len(built[variant]) > 1, (profile, variant)
            for configmap in built[variant]:
                size = sum(len(k) + len(v.encode("utf-8")) for k, v in configmap["data"].items())
                assert size <= k8s_profile.CONFIGMAP_LIMIT, (profile, variant, size)
                # What the API server stores: the whole object must stay far below etcd's 1.5 MiB.
                assert len(yaml_text(configmap).encode("utf-8")) < 1.5 * 1024 * 1024
        registry = built["registry"][0]["spec"]
        sources = yaml.safe_load(registry["configYAML"])["sources"]
        assert len(sources) == len(registry["volumes"]) == len(registry["volumeMounts"]) == len(built["current"])
        names = [
            entry["name"]
            for configmap in built["current"]
            for entry in json.loads(configmap["data"]["registry.json"])["data"]["servers"]
        ]
        assert len(names) == len(set(names)) == built["admitted"][0]["count"]
    assert large_profiles["sandbox"]["admitted"][0]["count"] > 1200


def test_single_oversized_server_fails_with_a_clear_message(write_tree) -> None:
    catalog = read_catalog(write_tree()).catalog
    profile = catalog.meta.registries[0]
    huge = {"servers": ["x" * (k8s_profile.CONFIGMAP_LIMIT + 10)]}
    with pytest.raises(OutputError) as raised:
        k8s_profile.split_registry(profile, list(catalog.servers[:1]), lambda chunk: Spliced((json_bytes(huge),)))
    message = str(raised.value)
    assert "registry profile 'production'" in message
    assert re.search(r"is \d+ bytes", message) and "exclude it from the profile" in message


def test_the_bundles_parts_yield_what_the_whole_catalog_wide_half_yields() -> None:
    # The build runs each profile's bundle as its own task (OutputKind.catalog_parts); tests and
    # `render` use the whole half: both must give the same files in the same order.
    from conftest import DEFAULT_SOURCE
    from generator.render.kubernetes import bundles
    from generator.render.context import RenderContext
    from generator.source.validate import read_catalog

    context = RenderContext(read_catalog(DEFAULT_SOURCE).catalog)
    assert bundles.KIND.catalog_parts is not None
    parts = bundles.KIND.catalog_parts(context)
    assert len(parts) == 1 + len(context.catalog.meta.registries) >= 3  # the operator's values, then each profile

    def files(items: object) -> list[tuple[str, bytes]]:
        return [(i.path, i.content) for i in items]  # type: ignore[attr-defined]

    whole = files(bundles.KIND.catalog_wide(context))
    assert whole and files(item for part in parts for item in part(context)) == whole


def test_registry_documents_are_measured_exactly_without_being_made(tmp_path: Path) -> None:
    """The ConfigMap split measures its attempts instead of encoding them; a wrong size would split differently."""
    context = RenderContext(read_catalog(DEFAULT_SOURCE).catalog)
    servers = list(context.catalog.servers)
    with FragmentStore.fresh(tmp_path / "fragments.bin") as store:
        made = StoredMemo(store, {})
        for server in servers:  # the build's way: the per-server halves' pieces kept in the store, measured by ref
            for kind in (bundles.KIND, toolhive.KIND, mcp_registry.KIND):
                assert kind.per_server is not None
                list(kind.per_server(replace(context, memo=made).for_server(server), server))
        stored = RenderContext(context.catalog, memo=StoredMemo(store, made.stored()))
        for profile in (None, *context.catalog.meta.registries):
            admitted = servers if profile is None else profile_servers(context.catalog, profile)
            for chunk in (admitted, admitted[:1], admitted[3:11], admitted[:0]):
                for made_from in (context, stored):
                    for document in (upstream_registry_spliced, legacy_registry_spliced):
                        assert len(document(made_from, chunk, profile)) == len(bytes(document(context, chunk, profile)))


def test_a_server_whose_every_tool_a_profile_withholds_is_in_none_of_its_registries(write_tree, tmp_path: Path) -> None:
    """The profile admits it but cannot offer it (an empty tool filter is "every tool" to ToolHive):
    its registries, its in-cluster registry data and its image list leave it out, as its bundle does;
    the site root and the other profile still list it."""
    from generator.build import build

    catalog = CATALOG_YAML.replace(
        "    include:\n      tiers: [validated]\n",
        "    include:\n      tiers: [validated]\n    tools:\n      exclude_annotations: [openWorldHint]\n",
    )
    site = tmp_path / "site"
    build(write_tree(catalog=catalog), site, use_cache=False)

    def listed(path: str) -> bool:
        text = (site / path).read_text(encoding="utf-8")
        return "gofetch" in text or '"fetch"' in text or "/fetch" in text

    for profile, offered in (("production", False), ("sandbox", True)):
        for path in (
            f"registries/{profile}/registry.json",
            f"registries/{profile}/registry-legacy.json",
            f"registry/{profile}/v0.1/servers/index.json",
            f"mirror/profiles/{profile}/images.txt",
        ):
            assert listed(path) is offered, path
        configmaps = [p for p in (site / f"bundles/registries/{profile}/base").glob("configmap-*.yaml")]
        assert configmaps and any("gofetch" in p.read_text(encoding="utf-8") for p in configmaps) is offered, profile
    # Nor does the profile's mirror answer a lookup of it (the sandbox's are the root's documents).
    assert not list((site / "registry/production/v0.1/servers").glob("*/fetch"))
    assert listed("registry.json") and listed("v0.1/servers/index.json")
    page = (site / "servers/fetch/index.html").read_text(encoding="utf-8")
    assert "withholds every tool it declares, so its bundle has no folder for it and its registries do not list it" in page
