"""The bundles of the default catalog against the real schemas and the real kustomize.

Custom resources are checked against the openAPIV3Schema of their CRD version,
read from the shared ToolHive reference folder and converted to JSON Schema
(Kubernetes' structural-schema rules: unknown fields are refused unless
preserved, int-or-string, nullable); their `x-kubernetes-validations` CEL rules
are evaluated with cel-cpp (tests/kubernetes_cel.py), and any rule that cannot be evaluated is
reported, not passed. Core kinds go through kubernetes-validate in strict mode
for the newest Kubernetes it ships; every kustomization through `kubectl kustomize`.
"""

from __future__ import annotations

import copy
import functools
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import DEFAULT_SOURCE, SHARED
from kustomized import kubectl, render_overlays
from generator.render.kubernetes import bundles
from generator.render.kubernetes.kustomize import manifest_document
from generator.derived import profile_servers
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

TOOLHIVE = SHARED / "toolhive"
CRD_FILES = {
    "MCPServer": "toolhive.stacklok.dev_mcpservers.yaml",
    "MCPRemoteProxy": "toolhive.stacklok.dev_mcpremoteproxies.yaml",
    "MCPToolConfig": "toolhive.stacklok.dev_mcptoolconfigs.yaml",
    "MCPRegistry": "toolhive.stacklok.dev_mcpregistries.yaml",
}
# The typed MCPRegistry of operators up to v0.16 exists only in the legacy CRD.
LEGACY_REGISTRY_CRD = "legacy-operator-v0.16.0/toolhive.stacklok.dev_mcpregistries.yaml"
# Kinds no schema here describes: Istio ships its CRDs with Istio. Checked for shape in test_bundles.py.
UNVALIDATED_KINDS = {"PeerAuthentication", "AuthorizationPolicy"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog's bundles written to a folder (only this renderer: fast)."""
    out = tmp_path_factory.mktemp("bundles-site")
    context = RenderContext(read_catalog(DEFAULT_SOURCE).catalog)
    for item in bundles.render(context):
        target = out / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)
    return out


