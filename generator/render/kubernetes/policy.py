"""Admission policy that holds a profile's namespace to the objects its bundle ships.

Current ToolHive operators dropped the typed MCPRegistry's `enforceServers`,
and that only ever checked the image. The bundles enforce the whole profile
with a Kubernetes ValidatingAdmissionPolicy (CEL, admissionregistration.k8s.io/v1):
in the profile's namespace an MCPServer or MCPRemoteProxy is admitted only under
the name and in the shape the profile ships for its image or URL (its `toolConfigRef`, args,
env, secrets, permission profile, pod template, ...), an MCPToolConfig only
exactly as the profile ships it, and a VirtualMCPServer (which no profile ships) only without the
annotations the registry server would publish it from. The shapes are the shipped objects' specs
themselves, so a field the bundles start shipping is pinned with no change here.

A deployer may add only the fields in `FREE_FIELDS` (they change how many pods
run, how they are observed or who may call them, never what a server may reach,
which tools it exposes or where the proxy sends a credential). Every CEL literal comes from `cel_value`, which
escapes every character a hostile source value could use to break out of a
string and wraps each element in `dyn()` (Kubernetes type-checks aggregate
literals as homogeneous). Each shipped server is encoded once (`PolicyEntry`, which
the bundles keep as a per-server piece) and the policies are joined from those literals.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.render.kubernetes import admission
from generator.render.kubernetes.admission import (
    CEL_PARSER_LIMIT, OBJECT_BUDGET, budgeted, cel_list, cel_map, cel_string, cel_value, looked_up,
    map_variables, validating_policy, within,
)
from generator.render.kubernetes.server import TOOLHIVE_API_GROUP
from generator.render.kubernetes.names import resource_name

# Not the inline `oidcConfig` and `telemetry` of operators up to v0.20 (the legacy bundle's v0.16): the
# proxy sends the Secret an inline OIDC config names (any of the namespace) and a file of its pod (its
# service account token) to the URLs it names, and its traces, tool arguments included, to the
# endpoint an inline telemetry names. The references to the platform's own configs stay free.
FREE_FIELDS = (
    "audit", "authzConfig", "authzConfigRef", "oidcConfigRef", "proxyMode", "rateLimiting",
    "replicas", "resources", "sessionAffinity", "telemetryConfigRef",
)
# What the CRDs (v0.44.0) default when a field is left out: an object may carry these values
# for fields the profile does not ship (the API server adds them), and no other value.
CRD_DEFAULTS: dict[str, Any] = {"allowPrivateEndpoint": False, "trustProxyHeaders": False}
# Why each field the bundles ship is pinned; a field without an entry here gets the generic reason.
PINNED_BECAUSE = {
    "args": "arguments change what the server does",
    "env": "environment values change what the server does",
    "secrets": "they decide which credentials the server receives",
    "permissionProfile": "it sets which hosts, ports and paths the server may reach",
    "podTemplateSpec": "it holds the restricted security context and the only writable volumes",
    "headerForward": "it decides which credentials are forwarded to the remote server",
    "allowPrivateEndpoint": "it decides whether the proxy may reach private addresses",
    "transport": "the profile's tool policy is applied by ToolHive's proxy for this transport",
    "mcpPort": "the proxy reaches the server on this port",
    "proxyPort": "the namespace's network policies admit this port",
}


@dataclass(frozen=True)
class ShippedServer:
    """What a profile ships for one server: its workload (MCPServer or MCPRemoteProxy) and tool config."""

    name: str
    workload: dict[str, Any]
    tool_config: dict[str, Any] | None


def shape(workload: dict[str, Any]) -> dict[str, Any]:
    """The pinned part of a shipped workload's spec: everything but the free fields."""
    return {key: value for key, value in workload["spec"].items() if key not in FREE_FIELDS}


