"""The namespace-wide objects of a registry profile's bundle (current ToolHive operators).

A profile becomes a `restricted` Namespace, the ConfigMap(s) holding its
ToolHive registry document, an MCPRegistry (v1beta1, `configYAML` with `file:`
sources read from those ConfigMaps), RBAC for deployers and viewers,
NetworkPolicies (default deny, then what the proxies, the MCP containers, the
clients and the registry need, and nothing an MCP workload could use against the
registry or its database),
and an optional Istio mesh component. Registry data larger than a ConfigMap
can hold is split across several ConfigMaps and sources; one server whose
entry alone is too large fails the build with a message saying what to do.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from generator.derived import registry_name
from generator.errors import OutputError
from generator.models import Catalog, ClusterDns, RegistryProfile, Server
from generator.render.kubernetes.server import (
    DEFAULT_MCP_PORT,
    PROXY_PORT,
    TOOLHIVE_API_GROUP,
    TOOLHIVE_LABEL,
    metadata,
    restricted_pod_security,
    dns_egress,
)
from generator.render.encoding import Spliced
from generator.render.kubernetes.database import APP_USER, DATABASE
from generator.render.kubernetes.manifests import literal_line, yaml_text
from generator.render.kubernetes.registry_auth import REGISTRY_API_PORT, auth_config
from generator.render.kubernetes.names import (
    MCPSERVER_PROXY_APP, REMOTE_PROXY_APP, ServerNames, pgpass_secret_name, registry_data_name, registry_resource_name,
    secret_entries,
)

# The API server refuses ConfigMaps whose data exceed 1 MiB; leave room for the key and metadata.
CONFIGMAP_LIMIT = 1024 * 1024
REGISTRY_DATA_BUDGET = CONFIGMAP_LIMIT - 16 * 1024
REGISTRY_KEY = "registry.json"
POSTGRES_PORT = 5432
# The registry server connects over TLS only; the runbook says so, since the stock postgres image starts without it.
POSTGRES_SSL_MODE = "require"
REGISTRY_POD_LABEL = {"mcp-catalog/component": "registry-api"}
MOUNT_ROOT = "/config/registry"
TOOLHIVE_KINDS = ["mcpservers", "mcptoolconfigs", "mcpremoteproxies"]
WORKLOAD_KINDS = ["mcpservers", "mcpremoteproxies"]


@dataclass(frozen=True)
class RegistryPart:
    """One ConfigMap's share of a profile's registry data."""

    configmap: str
    make_document: Callable[[], bytes] = field(compare=False, repr=False)
    """The part's JSON, encoded, made when asked for: a 10,000-server profile's parts are 100 MB,
    which the bundle writes one ConfigMap at a time instead of holding them all."""

    @property
    def text(self) -> str:
        """The part's registry document (made again on each access)."""
        return self.make_document().decode("utf-8")


def split_registry(
    profile: RegistryProfile, servers: Sequence[Server], document: Callable[[Sequence[Server]], Spliced]
) -> list[RegistryPart]:
    """The profile's registry data as ConfigMap-sized JSON documents, in server order.

    Tries one document, then as many even slices as the largest overflow suggests;
    raises OutputError when a single server cannot fit. Slices are measured without
    being encoded (`len` of a `Spliced`) and each is encoded only when its ConfigMap is
    written: at 10,000 servers the first attempt alone is a 100 MB document per profile and format.
    """
    parts = 1
    while True:
        size = max(1, math.ceil(len(servers) / parts))
        chunks = [servers[start : start + size] for start in range(0, len(servers), size)] or [servers]
        sizes = [len(document(chunk)) for chunk in chunks]
        largest = max(sizes)
        if largest <= REGISTRY_DATA_BUDGET:
            return [
                RegistryPart(registry_data_name(profile, index), partial(_encoded, partial(document, chunk), sizes[index - 1]))
                for index, chunk in enumerate(chunks, 1)
            ]
        if size == 1:
            # Still a render-time refusal: validation does not measure registry entries (every profile's
            # entry of every server in two formats would cost it as much again). With `_meta` held to
            # toolhive.max_meta_size it needs that limit raised near a ConfigMap's 1 MiB.
            raise OutputError(
                f"registry profile '{profile.name}': one server's registry entry is {largest} bytes, more than a "
                f"ConfigMap can hold ({REGISTRY_DATA_BUDGET} bytes of data); shorten that server's tool "
                "descriptions and overview, or exclude it from the profile in catalog.yaml"
            )
        parts = max(parts + 1, math.ceil(parts * largest / REGISTRY_DATA_BUDGET))


