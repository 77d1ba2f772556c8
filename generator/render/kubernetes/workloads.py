"""Admission policies on the StatefulSets and Services a profile namespace's own service accounts make,
and on the pods they attach to.

The NetworkPolicies of a profile's namespace (profile.py, server.py) tell its pods apart by labels,
and the registry's database password is a Secret of the same namespace. Deployers cannot create
pods (their Role), and the operator runs in its own namespace with pod templates admission pins.
What ToolHive does give an identity in the namespace, as read in stacklok/toolhive v0.44.0:

- The operator gives each MCPServer's proxy runner a ServiceAccount `<server>-proxy-runner`
  (ProxyRunnerServiceAccountName, cmd/thv-operator/pkg/controllerutil/resources.go) bound to a Role
  of `defaultRBACRules` (cmd/thv-operator/controllers/mcpserver_controller.go): StatefulSets and
  Services with every verb, pods only to read (plus pods/attach and pods/log), ConfigMaps to read.
  So a proxy runner creates StatefulSets and no other workload kind: no Pods, Deployments,
  DaemonSets, ReplicaSets, Jobs or CronJobs (those need no rule here). v0.15.0 and v0.16.0, which
  `legacy/` targets, grant the same.
- An MCPRemoteProxy's proxy runner (the same SA name, mcpremoteproxy_controller.go) gets
  `remoteProxyRBACRules`: ConfigMaps and Secrets to read, no workload. A VirtualMCPServer's SA
  (`vmcpInlineRBACRules`, `vmcpDiscoveredRBACRules` in virtualmcpserver_deployment.go) and the
  registry API's (`registryAPIRBACRules`, cmd/thv-operator/pkg/registryapi/rbac.go) only read, and
  lease or event writes; the registry server chart's ClusterRole (toolhive-registry-server 1.5.1,
  templates/clusterrole/role.yaml) reads MCP objects and Services. The MCP server's own SA
  (`<server>-sa`, mcpServerServiceAccountName in mcpserver_controller.go) gets no Role at all.
  No service account of the namespace but a proxy runner has a reason to create a StatefulSet.
- The operator itself is `toolhive-operator` in `toolhive-system` (the operator chart's
  templates/deployment.yaml and serviceaccount.yaml): not one of the namespace's service accounts,
  so this policy never sees its requests (it creates the proxy runner's Deployment).
- The proxy runner makes the MCP server's StatefulSet in DeployWorkload
  (pkg/container/kubernetes/client.go) by server-side apply, so a create and every change reach
  admission as CREATE or UPDATE of the whole object; it deletes it by name (RemoveWorkload), a DELETE
  whose `object` is null (the StatefulSet as it was is `oldObject`). Its name is the container name, which for an
  operator-run server is the MCPServer's name (RunConfig.WithContainerName in pkg/runner/config.go,
  from `WithName(m.Name)` in cmd/thv-operator/controllers/mcpserver_runconfig.go). The StatefulSet
  and its pod template carry `toolhive: "true"`, `app: <name>` (also the StatefulSet's selector)
  and the labels of AddStandardLabels (pkg/labels/labels.go): `toolhive-name: <name>`,
  `toolhive-basename`, `toolhive-transport`, `toolhive-port`. The pod template is the one the
  operator passes in `--k8s-pod-patch` (deploymentForMCPServer in mcpserver_controller.go): the
  MCPServer's podTemplateSpec (ours: restricted security context, emptyDirs, the profile's
  `imagePullSecrets`), `serviceAccountName: <server>-sa` (no `spec.serviceAccount` is shipped, and
  the shape policy refuses one), and one `env` entry with `valueFrom.secretKeyRef` per
  `spec.secrets` entry on the `mcp` container (WithSecrets in
  cmd/thv-operator/pkg/controllerutil/podtemplatespec_builder.go): ours name `<server>-secrets`.
  No Secret volume, no `envFrom`; the only volumes are the MCPServer's emptyDirs, and no
  `volumeClaimTemplates`, `priorityClassName` or `nodeName`. `spec.replicas` is set only from the
  MCPServer's `backendReplicas` (buildStatefulSetSpec), which the profile does not ship and the
  MCPServer policy refuses: the API server defaults it to 1.

- The same proxy runner makes the StatefulSet's Services (ensureBackendServices, applyService in
  client.go) for SSE and streamable HTTP servers: `mcp-<name>` and `mcp-<name>-headless`, selecting
  `app: <name>` alone, ClusterIP (NodePort when a port names one), owned by the StatefulSet, which
  deletes them through garbage collection. Its Role lets it create, change and delete every
  Service of the namespace: one the registry server connects through (`postgres`) included.

So, for a request by one of the namespace's service accounts, this policy admits a StatefulSet
created, changed or deleted only by the proxy runner of the MCPServer of the same name (a
deletion, by `oldObject`: so one proxy runner deletes no other server's StatefulSet, whose Services
the garbage collector would delete, nor a PostgreSQL one), and a created or changed one only with
its pod template labelled as ToolHive labels it, running one container, `mcp`, with the image and
args the profile ships for the server and no command, hook, probe or envFrom (configureContainer in
client.go copies both from the MCPServer and sets none of the others; no init container), with the
environment ToolHive gives it and nothing else (the MCPServer's `env` values, each present, the
Secrets' variables, and the transport's variables of pkg/runtime/setup.go), under the MCP
server's service account, reading no
Secret but the server's own (into its environment) and the profile's pull secrets, mounting only
allow-listed volume types (emptyDir, configMap, downwardAPI, projected from configMap, downwardAPI
and serviceAccountToken: no claim of the namespace, the registry database's included), with no
`volumeClaimTemplates`, no `priorityClassName` or `nodeName`, and at most one replica; and a Service only from the
proxy runner of the server it selects (alone), under the two names ToolHive gives it, never one that
selected something else before, with no external IPs. The rules check labels by the
NetworkPolicies' own selectors: `toolhive`, `toolhive-name` and `app` are pinned to what ToolHive
sets, and every other label a policy of the namespace selects pods by is refused.

The same Role grants `pods/attach` on every pod of the namespace: `attach_policy` admits an attach
by one of the namespace's service accounts only from the proxy runner of server <name> to pod
<name>-0, its own server's (see its docstring). Not closed here: the Role also grants `pods/log`
(get) on every pod, so one proxy runner can read another server's logs; reading logs is a GET,
which admission never sees, so no policy here can narrow it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.render.kubernetes import admission
from generator.render.kubernetes.admission import (
    Cel, budgeted, cel_list, cel_message, cel_string, looked_up, map_variables, validating_policy, within,
)
from generator.render.kubernetes.names import resource_name
from generator.render.kubernetes.statefulset_rules import (
    MCP_SERVICE_ACCOUNT_SUFFIX, container_rule, container_variables, statefulset_variables, template_rules,
)

PROXY_RUNNER_SUFFIX = "-proxy-runner"


def workload_policy_name(namespace: str, part: int = 0) -> str:
    """The cluster-wide name of the namespace's workload policy, or of its `part`-th share of the
    servers' containers (namespaces are unique)."""
    return resource_name(f"mcp-catalog-{namespace}", f"-workloads-{part}" if part else "-workloads", limit=253)