# ToolHive's annotation prefix: the registry server's `kubernetes:` source publishes a running
# server's entry from annotations under it (registry-export, registry-url, registry-title, ...).
PUBLISHED_PREFIX = f"{TOOLHIVE_API_GROUP}/"
# The registry server (v1.5.1) publishes a VirtualMCPServer from those annotations too (it lists
# MCPServers, VirtualMCPServers and MCPRemoteProxies, no other kind), and no profile ships one. Its
# resource in ToolHive's group (v1alpha1 and v1beta1 in operator v0.44.0):
VIRTUAL_SERVERS = "virtualmcpservers"


def published_annotations(workload: dict[str, Any]) -> dict[str, str]:
    """The shipped workload's annotations under ToolHive's prefix: what the profile's registry lists for it."""
    annotations = workload["metadata"].get("annotations", {})
    return {key: value for key, value in sorted(annotations.items()) if key.startswith(PUBLISHED_PREFIX)}


@dataclass(frozen=True)
class PolicyEntry:
    """A shipped server as a profile's policies hold it: its shape and tool config already CEL
    literals, and what the policies sort, group and measure it by. The bundles keep it per server
    (`encoded`), so a profile's policies are joined from literals, not encoded again on every build."""

    server: str
    kind: str
    """MCPServer or MCPRemoteProxy."""
    address: str
    """The image or URL the policies look its shape up by."""
    fields: tuple[str, ...]
    """The shape's fields (each is pinned)."""
    shape: str
    """CEL: {"server": name, "spec": the shape, "annotations": `published_annotations`}."""
    tool_config: str | None
    """The name of its MCPToolConfig, if it ships one."""
    tool_config_spec: str
    """CEL: that MCPToolConfig's spec ("{}" without one)."""
    run: str
    """CEL, for an MCPServer: {"image", "args", "env": {name: value}, "secretEnv": [name]}, what its proxy
    runner puts in the StatefulSet's `mcp` container (the workload policy pins it); "" for a remote
    proxy, which has no StatefulSet."""
    cost: int
    """What it counts against SHAPES_BUDGET."""

    @classmethod
    def of(cls, shipped: ShippedServer, url_field: str) -> PolicyEntry:
        """`shipped` encoded once (`url_field`: the remote proxy's URL field in the targeted API version)."""
        spec = shape(shipped.workload)
        spec_literal = cel_value(spec)
        annotations_literal = cel_value(published_annotations(shipped.workload))
        kind = shipped.workload["kind"]
        config = shipped.tool_config
        return cls(
            server=shipped.name,
            kind=kind,
            address=spec["image"] if kind == "MCPServer" else spec[url_field],
            fields=tuple(spec),
            shape=cel_map([("server", cel_string(shipped.name)), ("spec", spec_literal), ("annotations", annotations_literal)]),
            tool_config=None if config is None else config["metadata"]["name"],
            tool_config_spec="{}" if config is None else cel_value(config["spec"]),
            run=_run(spec) if kind == "MCPServer" else "",
            # Its share of a part's `servers` (or `proxies`) and `toolConfigs` literals, keys and wrapping included.
            cost=len(spec_literal) + len(annotations_literal) + len(cel_value(config or {})) + 2 * len(shipped.name)
            + len(str(spec.get("image", ""))) + 100,
        )

    def encoded(self) -> bytes:
        """The entry as JSON (a per-server piece)."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode("ascii")

    @classmethod
    def decoded(cls, data: bytes) -> PolicyEntry:
        """The entry `encoded` gave."""
        values = json.loads(data)
        return cls(**{**values, "fields": tuple(values["fields"])})


def _run(spec: dict[str, Any]) -> str:
    """CEL: what a shipped MCPServer's proxy runner puts in its `mcp` container: image, args, the
    `env` values, and the variables its Secrets' entries fill (`spec.secrets[].targetEnvName`)."""
    return cel_value({
        "image": spec["image"], "args": spec.get("args", []),
        "env": {item["name"]: item.get("value", "") for item in spec.get("env", [])},
        "secretEnv": [item["targetEnvName"] for item in spec.get("secrets", [])],
    })