def object_files(site: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every object of every bundle file (kustomizations, all.yaml and Helm values excluded), each
    document of a multi-document file (a server's platform/objects.yaml) named `<path>#<n>`;
    then every object the profiles' server overlays render (at the path its file had)."""
    for path in sorted(site.glob("bundles/**/*.yaml")):
        if path.name in {"kustomization.yaml", "all.yaml"} or path.name.endswith("values.yaml"):
            continue  # Helm values are checked by rendering the charts (test_toolhive_charts.py)
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        if len(documents) == 1:
            yield path, documents[0]
        else:
            yield from ((path.with_name(f"{path.name}#{index}"), document) for index, document in enumerate(documents, 1))
    for path, document in sorted(rendered_overlays(site).items()):
        yield site / path, document


def test_object_files_yields_each_document_of_a_platform_file(site: Path) -> None:
    # The schema checks below see every platform object, not only a multi-document file's first.
    github = [(path.name, document["kind"]) for path, document in object_files(site)
              if path.parent == site / "bundles/servers/github/platform"]
    assert github == [("objects.yaml#1", "ConfigMap"), ("objects.yaml#2", "MCPToolConfig"), ("objects.yaml#3", "NetworkPolicy"),
                      ("objects.yaml#4", "NetworkPolicy")]


def rendered_overlays(site: Path) -> dict[str, dict[str, Any]]:
    """`render_overlays`, run once per site: a copy each time, since tests edit what they check."""
    return copy.deepcopy(_rendered_overlays(site))


@functools.lru_cache(maxsize=None)
def _rendered_overlays(site: Path) -> dict[str, dict[str, Any]]:
    return render_overlays(site)


def _structural(node: Any) -> Any:
    """A CRD schema node as JSON Schema with Kubernetes' semantics."""
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _structural(value) for key, value in node.items() if not key.startswith("x-kubernetes-") and key != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        # The API server refuses unknown fields under strict field validation (kubectl's default).
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def crd_version(file: str, version: str) -> dict[str, Any]:
    """The openAPIV3Schema of one version of a CRD in the shared reference folder."""
    path = TOOLHIVE / file
    if not path.is_file():
        pytest.skip(f"{path} is missing: the ToolHive CRDs live in shared/reference/toolhive")
    return _crd_version(path, version)


@functools.cache
def _crd_version(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return entry["schema"]["openAPIV3Schema"]
    raise AssertionError(f"{path} has no version {version}")


def cel_rules(schema: Any, value: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """(location, rule, self) for every x-kubernetes-validations rule whose node is present in `value`."""
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations", []):
        yield where or "<root>", rule["rule"], value
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                yield from cel_rules(sub, value[key], f"{where}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                yield from cel_rules(extra, item, f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from cel_rules(schema["items"], item, f"{where}[{index}]")


def validator(raw: dict[str, Any]) -> jsonschema.Draft7Validator:
    """A JSON Schema validator for a CRD version's schema (metadata is the API server's business)."""
    key = id(raw)
    if key not in _VALIDATORS:
        schema = dict(_structural(raw))
        schema["properties"] = {**schema["properties"], "metadata": {"type": "object"}}
        _VALIDATORS[key] = jsonschema.Draft7Validator(schema)
    return _VALIDATORS[key]


_VALIDATORS: dict[int, jsonschema.Draft7Validator] = {}


def evaluate_cel(rule: str, self_value: Any) -> bool | str:
    """The rule's verdict, or why it could not be evaluated."""
    try:
        from kubernetes_cel import Failed, evaluate
    except ImportError:
        return "cel-expr-python is not installed (pip install cel-expr-python)"
    try:
        verdict = evaluate(rule, {"self": self_value})
    except RuntimeError as error:  # it does not compile: reported as "not evaluated"
        return f"{type(error).__name__}: {error}"
    if not isinstance(verdict, bool):
        return f"not a verdict: {verdict!r}" if not isinstance(verdict, Failed) else verdict.why
    return verdict


def test_every_custom_resource_validates_against_its_crd(site: Path) -> None:
    checked, not_evaluated = 0, []
    for path, document in object_files(site):
        group, version = document["apiVersion"].rsplit("/", 1) if "/" in document["apiVersion"] else ("", "")
        if group != "toolhive.stacklok.dev":
            continue
        kind = document["kind"]
        if kind == "MCPRemoteProxy" and version == "v1alpha1":
            # The operators the legacy bundle targets (v0.15, v0.16) name the field `remoteURL`
            # (their CRD at tag v0.16.0 requires it); the v1alpha1 kept in v0.44's CRD, the only
            # one in the reference folder, renamed it. Everything else is checked as it is.
            assert "remoteUrl" not in document["spec"], path
            document["spec"]["remoteUrl"] = document["spec"].pop("remoteURL")
        legacy_registry = kind == "MCPRegistry" and version == "v1alpha1"
        raw = crd_version(LEGACY_REGISTRY_CRD if legacy_registry else CRD_FILES[kind], version)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(raw).iter_errors(document)]
        assert not errors, f"{path.relative_to(site)} ({kind} {version}):\n" + "\n".join(errors)
        for where, rule, value in cel_rules(raw, document):
            verdict = evaluate_cel(rule, value)
            if isinstance(verdict, str):
                not_evaluated.append(f"{path.relative_to(site)} {where}: {rule}: {verdict}")
            else:
                assert verdict, f"{path.relative_to(site)} {where}: CEL rule fails: {rule}"
        checked += 1
    assert checked > 100
    # Reported, never silently passed: every CEL rule on a present field must have been evaluated.
    print("\n".join(["CEL rules not evaluated:", *not_evaluated]) if not_evaluated else "every CEL rule evaluated")
    assert not_evaluated == []


def test_legacy_registry_rule_is_evaluated_and_passes(site: Path) -> None:
    # The legacy CRD's root rule (size(self.spec.registries) > 0) is the one rule our objects reach.
    document = yaml.safe_load((site / "bundles/registries/sandbox/legacy/mcpregistry.yaml").read_text())
    raw = crd_version(LEGACY_REGISTRY_CRD, "v1alpha1")
    rules = list(cel_rules(raw, document))
    assert [rule for _, rule, _ in rules] == ["size(self.spec.registries) > 0"]
    assert evaluate_cel(rules[0][1], rules[0][2]) is True
    assert evaluate_cel(rules[0][1], {**document, "spec": {"registries": []}}) is False


def test_schema_conversion_refuses_unknown_and_renamed_fields() -> None:
    # The check must catch the field renames of ToolHive v0.15 (port -> proxyPort, toolsFilter -> toolConfigRef).
    check = validator(crd_version(CRD_FILES["MCPServer"], "v1beta1"))
    base = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer", "metadata": {"name": "x"}, "spec": {"image": "a/b:1"}}
    assert check.is_valid(base)
    for field, value in (("port", 8080), ("toolsFilter", ["a"]), ("targetPort", 8080)):
        bad = {**base, "spec": {**base["spec"], field: value}}
        assert not check.is_valid(bad), field


def core_version() -> str:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    return kubernetes_validate.utils.latest_version()


def test_core_kinds_validate_strictly(site: Path) -> None:
    import kubernetes_validate

    version = core_version()
    kinds, seen = set(), set()
    for path, document in object_files(site):
        if document["apiVersion"].startswith("toolhive.stacklok.dev/") or document["kind"] in UNVALIDATED_KINDS:
            continue
        fingerprint = json.dumps(document, sort_keys=True)
        if fingerprint in seen:
            continue  # the legacy folder repeats the current one's RBAC and policies
        seen.add(fingerprint)
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{path.relative_to(site)}: {error}") from error
        kinds.add(document["kind"])
    assert kinds == {
        "Namespace", "ConfigMap", "Secret", "NetworkPolicy", "Role", "RoleBinding", "ServiceAccount",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    }


def test_every_cluster_dns_peer_validates_strictly() -> None:
    """The DNS rule with every peer `toolhive.cluster_dns` can name (pods elsewhere, IPv4 and IPv6
    blocks, several ports) in allow-dns and in a server's egress policy: the default catalog has none."""
    import kubernetes_validate

    from generator.models import ClusterDns
    from generator.render.kubernetes import profile as k8s_profile, server as k8s_server
    from generator.render.kubernetes.names import ServerNames

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    dns = ClusterDns.model_validate({"pods": {"namespace": "openshift-dns", "labels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
                                     "cidrs": ["169.254.20.10", "fd00:10::/64"], "ports": [5353, 53]})
    server = catalog.servers[0]
    allow_dns = dict(k8s_profile.network_policies(catalog.meta.registries[0], catalog.servers, dns))["networkpolicy-allow-dns"]
    egress = k8s_server.egress_policy(server, ServerNames.of(server), "mcp-test", dns)
    for policy in (allow_dns, egress):
        assert policy["spec"]["egress"][0] == {
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
                    "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}}},
                   {"ipBlock": {"cidr": "169.254.20.10/32"}}, {"ipBlock": {"cidr": "fd00:10::/64"}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53},
                      {"protocol": "UDP", "port": 5353}, {"protocol": "TCP", "port": 5353}],
        }
        kubernetes_validate.validate(policy, core_version(), strict=True)


def test_pod_templates_validate_as_core_pod_templates(site: Path) -> None:
    import kubernetes_validate

    version = core_version()
    templates = {}
    for path, document in object_files(site):
        template = document.get("spec", {}).get("podTemplateSpec") if isinstance(document.get("spec"), dict) else None
        if template is not None:
            templates.setdefault(json.dumps(template, sort_keys=True), (path, template))
    assert len(templates) >= 2  # the `mcp` container template and the registry API pod template
    for path, template in templates.values():
        # ToolHive merges a partial template into the pod it builds, so `containers` may be absent.
        template = {**template, "spec": {"containers": [], **template.get("spec", {})}}
        wrapped = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"}, "template": template}
        try:
            kubernetes_validate.validate(wrapped, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{path.relative_to(site)} podTemplateSpec: {error}") from error


def test_kubectl_kustomize_renders_every_kustomization(site: Path) -> None:
    binary = kubectl()
    # mesh/ is a kustomize Component, rendered through with-mesh/.
    folders = sorted(path.parent for path in site.glob("bundles/**/kustomization.yaml") if path.parent.name != "mesh")

    def kustomize(folder: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(kustomize, folders))
    for folder, result in zip(folders, results):
        assert result.returncode == 0, f"{folder.relative_to(site)}: {result.stderr}"
        assert list(yaml.safe_load_all(result.stdout)), folder
    assert len(folders) > 100


def test_kustomize_output_matches_all_yaml(site: Path) -> None:
    """A profile's all.yaml holds exactly the objects `kubectl apply -k <profile>/` applies, the
    platform objects its server overlays render included, field for field."""
    binary = kubectl()
    all_files = sorted(site.glob("bundles/**/all.yaml"))
    assert [path.relative_to(site).as_posix() for path in all_files] == [
        "bundles/registries/production/all.yaml", "bundles/registries/sandbox/all.yaml"]
    for all_yaml in all_files:
        result = subprocess.run([binary, "kustomize", str(all_yaml.parent)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
        rendered = sorted(yaml.safe_load_all(result.stdout), key=key)
        assert rendered == sorted(yaml.safe_load_all(all_yaml.read_text()), key=key), all_yaml


def test_profile_overlays_render_exactly_the_objects_the_profile_ships(site: Path) -> None:
    """Each profile server folder, current and legacy, deployer and platform part, rendered by
    kubectl kustomize from its overlay of bundles/servers/<name>/: the very objects the generator
    builds for the profile (from which the admission policy takes its shapes), nothing more."""
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    context = RenderContext(catalog)
    expected: dict[str, dict[str, Any]] = {}
    for profile in catalog.meta.registries:
        shipped = [server for server in profile_servers(catalog, profile) if server.kind != "reference"
                   and bundles.kept_tools(profile, server) is not None]
        for variant, _ in bundles._variants(profile):
            for server in shipped:
                folder = bundles._profile_server_dir(profile, variant, server)
                for manifest in bundles.shipped_manifests(context, server, profile, variant):
                    if manifest.applied:
                        sub = "platform/" if manifest.stem in bundles.PLATFORM_STEMS else ""
                        expected[f"{folder}{sub}{manifest.stem}.yaml"] = manifest_document(manifest)
    rendered = rendered_overlays(site)
    assert len(expected) > 150 and sorted(rendered) == sorted(expected)
    for path, document in expected.items():
        assert rendered[path] == document, path


def test_mesh_overlay_adds_istio_objects(site: Path) -> None:
    binary = kubectl()
    result = subprocess.run(
        [binary, "kustomize", str(site / "bundles/registries/production/with-mesh")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    kinds = [document["kind"] for document in yaml.safe_load_all(result.stdout)]
    assert {"PeerAuthentication", "AuthorizationPolicy", "MCPRegistry", "Namespace"} <= set(kinds)
