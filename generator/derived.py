"""Facts derived from the validated catalog that several renderers need.

One definition each, so that the site, the JSON APIs, the ToolHive files and
the Kubernetes bundles never disagree about which servers a registry profile
admits, what an approval's state is, a server's registry name, or the image
reference a cluster must pull.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from generator.models import IMAGE_REF, Catalog, CatalogMeta, EnvVar, RegistryProfile, Selector, Server, Tool

DOCKER_HUB = "docker.io"
ReviewState = Literal["approved", "expired", "under-review", "rejected", "not-reviewed"]


def registry_name(meta: CatalogMeta, server: Server) -> str:
    """The server's MCP registry name: `registry_name`, else `<catalog namespace>/<name>`."""
    return server.registry_name or f"{meta.namespace}/{server.name}"


def updated(meta: CatalogMeta, server: Server) -> dt.date:
    """When the entry last changed: its own `updated`, else the catalog's `last_updated` date."""
    return server.updated or meta.last_updated.date()


def review_state(meta: CatalogMeta, server: Server) -> ReviewState:
    """The approval state as of the catalog's `last_updated` (never the clock: output stays reproducible)."""
    review = server.review
    if review is None:
        return "not-reviewed"
    if review.status == "approved" and review.expires and review.expires < meta.last_updated.date():
        return "expired"
    return review.status


# How long before an approval expires the catalog starts warning, counted from the catalog date.
EXPIRY_WARNING = dt.timedelta(days=90)
NoticeKind = Literal["rejected", "deprecated", "expired", "expiring", "community"]


@dataclass(frozen=True)
class Notice:
    """A warning to show before helping anyone deploy the server (page banner, card, API documents)."""

    kind: NoticeKind
    message: str
    replaced_by: str | None = None
    """The catalog server that replaces a deprecated one (link target), when the entry names one."""

    @property
    def label(self) -> str:
        """A few words for cards and badges."""
        return NOTICE_LABELS[self.kind]

    def document(self) -> dict[str, str]:
        """The notice in the API documents."""
        entry = {"kind": self.kind, "message": self.message}
        if self.replaced_by:
            entry["replaced_by"] = self.replaced_by
        return entry


NOTICE_LABELS: dict[NoticeKind, str] = {
    "rejected": "Rejected: do not deploy",
    "deprecated": "Deprecated",
    "expired": "Approval expired",
    "expiring": "Approval expiring soon",
    "community": "Community: not vetted",
}


def notices(meta: CatalogMeta, server: Server) -> tuple[Notice, ...]:
    """Every warning the server's state calls for, most serious first, as of the catalog date."""
    found = []
    state = review_state(meta, server)
    review = server.review
    if state == "rejected" and review is not None:
        why = f": {review.notes.rstrip().rstrip('.')}." if review.notes else "."
        found.append(Notice("rejected", f"Rejected by {review.by or 'the review board'}{why} Do not deploy it: "
                            "no registry file, MCP mirror or image list offers it; its bundle stays in the "
                            "release for audit only."))
    if server.status == "deprecated":
        instead = f" Use {server.replaced_by} instead." if server.replaced_by else " No replacement is listed in this catalog."
        found.append(Notice("deprecated", f"Deprecated.{instead}", server.replaced_by))
    if state == "expired" and review is not None and review.expires:
        found.append(Notice("expired", f"The approval expired on {review.expires.isoformat()}: it must be renewed "
                            "before the server is deployed again; approved_only profiles no longer admit it."))
    elif review is not None and review.expires and expires_soon(meta, server):
        found.append(Notice("expiring", f"The approval expires on {review.expires.isoformat()}, within "
                            f"{EXPIRY_WARNING.days} days of this catalog's date: plan its renewal."))
    if server.tier == "community":
        found.append(Notice("community", "Community entry: listed as published upstream, not vetted by the "
                            "catalog team."))
    return tuple(found)


