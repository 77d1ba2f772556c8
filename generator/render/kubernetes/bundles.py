"""Kubernetes manifest bundles for the ToolHive operator: `bundles/servers/` and `bundles/registries/`.

Each bundle is a kustomize folder (`kubectl apply -k`), one object per file
with a header naming the catalog version and source (a server's platform objects: one
multi-document file, each document with that header); a profile's also has an
`all.yaml` holding every object it applies. A profile bundle keeps its objects in `base/` (so that
the `with-mesh/` overlay can include them beside the `mesh/` Istio component;
kustomize refuses an overlay inside the folder it includes) and adds
`servers/<name>/` (overlays of the server's own workload: its namespace and JSON
patches, no copy of an object), `platform/` (one overlay of every server's platform
objects: the namespace, the tool policy and the rest as JSON patches), `registry-server/` (Helm
values for the registry server chart, the recommended path now that MCPRegistry
is deprecated) and `legacy/` (operators up to v0.16); its `operator` setting says which of these it ships. `bundles/toolhive/` holds
the operator chart's values for the whole catalog.
Secret templates are written beside the objects but never listed in a
kustomization: applying an empty Secret would wipe the user's real one.
The object builders live in server.py, profile.py, policy.py, workloads.py and legacy.py beside it, and
kustomize.py writes a folder's files; this one decides which folders a bundle has and what each holds.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from generator import paths
from generator import derived
from generator.errors import LimitExceeded
from generator.derived import offers, profile_offered, profile_tools
from generator.models import Catalog, ClusterDns, RegistryProfile, Server, Tool
from generator.output import OutputFile
from generator.render.kubernetes import legacy as k8s_legacy
from generator.render.kubernetes.admission import admission_binding
from generator.render.kubernetes import policy as k8s_policy
from generator.render.kubernetes import registry_auth as k8s_registry_auth
from generator.render.kubernetes import profile as k8s_profile
from generator.render.kubernetes import server as k8s_server
from generator.render.kubernetes import workloads as k8s_workloads
from generator.render.kubernetes import charts as k8s_toolhive
from generator.render.context import RenderContext
from generator.render.kind import CatalogWide, OutputKind, render_kind
from generator.render.memo import per_server
from generator.render.kubernetes.kustomize import KUSTOMIZE_API, Folder, Manifest, folder_files, json_patch, manifest_document
from generator.render.kubernetes.manifests import document_bytes, header, yaml_text
from generator.render.kubernetes.names import ServerNames
from generator.render.registry.toolhive import legacy_registry_spliced, upstream_registry_spliced

def server_files(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """The server's own bundle and its overlays in each profile offering it (see `derived.offers`)."""
    if server.kind == "reference":
        return
    base = _base_manifests(context, server)
    base_files = base_folder_files(server, base, context.catalog.meta.version)
    yield from base_files
    for profile in derived.profiles_offering(context.catalog.meta, server):
        for variant, _ in _variants(profile):
            shipped = shipped_manifests(context, server, profile, variant)
            yield from _overlay_folder_files(context, server, profile, variant, base, shipped)
            profile_wide_pieces(context, server, profile, variant, shipped)
            platform_patches(context, server, profile.name, variant, base=base, shipped=shipped)


def _base_manifests(context: RenderContext, server: Server) -> list[Manifest]:
    return server_manifests(context, server, server.tools, api=k8s_server.CURRENT_API, namespace=None)


def _overlay_folder_files(
    context: RenderContext, server: Server, profile: RegistryProfile, variant: str, base: Sequence[Manifest],
    shipped: Sequence[Manifest] | None = None,
) -> list[OutputFile]:
    """The server's folder in one variant of the profile: an overlay of its catalog-wide folder (`base`)."""
    if shipped is None:
        shipped = shipped_manifests(context, server, profile, variant)
    source = f"servers/{server.name}.yaml (profile {profile.name})"
    folder = _profile_server_dir(profile, variant, server)
    return overlay_files(folder, source, context.catalog.meta.version, server, base, shipped, profile.namespace)


