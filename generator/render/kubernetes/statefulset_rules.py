"""What a StatefulSet made by a proxy runner must be: the workload policy's rules on its labels,
its pod template and its `mcp` container, each as ToolHive's proxy runner makes them (workloads.py's
docstring gives the ToolHive and Kubernetes facts they rest on; that module decides who may make one).

Each rule reads the variables `statefulset_variables` and `container_variables` give; every
literal goes through `cel_string` or `cel_value`, so a hostile server name cannot end a string.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.render.kubernetes import profile as k8s_profile
from generator.render.kubernetes.admission import Cel, cel_message, cel_string, cel_value
from generator.render.kubernetes.server import MCP_CONTAINER, POD_NAME_LABEL, TOOLHIVE_LABEL, TRANSPORT_ENV, own_proxy_pods

# The MCP server's own service account: `<server>-sa`.
MCP_SERVICE_ACCOUNT_SUFFIX = "-sa"
# The pod labels ToolHive sets on the MCP server's pods, each to the StatefulSet's name but `toolhive`.
APP_LABEL = "app"
PINNED_LABELS = (TOOLHIVE_LABEL, POD_NAME_LABEL, APP_LABEL)
# Our own label prefix: none of ToolHive's pods carries one.
OWN_LABEL_PREFIX = "mcp-catalog/"
# The volume types a pod template may use (allow-listed: every other type reaches a Secret, a claim or
# the node), and the sources a projected volume may take them from: what ToolHive's pods need.
VOLUME_TYPES = ("emptyDir", "configMap", "downwardAPI", "projected")
# What the kubelet runs or calls on a container's behalf: none is on the MCP server's container.
RUN_BY_THE_KUBELET = ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe")
PROJECTED_SOURCES = ("configMap", "downwardAPI", "serviceAccountToken")


def selected_label_keys() -> list[str]:
    """Every label key the namespace's NetworkPolicies select pods by (profile.py), the egress
    policies' `toolhive-name` and the ingress policies' proxy labels (server.ingress_policy): a pod
    template may set one only to what ToolHive sets."""
    keys = {POD_NAME_LABEL}
    for selector in (k8s_profile.PROXY_PODS, k8s_profile.MCP_CONTAINER_PODS,
                     k8s_profile.CLIENT_PODS, k8s_profile.REGISTRY_PODS, own_proxy_pods("server")):
        keys |= set(selector.get("matchLabels", {}))
        keys |= {expression["key"] for expression in selector.get("matchExpressions", [])}
    return sorted(keys)


def forbidden_label_keys() -> list[str]:
    """The selected label keys ToolHive never sets on an MCP server's pods (`app.kubernetes.io/name`
    makes a proxy pod, `mcp-catalog/component` the registry server)."""
    return [key for key in selected_label_keys() if key not in PINNED_LABELS]


# The StatefulSet under review (`oldObject` on DELETE), and its pod template's labels (`{}` without any).
_NAME = Cel("variables.sts.metadata.name")
_LABELS = "variables.labels"
_FORBIDDEN = cel_value(forbidden_label_keys())
# The labels of the pod template a network policy of the namespace tells other pods apart by.
_CHOSEN = f"{_LABELS}.filter(k, k in {_FORBIDDEN} || k.startsWith({cel_string(OWN_LABEL_PREFIX)}))"


def template_rules(profile: str) -> list[dict[str, str]]:
    """The rules on a created or changed StatefulSet's labels and pod template, as ToolHive makes them
    for the server, in registry profile `profile`'s namespace."""
    rules = [*_label_rules(profile), *_account_rules(), *_volume_rules(), *_placement_rules(), _pull_secret_rule(profile)]
    # A DELETE carries no new template: only who deletes is checked (the workload policy's first rule).
    return [{**rule, "expression": f"request.operation == \"DELETE\" || ({rule['expression']})"} for rule in rules]


def _label_rules(profile: str) -> list[dict[str, str]]:
    """The pod template is labelled as ToolHive labels it, with no label the network policies select other pods by."""
    return [
        {
            "expression": f"{cel_string(TOOLHIVE_LABEL)} in {_LABELS} && {_LABELS}[{cel_string(TOOLHIVE_LABEL)}] == \"true\"",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, f"'s pod template must be labelled {TOOLHIVE_LABEL}: \"true\", as ToolHive labels "
                "every pod it runs (the namespace's network policies would take it for a client of the MCP proxies "
                "and the registry)"),
            "message": f"the pod template must be labelled {TOOLHIVE_LABEL}: \"true\", as ToolHive labels every pod it runs",
        },
        {
            "expression": " && ".join(
                f"{cel_string(key)} in {_LABELS} && {_LABELS}[{cel_string(key)}] == {_NAME}"
                for key in (POD_NAME_LABEL, APP_LABEL)
            ),
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, f"'s pod template must be labelled {POD_NAME_LABEL}: ", _NAME, f" and {APP_LABEL}: ",
                _NAME, ", as ToolHive labels it (the server's egress policy selects its pods by the first, its Services "
                "by the second: another server's name would get that server's reach or traffic)"),
            "message": f"the pod template must be labelled {POD_NAME_LABEL} and {APP_LABEL} with the StatefulSet's "
            "name, as ToolHive labels it",
        },
        {
            "expression": f"size({_CHOSEN}) == 0",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, "'s pod template may not carry the label ", Cel(f"{_CHOSEN}[0]"),
                f": ToolHive never sets it on an MCP server's pods, and the network policies of registry profile "
                f"{profile} tell the registry server and the proxies apart by it"),
            "message": f"the pod template may not carry a label the network policies of registry profile {profile} "
            f"tell other pods apart by ({', '.join(forbidden_label_keys())}, {OWN_LABEL_PREFIX}*)",
        },
    ]


