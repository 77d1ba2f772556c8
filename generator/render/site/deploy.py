"""The "Deploy offline" section of a server page: numbered steps and copyable snippets.

Every snippet names secrets by their variable and uses placeholders such as
`<GITHUB_TOKEN>` or `${input:github_token}` for values: the catalog never
holds a secret value, and the page must never suggest one. Image references
come from `derived.deploy_image`, so the mirror and the digest pin are the
same ones the bundles and registry files use.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from dataclasses import dataclass, field

from generator import derived, paths
from generator.models import CatalogMeta, RegistryProfile, Server
from generator.render.kubernetes import bundles, kustomize
from generator.render.kubernetes import server as k8s_server
from generator.render.kubernetes.mirror_lists import skopeo_copy, source_image
from generator.render.kubernetes.names import ServerNames, secret_entries
from generator.render.context import RenderContext
from generator.render.encoding import json_bytes


@dataclass(frozen=True)
class Placement:
    """A registry profile admitting the server, and the namespace it deploys into."""

    profile: str
    namespace: str


@dataclass(frozen=True)
class WithheldTool:
    """A tool a profile's tool policy withholds, and the policy rule that does it."""

    name: str
    because: str


@dataclass(frozen=True)
class ProfileSteps:
    """How a member of a profile's deployers group deploys the server into the profile's namespace."""

    profile: str
    namespace: str
    folder: str
    """The server's folder in the profile bundle (site path)."""
    manifest: str
    """What `kubectl kustomize` makes of `folder`: the objects to copy for a reader without the release."""
    withheld: list[WithheldTool]
    kept: int
    secret_command: str | None
    apply_command: str
    check_command: str
    required_env: list[tuple[str, str]]
    """(name, value) of the variables the profile requires a value of (`EnvVar.profiles`)."""
    client_config: str
    """An MCP client's entry for the profile's deployment: its proxy in the namespace, which applies
    the profile's tool policy (and, for a remote server with secret headers, adds them from its Secret)."""


@dataclass(frozen=True)
class DeployPlan:
    """Everything the deploy section shows; `kind` decides which parts apply."""

    kind: str
    cluster_image: str | None
    mirror_command: str | None
    image_override: str | None
    """The kustomize overlay pointing the generic bundle at an internal registry (builds without a mirror)."""
    secret_name: str
    profiles: list[ProfileSteps]
    all_withheld: list[str]
    """Profiles admitting the server whose tool policy withholds every tool it declares: no folder there, no registry entry."""
    secret_command: str | None
    bundle: str
    bundle_dir: str
    apply_command: str
    manifest: str
    check_commands: list[str]
    thv_command: str | None
    client_config: str
    tool_count: int
    image_refused: list[tuple[str, str]] = field(default_factory=list)
    """(profile, reason) for each profile that would admit the server but for its image rule."""
    secret_vars: list[str] = field(default_factory=list)
    forwards_secret_headers: bool = False
    """The proxy adds headers from the server's Secret to every request (a remote server with
    required secret headers); otherwise it forwards no credentials of its own."""


def _input_id(name: str) -> str:
    return name.lower().replace("-", "_")


def placements(meta: CatalogMeta, server: Server) -> list[Placement]:
    """The profiles admitting `server` and their namespaces."""
    return [Placement(profile.name, profile.namespace) for profile in derived.profiles_admitting(meta, server)]


def _mirror_command(server: Server, mirrored: bool) -> str | None:
    """How to copy the upstream image inside; None when the build already rewrote it to a mirror.

    With a mirror configured every emitted reference is the mirror's (the release's
    mirror lists carry the upstream side), so the page names only what the cluster pulls.
    """
    if mirrored:
        return None
    source, repository = skopeo_copy(source_image(server))
    return f"skopeo copy --all --preserve-digests {shlex.quote('docker://' + source)} docker://<internal-registry>/{repository}"


def _secret_command(server: Server, secret_name: str, namespace: str) -> str | None:
    """`kubectl create secret` with the required keys as placeholders; optional ones as comments below it."""
    entries = secret_entries(server)
    if not entries:
        return None
    required = [entry for entry in entries if entry.required]
    lines = [f"kubectl create secret generic {secret_name} -n {namespace}"]
    lines += [f"--from-literal={entry.key}='<{entry.key}>'" for entry in required]
    command = " \\\n  ".join(lines)
    optional = [entry for entry in entries if not entry.required]
    if optional:
        command += "\n# Optional, not wired into the bundle (an overlay adds a spec.secrets entry outside profile namespaces):"
        command += "".join(f"\n#   --from-literal={entry.key}='<{entry.key}>'   # {_one_line(entry.description)}"
                           for entry in optional)
    return command


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "no description"