@per_server
def platform_patches(
    context: RenderContext, server: Server, profile_name: str, variant: str, *,
    base: Sequence[Manifest] | None = None, shipped: Sequence[Manifest] | None = None,
) -> bytes:
    """The patches turning the server's platform objects into the ones the variant of the profile
    ships, as the entries of the `patches:` list of the variant's `platform/` kustomization
    (b"" when it ships them unchanged): that catalog-wide file splices them without encoding
    every server's patches again. `base` and `shipped`, when given, are the manifests at hand."""
    if base is None or shipped is None:
        base = _base_manifests(context, server)
        shipped = shipped_manifests(context, server, _profile(context, profile_name), variant)
    patches = _overlay_patches(server, base, shipped, platform=True)
    if not patches:
        return b""
    # The entries exactly as the emitter writes them under the key (indented): drop the key's line.
    return yaml_text({PATCHES_KEY: patches}).split("\n", 1)[1].encode("utf-8")


# `bundles/servers/<name>/` applies everything (`kubectl apply -k`); its two sub-folders let a
# profile's overlays take the deployer's part (`workload/`) and the platform team's part
# (`platform/`) separately: kustomize includes folders, never single files, from outside an overlay.
WORKLOAD_FOLDER = "workload"


def base_folder_files(server: Server, manifests: Sequence[Manifest], version: str) -> list[OutputFile]:
    """`bundles/servers/<name>/`: `workload/`, `platform/`, the kustomization including both and the Secret template."""
    root = paths.server_bundle_dir(server.name)
    source = f"servers/{server.name}.yaml"
    workload = [m for m in manifests if m.applied and m.stem not in PLATFORM_STEMS]
    platform = [m for m in manifests if m.stem in PLATFORM_STEMS]
    templates = [m for m in manifests if not m.applied]
    files = folder_files(Folder(root, source, templates, subfolders=[WORKLOAD_FOLDER, PLATFORM_FOLDER]), version)
    files += folder_files(Folder(f"{root}{WORKLOAD_FOLDER}/", source, workload), version)
    files += platform_folder_files(Folder(f"{root}{PLATFORM_FOLDER}/", source, platform), version)
    return files


def platform_folder_files(folder: Folder, version: str) -> list[OutputFile]:
    """`platform/`: its objects as one multi-document `objects.yaml` (each document with the header
    its own file would have had, in the order the objects are built) and a kustomization listing
    only that file. One file, not one per object: a build writes this folder for every server."""
    # A template here would be applied: kustomize applies every document of a listed file.
    assert all(manifest.applied for manifest in folder.manifests), folder.path
    documents = [header(version, folder.source, manifest.note) + yaml_text(manifest_document(manifest))
                 for manifest in folder.manifests]
    kustomization = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": [PLATFORM_OBJECTS]}
    return [
        OutputFile(f"{folder.path}{PLATFORM_OBJECTS}", "---\n".join(documents).encode("utf-8")),
        OutputFile(f"{folder.path}kustomization.yaml", document_bytes(header(version, folder.source), kustomization)),
    ]


def overlay_files(
    folder: str, source: str, version: str, server: Server, base: Sequence[Manifest], shipped: Sequence[Manifest],
    namespace: str,
) -> list[OutputFile]:
    """A profile's server folder, one kustomization: the catalog-wide workload part, the profile's
    namespace, and JSON patches turning each base object into the one the profile ships (pull
    secrets, export annotations, the legacy API). The platform objects' patches go into the
    variant's one `platform/` kustomization (`platform_patches`). The Secret template stays in
    the catalog-wide folder (its note says to create the Secret in your namespace)."""
    kustomization: dict[str, Any] = {
        "apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "namespace": namespace,
        "resources": [posixpath.relpath(f"{paths.server_bundle_dir(server.name)}{WORKLOAD_FOLDER}", folder)],
    }
    patches = _overlay_patches(server, base, shipped, platform=False)
    if patches:
        kustomization[PATCHES_KEY] = patches
    note = "An overlay of the catalog-wide folder: kubectl kustomize shows what it applies."
    return [OutputFile(f"{folder}kustomization.yaml", document_bytes(header(version, source, note), kustomization))]