def _proxy_runner_rule(namespace: str) -> dict[str, str]:
    """A StatefulSet is created, changed or deleted only by the proxy runner of the MCPServer of its name."""
    name = Cel("variables.sts.metadata.name")
    runner = "the ToolHive proxy runner of the MCPServer of the same name (service account "
    return {
        "expression": "variables.proxyRunner",
        "messageExpression": cel_message(
            Cel("request.userInfo.username"), " may not create, change or delete StatefulSet ", name,
            f": in namespace {namespace} a service account creates, changes or deletes a StatefulSet only as {runner}",
            name,
            f"{PROXY_RUNNER_SUFFIX}); no other service account of the namespace runs workloads"),
        "message": f"in namespace {namespace} a service account creates, changes or deletes a StatefulSet only as {runner}"
        f"<name>{PROXY_RUNNER_SUFFIX})",
    }


def run_parts(runs: Mapping[str, str]) -> list[list[tuple[str, str]]]:
    """`runs` ({server: CEL {image, args, env, secretEnv}}) in name order, in parts of at most
    SHAPES_BUDGET code points of CEL: each part is one expression, which CEL's parsers take only up to
    100,000 code points (and one policy object must stay far below etcd's 1.5 MiB), as the shapes' parts do."""
    return budgeted(sorted(runs.items()), lambda run: len(cel_string(run[0])) + len(run[1]) + 4, admission.SHAPES_BUDGET)