def _shapes_by(entries: Sequence[PolicyEntry], kind: str, *, shapes: bool) -> list[tuple[str, str]]:
    """(image or URL, CEL [{server, spec}, ...]) pairs, sorted (two servers may share an image); without
    `shapes`, the images or URLs alone (each with an empty list)."""
    found: dict[str, list[str]] = {}
    for entry in sorted(entries, key=lambda item: item.server):
        if entry.kind == kind:
            found.setdefault(entry.address, []).append(entry.shape)
    return [(address, cel_list(literals if shapes else ())) for address, literals in sorted(found.items())]


def _pinned(field: str) -> str:
    """CEL, with `s` a shape: the object's `field` is the shape's, or absent (or the CRD default) when it has none."""
    name = cel_string(field)
    default = (
        f" || object.spec[{name}] == {cel_value(CRD_DEFAULTS[field])}" if field in CRD_DEFAULTS else ""
    )
    return (
        f"({name} in s.spec ? ({name} in object.spec && object.spec[{name}] == s.spec[{name}]) : "
        f"(!({name} in object.spec){default}))"
    )


# Kept in a variable so that each rule below reads as a sentence: nothing to check for
# objects that are not workloads or whose image/URL the profile does not know (other rules refuse those).
_NO_SHAPE = "size(variables.shapes) == 0"
_UNSHIPPED = (
    f"object.spec.filter(f, !(f in s.spec) && !(f in {cel_value(list(FREE_FIELDS))}) && "
    f"!(f in {cel_value(CRD_DEFAULTS)} && object.spec[f] == {cel_value(CRD_DEFAULTS)}[f]))"
)
# With `s` a shape: each of the object's annotations under ToolHive's prefix is one the profile ships, unchanged.
_PUBLISHED_AS_SHIPPED = "variables.published.all(k, k in s.annotations && object.metadata.annotations[k] == s.annotations[k])"


def _bundle_hint(profile: str) -> str:
    return (
        f"apply the profile's own folder unchanged (bundles/registries/{profile}/servers/\" + "
        "variables.shapes[0].server + \"/), never the generic all-tools bundle"
    )


def validations(
    profile: str, fields: Sequence[str], url_field: str, variables: Mapping[str, Sequence[dict[str, str]]], *,
    membership: bool, shapes: bool,
) -> list[dict[str, str]]:
    """The policy's rules, each with a message that says what to do instead.

    `membership` rules refuse images, URLs and tool config names the profile does not ship;
    `shapes` rules compare an object with what the profile ships for its image, URL or name,
    and pass objects this policy holds no shape for (another policy of the profile does).
    """
    rules = []
    if membership:
        rules += _membership_rules(profile, url_field, variables)
    if shapes:
        rules += _shape_rules(profile, fields)
    rules.append(_tool_config_rule(profile, variables["toolConfigs"], membership=membership, shapes=shapes))
    for rule in rules:
        rule["reason"] = "Forbidden"
    return rules


