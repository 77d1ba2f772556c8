"""The runbook's egress policies to the Kubernetes API server: what the commands write, whom they let out.

The commands run in bash and in dash with a stub `kubectl` first on PATH: it answers the lookup of
the `kubernetes` EndpointSlice through the real kubectl's JSONPath (`annotate --local` over a canned
slice, offline), so the expressions the page prints are the ones evaluated, and records every other
call (the apply) without a cluster. The file they write is checked against the Kubernetes OpenAPI the
way the bundles' objects are (kubernetes-validate, strict) and against `api_server_policies`; the
policies are then evaluated with the profile's own for the pods the bundles and the operator make.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import DEFAULT_SOURCE, REPO
from kustomized import kubectl
from test_bundles_admission import allowed as rbac_allows
from test_bundles_network import Namespace, Pod, allowed, namespaces, selects  # noqa: F401 - namespaces is a fixture
from generator.render.kubernetes.api_server import API_SERVER_CLIENTS, api_server_commands, api_server_policies
from generator.source.validate import read_catalog

NAMESPACE = "mcp-production"
SHELLS = [shell for shell in ("bash", "dash") if shutil.which(shell)]
STUB = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
if args[:5] == ["-n", "default", "get", "endpointslice", "kubernetes"] and len(args) == 7 and args[5] == "-o":
    if not os.path.exists({slice!r}):
        sys.exit('Error from server (NotFound): endpointslices.discovery.k8s.io "kubernetes" not found')
    os.execv({kubectl!r}, [{kubectl!r}, "annotate", "--local", "-f", {slice!r}, "-o", args[6], "stub=lookup"])
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(args) + "\\n")
"""


def endpoint_slice(addresses: list[list[str]], port: int | None = 6443, family: str = "IPv4") -> dict[str, Any]:
    """The EndpointSlice the API servers keep for the `kubernetes` Service: an endpoint per API server."""
    slice_: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": family,
        "endpoints": [{"addresses": each, "conditions": {"ready": True}} for each in addresses],
    }
    if port is not None:
        slice_["ports"] = [{"name": "https", "port": port, "protocol": "TCP"}]
    return slice_