def _encoded(document: Callable[[], Spliced], size: int) -> bytes:
    """A part's document, spliced now (its ConfigMap is being written)."""
    encoded = bytes(document())
    if len(encoded) != size:
        raise AssertionError(f"registry document of {len(encoded)} bytes was measured as {size}")
    return encoded


def namespace(profile: RegistryProfile) -> dict[str, Any]:
    """The profile's Namespace, held to the Pod Security Standards `restricted` profile."""
    meta = metadata(profile.namespace, None)
    meta["labels"].update(
        {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
    )
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def registry_configmap(profile: RegistryProfile, part: RegistryPart) -> dict[str, Any]:
    """A ConfigMap holding one registry document under `registry.json`."""
    return _configmap(profile, part.configmap, part.text)


def _configmap(profile: RegistryProfile, name: str, text: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(name, profile.namespace), "data": {REGISTRY_KEY: text}}


def registry_configmap_yaml(profile: RegistryProfile, part: RegistryPart) -> bytes:
    """`yaml_text(registry_configmap(profile, part))`, encoded, with the registry document's bytes put in
    as they are: compact JSON is one line, which YAML holds as a literal block unchanged, so the
    ConfigMaps (100 MB a profile at 10,000 servers) are not decoded, emitted and encoded again. A
    document a literal block cannot hold unchanged is quoted by the emitter, as in any other value."""
    document = part.make_document()
    if not literal_line(document):
        return yaml_text(_configmap(profile, part.configmap, document.decode("utf-8"))).encode("utf-8")
    head, rest = yaml_text(_configmap(profile, part.configmap, "{}\n")).rsplit("{}\n", 1)
    assert rest == "", rest  # the document is the ConfigMap's last value
    return head.encode("utf-8") + document


def exclusion_filter(catalog: Catalog, profile: RegistryProfile, *, registry_names: bool) -> dict[str, Any]:
    """The registry server's filter for what the profile excludes by name or tag.

    The data is already filtered; repeating the exclusions in the registry keeps
    them in force if someone edits the ConfigMap. Inclusions are not repeated:
    the profile ORs tiers, tags, categories and names, which filters cannot say.
    """
    known = {server.name: server for server in catalog.servers}
    names = [name for name in profile.exclude.names if name in known]
    if registry_names:
        names = [registry_name(catalog.meta, known[name]) for name in names]
    result: dict[str, Any] = {}
    if names:
        result["names"] = {"exclude": sorted(names)}
    if profile.exclude.tags:
        result["tags"] = {"exclude": sorted(profile.exclude.tags)}
    return result


def file_sources(catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart]) -> list[dict[str, Any]]:
    """The registry server's `file:` sources, one per ConfigMap mounted under MOUNT_ROOT
    (the MCPRegistry and the registry server chart read the same)."""
    filters = exclusion_filter(catalog, profile, registry_names=True)
    sources = []
    for part in parts:
        source: dict[str, Any] = {
            "name": part.configmap,
            "file": {"path": f"{MOUNT_ROOT}/{part.configmap}/{REGISTRY_KEY}"},
            "syncPolicy": {"interval": profile.sync_interval},
        }
        if filters:
            source["filter"] = filters
        sources.append(source)
    return sources


def registry_config(catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart]) -> str:
    """The registry server's config.yaml: one `file:` source per ConfigMap, PostgreSQL via pgpass,
    and the `auth` that leaves writes to the profile's registry-admin (`registry_auth`)."""
    config = {
        "sources": file_sources(catalog, profile, parts),
        "registries": [{"name": profile.name, "sources": [part.configmap for part in parts]}],
        "database": {"host": "postgres", "port": POSTGRES_PORT, "user": APP_USER, "database": DATABASE, "sslMode": POSTGRES_SSL_MODE},
        "auth": auth_config(catalog.meta.toolhive.registry_auth, profile),
    }
    return yaml_text(config)


def mcp_registry(catalog: Catalog, profile: RegistryProfile, parts: Sequence[RegistryPart]) -> dict[str, Any]:
    """The MCPRegistry (v1beta1) serving the profile's registry data inside the namespace."""
    spec = {
        "displayName": f"{catalog.meta.title}: {profile.name}",
        "configYAML": registry_config(catalog, profile, parts),
        "volumes": [
            {"name": part.configmap, "configMap": {"name": part.configmap, "items": [{"key": REGISTRY_KEY, "path": REGISTRY_KEY}]}}
            for part in parts
        ],
        "volumeMounts": [
            {"name": part.configmap, "mountPath": f"{MOUNT_ROOT}/{part.configmap}", "readOnly": True} for part in parts
        ],
        "pgpassSecretRef": {"name": pgpass_secret_name(profile), "key": ".pgpass"},
        "podTemplateSpec": registry_pod_template(),
    }
    return {
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": "MCPRegistry",
        "metadata": metadata(registry_resource_name(profile), profile.namespace),
        "spec": spec,
    }