def _overlay_patches(
    server: Server, base: Sequence[Manifest], shipped: Sequence[Manifest], *, platform: bool
) -> list[dict[str, Any]]:
    """The patches of the workload objects, or of the platform objects, in the order shipped."""
    by_stem = {manifest.stem: manifest for manifest in base if manifest.applied}
    # An overlay cannot drop an object of the folder it includes: the profile must ship the same set.
    assert set(by_stem) == {manifest.stem for manifest in shipped if manifest.applied}, server.name
    mine = [m for m in shipped if m.applied and (m.stem in PLATFORM_STEMS) == platform]
    patches = [_overlay_patch(by_stem[m.stem], m) for m in mine]
    return [patch for patch in patches if patch is not None]


def variant_platform_file(
    context: RenderContext, profile: RegistryProfile, variant: str, servers: Sequence[Server], source: str
) -> OutputFile:
    """`platform/kustomization.yaml` of one variant of the profile: the platform part of every
    server it ships, in its namespace, with each server's patches (tool policy, legacy API). One
    file per variant, not one per server: patches address objects by kind and name, unique per server."""
    folder = f"{posixpath.dirname(_servers_run(profile, variant).rstrip('/'))}/{PLATFORM_FOLDER}/"
    ordered = sorted(servers, key=lambda item: item.name)
    kustomization = {
        "apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "namespace": profile.namespace,
        "resources": [posixpath.relpath(f"{paths.server_bundle_dir(server.name)}{PLATFORM_FOLDER}", folder)
                      for server in ordered],
    }
    note = "The platform part of every server folder: kubectl kustomize shows what it applies."
    content = document_bytes(header(context.catalog.meta.version, source, note), kustomization)
    patches = [platform_patches(context, server, profile.name, variant) for server in ordered]
    if any(patches):
        content += f"{PATCHES_KEY}:\n".encode("utf-8") + b"".join(patches)
    return OutputFile(f"{folder}kustomization.yaml", content)


def _overlay_patch(base: Manifest, shipped: Manifest) -> dict[str, Any] | None:
    """The kustomize patch (RFC 6902 operations) turning the base object into the shipped one, if they differ."""
    before, after = manifest_document(base), manifest_document(shipped)
    # The kustomization's `namespace:` sets it. A shallow copy: json_patch only reads.
    target = {**after, "metadata": {key: value for key, value in after["metadata"].items() if key != "namespace"}}
    operations = json_patch(before, target)
    if not operations:
        return None
    return {"target": {"kind": before["kind"], "name": before["metadata"]["name"]}, "patch": yaml_text(operations)}


def _variants(profile: RegistryProfile) -> list[tuple[str, str]]:
    """(variant, API version) of the server folders the profile ships, as its `operator` setting says."""
    variants = []
    if derived.ships_current(profile):
        variants.append(("current", k8s_server.CURRENT_API))
    if derived.ships_legacy(profile):
        variants.append(("legacy", k8s_server.LEGACY_API))
    return variants


# In a profile's namespace the platform team applies what decides a server's reach and tools
# (the variant's `platform/`, included by the profile's kustomization); the deployers group,
# which may not create these kinds, applies only the workload in `servers/<name>/`.
PLATFORM_STEMS = frozenset({"permission-profile", "mcptoolconfig", "networkpolicy", "networkpolicy-ingress"})
PLATFORM_FOLDER = "platform"
PLATFORM_OBJECTS = "objects.yaml"
PATCHES_KEY = "patches"


def platform_folders(servers: Sequence[Server], prefix: str = "") -> list[str]:
    """The variant's platform folder, as the profile's kustomization includes it (none without servers)."""
    return [f"{prefix}{PLATFORM_FOLDER}"] if servers else []


def _profile_server_dir(profile: RegistryProfile, variant: str, server: Server) -> str:
    return f"{_servers_run(profile, variant)}{server.name}/"


