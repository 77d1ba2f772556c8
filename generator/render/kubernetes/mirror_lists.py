"""Image mirroring lists: what to copy across the air gap, for skopeo, Hauler and Zarf.

Written for the whole catalog under `mirror/` and for each registry profile under
`mirror/profiles/<profile>/`: the images of the MCP servers it may deploy (never a server its
review rejected: `derived.installable`) and the ToolHive install's own (operator,
proxy runner, vMCP, registry API, registry server, database). Every list names the *source* images (pinned by digest when
the catalog knows it); `mapping.txt` pairs each source with the reference the manifests
will pull (`source=target`), which is the mirror-rewritten name when a mirror is set, so
that what is pushed is exactly what is pulled.

`skopeo-copy.txt` is what the runbook's `skopeo copy` loop reads: per image the source as skopeo
accepts it and the repository and tag under the mirror that the manifests pull
(`derived.mirror_reference` without the mirror). It replaces a `skopeo sync` file: `skopeo sync`
keeps only an image's last path component at the destination (or, with `--scoped`, the source
host too), neither of which is the name the manifests pull.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator import derived
from generator.models import IMAGE_REF, Server
from generator.output import OutputFile
from generator.paths import mirror_list
from generator.render.context import RenderContext
from generator.render.kind import OutputKind
from generator.render.kubernetes.manifests import comment_safe, document_bytes

def list_files(context: RenderContext) -> Iterator[OutputFile]:
    """Yield the lists for the whole catalog and for every profile."""
    catalog = context.catalog
    yield from _lists(context, derived.installable_servers(catalog), None)
    for profile in catalog.meta.registries:
        yield from _lists(context, derived.profile_offered(catalog, profile), profile.name)


KIND = OutputKind("mirror_lists", list_files)
render = list_files


def _lists(context: RenderContext, servers: Sequence[Server], profile: str | None) -> Iterator[OutputFile]:
    containers = [s for s in servers if s.kind == "container"]
    server_pairs = sorted({(source_image(s), derived.deploy_image(context.catalog.meta, s, context.image_mirror)) for s in containers})
    pairs = sorted(set(server_pairs) | set(toolhive_pairs(context)))
    name = f"{context.catalog.meta.title} {profile or 'all servers'}"
    yield OutputFile(mirror_list("images.txt", profile), "".join(f"{source}\n" for source, _ in pairs).encode())
    yield OutputFile(mirror_list("mapping.txt", profile), "".join(f"{s}={t}\n" for s, t in pairs).encode())
    yield OutputFile(mirror_list("skopeo-copy.txt", profile), "".join("{} {}\n".format(*skopeo_copy(s)) for s, _ in pairs).encode())
    yield OutputFile(mirror_list("hauler-images.yaml", profile), _yaml(_hauler(pairs, profile), name))
    yield OutputFile(mirror_list("zarf.yaml", profile), _yaml(_zarf(context, toolhive_pairs(context), server_pairs, profile), name))


def toolhive_pairs(context: RenderContext) -> list[tuple[str, str]]:
    """(source, pulled reference) of the ToolHive install's own images: the operator, the images it
    injects at run time (proxy runner, vMCP, registry API), the registry server and its database.

    Every profile needs them, whichever registry path it takes: the operator and its proxy runner
    run every server, and no manifest scan finds the images the operator passes in env vars.
    """
    meta = context.catalog.meta
    return sorted({(reference, derived.toolhive_image(meta, role, context.image_mirror))
                   for role, reference in derived.toolhive_images(meta).items()})


def source_image(server: Server) -> str:
    """The image as published upstream, pinned by digest when known (never mirror-rewritten)."""
    assert server.image is not None
    return f"{server.image}@{server.digest}" if server.digest else server.image


def skopeo_copy(source: str) -> tuple[str, str]:
    """(source, repository:tag): the image to copy as skopeo accepts it, and where under the
    mirror the manifests pull it.

    A pinned source is copied by its digest alone: skopeo refuses a reference with both a tag and
    a digest. The destination keeps the tag, so the digest the manifests add finds the same image.
    """
    match = IMAGE_REF.fullmatch(source)
    assert match is not None, source  # validated in the model
    parts = derived.image_parts(source)
    registry, path, digest = match.group("registry", "path", "digest")
    copied = f"{registry + '/' if registry else ''}{path}@{digest}" if digest else source
    return copied, f"{parts.path}:{parts.tag}"


def _hauler(pairs: list[tuple[str, str | None]], profile: str | None) -> dict[str, object]:
    return {
        "apiVersion": "content.hauler.cattle.io/v1",
        "kind": "Images",
        "metadata": {"name": f"mcp-catalog-{profile or 'all'}"},
        "spec": {"images": [{"name": source} for source, _ in pairs]},
    }


def _zarf(
    context: RenderContext, toolhive: list[tuple[str, str]], servers: list[tuple[str, str | None]], profile: str | None
) -> dict[str, object]:
    components = [{"name": "toolhive", "required": True, "images": [source for source, _ in toolhive]}]
    if servers:
        components.append({"name": "mcp-server-images", "required": True, "images": [source for source, _ in servers]})
    return {
        "kind": "ZarfPackageConfig",
        "metadata": {
            "name": f"mcp-catalog-{profile or 'all'}",
            "version": context.catalog.meta.version,
            "description": f"Container images of {context.catalog.meta.title} ({profile or 'all servers'})",
        },
        "components": components,
    }


def _yaml(document: dict[str, object], name: str) -> bytes:
    header = f"# Generated by mcp-catalog for {comment_safe(name)}. Do not edit: rebuild instead.\n"
    return document_bytes(header, document)