def expires_soon(meta: CatalogMeta, server: Server) -> bool:
    """True when an approval in force expires within EXPIRY_WARNING of the catalog's date."""
    review = server.review
    if review_state(meta, server) != "approved" or review is None or review.expires is None:
        return False
    return review.expires - meta.last_updated.date() <= EXPIRY_WARNING


def installable(meta: CatalogMeta, server: Server) -> bool:
    """False for a server its review rejected ("Rejected: do not deploy").

    Every output a machine installs or mirrors from leaves it out: the root ToolHive registry
    files, the root MCP mirror, the whole-catalog image lists, and every registry profile
    (`admits`). Its page, its API document and its catalog-wide bundle folder keep it, for review
    and audit. It depends on the server and catalog.yaml alone, so a cached rebuild re-renders
    the server whose review changed and the catalog-wide lists follow.
    """
    return review_state(meta, server) != "rejected"


def installable_servers(catalog: Catalog) -> tuple[Server, ...]:
    """The servers the catalog-wide (root) registry files, MCP mirror and image lists list, sorted by name."""
    return tuple(server for server in catalog.servers if installable(catalog.meta, server))


def deployable(meta: CatalogMeta, server: Server) -> bool:
    """`installable` and not a reference entry (packages only): what the ToolHive operator may run.
    The pages of other servers give no deploy recipe."""
    return server.kind != "reference" and installable(meta, server)


def deploy_image(meta: CatalogMeta, server: Server, mirror: str | None = None) -> str | None:
    """The reference a cluster pulls: rewritten to the image mirror, pinned by digest when known.

    `mirror` (HOST[/PREFIX]) overrides `meta.image_mirror`; the repository path is kept, so
    `ghcr.io/org/server:1.0` becomes `mirror.corp/prefix/org/server:1.0`.
    """
    reference = mirrored_image(meta, server, mirror)
    if reference is not None and server.digest:
        reference = f"{reference}@{server.digest}"
    return reference


def mirrored_image(meta: CatalogMeta, server: Server, mirror: str | None = None) -> str | None:
    """The image reference (registry/path:tag, no digest) after any mirror rewrite."""
    if server.image is None:
        return None
    return mirror_reference(server.image, mirror or meta.image_mirror)


def mirror_reference(reference: str, target: str | None) -> str:
    """`reference` rewritten to the mirror `target` (HOST[/PREFIX]), path, tag and any digest kept."""
    if not target:
        return reference
    parts = image_parts(reference)
    match = IMAGE_REF.fullmatch(reference)
    assert match is not None, reference  # validated in the model
    digest = match.group("digest")
    return f"{target.rstrip('/')}/{parts.path}:{parts.tag}" + (f"@{digest}" if digest else "")


def toolhive_images(meta: CatalogMeta) -> dict[str, str]:
    """The ToolHive install's own images by role (operator, proxy_runner, ...), as published upstream."""
    images = meta.toolhive.images.model_dump()
    return {role: reference for role, reference in images.items() if reference is not None}


def toolhive_image(meta: CatalogMeta, role: str, mirror: str | None = None) -> str:
    """The reference a cluster pulls for one ToolHive image: rewritten to the mirror, digest kept."""
    return mirror_reference(toolhive_images(meta)[role], mirror or meta.image_mirror)


def pull_secrets(meta: CatalogMeta, profile: RegistryProfile | None) -> list[str]:
    """The image pull secrets of a profile's pods (the profile's own list, else the catalog's)."""
    if profile is not None and profile.image_pull_secrets is not None:
        return list(profile.image_pull_secrets)
    return list(meta.toolhive.image_pull_secrets)


def env_default(var: EnvVar, profile_name: str | None) -> str | None:
    """The variable's value in the profile `profile_name` (its `profiles` entry), else its default."""
    return var.profiles.get(profile_name, var.default) if profile_name is not None else var.default


def profile_sets_env(server: Server, profile_name: str | None) -> bool:
    """The profile requires a value of one of the server's variables (so its entries differ from the catalog's)."""
    return profile_name is not None and any(profile_name in var.profiles for var in server.env)


