"""The "Deploy offline" section of a server page: numbered steps and copyable snippets.

Every snippet names secrets by their variable and uses placeholders such as
`<GITHUB_TOKEN>` or `${input:github_token}` for values: the catalog never
holds a secret value, and the page must never suggest one. Image references
come from `derived.deploy_image`, so the mirror and the digest pin are the
same ones the bundles and registry files use.
"""

from __future__ import annotations

import shlex

from dataclasses import dataclass, field

from generator import derived, paths
from generator.models import CatalogMeta, Server
from generator.render import bundles, k8s_server
from generator.render.context import RenderContext
from generator.render.encoding import json_bytes


@dataclass(frozen=True)
class Placement:
    """A registry profile admitting the server, and the namespace it deploys into."""

    profile: str
    namespace: str


@dataclass(frozen=True)
class DeployPlan:
    """Everything the deploy section shows; `kind` decides which parts apply."""

    kind: str
    cluster_image: str | None
    mirror_command: str | None
    secret_name: str
    secret_command: str | None
    placements: list[Placement]
    bundle: str
    bundle_dir: str
    apply_command: str
    manifest: str
    check_commands: list[str]
    thv_command: str | None
    client_config: str
    secret_vars: list[str] = field(default_factory=list)


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
    source = f"{server.image}@{server.digest}" if server.digest else str(server.image)
    target = f"<internal-registry>/{str(server.image).split('/', 1)[-1]}"
    return f"skopeo copy --all {shlex.quote('docker://' + source)} docker://{target}"


def _secret_command(server: Server, secret_name: str, namespace: str) -> str | None:
    secrets = [env.name for env in server.env if env.secret]
    if not secrets:
        return None
    literals = " \\\n  ".join(f"--from-literal={name}='<{name}>'" for name in secrets)
    return f"kubectl create secret generic {secret_name} -n {namespace} \\\n  {literals}"


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


def _client_config(server: Server, cluster_image: str | None, namespace: str) -> str:
    """An MCP client configuration (VS Code `mcp.json` shape) with input placeholders for secrets."""
    inputs: list[dict[str, object]] = []
    entry: dict[str, object]
    if server.kind == "remote" and server.remote is not None:
        headers = {}
        for header in server.remote.headers:
            inputs.append({"type": "promptString", "id": _input_id(header.name), "description": header.description
                           or header.name, "password": header.secret})
            headers[header.name] = "${input:" + _input_id(header.name) + "}"
        entry = {"type": "http", "url": server.remote.url}
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
        path = "sse" if server.transport == "sse" else "mcp"
        kind = "sse" if server.transport == "sse" else "http"
        entry = {"type": kind, "url": f"http://mcp-{server.name}-proxy.{namespace}.svc.cluster.local:8080/{path}"}
    document = {"inputs": inputs, "servers": {server.name: entry}}
    return json_bytes(document, pretty=True).decode("utf-8")


def bundle_text(context: RenderContext, server: Server) -> str:
    """The server's `all.yaml`, built by the bundles renderer's public functions (the page embeds it to copy)."""
    folder = bundles.Folder(
        paths.server_bundle_dir(server.name),
        f"servers/{server.name}.yaml",
        bundles.server_manifests(context, server, server.tools, api=k8s_server.CURRENT_API, namespace=None),
    )
    return bundles.all_yaml(paths.server_bundle_all(server.name), folder, context.catalog.meta.version).content.decode()


def deploy_plan(context: RenderContext, server: Server, placements: list[Placement]) -> DeployPlan | None:
    """The deploy section of `server`, or None for a reference entry (nothing to deploy)."""
    if server.kind == "reference":
        return None
    catalog, image_mirror = context.catalog, context.image_mirror
    namespace = placements[0].namespace if placements else "<namespace>"
    cluster_image = derived.deploy_image(catalog.meta, server, image_mirror)
    secret_name = f"{server.name}-secrets"
    container = server.kind == "container"
    mirrored = bool(image_mirror or catalog.meta.image_mirror)
    resource = "mcpserver" if container else "mcpremoteproxy"
    return DeployPlan(
        kind=server.kind,
        cluster_image=cluster_image,
        mirror_command=_mirror_command(server, mirrored) if cluster_image else None,
        secret_name=secret_name,
        secret_command=_secret_command(server, secret_name, namespace) if container else None,
        placements=placements,
        bundle=paths.server_bundle_all(server.name),
        bundle_dir=paths.server_bundle_dir(server.name) + "kustomization.yaml",
        apply_command=f"kubectl apply -n {namespace} -f all.yaml",
        manifest=bundle_text(context, server),
        check_commands=[f"kubectl get {resource} -n {p.namespace}" for p in placements] or
        [f"kubectl get {resource} -n <namespace>"],
        thv_command=_thv_command(server, cluster_image),
        client_config=_client_config(server, cluster_image, namespace),
        secret_vars=[env.name for env in server.env if env.secret],
    )