def _servers_run(profile: RegistryProfile, variant: str) -> str:
    """The folder holding the profile's per-server folders of one variant (current or legacy), or
    for `base` the catalog-wide server folders the profile's overlays build on."""
    if variant == "base":
        return paths.server_bundle_dir("")
    return f"{paths.profile_bundle_dir(profile.name)}{'legacy/' if variant == 'legacy' else ''}servers/"


def server_manifests(
    context: RenderContext, server: Server, tools: Sequence[Tool], *, api: str, namespace: str | None,
    profile: RegistryProfile | None = None,
) -> list[Manifest]:
    """The objects deploying one server: permissions, tool config, workload, egress policy, Secret template.

    In a profile the workload carries the registry-export annotations (its namespace is known).
    """
    names = ServerNames.of(server)
    meta = context.catalog.meta
    pull_secrets = derived.pull_secrets(meta, profile)
    export = k8s_server.registry_export_annotations(server, tools, namespace) if profile and namespace else None
    manifests = []
    permissions = k8s_server.permission_configmap(server, names, namespace) if server.kind == "container" else None
    if permissions is not None:
        manifests.append(Manifest("permission-profile", permissions))
    with_tools = bool(tools)
    if with_tools:
        manifests.append(Manifest("mcptoolconfig", k8s_server.mcp_tool_config(server, names, tools, api=api, namespace=namespace)))
    if server.kind == "container":
        workload = k8s_server.mcp_server(
            meta, server, names, api=api, namespace=namespace, mirror=context.image_mirror, with_tools=with_tools,
            pull_secrets=pull_secrets, annotations=export, env=derived.env_values(server, profile),
        )
        manifests.append(Manifest("mcpserver", workload))
    else:
        proxy = k8s_server.mcp_remote_proxy(
            server, names, api=api, namespace=namespace, with_tools=with_tools, pull_secrets=pull_secrets, annotations=export
        )
        manifests.append(Manifest("mcpremoteproxy", proxy))
    manifests.append(Manifest("networkpolicy", k8s_server.egress_policy(server, names, namespace, meta.toolhive.cluster_dns)))
    ingress = k8s_server.ingress_policy(server, names, namespace)
    if ingress is not None:
        manifests.append(Manifest("networkpolicy-ingress", ingress))
    secret = k8s_server.secret_template(server, names, namespace)
    if secret is not None:
        manifests.append(Manifest("secret.example", secret, k8s_server.secret_note(server, names), applied=False))
    return manifests


def kept_tools(profile: RegistryProfile, server: Server) -> tuple[Tool, ...] | None:
    """The tools the profile keeps, or None when its policy withholds every declared tool.

    ToolHive reads an empty toolsFilter as "all tools", so such a server cannot be
    deployed faithfully and gets no folder (nor a place in the admission policy).
    """
    return profile_tools(profile, server) if offers(profile, server) else None


def shipped_servers(catalog: Catalog, profile: RegistryProfile) -> list[Server]:
    """What the profile offers (see derived.offers), reference-only entries aside: the servers of
    its registry data (ConfigMaps), its folders and its admission policies."""
    return [server for server in profile_offered(catalog, profile) if server.kind != "reference"]


def profile_files(context: RenderContext, profile: RegistryProfile) -> Iterator[OutputFile]:
    """A profile's whole bundle and its all.yaml.

    `operator: current` ships `base/` (applied with the MCPRegistry, or with the registry
    server's Helm chart through `registry-server/`), `mesh/` and `servers/`; `legacy` ships
    `legacy/` alone; `both` ships both.
    """
    version = context.catalog.meta.version
    root = paths.profile_bundle_dir(profile.name)
    source = f"catalog.yaml registries/{profile.name}"
    servers = shipped_servers(context.catalog, profile)
    current, legacy = derived.ships_current(profile), derived.ships_legacy(profile)
    # Each folder's files go to the output as soon as they are made, then are dropped: a
    # 10,000-server profile's ConfigMaps and all.yaml come to 300 MB, and the current variant's
    # are written before the legacy ones are made (never both at once).
    top = Folder(root, source, [], subfolders=["base", *platform_folders(servers)] if current else ["legacy"])
    yield from folder_files(top, version)
    if current:
        base, parts = _base_files(context, profile, servers, source)
        yield from base
        del base
    if legacy:
        yield from _legacy_files(context, profile, servers, source, all_yaml=not current)
        if servers:
            yield variant_platform_file(context, profile, "legacy", servers, f"{source} (legacy operators)")
    if current:
        mesh = Folder(f"{root}mesh/", source, [Manifest(stem, doc) for stem, doc in k8s_profile.mesh_objects(profile)])
        yield from folder_files(mesh, version, component=True)
        if servers:
            yield variant_platform_file(context, profile, "current", servers, source)
        yield from registry_server_files(context, profile, parts, source, platform_folders(servers, "../"))
        yield mesh_overlay(f"{root}with-mesh/", source, version, platform_folders(servers, "../"))