def env_values(server: Server, profile: RegistryProfile | None) -> list[tuple[str, str]]:
    """The (name, value) pairs a deployment sets, in declaration order: each plain variable's value in the
    profile, else its default (`env_default`); secrets come from the Secret, never from here."""
    values = []
    for var in server.env:
        value = env_default(var, profile.name if profile is not None else None)
        if not var.secret and value is not None:
            values.append((var.name, value))
    return values


EndpointClass = Literal["public", "private", "blocked"]


def endpoint_class(url: str) -> EndpointClass:
    """How the ToolHive operator treats a remote URL's host (decided from the URL alone, no DNS).

    `private`: RFC 1918 or IPv6 unique-local addresses and `*.cluster.local` names, which an
    MCPRemoteProxy reaches only with `allowPrivateEndpoint`; `blocked`: loopback, link-local
    (cloud metadata included) and `kubernetes.default`, which it refuses even with the flag.
    """
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost") or host.split(".")[:2] == ["kubernetes", "default"]:
            return "blocked"
        return "private" if host == "cluster.local" or host.endswith(".cluster.local") else "public"
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return "blocked"
    return "private" if address.is_private else "public"


def image_rule_refusal(profile: RegistryProfile, server: Server) -> str | None:
    """Why the profile's image rule (`refuse: mutable-tags`, `require_digest`) leaves `server` out, or
    None: what its image "has" or "is", to follow the image's name (pages name it "its image": the
    build may rewrite references to a mirror, and a page names no upstream reference then)."""
    if server.image is None or server.digest:
        return None
    if profile.require_digest:
        return "is not pinned by digest (profile requires digests)"
    if profile.refuse == "mutable-tags" and image_parts(server.image).tag == "latest":
        return "has a mutable tag (latest or none) and no digest (profile refuses mutable tags)"
    return None


def left_out_by_image_rule(
    meta: CatalogMeta, profile: RegistryProfile, server: Server, relaxed: RegistryProfile | None = None
) -> str | None:
    """Why the profile leaves out a server it would admit but for its image rule, or None; `relaxed`,
    when given, is the profile without its image rule (`_without_image_rule`), made once for many servers."""
    reason = image_rule_refusal(profile, server)
    if reason is None or not admits(meta, relaxed or _without_image_rule(profile), server):
        return None
    return reason


def left_out_by_image_rule_all(catalog: Catalog, profile: RegistryProfile) -> dict[str, str]:
    """`left_out_by_image_rule` of every server of the catalog, by name (the profile copied once, not per server)."""
    relaxed = _without_image_rule(profile)
    return {server.name: reason for server in catalog.servers
            if (reason := left_out_by_image_rule(catalog.meta, profile, server, relaxed))}


def _without_image_rule(profile: RegistryProfile) -> RegistryProfile:
    return profile.model_copy(update={"refuse": None, "require_digest": False})


@dataclass(frozen=True)
class ImageParts:
    """An image reference taken apart the way container runtimes read it."""

    registry: str
    path: str
    tag: str


def image_parts(reference: str) -> ImageParts:
    """Registry host, repository path and tag, with Docker Hub's implicit defaults made explicit.

    `crystaldba/postgres-mcp:0.3.0` is on Docker Hub (a first component without '.' or ':'
    is not a host), `ubuntu` is `docker.io/library/ubuntu:latest`.
    """
    match = IMAGE_REF.fullmatch(reference)
    assert match is not None, reference  # validated in the model
    registry, path = match.group("registry"), match.group("path")
    if registry and "." not in registry and ":" not in registry and registry != "localhost":
        registry, path = None, f"{registry}/{path}"
    if registry is None:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageParts(registry, path, match.group("tag") or "latest")


def _matches(selector: Selector, server: Server) -> bool:
    return (
        server.tier in selector.tiers
        or server.category in selector.categories
        or server.name in selector.names
        or bool(set(server.tags) & set(selector.tags))
    )