def run_commands(tmp_path: Path, shell: str, slice_: dict[str, Any] | None) -> tuple[list[list[str]], dict[str, str]]:
    """Run the page's commands for NAMESPACE in an empty folder: (the kubectl calls besides the lookups, the files written)."""
    stub_dir, work = tmp_path / "bin", tmp_path / "work"
    stub_dir.mkdir()
    work.mkdir()
    canned, calls = tmp_path / "slice.yaml", tmp_path / "calls.jsonl"
    if slice_ is not None:
        canned.write_text(yaml.safe_dump(slice_))
    stub = stub_dir / "kubectl"
    stub.write_text(STUB.format(python=sys.executable, slice=str(canned), kubectl=kubectl(), calls=str(calls)))
    stub.chmod(0o755)
    environment = {**os.environ, "PATH": f"{stub_dir}:{os.environ['PATH']}"}
    environment.pop("KUBECONFIG", None)
    subprocess.run([shell], input=api_server_commands(NAMESPACE), text=True, cwd=work, env=environment, timeout=60,
                   capture_output=True)
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return recorded, {path.name: path.read_text() for path in work.iterdir()}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("addresses", "family", "port", "expected"), [
    pytest.param([["172.18.0.2"], ["172.18.0.3"], ["172.18.0.4"]], "IPv4", 6443,
                 ["172.18.0.2/32", "172.18.0.3/32", "172.18.0.4/32"], id="three-api-servers"),
    pytest.param([["10.0.0.1"]], "IPv4", 443, ["10.0.0.1/32"], id="managed-on-443"),
    pytest.param([["fd00:10::2"]], "IPv6", 6443, ["fd00:10::2/128"], id="ipv6"),
])
def test_the_commands_apply_exactly_the_policies_for_the_slices_addresses(
    tmp_path: Path, shell: str, addresses: list[list[str]], family: str, port: int, expected: list[str]
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    calls, written = run_commands(tmp_path, shell, endpoint_slice(addresses, port, family))
    manifest = f"{NAMESPACE}-api-server-egress.yaml"
    assert calls == [["apply", "-f", manifest]] and list(written) == [manifest], (calls, written)
    documents = list(yaml.safe_load_all(written[manifest]))
    assert documents == api_server_policies(NAMESPACE, [a for each in addresses for a in each], port)
    version = kubernetes_validate.utils.latest_version()
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
        (rule,) = document["spec"]["egress"]
        assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == expected
        assert rule["ports"] == [{"protocol": "TCP", "port": port}] and document["spec"]["policyTypes"] == ["Egress"]
    assert [d["metadata"]["name"] for d in documents] == [name for name, _ in API_SERVER_CLIENTS]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("slice_", [
    pytest.param(endpoint_slice([]), id="no-endpoint"),
    pytest.param(endpoint_slice([["172.18.0.2"]], port=None), id="no-port"),
    pytest.param(None, id="no-slice"),
])
def test_no_address_or_port_writes_and_applies_nothing(tmp_path: Path, shell: str, slice_: dict[str, Any] | None) -> None:
    """An egress rule without peers reaches every address: a lookup that finds nothing must stop there."""
    calls, written = run_commands(tmp_path, shell, slice_)
    assert calls == [] and written == {}
    with pytest.raises(ValueError, match="without peers"):
        api_server_policies(NAMESPACE, [], 6443)


def test_the_runbook_the_readme_and_the_docs_give_the_commands() -> None:
    from generator.render.site.install import profile_steps

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    for profile in catalog.meta.registries:
        for operator in ("current", "both", "legacy"):
            variant = profile.model_copy(update={"operator": operator})
            step = next(s for s in profile_steps(catalog, variant, None) if s.anchor == "prerequisites")
            assert api_server_commands(profile.namespace) in step.commands, (profile.name, operator)
    assert api_server_commands(NAMESPACE) in (REPO / "README.md").read_text()
    docs = (REPO / "docs/bundles.md").read_text().partition("### The API server")[2].partition("\n### ")[0]
    assert api_server_commands(NAMESPACE) in docs


# --- whom they let out --------------------------------------------------------------------------

API_SERVER = Pod("kube-apiserver", None, {}, ip="172.18.0.2")  # host network on a control-plane node
API_PORT = 6443


def test_the_selectors_pick_the_registry_server_and_the_proxies_never_an_mcp_container(namespaces: dict[str, Namespace]) -> None:
    """Each policy's podSelector, with label-selector semantics, over the labels of the pods the
    bundles and the operator make (test_bundles_network.py says where each label set comes from)."""
    selectors = {name: document["spec"]["podSelector"] for name, document in
                 ((d["metadata"]["name"], d) for d in api_server_policies(NAMESPACE, [API_SERVER.ip], API_PORT))}
    registry, proxies = selectors["registry-api-to-api-server"], selectors["mcp-proxies-to-api-server"]
    for folder, namespace in namespaces.items():
        assert namespace.proxies and namespace.containers, folder
        assert selects(registry, namespace.registry.labels) and not selects(proxies, namespace.registry.labels), folder
        for pod in namespace.proxies.values():
            assert selects(proxies, pod.labels) and not selects(registry, pod.labels), (folder, pod.name)
        for pod in [*namespace.containers.values(), Pod("agent", namespace.namespace, {"app": "agent"}),
                    Pod("postgres", namespace.namespace, {"app": "postgres"})]:
            assert not any(selects(selector, pod.labels) for selector in selectors.values()), (folder, pod.name)


def test_with_the_profiles_policies_only_the_registry_server_and_the_proxies_reach_the_api_server(
    namespaces: dict[str, Namespace]
) -> None:
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    anywhere = {server.name for server in catalog.servers
                if server.permissions and server.permissions.network and server.permissions.network.outbound
                and server.permissions.network.outbound.insecure_allow_all}
    for folder, namespace in namespaces.items():
        policies = namespace.policies + api_server_policies(namespace.namespace, [API_SERVER.ip], API_PORT)
        # the profile's default deny alone keeps the registry server from it: the policies are needed
        assert not allowed(namespace.policies, namespace.registry, API_SERVER, API_PORT), folder
        assert allowed(policies, namespace.registry, API_SERVER, API_PORT), folder
        for proxy in namespace.proxies.values():
            assert allowed(policies, proxy, API_SERVER, API_PORT), (folder, proxy.name)
        confined = [pod for pod in namespace.containers.values() if pod.labels["toolhive-name"] not in anywhere]
        assert confined, folder
        for pod in [*confined, Pod("agent", namespace.namespace, {"app": "agent"})]:
            assert not allowed(policies, pod, API_SERVER, API_PORT), (folder, pod.name)
        # the API server's address and port only: not the next address, nor another port of it (but for
        # the pods of a server whose own egress policy opens every port anywhere)
        elsewhere = Pod("next-door", None, {}, ip="172.18.0.3")
        for pod in [namespace.registry, *(p for p in namespace.proxies.values() if p.labels["toolhive-name"] not in anywhere)]:
            assert not allowed(policies, pod, elsewhere, API_PORT), (folder, pod.name)
            assert not allowed(policies, pod, API_SERVER, 10250), (folder, pod.name)


# --- who may apply them ---------------------------------------------------------------------------


def test_no_admission_policy_looks_at_them_and_a_deployer_may_not_create_them(default_site: Path) -> None:
    """The profile's admission policies match no NetworkPolicy, so the platform team's two are admitted
    as written; a deployer is refused by RBAC (its Role grants nothing on NetworkPolicies) before admission."""
    root = default_site / "bundles/registries"
    policies = [yaml.safe_load(path.read_text()) for path in sorted(root.glob("*/*/admission-policy*.yaml"))
                if "binding" not in path.name]
    assert len({path.parent for path in root.glob("*/*/admission-policy.yaml")}) >= 3  # production, sandbox, sandbox's legacy
    for policy in policies:
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
            covers = (({"networking.k8s.io", "*"} & set(rule["apiGroups"])) and ({"networkpolicies", "*"} & set(rule["resources"]))
                      and ({"CREATE", "UPDATE", "*"} & set(rule["operations"])))
            assert not covers, (policy["metadata"]["name"], rule)
    for path in sorted(root.glob("*/*/role-*.yaml")):
        for verb in ("create", "update", "patch"):
            assert not rbac_allows(yaml.safe_load(path.read_text())["rules"], "networking.k8s.io", "networkpolicies", verb), (path, verb)