def registry_server_files(
    context: RenderContext, profile: RegistryProfile, parts: Sequence[k8s_profile.RegistryPart], source: str,
    platform: Sequence[str] = (),
) -> list[OutputFile]:
    """`registry-server/`: Helm values for the registry server chart, the database Secret template,
    and a kustomization applying `base/` without its MCPRegistry (the chart replaces it) and the
    servers' platform folders, as the profile's own kustomization does."""
    folder = paths.registry_server_dir(profile.name)
    version = context.catalog.meta.version
    values = k8s_toolhive.registry_server_values(context.catalog, profile, parts, context.image_mirror)
    note = (f"Helm values: helm install {k8s_toolhive.registry_server_name(profile)} "
            f"{k8s_toolhive.REGISTRY_SERVER_CHART} --version {context.catalog.meta.toolhive.registry_server_chart} "
            f"-n {profile.namespace} -f values.yaml")
    kustomization = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": ["../base", *platform],
                     "patches": [k8s_toolhive.without_mcpregistry(profile)]}
    secret_note = k8s_legacy.database_note(profile).replace("registry API", "registry server")
    return [
        OutputFile(f"{folder}database-secret.example.yaml",
                   document_bytes(header(version, source, secret_note), k8s_legacy.database_template(profile))),
        OutputFile(f"{folder}kustomization.yaml", document_bytes(
            header(version, source, "base/ without the MCPRegistry: the registry server chart serves the registry."), kustomization)),
        OutputFile(f"{folder}values.yaml", document_bytes(header(version, source, note), values)),
    ]


def operator_values_file(context: RenderContext) -> Iterator[OutputFile]:
    """`bundles/toolhive/operator-values.yaml`: the operator chart's values for the whole catalog."""
    meta = context.catalog.meta
    note = (f"Helm values: helm install toolhive-operator {k8s_toolhive.OPERATOR_CHART} --version {meta.toolhive.operator_chart} "
            f"-n {k8s_toolhive.OPERATOR_NAMESPACE} -f operator-values.yaml")
    yield OutputFile(paths.operator_values(), document_bytes(header(meta.version, "catalog.yaml toolhive", note),
                                                             k8s_toolhive.operator_values(meta, context.image_mirror)))


def _base_files(
    context: RenderContext,
    profile: RegistryProfile,
    servers: Sequence[Server],
    source: str,
) -> tuple[list[OutputFile], list[k8s_profile.RegistryPart]]:
    """`base/`: the namespace, the registry data and MCPRegistry, RBAC, the policies (all of the
    `servers` the profile ships); and the profile's all.yaml."""
    catalog = context.catalog
    parts = k8s_profile.split_registry(
        profile, servers, partial(upstream_registry_spliced, context, profile=profile)
    )
    current = Folder(f"{paths.profile_bundle_dir(profile.name)}base/", source, [
        Manifest("namespace", k8s_profile.namespace(profile)),
        *_configmap_manifests(profile, parts),
        Manifest("mcpregistry", k8s_profile.mcp_registry(catalog, profile, parts)),
        *_registry_admin_manifests(catalog, profile),
        *common_manifests(profile, servers, catalog.meta.toolhive.cluster_dns),
        *admission_manifests(context, profile, servers, "current"),
        Manifest("pgpass-secret.example", k8s_profile.pgpass_template(profile), k8s_profile.pgpass_note(profile), applied=False),
    ])
    all_path = paths.profile_bundle_all(profile.name)
    platform = partial(_platform_documents, context, profile, "current", servers)
    return folder_files(current, catalog.meta.version, all_path=all_path, also_in_all=platform), parts