def admits(meta: CatalogMeta, profile: RegistryProfile, server: Server) -> bool:
    """True when the registry profile admits the server: its selection picks it (`selects`) and no
    rule of the profile leaves it out (`left_out_because`).

    It depends on the server and catalog.yaml alone, never on other servers.
    """
    return selects(profile, server) and not left_out_because(meta, profile, server)


def selects(profile: RegistryProfile, server: Server) -> bool:
    """True when the profile's selection picks the server: matched by `include` (every server when it
    is absent) and not by `exclude`. What it does not pick it never meant to admit: no reason to give."""
    return (profile.include is None or _matches(profile.include, server)) and not _matches(profile.exclude, server)


def left_out_because(meta: CatalogMeta, profile: RegistryProfile, server: Server) -> tuple[str, ...]:
    """Why the profile leaves out a server its selection picks, each rule refusing it in a few words
    (none: it admits it): rejected by its review, deprecated unless `include_deprecated`, not
    approved-and-unexpired under `approved_only`, an image the profile's rule refuses (`refuse:
    mutable-tags`, `require_digest`). `diff` says them of a new server a profile leaves out."""
    reasons = []
    state = review_state(meta, server)
    if not installable(meta, server):
        # "Do not deploy": its page shows no recipe, so no namespace may run it either.
        reasons.append("its review rejected it (do not deploy)")
    elif profile.approved_only and state != "approved":
        reasons.append(f"not approved (review: {state}), and the profile admits approved servers only")
    if server.status == "deprecated" and not profile.include_deprecated:
        reasons.append("deprecated, and the profile does not include deprecated servers")
    image = image_rule_refusal(profile, server)
    if image is not None:
        reasons.append(f"its image {image}")
    return tuple(reasons)


def profile_servers(catalog: Catalog, profile: RegistryProfile) -> tuple[Server, ...]:
    """The servers a registry profile admits, sorted by name."""
    return tuple(server for server in catalog.servers if admits(catalog.meta, profile, server))


def profiles_admitting(meta: CatalogMeta, server: Server) -> tuple[RegistryProfile, ...]:
    """The registry profiles admitting `server`, in catalog.yaml order."""
    return tuple(profile for profile in meta.registries if admits(meta, profile, server))


def offers(profile: RegistryProfile, server: Server) -> bool:
    """True unless the profile's tool policy withholds every tool the server declares, or the
    server declares none and the policy withholds tools by their hints.

    Such a server is admitted (its page says which profile withholds what) but not offered:
    ToolHive reads an empty tool filter as "every tool", so the profile can neither ship it nor
    list it in its registries (a namespace's registry listing it would offer what its admission
    policy refuses). A server that declares no tools would run with every tool it has, and the
    policy cannot tell which of them it would withhold: unknown, each may be destructive (`hinted`)."""
    if not server.tools:  # a reference entry runs nothing here: no tool to withhold
        return server.kind == "reference" or not profile.tools.exclude_annotations
    return bool(profile_tools(profile, server))


NotOffered = Literal["every-tool-withheld", "no-tools-declared"]
NOT_OFFERED_LABELS: dict[NotOffered, str] = {
    "every-tool-withheld": "every tool withheld",
    "no-tools-declared": "no tools declared, and the profile withholds tools by their hints",
}
"""Each reason in a few words: the profile's page, `diff` and docs/api.md all say these."""


def not_shipped(reason: NotOffered) -> str:
    """"not shipped (<reason's label>)": what a profile's page and `diff` say of a server it admits and does not ship."""
    return f"not shipped ({NOT_OFFERED_LABELS[reason]})"


def not_offered_because(profile: RegistryProfile, server: Server) -> NotOffered | None:
    """Why the profile admits `server` but does not offer it (see `offers`), or None when it offers it:
    its policy withholds every tool the server declares, or the server declares none and the policy
    withholds tools by their hints. The profile's page, its API document and `diff` say the same."""
    if offers(profile, server):
        return None
    return "every-tool-withheld" if server.tools else "no-tools-declared"


