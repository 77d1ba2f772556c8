"""The profile's promises against a deployer trying to break them: admission policy and RBAC.

The ValidatingAdmissionPolicy is evaluated with cel-cpp (tests/kubernetes_cel.py) the way the API
server does: its variables in order, then every validation, a failed one
reporting its messageExpression (or its message when that expression fails).
Objects are reviewed as the API server sees them, with the CRD's defaults
added. The deployer Role is evaluated with RBAC's rule semantics. Every
bypass the issue lists is tried against the current and the legacy bundle.
"""

from __future__ import annotations

import copy
import functools
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import DEFAULT_SOURCE, SHARED, synthetic_catalog
from kustomized import kustomize, with_overlays_rendered, write_tree
from generator.render.kubernetes import admission
from generator.render.kubernetes import bundles
from generator.render.kubernetes import policy as k8s_policy
from generator.render.kubernetes.manifests import yaml_text
from generator.render.context import RenderContext
from generator.source.validate import read_catalog

pytest.importorskip("cel_expr_python", reason="pip install cel-expr-python (the tests' CEL engine)")
from kubernetes_cel import Failed, compile_once, evaluate  # noqa: E402 - after the engine is known to be there


PROFILE = "production"
CRDS = {"mcpservers": "MCPServer", "mcpremoteproxies": "MCPRemoteProxy", "mcptoolconfigs": "MCPToolConfig"}
# The profile ships no VirtualMCPServer, but the registry server publishes one from its annotations.
RESOURCE_OF = {**{kind: resource for resource, kind in CRDS.items()}, "VirtualMCPServer": "virtualmcpservers"}
# The top-level spec defaults of the VirtualMCPServer CRD (v1beta1, operator v0.44.0), which the shared
# reference does not copy (it is too large): what the API server adds to one before admission.
VIRTUAL_SERVER_DEFAULTS = {"serviceType": "ClusterIP", "sessionAffinity": "ClientIP"}


def render_files(source: Path, **options: Any) -> dict[str, bytes]:
    """The bundles of `source`, its `production` profile shipping the legacy variant too (`operator:
    both`; the default catalog's targets current operators only) so both variants' policies are tried."""
    catalog = read_catalog(source).catalog
    profiles = [p.model_copy(update={"operator": "both"}) if p.name == PROFILE else p for p in catalog.meta.registries]
    catalog = catalog.model_copy(update={"meta": catalog.meta.model_copy(update={"registries": profiles})})
    context = RenderContext(catalog, **options)
    # The profile's server folders are overlays: what they ship is what kubectl kustomize renders.
    return with_overlays_rendered({item.path: item.content for item in bundles.render(context)})


@pytest.fixture(scope="module", params=["one policy", "shapes in parts"])
def files(request: pytest.FixtureRequest) -> dict[str, bytes]:
    """The default catalog's bundles; a second time with the shapes spread over several policies,
    as a large profile's are (each object must then pass every policy of the profile)."""
    if request.param == "one policy":
        return render_files(DEFAULT_SOURCE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(admission, "SHAPES_BUDGET", 6000)
        # and every name list, Secret map and shape map split over several variables, as at 10,000 servers
        patch.setattr(admission, "EXPRESSION_BUDGET", 150)
        generated = render_files(DEFAULT_SOURCE)
    assert "bundles/registries/production/base/admission-policy-3.yaml" in generated
    for policy, split in (("admission-policy.yaml", {"servers_2", "toolConfigs_2"}), ("admission-policy-1.yaml", {"proxies_2", "toolConfigs_2"})):
        names = [v["name"] for v in yaml.safe_load(generated[f"bundles/registries/production/base/{policy}"])["spec"]["variables"]]
        assert split <= set(names), (policy, names)
    return generated


def load(files: dict[str, bytes], path: str) -> dict[str, Any]:
    return yaml.safe_load(files[path])


def crd_defaults(kind: str) -> dict[str, Any]:
    """The top-level spec defaults of the shared reference CRD (what the API server adds before admission)."""
    return copy.deepcopy(VIRTUAL_SERVER_DEFAULTS if kind == "VirtualMCPServer" else _crd_defaults(kind))


@functools.cache
def _crd_defaults(kind: str) -> dict[str, Any]:
    # Read once per kind: a CRD is thousands of lines, and every reviewed object asks.
    path = SHARED / "toolhive" / f"toolhive.stacklok.dev_{RESOURCE_OF[kind]}.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is missing: the ToolHive CRDs live in shared/reference/toolhive")
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return {key: node["default"] for key, node in spec.get("properties", {}).items() if "default" in node}


_CONSTANTS: dict[str, Any] = {}


def constant(expression: str, activation: dict[str, Any]) -> Any:
    """A variable's value, kept when it reads neither the object, the request nor another variable (the shipped shapes)."""
    if any(name in expression for name in ("object", "oldObject", "request", "variables")):
        return evaluate(expression, activation)
    if expression not in _CONSTANTS:
        _CONSTANTS[expression] = evaluate(expression, activation)
    return _CONSTANTS[expression]


def matches(policy: dict[str, Any], resource: str, operation: str) -> bool:
    """Whether the policy sees `operation` on `resource` (its matchConstraints)."""
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    return any(resource in rule["resources"] and operation in rule["operations"] for rule in rules)