def _registry_admin_manifests(catalog: Catalog, profile: RegistryProfile) -> list[Manifest]:
    """The service account the registry server takes writes from (none in anonymous mode: nobody needs one)."""
    if catalog.meta.toolhive.registry_auth.mode == "anonymous":
        return []
    return [Manifest("serviceaccount-registry-admin", k8s_registry_auth.admin_service_account(profile),
                     k8s_registry_auth.admin_note(profile))]


def _platform_documents(context: RenderContext, profile: RegistryProfile, variant: str, servers: Sequence[Server]) -> Iterator[bytes]:
    """Every shipped server's platform objects, as the profile's all.yaml holds them (read one at a time)."""
    return (platform_documents(context, server, profile.name, variant) for server in servers)


def _configmap_manifests(profile: RegistryProfile, parts: Sequence[k8s_profile.RegistryPart]) -> list[Manifest]:
    return [
        Manifest(f"configmap-{part.configmap}", partial(k8s_profile.registry_configmap, profile, part),
                 encoded=partial(k8s_profile.registry_configmap_yaml, profile, part))
        for part in parts
    ]


def shipped_manifests(context: RenderContext, server: Server, profile: RegistryProfile, variant: str) -> list[Manifest]:
    """What the profile's folder of `variant` ships for the server (the objects its overlay gives)."""
    tools = kept_tools(profile, server)
    assert tools is not None
    api = dict(_variants(profile))[variant]
    return server_manifests(context, server, tools, api=api, namespace=profile.namespace, profile=profile)


def profile_wide_pieces(
    context: RenderContext, server: Server, profile: RegistryProfile, variant: str, shipped: Sequence[Manifest]
) -> None:
    """The server's shares of the profile's own files in `variant` (its admission policies and, where
    that variant's objects are the profile's all.yaml, its platform objects there), made while it is
    rendered from what the variant ships for it (`shipped`)."""
    admission_entry(context, server, profile.name, variant, shipped=shipped)
    if variant == _all_yaml_variant(profile):
        platform_documents(context, server, profile.name, variant, shipped=shipped)


def deployer_folder(profile: RegistryProfile, server: Server) -> str:
    """The server's folder in the profile bundle that its deployers apply (the variant all.yaml holds)."""
    return _profile_server_dir(profile, _all_yaml_variant(profile), server)


def deployer_manifests(context: RenderContext, server: Server, profile: RegistryProfile) -> list[Manifest]:
    """The objects `deployer_folder` applies: the workload part of what the profile ships for the server."""
    shipped = shipped_manifests(context, server, profile, _all_yaml_variant(profile))
    return [manifest for manifest in shipped if manifest.applied and manifest.stem not in PLATFORM_STEMS]


def _all_yaml_variant(profile: RegistryProfile) -> str:
    """The variant whose objects the profile's all.yaml holds: current, unless it ships legacy alone."""
    return _variants(profile)[0][0]


@per_server
def admission_entry(
    context: RenderContext, server: Server, profile_name: str, variant: str, *, shipped: Sequence[Manifest] | None = None,
) -> bytes:
    """The server's share of the profile's admission policies in `variant` (a `k8s_policy.PolicyEntry`):
    its shape and tool config as CEL literals; `shipped`, when given, is what the profile ships for it."""
    profile = _profile(context, profile_name)
    if shipped is None:
        shipped = shipped_manifests(context, server, profile, variant)
    documents = {manifest.stem: manifest_document(manifest) for manifest in shipped}
    workload = documents.get("mcpserver") or documents["mcpremoteproxy"]
    url_field = k8s_server.remote_url_field(dict(_variants(profile))[variant])
    entry = k8s_policy.PolicyEntry.of(k8s_policy.ShippedServer(server.name, workload, documents.get("mcptoolconfig")), url_field)
    return entry.encoded()