def _image_override(server: Server, cluster_image: str | None) -> str | None:
    """An overlay that points the generic bundle at an internal registry; kustomize rewrites an
    MCPServer's spec.image only with the `configurations` entry, which the snippet includes."""
    if cluster_image is None or server.image is None:
        return None
    # The name as the manifest writes it, without the tag (a registry host may carry a port).
    repository = server.image.rsplit(":", 1)[0] if ":" in server.image.rsplit("/", 1)[-1] else server.image
    path = derived.image_parts(server.image).path
    return "\n".join([
        "# overlay/kustomization.yaml",
        "resources:",
        f"  - ../{server.name}   # the server bundle folder",
        "namespace: <your-namespace>",
        "configurations:",
        "  - mcp-images.yaml",
        "images:",
        f"  - name: {repository}",
        f"    newName: <internal-registry>/{path}",
        "# overlay/mcp-images.yaml: where kustomize finds the image in an MCPServer",
        "images:",
        "  - path: spec/image",
        "    kind: MCPServer",
    ])


def withheld_reasons(profile: RegistryProfile, server: Server) -> list[WithheldTool]:
    """The tools the profile's policy withholds from the server, each with the rule that withholds it."""
    result = []
    for held in derived.withheld_tools(profile, server):
        declared = [hint for hint in held.hints if hint not in held.defaulted]
        reasons = ([f"marked {', '.join(declared)}"] if declared else []) + (
            [f"{', '.join(held.defaulted)} not declared: MCP's default is true"] if held.defaulted else [])
        because = "; ".join(reasons) or "withheld by name"
        result.append(WithheldTool(held.tool.name, because))
    return result


def _profile_steps(context: RenderContext, server: Server, profile: RegistryProfile, secret_name: str) -> ProfileSteps:
    resource = "mcpserver" if server.kind == "container" else "mcpremoteproxy"
    folder = bundles.deployer_folder(profile, server)
    return ProfileSteps(
        profile=profile.name,
        namespace=profile.namespace,
        folder=folder,
        manifest=_objects_text(context, folder, f"servers/{server.name}.yaml (profile {profile.name})",
                               bundles.deployer_manifests(context, server, profile)),
        withheld=withheld_reasons(profile, server),
        kept=len(derived.profile_tools(profile, server)),
        secret_command=_secret_command(server, secret_name, profile.namespace),
        apply_command=f"kubectl apply -k {folder}",
        check_command=f"kubectl -n {profile.namespace} get {resource} {server.name}",
        required_env=[(var.name, var.profiles[profile.name]) for var in server.env if profile.name in var.profiles],
        client_config=_proxy_client_config(server, profile.namespace),
    )


def _thv_command(server: Server, cluster_image: str | None) -> str:
    # Everything taken from the source is shell-quoted: the snippet is meant to be pasted.
    parts = ["thv run", f"--name {server.name}"]
    if server.kind == "remote" and server.remote is not None:
        return " ".join(parts + [shlex.quote(server.remote.url)])
    parts.append(f"--transport {server.transport}")
    if server.port:
        parts.append(f"--target-port {server.port}")
    for env in server.env:
        if env.secret:
            parts.append(f"--secret {server.name}-{_input_id(env.name).replace('_', '-')},target={env.name}")
        elif env.required and env.default is None:
            parts.append(f"-e {env.name}='<{env.name}>'")
    parts.append(shlex.quote(str(cluster_image)))
    if server.args:
        parts.append("-- " + " ".join(shlex.quote(arg) for arg in server.args))
    return " \\\n  ".join(parts)


def _proxy_client_config(server: Server, namespace: str) -> str:
    """An MCP client configuration (VS Code `mcp.json` shape) for the server's proxy in `namespace`."""
    entry = {"type": _client_transport(server), "url": k8s_server.proxy_service_url(server, namespace)}
    return json_bytes({"servers": {server.name: entry}}, pretty=True).decode("utf-8")


def _client_transport(server: Server) -> str:
    """How an MCP client reaches the server over the network: SSE, else streamable HTTP."""
    return "sse" if server.transport == "sse" else "http"