def _account_rules() -> list[dict[str, str]]:
    """The pods run as the MCP server's service account and read only its own Secret into their environment."""
    return [
        {
            "expression": "has(variables.podSpec.serviceAccountName) && "
            "variables.podSpec.serviceAccountName == variables.serviceAccount && "
            "(!has(variables.podSpec.serviceAccount) || variables.podSpec.serviceAccount == variables.serviceAccount)",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, "'s pods must run as service account ", Cel("variables.serviceAccount"),
                ", the one ToolHive gives the MCP server (not the proxy runner's, the registry's or any other)"),
            "message": f"the pods must run as the MCP server's service account, <name>{MCP_SERVICE_ACCOUNT_SUFFIX}",
        },
        {
            "expression": " && ".join(
                _containers_read_only("variables.envSecrets", field)
                for field in ("containers", "initContainers", "ephemeralContainers")
            ),
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, "'s containers may read into their environment only the Secret ToolHive passes "
                "the server (", Cel("(size(variables.envSecrets) == 0 ? \"none\" : variables.envSecrets[0])"),
                "), never the registry's database password or another server's credentials"),
            "message": "the containers may read into their environment only the server's own Secret "
            "(<name>-secrets), never the registry's database password or another server's credentials",
        },
    ]


def _volume_rules() -> list[dict[str, str]]:
    """The pods mount only allow-listed volume types, and the StatefulSet claims no volume."""
    return [
        {
            "expression": "!has(variables.podSpec.volumes) || variables.podSpec.volumes.all(v, "
            f"v.all(k, k == \"name\" || k in {cel_value(list(VOLUME_TYPES))}) && "
            "(!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, "
            f"s.all(k, k in {cel_value(list(PROJECTED_SOURCES))}))))",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, f"'s pods may mount only {_and(VOLUME_TYPES)} volumes (projected from "
                f"{_and(PROJECTED_SOURCES)} sources alone), as ToolHive's pod template does (no Secret: the namespace holds "
                "the registry's database password and other servers' credentials; no PersistentVolumeClaim, ephemeral "
                "or host volume: the registry's database disk is a claim of the same namespace)"),
            "message": f"the pods may mount only {_and(VOLUME_TYPES)} volumes (projected from {_and(PROJECTED_SOURCES)} "
            "sources alone): no Secret, PersistentVolumeClaim, ephemeral or host volume",
        },
        {
            "expression": "!has(variables.sts.spec.volumeClaimTemplates) || size(variables.sts.spec.volumeClaimTemplates) == 0",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, " may have no volumeClaimTemplates: ToolHive sets none, and a claim's dataSource "
                "could clone another claim of the namespace (the registry's database disk)"),
            "message": "the StatefulSet may have no volumeClaimTemplates: ToolHive sets none",
        },
    ]


def _placement_rules() -> list[dict[str, str]]:
    """The pods take no priority class and no node of their own, at most one replica."""
    return [
        {
            "expression": "(!has(variables.podSpec.priorityClassName) || variables.podSpec.priorityClassName == \"\") && "
            "(!has(variables.podSpec.nodeName) || variables.podSpec.nodeName == \"\")",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, "'s pods may set no priorityClassName and no nodeName: ToolHive sets neither (a "
                "priority class would pre-empt other pods cluster-wide, a node name bypasses the scheduler)"),
            "message": "the pods may set no priorityClassName and no nodeName: ToolHive sets neither",
        },
        {
            "expression": "!has(variables.sts.spec.replicas) || variables.sts.spec.replicas <= 1",
            "messageExpression": cel_message(
                "StatefulSet ", _NAME, " may run at most one replica, as ToolHive runs it (the MCPServer's "
                "backendReplicas is not shipped, and admission refuses it)"),
            "message": "the StatefulSet may run at most one replica, as ToolHive runs it",
        },
    ]