@per_server
def platform_documents(
    context: RenderContext, server: Server, profile_name: str, variant: str, *, shipped: Sequence[Manifest] | None = None,
) -> bytes:
    """The server's platform objects as the profile's all.yaml holds them (each after `---`): its
    kustomization includes them from the server's `platform/` folder."""
    if shipped is None:
        shipped = shipped_manifests(context, server, _profile(context, profile_name), variant)
    return b"".join(b"---\n" + yaml_text(manifest_document(m)).encode("utf-8") for m in shipped if m.stem in PLATFORM_STEMS)


def _profile(context: RenderContext, name: str) -> RegistryProfile:
    profile = derived.profile_named(context.catalog.meta, name)
    assert profile is not None, name
    return profile


def _admission_entries(
    context: RenderContext, profile: RegistryProfile, servers: Sequence[Server], variant: str
) -> list[k8s_policy.PolicyEntry]:
    return [k8s_policy.PolicyEntry.decoded(admission_entry(context, server, profile.name, variant)) for server in servers]


def admission_problems(context: RenderContext, profile: RegistryProfile) -> list[str]:
    """Why the API server would refuse one of the profile's admission policies (CEL it cannot parse, an
    object etcd cannot store), each reason once: the policies of every variant, planned as they are rendered."""
    servers = shipped_servers(context.catalog, profile)
    problems: dict[str, None] = {}
    for variant, api in _variants(profile):
        entries = _admission_entries(context, profile, servers, variant)
        url_field = k8s_server.remote_url_field(api)
        for planned in k8s_policy.planned_policies(profile.name, profile.namespace, entries, url_field):
            problems.update(dict.fromkeys(planned.problems))
    return list(problems)


def admission_manifests(
    context: RenderContext, profile: RegistryProfile, servers: Sequence[Server], variant: str
) -> list[Manifest]:
    """The admission policies and their bindings, joined from the servers' entries (`admission_entry`), and
    the policies on the StatefulSets and Services the namespace's service accounts make and the pods they
    attach to (`k8s_workloads`). Refused (`LimitExceeded`) when the API server would refuse a policy."""
    entries = _admission_entries(context, profile, servers, variant)
    url_field = k8s_server.remote_url_field(dict(_variants(profile))[variant])
    manifests = []
    for index, planned in enumerate(k8s_policy.planned_policies(profile.name, profile.namespace, entries, url_field)):
        if planned.problems:  # the build then reports every such problem (`generator.limits`)
            raise LimitExceeded(planned.problems[0])
        suffix = f"-{index}" if index else ""
        manifests.append(Manifest(f"admission-policy{suffix}", planned.document))
        manifests.append(Manifest(f"admission-policy-binding{suffix}",
                                  admission_binding(planned.document, profile.namespace)))
    secrets = {ServerNames.of(server).workload: k8s_server.mcp_server_secrets(server) for server in servers}
    runs = {entry.server: entry.run for entry in entries if entry.run}
    for index, workloads in enumerate(k8s_workloads.workload_policies(
        profile.name, profile.namespace, secrets, derived.pull_secrets(context.catalog.meta, profile), runs
    )):
        suffix = f"-{index}" if index else ""
        manifests.append(Manifest(f"admission-policy-workloads{suffix}", workloads))
        manifests.append(Manifest(f"admission-policy-binding-workloads{suffix}",
                                  admission_binding(workloads, profile.namespace)))
    services = k8s_workloads.service_policy(profile.namespace)
    manifests.append(Manifest("admission-policy-services", services))
    manifests.append(Manifest("admission-policy-binding-services", admission_binding(services, profile.namespace)))
    attach = k8s_workloads.attach_policy(profile.namespace)
    manifests.append(Manifest("admission-policy-attach", attach))
    manifests.append(Manifest("admission-policy-binding-attach", admission_binding(attach, profile.namespace)))
    return manifests