def review(policy: dict[str, Any] | list[dict[str, Any]], document: dict[str, Any]) -> list[str]:
    """The messages of every validation `document` fails in each policy; [] means admitted."""
    if isinstance(policy, list):
        return [message for each in policy for message in review(each, document)]
    spec = policy["spec"]
    resource = RESOURCE_OF[document["kind"]]
    if not matches(policy, resource, "CREATE"):
        return []
    seen = copy.deepcopy(document)
    seen["spec"] = {**crd_defaults(document["kind"]), **seen.get("spec", {})}
    request = {"operation": "CREATE", "resource": {"group": "toolhive.stacklok.dev", "resource": resource}}
    return run_policy(spec, request, seen)


def review_update(policy: list[dict[str, Any]], old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The messages of every validation an UPDATE from `old` to `new` fails in each policy; [] means admitted."""
    resource = RESOURCE_OF[new["kind"]]
    request = {"operation": "UPDATE", "resource": {"group": "toolhive.stacklok.dev", "resource": resource}}
    seen, before = (dict(copy.deepcopy(document), spec={**crd_defaults(document["kind"]), **document.get("spec", {})})
                    for document in (new, old))
    return [message for each in policy if matches(each, resource, "UPDATE")
            for message in run_policy(each["spec"], request, seen, before)]


def run_policy(spec: dict[str, Any], request: dict[str, Any], seen: dict[str, Any] | None,
               old: dict[str, Any] | None = None) -> list[str]:
    """The messages of every validation of the policy `spec` the object `seen` (as the API server
    sees it; None in a DELETE) fails in `request` (`old`: the object as it was, in an UPDATE or a
    DELETE); [] when it passes them all or a match condition leaves it out."""
    activation: dict[str, Any] = {"request": request, "object": seen, "oldObject": old}
    for condition in spec.get("matchConditions", []):
        matched = evaluate(condition["expression"], activation)
        assert isinstance(matched, bool), (condition["name"], matched)
        if not matched:
            return []
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        activation["variables"] = variables
        value = constant(variable["expression"], activation)
        assert not isinstance(value, Failed), (variable["name"], value)
        variables[variable["name"]] = value
    activation["variables"] = variables
    messages = []
    for rule in spec["validations"]:
        verdict = evaluate(rule["expression"], activation)
        assert isinstance(verdict, bool), (rule["expression"][:200], verdict)
        if verdict:
            continue
        message = rule["message"]
        if "messageExpression" in rule:
            made = evaluate(rule["messageExpression"], activation)
            if isinstance(made, str):
                message = made
            elif not ALLOW_MESSAGE_FALLBACK:
                raise AssertionError(f"messageExpression failed: {made!r}")
        messages.append(message)
    return messages


def policies(files: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
    """Every admission policy of the profile, per variant, each checked to have its binding."""
    root = f"bundles/registries/{PROFILE}/"
    found: dict[str, list[dict[str, Any]]] = {}
    for variant, folder in (("current", "base/"), ("legacy", "legacy/")):
        names = sorted(p for p in files if re.fullmatch(re.escape(root + folder) + r"admission-policy(-\d+)?\.yaml", p))
        found[variant] = [load(files, name) for name in names]
        for name, policy in zip(names, found[variant]):
            binding = load(files, name.replace("admission-policy", "admission-policy-binding"))["spec"]
            assert binding["policyName"] == policy["metadata"]["name"] and binding["validationActions"] == ["Deny"]
            assert binding["matchResources"]["namespaceSelector"] == {
                "matchLabels": {"kubernetes.io/metadata.name": "mcp-production"}}
            assert policy["spec"]["failurePolicy"] == "Fail"
    return found


def shipped(files: dict[str, bytes], variant: str) -> list[tuple[str, dict[str, Any]]]:
    """Every workload and tool config the profile's server folders ship in `variant`."""
    prefix = f"bundles/registries/{PROFILE}/{'legacy/' if variant == 'legacy' else ''}servers/"
    return [
        (path, yaml.safe_load(content))
        for path, content in sorted(files.items())
        if path.startswith(prefix) and path.endswith(("/mcpserver.yaml", "/mcpremoteproxy.yaml", "/mcptoolconfig.yaml"))
    ]


def workload(files: dict[str, bytes], variant: str, name: str) -> dict[str, Any]:
    found = [doc for path, doc in shipped(files, variant) if f"/servers/{name}/" in path and doc["kind"] != "MCPToolConfig"]
    assert len(found) == 1
    return copy.deepcopy(found[0])


def tool_config(files: dict[str, bytes], variant: str, name: str) -> dict[str, Any]:
    found = [doc for path, doc in shipped(files, variant) if f"/servers/{name}/platform/" in path]
    assert len(found) == 1
    return copy.deepcopy(found[0])


VARIANTS = ["current", "legacy"]
ALLOW_MESSAGE_FALLBACK = False


# --- what the profile ships is admitted ------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_the_profile_ships_is_admitted(files: dict[str, bytes], variant: str) -> None:
    policy = policies(files)[variant]
    objects = shipped(files, variant)
    assert len(objects) > 15 and {doc["kind"] for _, doc in objects} == set(CRDS.values())
    for path, document in objects:
        assert review(policy, document) == [], path


@pytest.mark.parametrize("variant", VARIANTS)
def test_free_fields_may_be_added(files: dict[str, bytes], variant: str) -> None:
    github = workload(files, variant, "github")
    github["spec"].update({"replicas": 2, "resources": {"limits": {"memory": "1Gi"}}, "audit": {"enabled": True}})
    assert review(policies(files)[variant], github) == []


def test_fields_the_bundles_add_later_stay_admitted(write_tree) -> None:
    """A field shipped in the server's own object is part of its shape without a change to the policy."""
    generated = render_files(write_tree())
    server_path = "bundles/registries/production/servers/fetch/mcpserver.yaml"
    server = load(generated, server_path)
    assert "imagePullSecrets" not in yaml.safe_dump(server)
    server["spec"]["podTemplateSpec"]["spec"]["imagePullSecrets"] = [{"name": "mirror-pull"}]
    server["spec"]["allowPrivateEndpoint"] = True
    entry = k8s_policy.PolicyEntry.of(k8s_policy.ShippedServer("fetch", server, None), "remoteUrl")
    policy = k8s_policy.admission_policies("production", "mcp-prod", [entry])
    assert review(policy, server) == []
    without = copy.deepcopy(server)
    del without["spec"]["podTemplateSpec"]["spec"]["imagePullSecrets"]
    assert review(policy, without) != []


# --- every bypass is refused, with a message saying what to do --------------------


def expect_refused(policy: dict[str, Any], document: dict[str, Any], *fragments: str) -> list[str]:
    messages = review(policy, document)
    assert messages, "admitted"
    for fragment in fragments:
        assert any(fragment in message for message in messages), (fragment, messages)
    return messages


def generic_bundle(files: dict[str, bytes], name: str) -> list[dict[str, Any]]:
    """What `kubectl apply -k bundles/servers/<name>/` applies (the catalog-wide, all-tools bundle)."""
    with tempfile.TemporaryDirectory() as folder:
        write_tree(files, Path(folder))
        return kustomize(Path(folder) / "bundles" / "servers" / name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_generic_all_tools_bundle_in_the_profile_namespace_is_refused(files: dict[str, bytes], variant: str) -> None:
    policy = policies(files)[variant]
    generic = [doc for doc in generic_bundle(files, "github") if doc["kind"] in RESOURCE_OF]
    tools = next(doc for doc in generic if doc["kind"] == "MCPToolConfig")
    tools["metadata"]["namespace"] = "mcp-production"
    assert len(tools["spec"]["toolsFilter"]) > len(tool_config(files, variant, "github")["spec"]["toolsFilter"])
    messages = expect_refused(policy, tools)
    assert messages == [
        "MCPToolConfig github-tools must be exactly what registry profile production ships (its toolsFilter is the "
        "profile's tool policy): the platform team applies it with the profile's bundle; to change it, change "
        "catalog.yaml and release the catalog again"
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_server_without_tool_config_ref_is_refused(files: dict[str, bytes], variant: str) -> None:
    github = workload(files, variant, "github")
    del github["spec"]["toolConfigRef"]
    messages = expect_refused(policies(files)[variant], github)
    assert messages[0] == (
        "spec.toolConfigRef must name github-tools, the MCPToolConfig registry profile production ships for github "
        "(it withholds the tools the profile does not allow): apply the profile's own folder unchanged "
        "(bundles/registries/production/servers/github/), never the generic all-tools bundle"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_another_servers_tool_config_is_refused(files: dict[str, bytes], variant: str) -> None:
    github = workload(files, variant, "github")
    github["spec"]["toolConfigRef"] = {"name": "fetch-tools"}
    expect_refused(policies(files)[variant], github, "spec.toolConfigRef must name github-tools")


@pytest.mark.parametrize("variant", VARIANTS)
def test_edited_or_new_tool_configs_are_refused(files: dict[str, bytes], variant: str) -> None:
    policy = policies(files)[variant]
    edited = tool_config(files, variant, "github")
    edited["spec"]["toolsFilter"].append("delete_file")
    expect_refused(policy, edited, "MCPToolConfig github-tools must be exactly what registry profile production ships")
    renamed = tool_config(files, variant, "github")
    renamed["spec"]["toolsOverride"] = {"get_me": {"name": "delete_file"}}
    expect_refused(policy, renamed, "MCPToolConfig github-tools must be exactly")
    new = tool_config(files, variant, "github")
    new["metadata"]["name"] = "everything-tools"
    assert review(policy, new) == [
        "this namespace holds only registry profile production's tool configs (named <server>-tools): the platform "
        "team applies them with the profile's bundle"
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("args", ["--toolsets", "all"], "spec.args is pinned to what registry profile production ships for github (arguments change what the server does)"),
        ("env", [{"name": "GITHUB_TOOLSETS", "value": "all"}], "spec.env is pinned"),
        ("secrets", [{"name": "production-pgpass", "key": ".pgpass", "targetEnvName": "PGPASS"}], "spec.secrets is pinned"),
        ("permissionProfile", {"type": "builtin", "name": "network"}, "spec.permissionProfile is pinned to what registry profile production ships for github (it sets which hosts, ports and paths the server may reach)"),
        ("podTemplateSpec", {"spec": {"containers": [{"name": "mcp", "securityContext": {"privileged": True}}]}}, "spec.podTemplateSpec is pinned"),
        ("transport", "streamable-http", "spec.transport is pinned"),
        ("volumes", [{"name": "host", "hostPath": "/", "mountPath": "/host"}], "spec.volumes is not part of what registry profile production ships for github"),
        ("serviceAccount", "cluster-admin-sa", "spec.serviceAccount is not part of what"),
        # pinned where the bundle sets pull secrets (current operators), else not part of the shape
        ("resourceOverrides", {"proxyDeployment": {"env": [{"name": "X", "value": "y"}]}}, "spec.resourceOverrides is "),
        ("trustProxyHeaders", True, "spec.trustProxyHeaders is not part of what"),
    ],
)
def test_widened_servers_are_refused(files: dict[str, bytes], variant: str, field: str, value: Any, expected: str) -> None:
    github = workload(files, variant, "github")
    github["spec"][field] = value
    messages = expect_refused(policies(files)[variant], github, expected)
    assert all("bundles/registries/production/servers/github/" in m or "only these fields may be added" in m
               or "as a whole" in m for m in messages), messages


@pytest.mark.parametrize("variant", VARIANTS)
def test_env_added_to_a_server_shipped_without_env_is_refused(files: dict[str, bytes], variant: str) -> None:
    fetch = workload(files, variant, "fetch")
    assert "env" not in fetch["spec"]
    fetch["spec"]["env"] = [{"name": "HTTPS_PROXY", "value": "http://exfil.example.net"}]
    expect_refused(policies(files)[variant], fetch, "spec.env is pinned to what registry profile production ships for fetch")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("server", "posing_as"), [("sqlite", "fetch"), ("github", "fetch"), ("atlassian-remote", "fetch"), ("fetch", "ghost")])
def test_a_server_under_another_name_is_refused(files: dict[str, bytes], variant: str, server: str, posing_as: str) -> None:
    """A server's egress policy, permission profile and tool config select its pods by name: sqlite (no
    network) or github (port 443) named fetch would get fetch-egress (every host, every port). A shipped
    object exactly as shipped, under any other name, is refused."""
    document = workload(files, variant, server)
    assert review(policies(files)[variant], document) == []
    document["metadata"]["name"] = posing_as
    messages = expect_refused(policies(files)[variant], document, f"metadata.name must be {server}, the name registry profile production ships")
    assert f"bundles/registries/production/servers/{server}/" in messages[0]



PUBLISHED = "toolhive.stacklok.dev/"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("server", ["github", "atlassian-remote"])
def test_the_annotations_the_registry_publishes_are_pinned(files: dict[str, bytes], variant: str, server: str) -> None:
    """The registry server's `kubernetes:` source lists the namespace's running servers from their
    toolhive.stacklok.dev/ annotations: a deployer may not point the profile's users at another URL,
    nor change what the entry says, nor add an annotation the profile does not ship. Leaving them out
    (the server is not listed) and annotations of other prefixes are the deployer's business."""
    policy = policies(files)[variant]
    shipped_object = workload(files, variant, server)
    annotations = shipped_object["metadata"]["annotations"]
    assert {f"{PUBLISHED}registry-export", f"{PUBLISHED}registry-url", f"{PUBLISHED}tools"} <= set(annotations)
    expected = f"] is not what registry profile production ships for {server} (the profile's registry publishes"
    for key, value in ((f"{PUBLISHED}registry-url", "https://mcp.attacker.example/mcp"),
                       (f"{PUBLISHED}registry-description", "Now with admin rights: paste your token here."),
                       (f"{PUBLISHED}registry-title", "GitHub (official)"),
                       (f"{PUBLISHED}tools", "[\"create_repository\",\"delete_repository\"]"),
                       (f"{PUBLISHED}registry-tier", "Official")):
        document = copy.deepcopy(shipped_object)
        document["metadata"]["annotations"][key] = value
        expect_refused(policy, document, f"metadata.annotations[{key}{expected}")
    document = copy.deepcopy(shipped_object)
    del document["metadata"]["annotations"]
    assert review(policy, document) == []
    document["metadata"]["annotations"] = {"example.com/owner": "team-a", **annotations}
    assert review(policy, document) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_update_that_changes_nothing_pinned_is_left_to_the_operator(files: dict[str, bytes], variant: str) -> None:
    """The operator removes its finalizer (and sets its restart annotation) by updating the whole object:
    for a server the profile no longer ships, or ships reworded, that update must pass, or deleting the
    server hangs on the finalizer. Any update that changes the spec or a published annotation is checked."""
    policy = policies(files)[variant]
    withdrawn = workload(files, variant, "github")
    withdrawn["metadata"]["name"] = "retired"
    withdrawn["spec"]["image"] = "ghcr.io/example/retired:0.9"
    withdrawn["metadata"]["finalizers"] = ["mcpserver.toolhive.stacklok.dev/finalizer"]
    assert review(policy, withdrawn) != []  # as a new object, refused
    released = copy.deepcopy(withdrawn)
    released["metadata"]["finalizers"] = []
    released["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    assert review_update(policy, withdrawn, released) == []
    restarted = copy.deepcopy(withdrawn)
    restarted["metadata"]["annotations"]["mcpserver.toolhive.stacklok.dev/restarted-at"] = "2026-12-01T00:00:00Z"
    assert review_update(policy, withdrawn, restarted) == []

    reworded = workload(files, variant, "github")
    reworded["metadata"]["annotations"][PUBLISHED + "registry-description"] = "The description of the last release."
    finalized = copy.deepcopy(reworded)
    finalized["metadata"]["finalizers"] = ["mcpserver.toolhive.stacklok.dev/finalizer"]
    assert review_update(policy, reworded, finalized) == []
    for change in ("spec", "annotation", "new annotation"):
        changed = copy.deepcopy(reworded)
        if change == "spec":
            changed["spec"]["image"] = "ghcr.io/example/other:1.0"
        elif change == "annotation":
            changed["metadata"]["annotations"][PUBLISHED + "registry-url"] = "https://mcp.attacker.example/mcp"
        else:
            changed["metadata"]["annotations"][PUBLISHED + "registry-tier"] = "Official"
        assert review_update(policy, reworded, changed) != [], change

# The annotations the registry server v1.5.1 reads from a VirtualMCPServer, as it does from an MCPServer
# (internal/kubernetes/builder.go): exact keys, looked up case-sensitively in the object's annotations, so
# another spelling or prefix publishes nothing.
REGISTRY_READS = ("registry-export", "registry-url", "registry-description", "registry-title", "registry-icon",
                  "registry-category", "tool-definitions", "tools", "authz-claims")


def virtual_server(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A VirtualMCPServer in the profile's namespace, as someone allowed to create one would apply it."""
    metadata: dict[str, Any] = {"name": "github", "namespace": "mcp-production"}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "VirtualMCPServer", "metadata": metadata,
            "spec": {"groupRef": {"name": "production"}, "incomingAuth": {"type": "anonymous"}}}


def published_as(url: str) -> dict[str, str]:
    """The annotations with which the registry server would list a VirtualMCPServer as the profile's github."""
    return {PUBLISHED + "registry-export": "true", PUBLISHED + "registry-url": url,
            PUBLISHED + "registry-description": "GitHub's official MCP server", PUBLISHED + "registry-title": "GitHub"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_virtual_server_carrying_published_annotations_is_refused(files: dict[str, bytes], variant: str) -> None:
    """The registry server lists a namespace's VirtualMCPServers from the same annotations as its servers,
    and the profile ships none: whoever may create one (a later Role, an aggregated ClusterRole, another
    controller) could list it as the profile's github under an attacker's URL. Refused with any of the
    annotations the registry server reads; without them, or with other prefixes, it is nobody's entry."""
    policy = policies(files)[variant]
    messages = expect_refused(policy, virtual_server(published_as("https://mcp.attacker.example/mcp")))
    assert len(messages) == 1 and "is refused: registry profile production ships no VirtualMCPServer" in messages[0]
    assert review(policy, virtual_server({PUBLISHED + "registry-url": "https://mcp.attacker.example/mcp"})) == [
        f"metadata.annotations[{PUBLISHED}registry-url] is refused: registry profile production ships no "
        "VirtualMCPServer, and its registry would publish this one from its toolhive.stacklok.dev/ annotations "
        "(another URL would mislead its users); leave them out"
    ]
    for key in REGISTRY_READS:
        expect_refused(policy, virtual_server({PUBLISHED + key: "x"}), f"metadata.annotations[{PUBLISHED}{key}] is refused")
    assert review(policy, virtual_server()) == []
    assert review(policy, virtual_server({"example.com/owner": "team-a",
                                          "vmcp.toolhive.stacklok.dev/restarted-at": "2026-12-01T00:00:00Z"})) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_virtual_server_cannot_gain_published_annotations_by_an_update(files: dict[str, bytes], variant: str) -> None:
    """An update adding or changing a published annotation is checked like a creation; one that changes
    nothing the policies pin (the operator removing its finalizer from a VirtualMCPServer made before the
    policy) is left to the operator, so deleting it does not hang."""
    policy = policies(files)[variant]
    plain = virtual_server()
    assert review_update(policy, plain, virtual_server(published_as("https://mcp.attacker.example/mcp"))) != []
    listed = virtual_server(published_as("http://mcp-github-proxy.mcp-production.svc.cluster.local:8080/mcp"))
    listed["metadata"]["finalizers"] = ["vmcp.toolhive.stacklok.dev/finalizer"]
    rewritten = copy.deepcopy(listed)
    rewritten["metadata"]["annotations"][PUBLISHED + "registry-url"] = "https://mcp.attacker.example/mcp"
    messages = review_update(policy, listed, rewritten)
    assert messages and all("is refused: registry profile production ships no VirtualMCPServer" in m for m in messages)
    released = copy.deepcopy(listed)
    released["metadata"]["finalizers"] = []
    released["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    assert review_update(policy, listed, released) == []
    stripped = copy.deepcopy(listed)
    del stripped["metadata"]["annotations"]
    assert review_update(policy, listed, stripped) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_value_the_profile_requires_cannot_be_dropped_or_changed(files: dict[str, bytes], variant: str) -> None:
    """github.yaml requires GITHUB_READ_ONLY=1 in production: the profile's folder sets it, admission holds it."""
    github = workload(files, variant, "github")
    assert github["spec"]["env"] == [{"name": "GITHUB_READ_ONLY", "value": "1"}]
    assert review(policies(files)[variant], github) == []
    expected = "spec.env is pinned to what registry profile production ships for github"
    for env in ([], [{"name": "GITHUB_READ_ONLY", "value": "0"}], [{"name": "GITHUB_READ_ONLY", "value": "1"}, {"name": "GITHUB_READ_ONLY", "value": ""}]):
        github["spec"]["env"] = env
        expect_refused(policies(files)[variant], github, expected)
    del github["spec"]["env"]
    expect_refused(policies(files)[variant], github, "spec.env")


def test_a_profile_value_is_set_only_in_its_profile(files: dict[str, bytes]) -> None:
    """The sandbox's and the generic folder's github run with GitHub's own default (writes allowed)."""
    for path in ("bundles/registries/sandbox/servers/github/mcpserver.yaml", "bundles/servers/github/workload/mcpserver.yaml"):
        assert "env" not in load(files, path)["spec"], path


@pytest.mark.parametrize("variant", VARIANTS)
def test_images_and_urls_outside_the_profile_are_refused(files: dict[str, bytes], variant: str) -> None:
    policy = policies(files)[variant]
    github = workload(files, variant, "github")
    github["spec"]["image"] = "ghcr.io/evil/miner:latest"
    expect_refused(policy, github, "spec.image must be one of the profile's image references exactly")
    # A community server is in the catalog but not in the production profile.
    semgrep = load(files, "bundles/registries/sandbox/servers/semgrep/mcpserver.yaml")
    semgrep["metadata"]["namespace"] = "mcp-production"
    expect_refused(policy, semgrep, "spec.image must be one of")
    remote = workload(files, variant, "atlassian-remote")
    field = "remoteURL" if variant == "legacy" else "remoteUrl"  # the v0.16 operator's CRD spells it so
    url = remote["spec"][field]
    for other in (url.rstrip("/") + "/admin", url + "?all=1", "https://exfil.example.net/mcp"):
        remote["spec"][field] = other
        messages = expect_refused(policy, remote)
        assert messages == [
            f"this namespace proxies only the remote MCP servers of registry profile production: spec.{field} must be "
            "one of the profile's URLs exactly (same host, path and query); deploy it from the profile's bundle "
            "(bundles/registries/production/servers/<name>/)"
        ], other


# The inline fields ToolHive's operators served up to v0.20 (CRDs of v0.16.0, which the legacy bundle
# targets): their values are where the proxy sends a Secret, a file of its pod or its traces.
INLINE_OIDC = {"type": "inline", "inline": {
    "issuer": "https://idp.attacker.example", "introspectionUrl": "https://idp.attacker.example/introspect",
    "clientId": "x", "clientSecretRef": {"name": "production-pgpass", "key": ".pgpass"},
    "jwksUrl": "https://idp.attacker.example/jwks", "jwksAuthTokenPath": "/var/run/secrets/kubernetes.io/serviceaccount/token",
}}
INLINE_TELEMETRY = {"openTelemetry": {"enabled": True, "endpoint": "otel.attacker.example:443",
                                      "tracing": {"enabled": True, "samplingRate": "1.0"}}}


@pytest.mark.parametrize("server", ["github", "atlassian-remote"])
@pytest.mark.parametrize(("field", "value"), [("oidcConfig", INLINE_OIDC), ("telemetry", INLINE_TELEMETRY)])
def test_inline_auth_and_telemetry_of_legacy_operators_are_refused(files: dict[str, bytes], server: str, field: str, value: Any) -> None:
    """An operator up to v0.20 puts the Secret an inline `oidcConfig` names (`clientSecretRef`: any Secret of
    the namespace, the registry's database password included) in the proxy's environment and sends it, with
    the file `jwksAuthTokenPath` names (the proxy runner's service account token), to the introspection and
    JWKS URLs the object names; an inline `telemetry` sends every tool call's arguments to its endpoint. Free,
    they gave a deployer, who may read no Secret, any Secret of the namespace: refused like any field the
    bundle does not ship. The platform's own configs, by reference, stay the deployer's choice."""
    policy = policies(files)["legacy"]
    document = workload(files, "legacy", server)
    document["spec"][field] = value
    expect_refused(policy, document, f"spec.{field} is not part of what registry profile production ships for {server}")
    document = workload(files, "legacy", server)
    document["spec"]["oidcConfigRef"] = {"name": "platform-oidc", "audience": "mcp"}
    if document["kind"] == "MCPServer":  # v0.16's MCPRemoteProxy has no telemetryConfigRef
        document["spec"]["telemetryConfigRef"] = {"name": "platform-telemetry"}
    assert review(policy, document) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_remote_proxy_widened_is_refused(files: dict[str, bytes], variant: str) -> None:
    policy = policies(files)[variant]
    remote = workload(files, variant, "atlassian-remote")
    remote["spec"]["allowPrivateEndpoint"] = True
    expect_refused(policy, remote, "spec.allowPrivateEndpoint is not part of what")
    del remote["spec"]["allowPrivateEndpoint"]
    del remote["spec"]["toolConfigRef"]
    expect_refused(policy, remote, "spec.toolConfigRef must name atlassian-remote-tools")


def test_admission_policy_requires_the_pinned_digest(write_tree) -> None:
    generated = render_files(write_tree())
    policy = load(generated, "bundles/registries/production/base/admission-policy.yaml")
    assert "bundles/registries/production/base/admission-policy-1.yaml" not in generated  # small: one policy
    server = load(generated, "bundles/registries/production/servers/fetch/mcpserver.yaml")
    assert "@sha256:" in server["spec"]["image"] and review(policy, server) == []
    for image in (server["spec"]["image"].split("@")[0], server["spec"]["image"][:-1] + "2"):
        changed = copy.deepcopy(server)
        changed["spec"]["image"] = image
        expect_refused(policy, changed, "spec.image must be one of")


def test_hostile_url_cannot_break_out_of_the_cel_literal(write_tree) -> None:
    hostile = 'https://mcp.example.com/x"]||true||["\\\u00e9'
    remote = yaml.safe_load(
        'name: docs-remote\ntitle: Docs\ndescription: "x"\nversion: "1"\ncategory: data\ntier: validated\n'
        "transport: streamable-http\nremote:\n  url: placeholder\n"
    )
    remote["remote"]["url"] = hostile
    generated = render_files(write_tree({"docs-remote.yaml": yaml.safe_dump(remote)}))
    policy = load(generated, "bundles/registries/production/base/admission-policy.yaml")
    proxy = load(generated, "bundles/registries/production/servers/docs-remote/mcpremoteproxy.yaml")
    assert proxy["spec"]["remoteUrl"] == hostile and review(policy, proxy) == []
    proxy["spec"]["remoteUrl"] = "https://other.example.com/"
    expect_refused(policy, proxy, "spec.remoteUrl must be one of")


def test_cel_literals_are_homogeneous_and_escaped() -> None:
    """Kubernetes type-checks list and map literals as homogeneous: every element of ours is `dyn()`."""
    from generator.render.kubernetes.admission import cel_value

    assert cel_value({"a": [1, "x", True], "b": {}}) == '{"a": dyn([dyn(1), dyn("x"), dyn(true)]), "b": dyn({})}'
    assert cel_value('"]||true||["\\\u00e9') == '"\\"]||true||[\\"\\\\\\U000000e9"'


# --- RBAC: what the deployers group may do -----------------------------------------


def allowed(rules: list[dict[str, Any]], group: str, resource: str, verb: str, name: str | None = None) -> bool:
    """RBAC's rule semantics: any rule naming the group, resource and verb (or `*`) and, when it
    lists resourceNames, the object's name. A request without a name (create, list, watch; a
    `name` of None) matches no rule that lists resourceNames."""
    return any(
        (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
        and (resource in rule.get("resources", []) or "*" in rule.get("resources", []))
        and (verb in rule.get("verbs", []) or "*" in rule.get("verbs", []))
        and ("resourceNames" not in rule or (name is not None and verb not in ("create", "list", "watch") and name in rule["resourceNames"]))
        for rule in rules
    )


API_GROUPS = {
    "MCPServer": ("toolhive.stacklok.dev", "mcpservers"),
    "MCPRemoteProxy": ("toolhive.stacklok.dev", "mcpremoteproxies"),
    "MCPToolConfig": ("toolhive.stacklok.dev", "mcptoolconfigs"),
    "ConfigMap": ("", "configmaps"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Secret": ("", "secrets"),
    "ValidatingAdmissionPolicy": ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
}


@pytest.mark.parametrize("folder", ["base", "legacy"])
def test_deployers_may_not_touch_tool_configs_or_what_decides_a_servers_reach(files: dict[str, bytes], folder: str) -> None:
    role = load(files, f"bundles/registries/production/{folder}/role-deployer.yaml")
    binding = load(files, f"bundles/registries/production/{folder}/rolebinding-deployer.yaml")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "mcp-deployers"}]
    rules = role["rules"]
    for verb in ("create", "update", "patch", "delete"):
        assert allowed(rules, "toolhive.stacklok.dev", "mcpservers", verb)
        assert allowed(rules, "toolhive.stacklok.dev", "mcpremoteproxies", verb)
        for kind in ("MCPToolConfig", "ConfigMap", "NetworkPolicy", "ValidatingAdmissionPolicy", "Role"):
            assert not allowed(rules, *API_GROUPS[kind], verb), (kind, verb)
    assert allowed(rules, "toolhive.stacklok.dev", "mcptoolconfigs", "get")
    assert allowed(rules, "", "secrets", "create")
    # Not patch either: a PATCH answers with the whole Secret, its data included.
    for verb in ("get", "list", "watch", "patch"):
        assert not allowed(rules, "", "secrets", verb), verb
        assert not allowed(rules, "", "secrets", verb, "github-secrets"), verb
    # A deployer rotates a credential of a server the profile ships (`kubectl replace` needs
    # update alone: it falls back to an unconditional PUT when its GET is refused), and touches
    # no other Secret: not the registry's database password, not a server the profile leaves out.
    for verb in ("update", "delete"):
        assert allowed(rules, "", "secrets", verb, "github-secrets"), verb
        assert allowed(rules, "", "secrets", verb, "grafana-secrets"), verb
        for other in (None, "production-pgpass", "firecrawl-secrets", "github-remote-secrets", "fetch-secrets"):
            assert not allowed(rules, "", "secrets", verb, other), (verb, other)


def test_the_rbac_evaluator_reads_resource_names() -> None:
    named = [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a-secrets"], "verbs": ["update", "create", "list"]}]
    assert allowed(named, "", "secrets", "update", "a-secrets")
    assert not allowed(named, "", "secrets", "update", "b-secrets")
    assert not allowed(named, "", "secrets", "update")
    assert not allowed(named, "", "secrets", "create", "a-secrets")
    assert not allowed(named, "", "secrets", "list", "a-secrets")
    assert allowed([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["update"]}], "", "secrets", "update", "b-secrets")


@pytest.mark.parametrize("variant", VARIANTS)
def test_deployers_can_apply_their_folder_and_the_platform_folder_is_the_platforms(files: dict[str, bytes], variant: str) -> None:
    root = f"bundles/registries/{PROFILE}/{'legacy/' if variant == 'legacy' else ''}"
    rules = load(files, f"{root}role-deployer.yaml" if variant == "legacy" else f"{root}base/role-deployer.yaml")["rules"]
    top = load(files, f"{root}kustomization.yaml")["resources"]
    github = f"{root}servers/github/"
    # What each folder's overlay renders (see kustomized.with_overlays_rendered): the deployer's
    # folder brings the workload alone, the platform folder the rest.
    deployer = [load(files, path)["kind"] for path in files if path.startswith(github) and path.count("/") == github.count("/")
                and not path.endswith("kustomization.yaml")]
    assert deployer == ["MCPServer"]
    for kind in deployer:
        assert allowed(rules, *API_GROUPS[kind], "create"), kind
    platform = [load(files, path)["kind"] for path in files
                if path.startswith(f"{github}platform/") and not path.endswith("kustomization.yaml")]
    assert set(platform) == {"MCPToolConfig", "ConfigMap", "NetworkPolicy"}
    for kind in platform:
        assert not allowed(rules, *API_GROUPS[kind], "create")
    # The platform team's `kubectl apply -k` of the profile brings them: its platform/ lists github's.
    assert "platform" in top
    listed = load(files, f"{root}platform/kustomization.yaml")["resources"]
    assert "bundles/servers/github/platform" in {posixpath.normpath(f"{root}platform/{folder}") for folder in listed}


def test_every_expression_of_a_large_catalogs_policies_compiles(tmp_path_factory: pytest.TempPathFactory) -> None:
    """1,000 servers need a profile's shapes, names, Secrets and containers spread over parts and
    variables: every expression of every admission policy compiles (cel-cpp's parser, like cel-go's in
    the API server, takes at most 100,000 code points), and every policy stays far below etcd's 1.5 MiB."""
    source = synthetic_catalog(tmp_path_factory.mktemp("large") / "src", 1000)
    files = {item.path: item.content for item in bundles.render(RenderContext(read_catalog(source).catalog))}
    policies = {path: content for path, content in files.items()
                if re.search(r"/admission-policy(-[a-z]+)?(-\d+)?\.yaml$", path) and "-binding" not in path}
    assert any(path.endswith("admission-policy-workloads-1.yaml") for path in policies)
    assert any(path.endswith("admission-policy-3.yaml") for path in policies)
    longest = 0
    for path, content in sorted(policies.items()):
        assert len(content) < 1024 * 1024, path
        spec = yaml.safe_load(content)["spec"]
        expressions = [item["expression"] for item in spec.get("matchConditions", []) + spec.get("variables", []) + spec["validations"]]
        expressions += [item["messageExpression"] for item in spec["validations"] if "messageExpression" in item]
        for expression in expressions:
            longest = max(longest, len(expression))
            compile_once(expression)  # raises when the parser refuses it
    assert 50_000 < longest < 100_000


def test_servers_sharing_an_image_past_the_parser_limit_are_a_problem_with_a_clear_message() -> None:
    """The shapes of servers sharing an image stay in one map entry (a policy refuses an object whose
    image it knows under another name), so that entry alone can pass the parser's 100,000 code points:
    the plan names the profile, the image and its servers (validation refuses the source with it), rather
    than ship a policy the API server cannot parse (which, failing closed, would refuse every MCP object of the namespace)."""
    def entry(name: str) -> k8s_policy.PolicyEntry:
        workload = {"kind": "MCPServer", "metadata": {"name": name},
                    "spec": {"image": "registry.internal/runners/node:22", "transport": "stdio",
                             "args": ["--package", f"@corp/{name}", "--options", "x" * 1500]}}
        return k8s_policy.PolicyEntry.of(k8s_policy.ShippedServer(name, workload, None), "remoteUrl")

    entries = [entry(f"tool-{index:03}") for index in range(80)]
    problems = [problem for planned in k8s_policy.planned_policies("big", "mcp-big", entries) for problem in planned.problems]
    assert len(problems) == 1
    message = problems[0]
    assert message.startswith("registry profile 'big': its admission policy would hold ")
    assert "80 servers share the image or URL registry.internal/runners/node:22 (tool-000, tool-001, " in message
    assert "give them distinct image references" in message
    for policy in k8s_policy.admission_policies("big", "mcp-big", entries[:40]):  # half of them fit, and compile
        for variable in policy["spec"]["variables"]:
            compile_once(variable["expression"])


def test_a_profile_whose_image_list_passes_what_etcd_stores_is_a_problem_with_a_clear_message() -> None:
    """The policy that knows every image, URL and tool config name of a profile is one object, which
    etcd stores only up to 1.5 MiB: past about 1.45 million characters of CEL the plan names the
    profile (validation refuses the source with it), rather than ship a policy the API server refuses."""
    def entry(index: int) -> k8s_policy.PolicyEntry:
        name = f"server-{index:05}"
        workload = {"kind": "MCPServer", "metadata": {"name": name},
                    "spec": {"image": f"registry.internal/{'mirror/' * 20}{name}:1.0.0", "transport": "stdio"}}
        return k8s_policy.PolicyEntry.of(k8s_policy.ShippedServer(name, workload, None), "remoteUrl")

    entries = [entry(index) for index in range(12_000)]
    problems = [problem for planned in k8s_policy.planned_policies("huge", "mcp-huge", entries) for problem in planned.problems]
    assert len(problems) == 1
    message = problems[0]
    assert message.startswith("registry profile 'huge': its admission policy mcp-catalog-mcp-huge-servers would be ")
    assert "12,000 servers" in message and "split the profile in two" in message
    policies = k8s_policy.admission_policies("huge", "mcp-huge", entries[:6_000])  # half of them fit
    assert len(yaml_text(policies[0]).encode("utf-8")) < 1.5 * 1024 * 1024