def _client_config(server: Server, cluster_image: str | None) -> str:
    """An MCP client configuration (VS Code `mcp.json` shape) with input placeholders for secrets,
    outside any profile: the publisher's endpoint, the image run locally, or the generic bundle's
    proxy in the reader's namespace."""
    inputs: list[dict[str, object]] = []
    entry: dict[str, object]
    if server.kind == "remote" and server.remote is not None:
        headers = {}
        for header in server.remote.headers:
            inputs.append({"type": "promptString", "id": _input_id(header.name), "description": header.description
                           or header.name, "password": header.secret})
            headers[header.name] = "${input:" + _input_id(header.name) + "}"
        entry = {"type": _client_transport(server), "url": server.remote.url}
        if headers:
            entry["headers"] = headers
    elif server.transport == "stdio":
        env = {}
        args = ["run", "-i", "--rm"]
        for variable in server.env:
            if variable.secret or (variable.required and variable.default is None):
                inputs.append({"type": "promptString", "id": _input_id(variable.name),
                               "description": variable.description or variable.name, "password": variable.secret})
                env[variable.name] = "${input:" + _input_id(variable.name) + "}"
                args += ["-e", variable.name]
        entry = {"type": "stdio", "command": "docker", "args": [*args, str(cluster_image), *server.args]}
        if env:
            entry["env"] = env
    else:
        return _proxy_client_config(server, "<your-namespace>")
    document = {"inputs": inputs, "servers": {server.name: entry}}
    return json_bytes(document, pretty=True).decode("utf-8")


def bundle_text(context: RenderContext, server: Server) -> str:
    """What `kubectl kustomize` makes of the server's bundle: the page embeds it to copy (the bundle ships no all.yaml)."""
    manifests = bundles.server_manifests(context, server, server.tools, api=k8s_server.CURRENT_API, namespace=None)
    return _objects_text(context, paths.server_bundle_dir(server.name), f"servers/{server.name}.yaml", manifests)


def _objects_text(context: RenderContext, folder: str, source: str, manifests: Sequence[kustomize.Manifest]) -> str:
    """`manifests` as one multi-document text, as the bundles renderer writes an all.yaml."""
    objects = kustomize.Folder(folder, source, manifests)
    return kustomize.all_yaml_text(objects, context.catalog.meta.version).decode()


def deploy_plan(context: RenderContext, server: Server, placements: list[Placement]) -> DeployPlan | None:
    """The deploy section of `server`, or None when the page must not give one (reference entries
    have nothing to deploy; rejected servers must not be deployed)."""
    catalog, image_mirror = context.catalog, context.image_mirror
    if not derived.deployable(catalog.meta, server):
        return None
    cluster_image = derived.deploy_image(catalog.meta, server, image_mirror)
    secret_name = ServerNames.of(server).secret
    mirrored = bool(image_mirror or catalog.meta.image_mirror)
    resource = "mcpserver" if server.kind == "container" else "mcpremoteproxy"
    admitting = derived.profiles_admitting(catalog.meta, server)
    deployable_in = derived.profiles_offering(catalog.meta, server)
    return DeployPlan(
        kind=server.kind,
        cluster_image=cluster_image,
        mirror_command=_mirror_command(server, mirrored) if cluster_image else None,
        image_override=None if mirrored else _image_override(server, cluster_image),
        secret_name=secret_name,
        profiles=[_profile_steps(context, server, profile, secret_name) for profile in deployable_in],
        all_withheld=[profile.name for profile in admitting if profile not in deployable_in],
        secret_command=_secret_command(server, secret_name, "<your-namespace>"),
        bundle=paths.server_bundle_kustomization(server.name),
        bundle_dir=paths.server_bundle_dir(server.name),
        apply_command=f"kubectl apply -n <your-namespace> -k {paths.server_bundle_dir(server.name)}",
        manifest=bundle_text(context, server),
        check_commands=[f"kubectl -n <your-namespace> get {resource} {server.name}"],
        thv_command=_thv_command(server, cluster_image),
        client_config=_client_config(server, cluster_image),
        tool_count=len(server.tools),
        secret_vars=[env.name for env in server.env if env.secret],
        forwards_secret_headers=bool(k8s_server.forwarded_secret_headers(server)),
        image_refused=[(profile.name, reason) for profile in catalog.meta.registries
                       if (reason := derived.left_out_by_image_rule(catalog.meta, profile, server))],
    )