def _legacy_files(
    context: RenderContext,
    profile: RegistryProfile,
    servers: Sequence[Server],
    source: str,
    *,
    all_yaml: bool,
) -> list[OutputFile]:
    """`legacy/`: the same registry for operators up to v0.16 (typed MCPRegistry), and the same admission
    policy; with `all_yaml` (a legacy-only profile) its objects are also the profile's all.yaml."""
    catalog = context.catalog
    parts = k8s_profile.split_registry(
        profile, servers, partial(legacy_registry_spliced, context, profile=profile)
    )
    legacy = Folder(f"{paths.profile_bundle_dir(profile.name)}legacy/", f"{source} (legacy operators)", [
        Manifest("namespace", k8s_profile.namespace(profile)),
        *_configmap_manifests(profile, parts),
        Manifest("mcpregistry", k8s_legacy.legacy_registry_resource(catalog, profile, parts)),
        *common_manifests(profile, servers, catalog.meta.toolhive.cluster_dns),
        *admission_manifests(context, profile, servers, "legacy"),
        Manifest("database-secret.example", k8s_legacy.database_template(profile), k8s_legacy.database_note(profile), applied=False),
    ], subfolders=platform_folders(servers))
    if not all_yaml:
        return folder_files(legacy, catalog.meta.version)
    platform = partial(_platform_documents, context, profile, "legacy", servers)
    return folder_files(legacy, catalog.meta.version, all_path=paths.profile_bundle_all(profile.name), also_in_all=platform)


def common_manifests(profile: RegistryProfile, servers: Sequence[Server], dns: ClusterDns) -> list[Manifest]:
    """RBAC and NetworkPolicies (for the `servers` the profile ships), the same for current and legacy operators."""
    deployer_role, deployer_binding = k8s_profile.deployer_role(profile, servers)
    viewer_role, viewer_binding = k8s_profile.viewer_role(profile)
    return [
        Manifest("role-deployer", deployer_role),
        Manifest("rolebinding-deployer", deployer_binding),
        Manifest("role-viewer", viewer_role),
        Manifest("rolebinding-viewer", viewer_binding),
        *[Manifest(stem, document) for stem, document in k8s_profile.network_policies(profile, servers, dns)],
    ]


def mesh_overlay(folder: str, source: str, version: str, platform: Sequence[str]) -> OutputFile:
    """`with-mesh/kustomization.yaml`: the profile's objects plus the Istio component."""
    kustomization = {
        "apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": ["../base", *platform], "components": ["../mesh"],
    }
    head = header(version, source, "The profile bundle with Istio STRICT mTLS; needs Istio in the cluster.")
    return OutputFile(f"{folder}kustomization.yaml", document_bytes(head, kustomization))


def registry_bundles(context: RenderContext) -> Iterator[OutputFile]:
    """The operator's Helm values, then every profile's bundle: its own objects, overlays and all.yaml."""
    yield from operator_values_file(context)
    for profile in context.catalog.meta.registries:
        yield from profile_files(context, profile)


def bundle_files_of(context: RenderContext, profiles: set[str], servers: set[str]) -> Iterator[OutputFile]:
    """The files the build writes for some `profiles` (their own: no server's folder) and `servers`
    (their folders, catalog-wide and in each profile offering them), made alone: `build --previous`
    reads from them what the release still renders where a namespace loses a server, before the
    build writes them. Each object file is made only when read (a profile's all.yaml never is)."""
    for server in context.catalog.servers:
        if server.name in servers:
            yield from server_files(context.for_server(server), server)
    for profile in context.catalog.meta.registries:
        if profile.name in profiles:
            yield from profile_files(context, profile)


def profile_parts(context: RenderContext) -> list[CatalogWide]:
    """`registry_bundles` cut by profile: a profile's bundle does not depend on another's."""
    return [operator_values_file, *(partial(profile_files, profile=profile) for profile in context.catalog.meta.registries)]


KIND = OutputKind("bundles", registry_bundles, server_files, profile_parts)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield bundles/servers/<name>/... and bundles/registries/<profile>/...."""
    return render_kind(KIND, context)
