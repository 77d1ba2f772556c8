"""What a profile namespace's NetworkPolicies allow, evaluated as Kubernetes defines them.

The policies are read from the built bundle as `kubectl kustomize` renders it (the namespace's
own policies and every shipped server's `<server>-egress`), and a small evaluator decides each
connection the way the NetworkPolicy API specifies: a pod selected by no policy of a direction is
open in that direction; a selected pod allows only what some rule of the policies selecting it
allows (the union); a connection needs both the source's egress and the destination's ingress.

The pods carry the labels their creators give them: ToolHive's proxies and MCP containers as the
operator's source sets them (see `generator/render/kubernetes/server.py`), the registry server as
its chart or the operator labels it, and PostgreSQL with labels the bundles cannot know.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kustomized import kustomize

PROFILES = {"production": "mcp-production", "sandbox": "mcp-sandbox"}
POSTGRES_LABELS = ({"app": "postgres"}, {"app.kubernetes.io/name": "postgresql", "cnpg.io/cluster": "registry"}, {})


@dataclass(frozen=True)
class Pod:
    """A pod, or (namespace None) an address outside the pod network: the internet, or a host-network
    listener such as NodeLocal DNSCache, which no pod or namespace selector picks."""

    name: str
    namespace: str | None
    labels: Mapping[str, str]
    ip: str | None = None


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector's verdict: every matchLabels pair and every matchExpressions requirement holds."""
    assert set(selector) <= {"matchLabels", "matchExpressions"}, selector
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator, values = requirement["key"], requirement["operator"], requirement.get("values") or []
        verdict = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not verdict:
            return False
    return True