def _membership_rules(profile: str, url_field: str, variables: Mapping[str, Sequence[dict[str, str]]]) -> list[dict[str, str]]:
    return [
        {
            # The profile ships no VirtualMCPServer: one carrying a published annotation would be listed
            # by the profile's registry under whatever URL it names. Without them it is not listed.
            "expression": f"request.resource.resource != '{VIRTUAL_SERVERS}' || size({_published_keys('object')}) == 0",
            "messageExpression": f"\"metadata.annotations[\" + {_published_keys('object')}[0] + \"] is refused: registry "
            f"profile {profile} ships no VirtualMCPServer, and its registry would publish this one from its "
            f"{PUBLISHED_PREFIX} annotations (another URL would mislead its users); leave them out\"",
            "message": f"a VirtualMCPServer in this namespace may carry no {PUBLISHED_PREFIX} annotation: registry profile "
            f"{profile} ships none, and its registry would publish it from them",
        },
        {
            "expression": "request.resource.resource != 'mcpservers' || "
            f"(has(object.spec.image) && {within('object.spec.image', variables['servers'])})",
            "message": f"this namespace runs only the MCP servers of registry profile {profile}: spec.image must be "
            "one of the profile's image references exactly (digest included); deploy the server from the "
            f"profile's bundle (bundles/registries/{profile}/servers/<name>/)",
        },
        {
            "expression": "request.resource.resource != 'mcpremoteproxies' || "
            f"(has(object.spec.{url_field}) && {within(f'object.spec.{url_field}', variables['proxies'])})",
            "message": f"this namespace proxies only the remote MCP servers of registry profile {profile}: "
            f"spec.{url_field} must be one of the profile's URLs exactly (same host, path and query); deploy it "
            f"from the profile's bundle (bundles/registries/{profile}/servers/<name>/)",
        },
    ]