def profile_offered(catalog: Catalog, profile: RegistryProfile) -> tuple[Server, ...]:
    """The servers a registry profile admits and offers (see `offers`), sorted by name: its registries' servers."""
    return tuple(server for server in profile_servers(catalog, profile) if offers(profile, server))


def profiles_offering(meta: CatalogMeta, server: Server) -> tuple[RegistryProfile, ...]:
    """The registry profiles admitting and offering `server` (see `offers`), in catalog.yaml order."""
    return tuple(profile for profile in profiles_admitting(meta, server) if offers(profile, server))


def hinted(tool: Tool, hint: Literal["destructiveHint", "openWorldHint"]) -> bool:
    """Whether the tool counts as `hint` for a tool policy: as declared, else as MCP's tool annotations
    default an undeclared hint (a tool may destroy data and reach the open world unless it says it
    does not; a read-only tool destroys nothing). A profile withholding destructive tools thus
    withholds a tool that does not say, not only one that says it is."""
    annotations = tool.annotations
    declared = None if annotations is None else getattr(annotations, hint)
    if declared is not None:
        return declared
    if hint == "destructiveHint":
        return not (annotations is not None and annotations.readOnlyHint)
    return True


def hinted_by_default(tool: Tool, hint: Literal["destructiveHint", "openWorldHint"]) -> bool:
    """Whether `tool` counts as `hint` only by MCP's default (see `hinted`): it does not declare the hint."""
    return hinted(tool, hint) and (tool.annotations is None or getattr(tool.annotations, hint) is None)


def withheld_by(profile: RegistryProfile, tool: Tool) -> list[Literal["destructiveHint", "openWorldHint"]]:
    """The hints for which the profile's tool policy withholds `tool` (see `hinted`)."""
    return [hint for hint in profile.tools.exclude_annotations if hinted(tool, hint)]


@dataclass(frozen=True)
class Withheld:
    """A tool a profile's tool policy withholds, and every rule of the policy that withholds it."""

    tool: Tool
    by_name: bool
    """`exclude_names` names the tool (by its source or its deployed name)."""
    hints: tuple[str, ...]
    """The policy's `exclude_annotations` the tool counts as (see `hinted`)."""
    defaulted: tuple[str, ...]
    """Those of `hints` the tool does not declare: it counts as them by MCP's default."""


def withheld_tools(profile: RegistryProfile, server: Server) -> tuple[Withheld, ...]:
    """The server's tools that the profile's tool policy withholds, in declaration order, each with
    the rules that withhold it: the one test of the policy (`profile_tools` keeps the others)."""
    policy = profile.tools
    if not policy.exclude_names and not policy.exclude_annotations:
        return ()  # the common case, asked for every server by several output kinds
    names = set(policy.exclude_names)
    found = []
    for tool in server.tools:
        by_name = tool.name in names or tool.deployed_name in names
        hints = tuple(withheld_by(profile, tool))
        if by_name or hints:
            found.append(Withheld(tool, by_name, hints, tuple(hint for hint in hints if hinted_by_default(tool, hint))))
    return tuple(found)


def profile_tools(profile: RegistryProfile, server: Server) -> tuple[Tool, ...]:
    """The server's tools that the profile's tool policy keeps: those `withheld_tools` does not name."""
    withheld = {held.tool.name for held in withheld_tools(profile, server)}
    return tuple(tool for tool in server.tools if tool.name not in withheld) if withheld else tuple(server.tools)


def profile_named(meta: CatalogMeta, name: str | None) -> RegistryProfile | None:
    """The registry profile called `name` (None for None: the whole catalog)."""
    return None if name is None else next(profile for profile in meta.registries if profile.name == name)


def ships_current(profile: RegistryProfile) -> bool:
    """Whether the profile's bundle has the current operator's folders (its `operator`: current or both)."""
    return profile.operator in ("current", "both")


def ships_legacy(profile: RegistryProfile) -> bool:
    """Whether the profile's bundle has a `legacy/` folder, for operators up to v0.16 (legacy or both)."""
    return profile.operator in ("legacy", "both")