def workload_policies(
    profile: str, namespace: str, env_secrets: Mapping[str, Sequence[str]], pull_secrets: Sequence[str],
    runs: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicies on StatefulSets made by the namespace's service accounts:
    `env_secrets` maps each MCPServer the profile ships to the Secrets its `spec.secrets` names,
    `pull_secrets` are the profile's image pull secrets, `runs` maps each MCPServer to its container
    (`PolicyEntry.run`). The first policy holds every rule and the first part of `runs`; a large
    profile's other parts each get a policy holding the container rule alone. A StatefulSet's name
    is always in one part: only `<name>-proxy-runner` may make StatefulSet `<name>`, and the operator
    makes that account only for an MCPServer `<name>`, which the profile's shape policies admit only
    under a name it ships; and the first policy refuses to create or change a StatefulSet under any
    other name (`_shipped_rule`): an MCPServer applied before its server left the profile keeps its
    proxy runner. Every literal goes through `cel_string`."""
    parts = run_parts(runs)
    operations = ["CREATE", "UPDATE", "DELETE"]
    first = _workload_policy(profile, namespace, env_secrets, pull_secrets, parts[0], sorted(runs))
    return [first] + [
        _namespace_accounts_policy(workload_policy_name(namespace, index), namespace, "apps", "statefulsets", operations,
                                   statefulset_variables() + container_variables(part), [container_rule(profile)])
        for index, part in enumerate(parts[1:], 1)
    ]


def _workload_policy(
    profile: str, namespace: str, env_secrets: Mapping[str, Sequence[str]], pull_secrets: Sequence[str],
    runs: Sequence[tuple[str, str]], every_run: Sequence[str],
) -> dict[str, Any]:
    prefix = f"system:serviceaccount:{namespace}:"
    # Every server whose container the profile pins, in any part: a set, as map keys.
    shipped = map_variables("containerServers", [(server, "true") for server in every_run])
    secrets_by_server = map_variables("secretsByServer", [
        (server, cel_list(cel_string(secret) for secret in secrets)) for server, secrets in sorted(env_secrets.items()) if secrets
    ])
    template = "variables.sts.spec.template"
    operations = ["CREATE", "UPDATE", "DELETE"]
    statefulset, pod_spec = statefulset_variables()
    return _namespace_accounts_policy(workload_policy_name(namespace), namespace, "apps", "statefulsets", operations, [
        statefulset,
        {"name": "proxyRunner", "expression": f"request.userInfo.username == {cel_string(prefix)} + "
         f"variables.sts.metadata.name + {cel_string(PROXY_RUNNER_SUFFIX)}"},
        {"name": "serviceAccount", "expression": f"variables.sts.metadata.name + {cel_string(MCP_SERVICE_ACCOUNT_SUFFIX)}"},
        {"name": "labels", "expression": f"has(variables.sts.spec.template) && has({template}.metadata) && "
         f"has({template}.metadata.labels) ? "
         f"{template}.metadata.labels : {{}}"},
        pod_spec,
        *secrets_by_server,
        {"name": "envSecrets", "expression": looked_up("variables.sts.metadata.name", secrets_by_server, "[]")},
        {"name": "pullSecrets", "expression": cel_list(cel_string(secret) for secret in pull_secrets)},
        *shipped,
        *container_variables(runs),
    ], [_proxy_runner_rule(namespace), _shipped_rule(profile, shipped), *template_rules(profile), container_rule(profile)])


def _shipped_rule(profile: str, shipped: Sequence[dict[str, str]]) -> dict[str, str]:
    """A StatefulSet is created or changed only under the name of a server whose container the profile
    ships. The shape policies admit no new MCPServer under another name, but one applied before its
    server left the profile (withdrawn, or no longer offered) keeps its proxy runner, and no part of
    the container rule holds its name: without this rule that runner could run any image. Deleting
    stays open to it (the first rule), so the server can be taken down."""
    name = "variables.sts.metadata.name"
    return {
        "expression": f"request.operation == \"DELETE\" || {within(name, shipped)}",
        "messageExpression": cel_message(
            "StatefulSet ", Cel(name), f" runs no server registry profile {profile} ships: its proxy runner may "
            "delete it, not create or change it (delete the MCPServer of a server the profile no longer ships)"),
        "message": f"a StatefulSet is created or changed only for a server registry profile {profile} ships",
    }


def _namespace_accounts_policy(
    name: str, namespace: str, group: str, resource: str, operations: list[str],
    variables: list[dict[str, str]], validations: list[dict[str, str]], api_versions: Sequence[str] = ("*",),
) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy on `resource` that sees only the requests of the namespace's own
    service accounts: people (the platform team, deployers) and the operator, in its own namespace,
    are left to RBAC and the other policies. Each refusal is `Forbidden`."""
    prefix = cel_string(f"system:serviceaccount:{namespace}:")
    condition = {"name": "namespace-service-account", "expression": f"request.userInfo.username.startsWith({prefix})"}
    return validating_policy(name, group, [resource], operations, variables,
                             [{**rule, "reason": "Forbidden"} for rule in validations], [condition], api_versions)


def service_policy_name(namespace: str) -> str:
    """The cluster-wide name of the namespace's Service policy."""
    return resource_name(f"mcp-catalog-{namespace}", "-services", limit=253)


def service_policy(namespace: str) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy on Services created, changed or deleted by the namespace's service
    accounts: only a proxy runner's own two Services, as ToolHive makes them (see the module's docstring)."""
    return _namespace_accounts_policy(service_policy_name(namespace), namespace, "", "services", ["CREATE", "UPDATE", "DELETE"], [
        # A DELETE has no object: the Service as it was.
        {"name": "service", "expression": "request.operation == \"DELETE\" ? oldObject : object"},
        {"name": "owner", "expression": "has(variables.service.spec.selector) && \"app\" in "
         "variables.service.spec.selector ? variables.service.spec.selector[\"app\"] : \"\""},
    ], _service_rules(namespace))


def _service_rules(namespace: str) -> list[dict[str, str]]:
    """Only the proxy runner of the server a Service selects (`variables.owner`) touches it, under
    ToolHive's two names, never taking over another's, and with no external IPs."""
    prefix = cel_string(f"system:serviceaccount:{namespace}:")
    service = Cel("variables.service.metadata.name")
    owner = Cel("variables.owner")
    return [
        {
            "expression": f"variables.owner != \"\" && request.userInfo.username == {prefix} + variables.owner + "
            f"{cel_string(PROXY_RUNNER_SUFFIX)}",
            "messageExpression": cel_message(
                Cel("request.userInfo.username"), " may not create, change or delete Service ", service,
                f": in namespace {namespace} a service account touches a Service only as the ToolHive proxy runner of "
                "the server the Service selects (app: <name>, service account <name>-proxy-runner)"),
            "message": f"in namespace {namespace} a service account touches a Service only as the ToolHive proxy "
            "runner of the server the Service selects (app: <name>)",
        },
        {
            "expression": "has(variables.service.spec.selector) && size(variables.service.spec.selector) == 1 && "
            "variables.service.metadata.name in "
            f"[{cel_string('mcp-')} + variables.owner, {cel_string('mcp-')} + variables.owner + {cel_string('-headless')}]",
            "messageExpression": cel_message(
                "Service ", service, " must select app: ", owner, " alone and be named mcp-", owner, " or mcp-", owner,
                "-headless, as ToolHive's proxy runner makes it"),
            "message": "the Service must select app: <name> alone and be named mcp-<name> or mcp-<name>-headless",
        },
        {
            "expression": "request.operation != \"UPDATE\" || (has(oldObject.spec.selector) && "
            "oldObject.spec.selector == object.spec.selector)",
            "messageExpression": cel_message(
                "Service ", service, " selected other pods before: a proxy runner changes only the Services it made "
                "(the operator's and the platform team's are not its own)"),
            "message": "a proxy runner changes only the Services it made",
        },
        {
            "expression": "(!has(variables.service.spec.externalIPs) || size(variables.service.spec.externalIPs) == 0) && "
            "(!has(variables.service.spec.type) || variables.service.spec.type in [\"ClusterIP\", \"NodePort\"])",
            "messageExpression": cel_message(
                "Service ", service, " may have no external IPs and no type but ClusterIP or NodePort (ToolHive sets "
                "no other; external IPs take over traffic to those addresses cluster-wide)"),
            "message": "the Service may have no external IPs and no type but ClusterIP or NodePort",
        },
    ]


def attach_policy_name(namespace: str) -> str:
    """The cluster-wide name of the namespace's attach policy."""
    return resource_name(f"mcp-catalog-{namespace}", "-attach", limit=253)