def peer_matches(peer: Mapping[str, Any], policy_namespace: str, pod: Pod) -> bool:
    """A `from`/`to` entry: podSelector alone means the policy's namespace; namespaceSelector picks namespaces;
    ipBlock picks addresses in its CIDR but not in its `except` blocks (whether it also picks pods by their IPs
    is left to the network plugin: the pods here have none, so no test relies on it)."""
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"}, peer
        if pod.ip is None:
            return False
        address = ipaddress.ip_address(pod.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except") or [])
    if pod.namespace is None:
        return False
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": pod.namespace})
    else:
        in_namespace = pod.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector") or {}, pod.labels)


def port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    """No `ports` means every port; otherwise one entry must name the protocol and the port (or range)."""
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        assert isinstance(entry["port"], int), "named ports need the pod's container ports"
        if entry["port"] <= port <= entry.get("endPort", entry["port"]):
            return True
    return False


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    """As the API defaults them: Ingress always, Egress when the policy has an egress rule (an empty list has none)."""
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def direction_allows(policies: Sequence[Mapping[str, Any]], pod: Pod, direction: str, peer: Pod, port: int, protocol: str) -> bool:
    """Whether `pod` lets the connection out (Egress, `peer` its destination) or in (Ingress, `peer` its source)."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating = [policy for policy in policies
                 if policy["metadata"]["namespace"] == pod.namespace and direction in policy_types(policy["spec"])
                 and selects(policy["spec"]["podSelector"], pod.labels)]
    if not isolating:
        return True
    return any(
        (not rule.get(peers_key) or any(peer_matches(entry, policy["metadata"]["namespace"], peer) for entry in rule[peers_key]))
        and port_matches(rule.get("ports"), port, protocol)
        for policy in isolating for rule in policy["spec"].get(rules_key) or []
    )


def allowed(policies: Sequence[Mapping[str, Any]], source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    """Whether `source` may open a connection to `destination` on `port`."""
    return (direction_allows(policies, source, "Egress", destination, port, protocol)
            and direction_allows(policies, destination, "Ingress", source, port, protocol))


# --- the pods of a profile namespace ---------------------------------------------------------


@dataclass(frozen=True)
class Namespace:
    """A profile's namespace as one of its kustomizations deploys it."""

    policies: list[dict[str, Any]]
    proxies: dict[str, Pod]
    containers: dict[str, Pod]
    container_ports: dict[str, int]
    registry: Pod
    namespace: str


def toolhive_pods(documents: Sequence[Mapping[str, Any]], namespace: str) -> Iterator[tuple[str, str, Pod, int | None]]:
    """(server, role, pod, MCP port) for every MCPServer and MCPRemoteProxy: the proxy runner's pod
    (labels of the operator's labelsForMCPServer / labelsForMCPRemoteProxy) and, for an MCPServer,
    the MCP container's pod (the proxy runner's StatefulSet: `app: <name>`, ToolHive's standard labels,
    the podTemplateSpec's own labels under them)."""
    for document in documents:
        if document["kind"] not in {"MCPServer", "MCPRemoteProxy"}:
            continue
        name, spec = document["metadata"]["name"], document["spec"]
        app = "mcpserver" if document["kind"] == "MCPServer" else "mcpremoteproxy"
        proxy = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": name, "toolhive": "true", "toolhive-name": name}
        yield name, "proxy", Pod(f"{name}-proxy", namespace, proxy), None
        if document["kind"] == "MCPServer":
            labels = dict((spec.get("podTemplateSpec") or {}).get("metadata", {}).get("labels") or {})
            labels.update({"app": name, "toolhive": "true", "toolhive-name": name, "toolhive-basename": name,
                           "toolhive-transport": spec["transport"], "toolhive-port": str(spec.get("proxyPort", 8080))})
            port = None if spec["transport"] == "stdio" else spec.get("mcpPort", 8080)
            yield name, "container", Pod(name, namespace, labels), port


def registry_pod(folder: Path, documents: Sequence[Mapping[str, Any]], namespace: str) -> Pod:
    """The registry server's pod: the chart's labels (its selector labels, then `podLabels`) when the
    folder deletes the MCPRegistry, else the operator's labels for the registry API merged with the
    MCPRegistry's podTemplateSpec labels."""
    registries = [document for document in documents if document["kind"] == "MCPRegistry"]
    if not registries:
        values = yaml.safe_load((folder / "values.yaml").read_text(encoding="utf-8"))
        labels = {"app.kubernetes.io/name": "toolhive-registry-server", "app.kubernetes.io/instance": values["fullnameOverride"],
                  "app.kubernetes.io/component": "registry-api", **values["podLabels"]}
        return Pod("registry-server", namespace, labels)
    (registry,) = registries
    name = registry["metadata"]["name"]
    labels = {"app.kubernetes.io/name": f"{name}-api", "app.kubernetes.io/component": "registry-api",
              "app.kubernetes.io/managed-by": "toolhive-operator", "toolhive.stacklok.io/registry-name": name}
    labels.update(registry["spec"]["podTemplateSpec"]["metadata"]["labels"])
    return Pod("registry-api", namespace, labels)


def profile_namespace(site: Path, folder: str, namespace: str) -> Namespace:
    """Everything `kubectl kustomize <folder>` deploys, plus the servers' workloads the deployers apply."""
    root = site / folder
    documents = kustomize(root)
    servers = root.parent / "servers" if folder.endswith("registry-server/") else root / "servers"
    workloads = [document for server in sorted(servers.iterdir()) for document in kustomize(server)]
    pods = list(toolhive_pods(workloads, namespace))
    return Namespace(
        policies=[document for document in documents if document["kind"] == "NetworkPolicy"],
        proxies={name: pod for name, role, pod, _ in pods if role == "proxy"},
        containers={name: pod for name, role, pod, _ in pods if role == "container"},
        container_ports={name: port for name, role, _, port in pods if role == "container" and port is not None},
        registry=registry_pod(root, documents, namespace),
        namespace=namespace,
    )


def variants(site: Path) -> Iterator[tuple[str, str]]:
    for profile, namespace in PROFILES.items():
        for variant in ("", "registry-server/", "legacy/"):
            if (site / f"bundles/registries/{profile}/{variant}kustomization.yaml").is_file():
                yield f"bundles/registries/{profile}/{variant}", namespace


@pytest.fixture(scope="module")
def namespaces(default_site: Path) -> dict[str, Namespace]:
    return {folder: profile_namespace(default_site, folder, namespace) for folder, namespace in variants(default_site)}


def test_every_variant_is_evaluated(namespaces: dict[str, Namespace]) -> None:
    assert set(namespaces) == {
        "bundles/registries/production/", "bundles/registries/production/registry-server/",
        "bundles/registries/sandbox/", "bundles/registries/sandbox/registry-server/", "bundles/registries/sandbox/legacy/",
    }
    for folder, namespace in namespaces.items():
        # servers of each kind: HTTP containers (the proxy reaches them), stdio containers, remote proxies
        assert namespace.container_ports and set(namespace.containers) - set(namespace.container_ports), folder
        assert set(namespace.proxies) - set(namespace.containers), folder
        # some server's own egress policy opens every port: the namespace's policies must still hold
        assert any(rule == {} for policy in namespace.policies for rule in policy["spec"].get("egress") or []), folder


def test_no_mcp_workload_reaches_postgres_or_the_registry(namespaces: dict[str, Namespace]) -> None:
    for folder, namespace in namespaces.items():
        workloads = [*namespace.proxies.values(), *namespace.containers.values()]
        for labels in POSTGRES_LABELS:
            postgres = Pod("postgres", namespace.namespace, labels)
            assert allowed(namespace.policies, namespace.registry, postgres, 5432), (folder, labels)
            for pod in workloads:
                for port in (5432, 8080, 443):
                    assert not allowed(namespace.policies, pod, postgres, port), (folder, pod.name, labels, port)
        for pod in workloads:
            for port in (8080, 8081, 5432, 9090):
                assert not allowed(namespace.policies, pod, namespace.registry, port), (folder, pod.name, port)


def test_mcp_workloads_reach_only_their_own_counterpart(namespaces: dict[str, Namespace]) -> None:
    for folder, namespace in namespaces.items():
        for name, container in namespace.containers.items():
            port = namespace.container_ports.get(name)
            if port is not None:
                assert allowed(namespace.policies, namespace.proxies[name], container, port), (folder, name)
            # no other server's proxy reaches it: taken over, it would call this server's tools past its filter
            for other, proxy in namespace.proxies.items():
                if other != name:
                    for probe in {8080, 8000, port or 8080}:
                        assert not allowed(namespace.policies, proxy, container, probe), (folder, name, other, probe)
            # the MCP container opens nothing in the namespace: no proxy, no other container
            for other in [pod for pod in [*namespace.proxies.values(), *namespace.containers.values()] if pod != container]:
                for probe in {8080, 8000, port or 8080}:
                    assert not allowed(namespace.policies, container, other, probe), (folder, name, other.name, probe)


def test_clients_reach_the_proxies_and_the_registry_api(namespaces: dict[str, Namespace]) -> None:
    for folder, namespace in namespaces.items():
        client = Pod("agent", namespace.namespace, {"app": "agent"})
        elsewhere = Pod("thv", "team-a", {"app": "thv"})
        toolhive_elsewhere = Pod("other-server", "mcp-other", {"app": "x", "toolhive": "true", "toolhive-name": "x"})
        postgres = Pod("postgres", namespace.namespace, {"app": "postgres"})
        for proxy in namespace.proxies.values():
            assert allowed(namespace.policies, client, proxy, 8080), (folder, proxy.name)
            assert not allowed(namespace.policies, elsewhere, proxy, 8080), (folder, proxy.name)
        for container in namespace.containers.values():
            assert not allowed(namespace.policies, client, container, namespace.container_ports.get(container.name, 8080)), folder
        assert allowed(namespace.policies, client, namespace.registry, 8080), folder
        assert allowed(namespace.policies, elsewhere, namespace.registry, 8080), folder
        assert not allowed(namespace.policies, toolhive_elsewhere, namespace.registry, 8080), folder
        assert not allowed(namespace.policies, client, postgres, 5432), folder
        assert not allowed(namespace.policies, client, namespace.registry, 5432), folder


def test_evaluator_follows_the_networkpolicy_semantics() -> None:
    """The evaluator itself, on the rules it implements: open until selected, then the union of
    rules; both ends must allow; empty peers or ports mean all."""
    a, b = Pod("a", "ns", {"role": "a"}), Pod("b", "ns", {"role": "b"})

    def policy(selector: dict[str, Any], **spec: Any) -> dict[str, Any]:
        return {"metadata": {"namespace": "ns"}, "spec": {"podSelector": selector, **spec}}

    assert allowed([], a, b, 80)
    deny_all = policy({}, policyTypes=["Ingress", "Egress"])
    assert not allowed([deny_all], a, b, 80)
    egress = policy({"matchLabels": {"role": "a"}}, policyTypes=["Egress"], egress=[{"ports": [{"port": 80}]}])
    assert not allowed([deny_all, egress], a, b, 80)  # b's ingress still refuses
    ingress = policy({"matchLabels": {"role": "b"}}, ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "a"}}}]}])
    assert allowed([deny_all, egress, ingress], a, b, 80)
    assert not allowed([deny_all, egress, ingress], a, b, 81)
    assert not allowed([deny_all, egress, ingress], a, b, 80, "UDP")
    assert not allowed([deny_all, egress, ingress], Pod("a", "other", {"role": "a"}), b, 80)
    cluster = policy({"matchLabels": {"role": "b"}}, ingress=[{"from": [{"namespaceSelector": {}}]}])
    assert allowed([cluster], Pod("a", "other", {"role": "a"}), b, 80)
    ranged = policy({}, ingress=[{"ports": [{"port": 8000, "endPort": 8100}]}])
    assert allowed([ranged], a, b, 8080) and not allowed([ranged], a, b, 8200)
    # Without policyTypes, an empty egress list is no egress rule: the pod's egress stays open.
    assert allowed([policy({"matchLabels": {"role": "a"}}, egress=[])], a, b, 80)
    # ipBlock: addresses, not pods; `except` carves out of the block; an outside address has no namespace.
    outside, carved = Pod("web", None, {}, ip="203.0.113.7"), Pod("web", None, {}, ip="203.0.113.200")
    blocks = policy({"matchLabels": {"role": "a"}}, policyTypes=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}]}])
    assert allowed([blocks], a, outside, 53) and not allowed([blocks], a, carved, 53)
    assert not allowed([blocks], a, b, 53)  # b has no address the block holds
    anywhere_in = policy({"matchLabels": {"role": "a"}}, policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {}}]}])
    assert allowed([anywhere_in], a, Pod("c", "other", {}), 53) and not allowed([anywhere_in], a, outside, 53)