def _shape_rules(profile: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """An object whose image or URL the policy knows is one of the shapes shipped for it: under its
    server's name and tool config, every pinned field as shipped, and nothing added but free fields."""
    return [
        *_identity_rules(profile),
        *(_pinned_field_rule(profile, field) for field in fields),
        *_nothing_added_rules(profile),
    ]


def _identity_rules(profile: str) -> list[dict[str, str]]:
    """The object's name and tool config are those the profile ships its shape under."""
    return [
        {
            # The server's egress NetworkPolicy, permission profile and tool config find its pods by
            # the workload's name (ToolHive labels them toolhive-name=<name>): a shape under another
            # server's name would run with that server's reach.
            "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, s.server == object.metadata.name)",
            "messageExpression": "\"metadata.name must be \" + variables.shapes[0].server + \", the name registry profile "
            f"{profile} ships this server under (its egress policy, permission profile and tool config select it by "
            f"that name): {_bundle_hint(profile)}\"",
            "message": f"metadata.name must be the name registry profile {profile} ships this server under: apply the "
            "server's folder of the profile's bundle unchanged",
        },
        {
            "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, {_pinned('toolConfigRef')})",
            "messageExpression": "'toolConfigRef' in variables.shapes[0].spec ? \"spec.toolConfigRef must name \" + "
            "variables.shapes[0].spec.toolConfigRef.name + \", the MCPToolConfig registry profile "
            f"{profile} ships for \" + variables.shapes[0].server + \" (it withholds the tools the profile does "
            f"not allow): {_bundle_hint(profile)}\" : \"spec.toolConfigRef must be left out for \" + "
            f"variables.shapes[0].server + \": {_bundle_hint(profile)}\"",
            "message": f"spec.toolConfigRef must name the profile's MCPToolConfig for this server: apply the "
            f"server's folder of the {profile} bundle unchanged",
        },
    ]


def _pinned_field_rule(profile: str, field: str) -> dict[str, str]:
    """The object's `field` is the shape's, or absent when the shape has none."""
    because = PINNED_BECAUSE.get(field, "the profile's bundle sets it")
    return {
        "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, {_pinned(field)})",
        "messageExpression": f"\"spec.{field} is pinned to what registry profile {profile} ships for \" + "
        f"variables.shapes[0].server + \" ({because}): {_bundle_hint(profile)}\"",
        "message": f"spec.{field} is pinned to what registry profile {profile} ships ({because}): apply the "
        "server's folder of the profile's bundle unchanged",
    }


def _nothing_added_rules(profile: str) -> list[dict[str, str]]:
    """No field but the free ones and no published annotation is added, and one shape meets every rule."""
    free = ", ".join(FREE_FIELDS)
    return [
        {
            "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, size({_UNSHIPPED}) == 0)",
            "messageExpression": "\"spec.\" + variables.shapes.map(s, " + _UNSHIPPED + ")[0][0] + "
            f"\" is not part of what registry profile {profile} ships for \" + variables.shapes[0].server + "
            f"\" and could widen what it may reach or do; only these fields may be added: {free}\"",
            "message": f"the object sets a field registry profile {profile} does not ship; only these fields may "
            f"be added: {free}",
        },
        {
            # The registry server's `kubernetes:` source lists the namespace's running servers from these
            # annotations: a deployer's own registry-url would send the profile's users elsewhere.
            # Failing, no shape matches, the first one included: the message's filter is never empty.
            "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, {_PUBLISHED_AS_SHIPPED})",
            "messageExpression": "\"metadata.annotations[\" + variables.published.filter(k, !(k in variables.shapes[0].annotations) || "
            "object.metadata.annotations[k] != variables.shapes[0].annotations[k])[0] + \"] is not what registry profile "
            f"{profile} ships for \" + variables.shapes[0].server + \" (the profile's registry publishes the server from "
            f"its {PUBLISHED_PREFIX} annotations: another URL or description would mislead its users): {_bundle_hint(profile)}\"",
            "message": f"the object's {PUBLISHED_PREFIX} annotations must be the ones registry profile {profile} ships "
            "(its registry publishes the server from them): apply the server's folder of the profile's bundle unchanged",
        },
        {
            # The rules above may each be met by a different shape when servers share an image.
            "expression": f"{_NO_SHAPE} || variables.shapes.exists(s, s.server == object.metadata.name && "
            f"s.spec.all(f, {_pinned_dynamic()}) && size({_UNSHIPPED}) == 0 && {_PUBLISHED_AS_SHIPPED})",
            "message": f"the object matches none of registry profile {profile}'s servers as a whole: apply one "
            "server's folder of the profile's bundle unchanged",
        },
    ]


def _tool_config_rule(profile: str, tool_configs: Sequence[dict[str, str]], *, membership: bool, shapes: bool) -> dict[str, str]:
    """Tool configs: known by name (membership) and exactly as shipped (shapes)."""
    known = within("object.metadata.name", tool_configs)
    same = f"object.spec == {looked_up('object.metadata.name', tool_configs, '{}')}"
    check = f"({known} && {same})" if membership and shapes else known if membership else f"(!({known}) || {same})"
    unknown = (f"\"this namespace holds only registry profile {profile}'s tool configs (named <server>-tools): the "
               "platform team applies them with the profile's bundle\"")
    changed = (f"\"MCPToolConfig \" + object.metadata.name + \" must be exactly what registry profile {profile} ships "
               "(its toolsFilter is the profile's tool policy): the platform team applies it with the profile's "
               "bundle; to change it, change catalog.yaml and release the catalog again\"")
    return {
        "expression": f"request.resource.resource != 'mcptoolconfigs' || {check}",
        "messageExpression": f"{known} ? {changed} : {unknown}",
        "message": f"MCPToolConfigs in this namespace are registry profile {profile}'s, applied by the platform "
        "team with the profile's bundle",
    }


def _pinned_dynamic() -> str:
    """CEL, inside `s.spec.all(f, ...)`: the object's field `f` is the shape's."""
    return "f in object.spec && object.spec[f] == s.spec[f]"


def policy_variables(entries: Sequence[PolicyEntry], url_field: str, *, shapes: bool) -> dict[str, list[dict[str, str]]]:
    """The policy's variables, by what they hold: the shipped shapes by image (`servers`) and URL
    (`proxies`), the tool configs by name (`toolConfigs`; without `shapes`, only the images, URLs and
    names, each map split over variables under EXPRESSION_BUDGET), and with `shapes` the shapes for
    the object under review (`shapes`; a policy holding shapes holds one part, under SHAPES_BUDGET)."""
    tool_configs = {
        entry.tool_config: entry.tool_config_spec if shapes else cel_value({})
        for entry in sorted(entries, key=lambda item: item.server) if entry.tool_config is not None
    }
    found = {
        "servers": map_variables("servers", _shapes_by(entries, "MCPServer", shapes=shapes)),
        "proxies": map_variables("proxies", _shapes_by(entries, "MCPRemoteProxy", shapes=shapes)),
        "toolConfigs": map_variables("toolConfigs", sorted(tool_configs.items())),
    }
    if not shapes:
        return found
    return {**found, "shapes": [
        {"name": "published", "expression": _published_keys("object")},
        {
            "name": "shapes",
            "expression": "request.resource.resource == 'mcpservers' ? "
            f"(has(object.spec.image) ? {looked_up('object.spec.image', found['servers'], '[]')} : []) : "
            f"(request.resource.resource == 'mcpremoteproxies' && has(object.spec.{url_field}) ? "
            f"{looked_up(f'object.spec.{url_field}', found['proxies'], '[]')} : [])",
        },
    ]}


def pinned_fields(entries: Sequence[PolicyEntry]) -> list[str]:
    """Every field some shipped workload sets or that is pinned for a reason, except those with a rule of their own."""
    own_rule = {"image", "remoteUrl", "remoteURL", "toolConfigRef"}
    return sorted(({field for entry in entries for field in entry.fields} | set(PINNED_BECAUSE)) - own_rule)


def policy_name(namespace: str, part: int = 0) -> str:
    """The cluster-wide name of a profile's policy, or of its `part`-th share of shapes (namespaces are unique)."""
    return resource_name(f"mcp-catalog-{namespace}", f"-servers-{part}" if part else "-servers", limit=253)


def shape_parts(entries: Sequence[PolicyEntry]) -> list[list[PolicyEntry]]:
    """The shipped servers in policy-sized parts, in name order; servers sharing an image or URL stay together."""
    groups: dict[str, list[PolicyEntry]] = {}
    for entry in sorted(entries, key=lambda item: item.server):
        groups.setdefault(entry.address, []).append(entry)
    grouped = budgeted(groups.values(), lambda group: sum(entry.cost for entry in group), admission.SHAPES_BUDGET)
    return [[entry for group in part for entry in group] for part in grouped]


@dataclass(frozen=True)
class PlannedPolicy:
    """One ValidatingAdmissionPolicy of a profile, and why the API server would refuse it (none: it is
    accepted). The bundles refuse to render a policy with problems, and validation reports them."""

    document: dict[str, Any]
    problems: tuple[str, ...]


def admission_policies(
    profile: str, namespace: str, entries: Sequence[PolicyEntry], url_field: str = "remoteUrl"
) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicies holding the namespace to what the profile ships (`entries`, made
    with the same `url_field`: the remote proxy's URL field in the targeted API version): one, or for a
    large profile one that knows every image, URL and tool config name followed by the parts holding the shapes."""
    return [planned.document for planned in planned_policies(profile, namespace, entries, url_field)]


def planned_policies(
    profile: str, namespace: str, entries: Sequence[PolicyEntry], url_field: str = "remoteUrl"
) -> list[PlannedPolicy]:
    """`admission_policies` with each policy's problems: what the bundles render and validation
    measures (`bundles.admission_problems`), so that both judge the very same policies."""
    parts = shape_parts(entries)
    if len(parts) == 1:
        return [_policy(policy_name(namespace), profile, entries, url_field, membership=True, shapes=True)]
    return [_policy(policy_name(namespace), profile, entries, url_field, membership=True, shapes=False)] + [
        _policy(policy_name(namespace, index), profile, part, url_field, membership=False, shapes=True)
        for index, part in enumerate(parts, 1)
    ]


def _policy(
    name: str, profile: str, entries: Sequence[PolicyEntry], url_field: str, *, membership: bool, shapes: bool
) -> PlannedPolicy:
    variables = policy_variables(entries, url_field, shapes=shapes)
    listed = [variable for group in variables.values() for variable in group]
    problems = []
    # CEL's parsers take each expression alone: the largest one over the limit says what to change.
    unparsable = [variable for variable in listed if len(variable["expression"]) >= CEL_PARSER_LIMIT]
    if unparsable:
        problems.append(_too_large(profile, entries, max(unparsable, key=lambda variable: len(variable["expression"]))))
    rules = validations(profile, pinned_fields(entries) if shapes else [], url_field, variables,
                        membership=membership, shapes=shapes)
    size = sum(len(text) for item in listed + rules for text in item.values())
    if size > OBJECT_BUDGET:
        problems.append(
            f"registry profile '{profile}': its admission policy {name} would be {size:,} characters of CEL "
            f"(every image, URL and tool config name of its {len(entries):,} servers), and the API server stores "
            f"at most 1.5 MiB an object: split the profile in two (narrower include selectors), or shorten the image "
            "references (a shorter image_mirror prefix)"
        )
    # Only the policy that knows every name holds the VirtualMCPServer rule (a profile has one such policy).
    resources = ["mcpservers", "mcpremoteproxies", "mcptoolconfigs"] + ([VIRTUAL_SERVERS] if membership else [])
    document = validating_policy(
        name, TOOLHIVE_API_GROUP, resources, ["CREATE", "UPDATE"], listed, rules, [_CHANGES_WHAT_IS_PINNED],
    )
    return PlannedPolicy(document, tuple(problems))


def _published_keys(obj: str) -> str:
    """CEL: the keys of `obj`'s annotations under ToolHive's prefix (what the registry server publishes from)."""
    annotations = f"{obj}.metadata.annotations"
    return f"(has({annotations}) ? {annotations}.filter(k, k.startsWith({cel_string(PUBLISHED_PREFIX)})) : [])"


def _published_pairs(obj: str) -> str:
    """CEL: the `key=value` of each of `obj`'s annotations under ToolHive's prefix (no key holds `=`)."""
    annotations = f"{obj}.metadata.annotations"
    return (f"(has({annotations}) ? {annotations}.filter(k, k.startsWith({cel_string(PUBLISHED_PREFIX)}))"
            f".map(k, k + \"=\" + {annotations}[k]) : [])")


def _spec_of(obj: str) -> str:
    return f"(has({obj}.spec) ? {obj}.spec : {{}})"


# An update that leaves the spec and the published annotations as they were is the operator at work
# (its finalizer added or removed, a restart annotation under mcpserver.toolhive.stacklok.dev/) or a
# label: the policies see it only when it changes what they pin. Checked anyway, it would be refused
# for a server the profile no longer ships, or ships reworded, and deleting the server would hang on
# the finalizer the operator could not remove.
_CHANGES_WHAT_IS_PINNED = {
    "name": "changes-what-is-pinned",
    "expression": f"request.operation != \"UPDATE\" || {_spec_of('object')} != {_spec_of('oldObject')} || "
    f"size({_published_pairs('object')}) != size({_published_pairs('oldObject')}) || "
    f"!{_published_pairs('object')}.all(pair, pair in {_published_pairs('oldObject')})",
}


def _too_large(profile: str, entries: Sequence[PolicyEntry], variable: dict[str, str]) -> str:
    """Why a policy variable cannot be parsed: it holds the shapes of servers sharing one image or URL,
    which stay in one map entry (a policy refuses an object whose image it knows under another name)."""
    groups: dict[str, list[str]] = {}
    for entry in entries:
        groups.setdefault(entry.address, []).append(entry.server)
    address, servers = max(groups.items(), key=lambda item: (len(item[1]), item[0]))
    return (
        f"registry profile '{profile}': its admission policy would hold {len(variable['expression']):,} code points of "
        f"CEL in one expression (variable {variable['name']}), and the API server parses at most {CEL_PARSER_LIMIT:,}: "
        f"{len(servers)} servers share the image or URL {address} ({', '.join(sorted(servers)[:5])}"
        f"{', ...' if len(servers) > 5 else ''}) and their shapes stay together; give them distinct image "
        "references (a tag or digest each) or spread them over profiles"
    )