def registry_pod_template() -> dict[str, Any]:
    """Labels the registry API pods for the NetworkPolicy and holds them to `restricted` at pod level."""
    return {"metadata": {"labels": dict(REGISTRY_POD_LABEL)}, "spec": {"securityContext": restricted_pod_security()}}


def empty_secret(name: str, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
    """A Secret template with no data: the keys the user must add are named in an annotation."""
    meta = metadata(name, namespace)
    meta["annotations"] = {"mcp-catalog/required-keys": ",".join(keys)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}


def pgpass_template(profile: RegistryProfile) -> dict[str, Any]:
    """The pgpass Secret as an empty template (the note above it says what goes in)."""
    return empty_secret(pgpass_secret_name(profile), profile.namespace, [".pgpass"])


def pgpass_note(profile: RegistryProfile) -> str:
    """What the user must provide for the registry server's database."""
    return "\n".join(
        [
            "TEMPLATE, not applied by kustomization.yaml. The registry server needs PostgreSQL",
            "(host postgres, port 5432, database registry, users db_app and db_migrator).",
            "Create the pgpass Secret yourself, one line per user:",
            f"kubectl -n {profile.namespace} create secret generic {pgpass_secret_name(profile)} \\",
            "  --from-file=.pgpass=./pgpass   # lines: postgres:5432:registry:db_app:PASSWORD",
        ]
    )


def deployer_role(profile: RegistryProfile, servers: Sequence[Server] = ()) -> list[dict[str, Any]]:
    """Role and RoleBinding letting the deployers group manage MCP workloads in the namespace.

    Tool configs only to read: their filter is the profile's tool policy, which the platform
    team applies with the profile bundle. Secrets to create (a server's credentials), and to
    replace or delete only by name, the Secrets of the `servers` the profile ships (so that a
    deployer can rotate a credential); never to read: the registry's database password lives
    beside them. Not `patch`: a PATCH answers with the whole object, its data included. RBAC
    cannot limit `create` by name, hence the two rules. `kubectl replace` needs `update` alone:
    when its GET is refused it sends the object without a resourceVersion.
    """
    rules = [
        {"apiGroups": [TOOLHIVE_API_GROUP], "resources": WORKLOAD_KINDS,
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": [TOOLHIVE_API_GROUP], "resources": ["mcptoolconfigs"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    ]
    rotated = sorted(ServerNames.of(server).secret for server in servers if secret_entries(server))
    if rotated:  # a rule with no resourceNames would name every Secret of the namespace
        rules.append({"apiGroups": [""], "resources": ["secrets"], "resourceNames": rotated, "verbs": ["update", "delete"]})
    return _role_and_binding(profile, "mcp-deployer", rules, profile.deployers_group)


def viewer_role(profile: RegistryProfile) -> list[dict[str, Any]]:
    """Role and RoleBinding giving the viewers group read-only access."""
    rule = {"apiGroups": [TOOLHIVE_API_GROUP], "resources": [*TOOLHIVE_KINDS, "mcpregistries"],
            "verbs": ["get", "list", "watch"]}
    return _role_and_binding(profile, "mcp-viewer", [rule], profile.viewers_group)


def _role_and_binding(profile: RegistryProfile, name: str, rules: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": metadata(name, profile.namespace), "rules": rules}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(name, profile.namespace),
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
    }
    return [role, binding]


def mcp_ports(servers: Sequence[Server]) -> list[int]:
    """The ports the MCP containers of `servers` listen on: an HTTP server's `port` (the
    operator's default when it names none). A stdio container is reached by attaching to it
    through the Kubernetes API, and a remote server has no container: neither opens a port."""
    return sorted({server.port or DEFAULT_MCP_PORT for server in servers
                   if server.kind == "container" and server.transport != "stdio"})


# Who is who in a profile's namespace, by the labels their creators set (server.py says where
# ToolHive sets its own). ToolHive's pods are the MCP workloads: the proxies, and the MCP server
# containers, which run third-party code. Clients are the namespace's other pods (ToolHive never
# runs one without its `toolhive` label), the registry server and PostgreSQL among them.
PROXY_PODS: dict[str, Any] = {
    "matchLabels": {TOOLHIVE_LABEL: "true"},
    "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": [REMOTE_PROXY_APP, MCPSERVER_PROXY_APP]}],
}
MCP_CONTAINER_PODS: dict[str, Any] = {
    "matchLabels": {TOOLHIVE_LABEL: "true"},
    "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "DoesNotExist"}],
}
CLIENT_PODS: dict[str, Any] = {"matchExpressions": [{"key": TOOLHIVE_LABEL, "operator": "NotIn", "values": ["true"]}]}
# The registry server's pods, by the label its pod template gets from us: the chart adds its
# `podLabels` value to the pod's labels (templates/deployment.yaml of toolhive-registry-server
# 1.5.1), and the operator merges an MCPRegistry's `podTemplateSpec` labels into its registry API
# pods (cmd/thv-operator/pkg/registryapi/deployment.go, v0.44.0). Neither path labels them `toolhive`.
REGISTRY_PODS: dict[str, Any] = {"matchLabels": dict(REGISTRY_POD_LABEL)}


def network_policies(
    profile: RegistryProfile, servers: Sequence[Server], dns: ClusterDns
) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, NetworkPolicy): deny everything, then allow, pod kind by pod kind, only what
    ToolHive, the clients and the registry server need in a namespace running `servers`.

    NetworkPolicies are allow-lists: a connection needs an egress rule of its source and an
    ingress rule of its destination. An MCP server container runs third-party code, so the
    policies assume it compromised: it may open only what its own `<server>-egress` policy
    allows, and no pod of the namespace accepts it (proxies accept clients, MCP containers their
    proxies, the registry API clients that are no MCP workload, anywhere in the cluster).
    PostgreSQL is the platform team's, its labels unknown here: every pod of the namespace
    accepts port 5432 from the registry server alone, so nothing else reaches it. DNS goes to the
    cluster's DNS (`dns`) only: port 53 anywhere else would be a way out to any server.
    """
    def policy(name: str, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        document = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": metadata(name, profile.namespace), "spec": copy.deepcopy(spec)}  # no shared selectors
        return f"networkpolicy-{name}", document

    def tcp(*ports: int) -> list[dict[str, Any]]:
        return [{"protocol": "TCP", "port": port} for port in ports]

    ports = mcp_ports(servers)
    everyone: dict[str, Any] = {}
    return [
        policy("default-deny", {"podSelector": everyone, "policyTypes": ["Ingress", "Egress"]}),
        policy("allow-dns", {"podSelector": everyone, "policyTypes": ["Egress"],
                             "egress": [dns_egress(dns)]}),
        policy("mcp-proxies", {
            "podSelector": PROXY_PODS, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": CLIENT_PODS}], "ports": tcp(PROXY_PORT)}],
            # An empty `ports` would mean every port: with no HTTP container, no rule at all.
            "egress": [{"to": [{"podSelector": MCP_CONTAINER_PODS}], "ports": tcp(*ports)}] if ports else [],
        }),
        policy("mcp-clients", {
            "podSelector": CLIENT_PODS, "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": PROXY_PODS}], "ports": tcp(PROXY_PORT)},
                       {"to": [{"podSelector": REGISTRY_PODS}], "ports": tcp(REGISTRY_API_PORT)}],
        }),
        policy("registry-api", {
            "podSelector": REGISTRY_PODS, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": CLIENT_PODS}], "ports": tcp(REGISTRY_API_PORT)}],
            # PostgreSQL may also live outside the namespace: the database's side decides who gets in.
            "egress": [{"ports": tcp(POSTGRES_PORT)}],
        }),
        policy("registry-database", {
            "podSelector": everyone, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": REGISTRY_PODS}], "ports": tcp(POSTGRES_PORT)}],
        }),
    ]


def mesh_objects(profile: RegistryProfile, operator_namespace: str = "toolhive-system") -> list[tuple[str, dict[str, Any]]]:
    """(file stem, object): Istio STRICT mTLS and an allow-list of the namespace and the operator's."""
    peer = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": metadata("default", profile.namespace), "spec": {"mtls": {"mode": "STRICT"}}}
    allow = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": metadata("allow-namespace-and-toolhive", profile.namespace),
        "spec": {"action": "ALLOW", "rules": [{"from": [{"source": {"namespaces": sorted({profile.namespace, operator_namespace})}}]}]},
    }
    return [("peerauthentication", peer), ("authorizationpolicy", allow)]