# The MCP server's pod: the StatefulSet's first (and, at one replica, only) ordinal.
MCP_POD_SUFFIX = "-0"


def attach_policy(namespace: str) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy on attaching to a pod (`kubectl attach`: the stdin and stdout of a
    container) by the namespace's service accounts: only the proxy runner of MCPServer <name>, only to
    <name>-0, its own server's pod.

    ToolHive's `defaultRBACRules` grant every proxy runner `pods/attach` (create, get) on every pod of
    the namespace: how it drives a stdio server (AttachToWorkload in pkg/container/kubernetes/client.go
    attaches to the first pod labelled `app: <name>`, the StatefulSet's pod `<name>-0`, at most one
    replica by the workload policy). With that grant one proxy runner could drive another stdio
    server's tools with that server's credentials. ToolHive grants no `pods/exec` and no
    `pods/portforward` (`defaultRBACRules`, v0.44.0, and the v0.15.0 and v0.16.0 `legacy/` targets), so this
    policy matches neither: there is nothing to narrow.

    Facts of the API server this relies on (checked against kubernetes/kubernetes and its docs):
    - Attaching is a CONNECT: the API server's connect handler (ConnectResource in
      staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go) runs validating admission before
      it opens the stream, whichever HTTP method the client uses (POST for SPDY, GET for
      WebSockets), and the ValidatingAdmissionPolicy plugin registers for CONNECT as well as CREATE,
      UPDATE and DELETE (NewPlugin in .../admission/plugin/policy/validating/plugin.go); a
      `resourceRules` entry names the operation and the `pods/attach` subresource, as for webhooks.
      So a rule on operation CONNECT of `pods/attach` sees every attach.
    - In that admission the requested name (`request.name`) is the pod's, the subresource is
      `attach`, and `object` is the connect options (a PodAttachOptions: container, stdin, stdout,
      ...), never the pod; `oldObject` is null. So nothing here reads `object`: the pod is known by
      its name alone, which for a StatefulSet's pod is `<statefulset>-<ordinal>`.
    - `substring` is in the CEL extended strings library, which "Common Expression Language in
      Kubernetes" (the reference docs' CEL page) lists as available in every Kubernetes version.

    Which requesters: like the workload and Service policies, every service account of the namespace
    (the match condition) and nobody else. People (the platform team, `kubectl attach` while
    debugging) and the operator (`toolhive-system`) are left to RBAC. Every other service account of
    the namespace may attach to nothing: no ToolHive identity there but a proxy runner is granted
    `pods/attach` (the MCP server's `<name>-sa` has no Role; the remote proxy's, the VirtualMCPServer's
    and the registry's roles carry no attach), so refusing them costs ToolHive nothing, and a grant
    the platform team gives one of them would otherwise reach every server's stdin and credentials.

    `pods/log` (get) is a GET of a subresource, not a CONNECT: admission never sees it, and no policy
    can narrow it. A proxy runner still reads every pod's logs in the namespace."""
    return _namespace_accounts_policy(attach_policy_name(namespace), namespace, "", "pods/attach", ["CONNECT"], [
        {"name": "server", "expression": _requesting_server(namespace)},
    ], [_own_pod_rule(namespace)], api_versions=["v1"])


def _requesting_server(namespace: str) -> str:
    """CEL: <name> of a requester `system:serviceaccount:<namespace>:<name>-proxy-runner` (the match
    condition holds the prefix), "" for any other service account. Read from the requester, never from
    the pod's name: `a-proxy-runner` gets `a`, so `a-b-0` (server a-b's pod) is not its own."""
    prefix = f"system:serviceaccount:{namespace}:"
    username = "request.userInfo.username"
    runner = (f"{username}.endsWith({cel_string(PROXY_RUNNER_SUFFIX)}) && size({username}) > "
              f"size({cel_string(prefix)}) + size({cel_string(PROXY_RUNNER_SUFFIX)})")
    return (f"{runner} ? {username}.substring(size({cel_string(prefix)}), "
            f"size({username}) - size({cel_string(PROXY_RUNNER_SUFFIX)})) : \"\"")


def _own_pod_rule(namespace: str) -> dict[str, str]:
    """A proxy runner (`variables.server`) attaches only to its own server's pod; nobody else to any."""
    server = Cel("variables.server")
    pod = Cel("request.name")
    refused = Cel("request.userInfo.username")
    mine = cel_message(
        refused, " may not attach to pod ", pod, ": the ToolHive proxy runner of ", server,
        " attaches only to its own server's pod ", server, f"{MCP_POD_SUFFIX} (another server's stdin would give it that "
        "server's tools and credentials)")
    none = cel_message(
        refused, " may not attach to pod ", pod, f": in namespace {namespace} a service account attaches to a pod only as "
        f"the ToolHive proxy runner of an MCPServer (service account <name>{PROXY_RUNNER_SUFFIX}), to that server's pod "
        f"<name>{MCP_POD_SUFFIX}")
    return {
        "expression": f"variables.server != \"\" && request.name == variables.server + {cel_string(MCP_POD_SUFFIX)}",
        "messageExpression": f"variables.server == \"\" ? {none} : {mine}",
        "message": f"in namespace {namespace} a service account attaches to a pod only as the ToolHive proxy runner of "
        f"MCPServer <name> (service account <name>{PROXY_RUNNER_SUFFIX}), to its pod <name>{MCP_POD_SUFFIX}",
    }