def _pull_secret_rule(profile: str) -> dict[str, str]:
    """The pods pull images only with the profile's pull secrets."""
    return {
        "expression": "!has(variables.podSpec.imagePullSecrets) || variables.podSpec.imagePullSecrets.all(s, "
        "has(s.name) && s.name in variables.pullSecrets)",
        "messageExpression": cel_message(
            "StatefulSet ", _NAME, f"'s imagePullSecrets may name only the pull secrets of registry profile {profile}, "
            "which its MCPServers ship"),
        "message": f"imagePullSecrets may name only the pull secrets of registry profile {profile}",
    }


def _containers_read_only(secrets: str, field: str) -> str:
    """CEL: every container in `podSpec.<field>` reads Secrets into its environment only from `secrets`."""
    spec = f"variables.podSpec.{field}"
    return (
        f"(!has({spec}) || {spec}.all(c, "
        f"(!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef) || "
        f"(has(e.valueFrom.secretKeyRef.name) && e.valueFrom.secretKeyRef.name in {secrets}))) && "
        f"(!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef) || "
        f"(has(f.secretRef.name) && f.secretRef.name in {secrets})))))"
    )


def _and(words: Sequence[str]) -> str:
    """`a, b and c`."""
    return ", ".join(words[:-1]) + " and " + words[-1]


def container_rule(profile: str) -> dict[str, str]:
    """The StatefulSet of a server whose container this policy holds (`variables.runs`) runs it as
    ToolHive's proxy runner does: one container, `mcp`, with the image and args of the MCPServer the
    profile ships (configureContainer in pkg/container/kubernetes/client.go sets them from the
    MCPServer's and sets no command, hook or probe), and no init container (the shipped pod template
    has none). A hook or an exec probe would run a command in the server's image; an httpGet one
    makes the node call any host, past the namespace's network policies."""
    run = f"variables.runs[{_NAME}]"
    mcp = "variables.mcp[0]"
    return {
        "expression": f"request.operation == \"DELETE\" || !({_NAME} in variables.runs) || ("
        f"variables.podSpec.containers.all(c, c.name == {cel_string(MCP_CONTAINER)}) && size(variables.mcp) == 1 && "
        f"has({mcp}.image) && {mcp}.image == {run}.image && (has({mcp}.args) ? {mcp}.args : []) == {run}.args && "
        f"(!has({mcp}.command) || size({mcp}.command) == 0) && "
        + " && ".join(f"!has({mcp}.{field})" for field in RUN_BY_THE_KUBELET) + " && "
        f"!has({mcp}.envFrom) && (!has({mcp}.env) || {mcp}.env.all(e, "
        f"(e.name in {run}.env && !has(e.valueFrom) && (has(e.value) ? e.value : \"\") == {run}.env[e.name]) || "
        f"(e.name in {cel_value(list(TRANSPORT_ENV))} && !has(e.valueFrom)) || "
        f"(e.name in {run}.secretEnv && !has(e.value) && has(e.valueFrom) && has(e.valueFrom.secretKeyRef)))) && "
        f"{run}.env.all(n, has({mcp}.env) && {mcp}.env.exists(e, e.name == n)) && "
        "(!has(variables.podSpec.initContainers) || size(variables.podSpec.initContainers) == 0))",
        "messageExpression": cel_message(
            "StatefulSet ", _NAME, f" must run one container, {MCP_CONTAINER}, with image ", Cel(f"{run}.image"),
            f", the arguments and the environment registry profile {profile} ships for the server (its env values, its "
            "Secrets' variables and ToolHive's transport variables), no command, hook, probe, envFrom or init container, as "
            "ToolHive's proxy runner makes it (another image, command or container would run with the server's "
            "Secret, service account and network reach)"),
        "message": f"the StatefulSet must run one container, {MCP_CONTAINER}, with the image, arguments and environment "
        f"registry profile {profile} ships for the server, no command, hook, probe, envFrom or init container, as "
        "ToolHive's proxy runner makes it",
    }


def statefulset_variables() -> list[dict[str, str]]:
    """The StatefulSet under review and its pod spec, which every rule reads."""
    return [
        # A DELETE has no object: the StatefulSet as it was (every variable reads this one).
        {"name": "sts", "expression": "request.operation == \"DELETE\" ? oldObject : object"},
        # spec.template.spec is required: on every operation (oldObject on DELETE) it is there.
        {"name": "podSpec", "expression": "variables.sts.spec.template.spec"},
    ]


def container_variables(part: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """What the container rule reads besides the StatefulSet: its `mcp` containers, and the
    containers of this part's servers."""
    return [
        {"name": "mcp", "expression": f"variables.podSpec.containers.filter(c, c.name == {cel_string(MCP_CONTAINER)})"},
        {"name": "runs", "expression": "{" + ", ".join(f"{cel_string(server)}: {run}" for server, run in part) + "}"},
    ]