# --- DNS: the cluster's resolver, and no other server on its port ---------------------------------

CLUSTER_DNS = Pod("coredns", "kube-system", {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"}, ip="10.244.0.5")
OUTSIDE_RESOLVER = Pod("resolver-of-an-attacker", None, {}, ip="203.0.113.7")
NODE_LOCAL_DNS = Pod("node-local-dns", None, {}, ip="169.254.20.10")  # host network: only an ipBlock picks it
OPENSHIFT_DNS = Pod("dns-default", "openshift-dns", {"dns.operator.openshift.io/daemonset-dns": "default"}, ip="10.128.0.9")


def every_pod(namespace: Namespace) -> list[Pod]:
    """The namespace's pods: a client, the registry server, PostgreSQL, the proxies and the MCP containers."""
    return [Pod("agent", namespace.namespace, {"app": "agent"}), namespace.registry,
            Pod("postgres", namespace.namespace, {"app": "postgres"}),
            *namespace.proxies.values(), *namespace.containers.values()]


def test_dns_goes_to_the_cluster_dns_only(namespaces: dict[str, Namespace]) -> None:
    """Every pod resolves names through the cluster's DNS; no pod reaches another server on port 53
    (a way out for a compromised MCP container), not even one labelled as the DNS in its own or another
    namespace, unless its server declares egress to every port anywhere (insecure_allow_all)."""
    from conftest import DEFAULT_SOURCE
    from generator.source.validate import read_catalog

    anywhere = {server.name for server in read_catalog(DEFAULT_SOURCE).catalog.servers
                if server.permissions and server.permissions.network and server.permissions.network.outbound
                and server.permissions.network.outbound.insecure_allow_all}
    for folder, namespace in namespaces.items():
        impostors = [OUTSIDE_RESOLVER, Pod("fake-dns", namespace.namespace, {"k8s-app": "kube-dns"}),
                     Pod("metrics-server", "kube-system", {"k8s-app": "metrics-server"})]
        confined = [pod for pod in every_pod(namespace) if pod.labels.get("toolhive-name") not in anywhere]
        assert any(pod in confined for pod in namespace.containers.values()), folder  # some MCP container is checked
        for pod in every_pod(namespace):
            for protocol in ("UDP", "TCP"):
                assert allowed(namespace.policies, pod, CLUSTER_DNS, 53, protocol), (folder, pod.name, protocol)
        for pod in confined:
            for impostor in impostors:
                for protocol in ("UDP", "TCP"):
                    assert not allowed(namespace.policies, pod, impostor, 53, protocol), (folder, pod.name, impostor.name, protocol)


@pytest.mark.parametrize(("setting", "reached", "refused"), [
    pytest.param("cidrs: [169.254.20.10]", [(NODE_LOCAL_DNS, 53), (CLUSTER_DNS, 53)],
                 [(OUTSIDE_RESOLVER, 53), (Pod("next-door", None, {}, ip="169.254.20.11"), 53)], id="node-local-dns"),
    pytest.param("pods: null\n    cidrs: [169.254.20.10/32]", [(NODE_LOCAL_DNS, 53)],
                 [(CLUSTER_DNS, 53), (OUTSIDE_RESOLVER, 53)], id="addresses-only"),
    pytest.param("pods:\n      namespace: openshift-dns\n      labels: {dns.operator.openshift.io/daemonset-dns: default}\n"
                 "    ports: [5353]", [(OPENSHIFT_DNS, 5353)],
                 [(OPENSHIFT_DNS, 53), (CLUSTER_DNS, 53), (CLUSTER_DNS, 5353), (OUTSIDE_RESOLVER, 5353)], id="openshift"),
])
def test_the_cluster_dns_setting_names_the_dns_peers(
    write_tree: Any, tmp_path: Path, setting: str, reached: list[tuple[Pod, int]], refused: list[tuple[Pod, int]]
) -> None:
    """`toolhive.cluster_dns` moves every DNS rule of the bundles (allow-dns, each `<server>-egress`) to its peers."""
    from conftest import CATALOG_YAML
    from generator.build import build

    catalog = CATALOG_YAML.replace("categories:", f"toolhive:\n  cluster_dns:\n    {setting}\ncategories:")
    build(write_tree(catalog=catalog), tmp_path / "site")
    namespace = profile_namespace(tmp_path / "site", "bundles/registries/sandbox/", "mcp-sandbox")
    assert namespace.containers and namespace.proxies
    for pod in every_pod(namespace):
        for peer, port in reached:
            for protocol in ("UDP", "TCP"):
                assert allowed(namespace.policies, pod, peer, port, protocol), (pod.name, peer.name, port, protocol)
        for peer, port in refused:
            for protocol in ("UDP", "TCP"):
                assert not allowed(namespace.policies, pod, peer, port, protocol), (pod.name, peer.name, port, protocol)


def test_the_upgrade_step_deletes_the_policies_earlier_releases_shipped_and_no_current_one(
    namespaces: dict[str, Namespace], default_site: Path
) -> None:
    """NetworkPolicies add up and `kubectl apply` deletes nothing: the profile page's upgrade step must
    delete the earlier releases' wider policies (the namespace open to itself; every proxy to every MCP
    container), and none the profile ships now."""
    import html
    import re

    page = html.unescape((default_site / "registries/production/index.html").read_text())
    (command,) = re.findall(r"kubectl -n mcp-production delete networkpolicy ([^\n<]+?) --ignore-not-found", page)
    deleted = set(command.split())
    assert deleted == {"allow-same-namespace", "mcp-servers"}
    shipped = {policy["metadata"]["name"] for namespace in namespaces.values() for policy in namespace.policies}
    assert not deleted & shipped
