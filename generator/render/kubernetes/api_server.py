"""The egress policies to the Kubernetes API server that a profile's namespace needs and its bundle
cannot ship, since the API server's address differs per cluster.

Two kinds of pods of a profile namespace call the API server: the registry server (leader election,
its `kubernetes:` source, the token signing keys every write is checked against) and ToolHive's
proxy runners (an MCPServer's makes its MCP container's StatefulSet and Services and attaches to a
stdio one; a remote proxy's reads ConfigMaps and Secrets). The
MCP containers, which run third-party code, never do. The runbook (each profile page's prerequisites
step; README.md and docs/bundles.md repeat it, and a test holds them to it) reads the API server's
own addresses and port from the `kubernetes` Service's EndpointSlice and writes the two policies
`api_server_policies` makes, one per kind of pod: a podSelector cannot select either of two label
sets. Nothing here is written to the site: the objects exist only once the commands have run.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Sequence
from typing import Any

from generator.render.kubernetes.manifests import yaml_text
from generator.render.kubernetes.profile import PROXY_PODS, REGISTRY_PODS
from generator.render.kubernetes.server import metadata

# (policy name, pods it lets out): the registry server, and the proxies but not their MCP containers.
API_SERVER_CLIENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("registry-api-to-api-server", REGISTRY_PODS),
    ("mcp-proxies-to-api-server", PROXY_PODS),
)
# The API servers keep their own addresses in this EndpointSlice (the one the `kubernetes` Service
# of `default` selects nothing for): after kube-proxy rewrites the Service's address, a policy sees these.
ENDPOINT_SLICE = "kubectl -n default get endpointslice kubernetes"
# The shell variables the commands fill, and where in the rendered policies they go.
_PEERS = "API_PEERS"
_PORT = "API_PORT"


def _policies(namespace: str, peers: list[Any], port: Any) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(name, namespace),
         "spec": {"podSelector": copy.deepcopy(pods), "policyTypes": ["Egress"],
                  "egress": [{"to": copy.deepcopy(peers), "ports": [{"protocol": "TCP", "port": port}]}]}}
        for name, pods in API_SERVER_CLIENTS
    ]


def api_server_policies(namespace: str, addresses: Sequence[str], port: int) -> list[dict[str, Any]]:
    """The two NetworkPolicies letting the registry server's pods and the proxies' pods of `namespace`
    reach the API server at `addresses` (each its own block: /32, or /128 for IPv6) on TCP `port`.

    No address is refused: an egress rule without peers reaches every address.
    """
    if not addresses:
        raise ValueError("no API server address: an egress rule without peers would reach every address")
    peers = [{"ipBlock": {"cidr": f"{address}/{ipaddress.ip_address(address).max_prefixlen}"}} for address in addresses]
    return _policies(namespace, peers, port)


def api_server_commands(namespace: str) -> str:
    """Shell commands reading the API server's addresses and port from its EndpointSlice, then writing
    `api_server_policies(namespace, addresses, port)` to a file and applying it; nothing written or
    applied when the slice gives no address or no port."""
    manifest = f"{namespace}-api-server-egress.yaml"
    lines, indent = [], ""
    for line in "---\n".join(yaml_text(policy) for policy in _policies(namespace, [_PEERS], _PORT)).splitlines():
        if line.strip() == f"- {_PEERS}":
            indent = line[: len(line) - len(line.lstrip())]
            line = f"${_PEERS}"
        lines.append(line.replace(f"port: {_PORT}", f"port: ${_PORT}"))
    assert lines.count(f"${_PEERS}") == len(API_SERVER_CLIENTS) and indent, "every policy takes the addresses"
    return (
        "# the API server's own addresses and port (what a NetworkPolicy sees once the kubernetes Service's\n"
        "# address is rewritten), one ipBlock each: /32, or /128 for IPv6\n"
        f"{_PEERS}=$({ENDPOINT_SLICE} -o jsonpath='{{range .endpoints[*].addresses[*]}}{{@}}{{\"\\n\"}}{{end}}' |\n"
        "  while read -r address; do case $address in *:*) bits=128;; *) bits=32;; esac\n"
        f"    echo \"{indent}- ipBlock: {{cidr: \\\"$address/$bits\\\"}}\"; done)\n"
        f"{_PORT}=$({ENDPOINT_SLICE} -o jsonpath='{{.ports[0].port}}')\n"
        "# the registry server's pods and the proxies' (not the MCP containers') may reach them; with no address\n"
        "# or port found nothing is written (a rule without addresses would reach every address)\n"
        f"[ -n \"${_PEERS}\" ] && [ -n \"${_PORT}\" ] && cat > {manifest} <<YAML && kubectl apply -f {manifest}\n"
        + "\n".join(lines) + "\nYAML"
    )
