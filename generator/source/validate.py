"""Rules that need more than one value, and the entry point that yields a Catalog.

`read_catalog` is the only way the rest of the program obtains a catalog: it
loads every file, applies the cross-file rules below, and either returns a
validated `Catalog` with its warnings or raises `SourceInvalid` carrying every
problem at once. Warnings (no digest, a tag used once, no overview, an expired
approval) become errors under `strict`.

Approval expiry is judged against the catalog's own `last_updated`, not the
clock, so that the same source always gives the same verdict and output.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generator.derived import admits, endpoint_class, left_out_by_image_rule, registry_name
from generator.diagnostics import Diagnostic, dotted_path
from generator.errors import SourceInvalid
from generator.incremental.memory import cyclic_gc_paused
from generator.models import Catalog, CatalogMeta
from generator.render.kubernetes.names import (
    MCPSERVER_PROXY_APP, REMOTE_PROXY_APP, ServerNames, database_secret_name, pgpass_secret_name, secret_entries,
)
from generator.source.hostile import escaped, look_alikes
from generator.source.load import ParsedFiles, ServerSource, SourceTree, load_source, unreadable


@dataclass(frozen=True)
class ValidatedCatalog:
    """A catalog that passed validation, and the warnings it still has."""

    catalog: Catalog
    warnings: list[Diagnostic]
    parsed: ParsedFiles = field(default_factory=dict)
    """The server files that parsed cleanly (for the build cache)."""


OutputLimits = Callable[[SourceTree, CatalogMeta], Iterable[Diagnostic]]
"""What the outputs cannot carry, as problems on the source's lines (`generator.limits.output_limits`):
the renderers measure it, so the caller passes it in and this package imports no renderer."""


def read_catalog(
    source_dir: Path, *, strict: bool = False, keep_parsed: bool = True, already_parsed: ParsedFiles | None = None,
    output_limits: OutputLimits | None = None, limits_when_clean: bool = True,
) -> ValidatedCatalog:
    """Load and validate `source_dir`; raise `SourceInvalid` listing every problem.

    `keep_parsed=False` does not pack the parsed files for the build cache (for `validate`).
    `already_parsed` spares parsing unchanged files (see `load_source`); the files parsed
    this time are in the result's `parsed`. `output_limits` runs once catalog.yaml is valid;
    with `limits_when_clean=False` only when the source fails anyway, so that its problems come
    with the others (`build` measures a clean source while it renders).
    """
    if not source_dir.is_dir():
        raise SourceInvalid(
            [Diagnostic(str(source_dir), 0, "", "source folder does not exist (pass --source DIR)")], "1 error"
        )
    try:
        with cyclic_gc_paused():
            tree = load_source(source_dir, keep_parsed=keep_parsed, already_parsed=already_parsed)
    except OSError as error:
        # The loader reports what it can foresee (a missing file, a broken symlink) with the other
        # problems; a file changed while it is read is a source problem too, never the build cache's.
        where = str(error.filename) if error.filename is not None else str(source_dir)
        raise SourceInvalid([Diagnostic(where, 0, "", unreadable(error))], "validation failed: 1 error(s), 0 warning(s)") from None
    found = tree.diagnostics + list(_cross_file_rules(tree))
    if strict:
        found = [d.as_error() for d in found]
    # The renderers measure their documents against catalog.yaml's limits: only with all of it valid.
    if output_limits is not None and tree.meta is not None and tree.meta_yaml is not None:
        if limits_when_clean or any(d.severity == "error" for d in found):
            found += output_limits(tree, tree.meta)
    errors = sorted(d for d in found if d.severity == "error")
    warnings = sorted(d for d in found if d.severity == "warning")
    if errors or tree.meta is None:
        promoted = sum(1 for d in tree.diagnostics + errors if strict and d.severity == "error")
        summary = f"{len(errors)} error(s), {len(warnings)} warning(s)"
        if strict and promoted:
            summary += " (warnings count as errors under --strict)"
        raise SourceInvalid(errors + warnings, f"validation failed: {summary}")
    servers = sorted(tree.servers, key=lambda s: s.server.name)
    catalog = Catalog(
        meta=tree.meta,
        servers=tuple(s.server for s in servers),
        overviews={s.server.name: s.overview for s in servers if s.overview},
    )
    return ValidatedCatalog(catalog, warnings, tree.parsed)


def _cross_file_rules(tree: SourceTree) -> Iterator[Diagnostic]:
    # With errors in catalog.yaml the rules run against its valid fields (`checked_meta`): a rule
    # reading a faulty one is skipped rather than reporting what the stand-in value would cause.
    meta, faulty = tree.checked_meta, tree.faulty_meta_fields
    if meta is not None and tree.meta_yaml is not None:
        yield from _catalog_rules(tree, meta)
        known_categories = {c.slug for c in meta.categories}
        for source in tree.servers:
            if "categories" not in faulty and source.server.category not in known_categories:
                yield _at(source, ("category",), f"unknown category '{source.server.category}'; "
                          f"declared in catalog.yaml: {', '.join(sorted(known_categories))}")
            if "last_updated" not in faulty:
                yield from _review_expiry(source, meta)
    if meta is not None and "namespace" not in faulty:
        yield from _registry_names_unique(tree, meta)
    if meta is not None and tree.meta_yaml is not None and not {"toolhive", "registries"} & faulty:
        yield from _pull_secrets_named_apart(tree, meta)
    if meta is not None and tree.meta_yaml is not None and "toolhive" not in faulty:
        yield from _dns_beyond_the_cluster(tree, meta)
    if meta is not None and tree.meta_yaml is not None and not {"toolhive", "registries"} & faulty:
        yield from _dns_outside_the_profiles(tree, meta)
    if meta is not None and tree.meta_yaml is not None:
        yield from _registry_writes_open(tree, meta, faulty)
    yield from _replacements(tree)
    for source in tree.servers:
        yield from _server_rules(source)
        if meta is not None and "registries" not in faulty:
            yield from _image_rule_refusals(source, meta)
            yield from _profile_env_values(source, meta)
            yield from _undeclared_tools_withheld(source, meta)
    yield from _tags_used_once(tree)
    yield from _look_alike_servers(tree)
    yield from _service_names_apart(tree)


def _catalog_rules(tree: SourceTree, meta: CatalogMeta) -> Iterator[Diagnostic]:
    lines, path, faulty = tree.meta_yaml, tree.meta_path, tree.faulty_meta_fields
    assert lines is not None
    for label, values, key in (
        ("category", [c.slug for c in meta.categories], "categories"),
        ("registry profile", [r.name for r in meta.registries], "registries"),
        ("registry namespace", [r.namespace for r in meta.registries], "registries"),
    ):
        if key in faulty:
            continue
        for index in _repeated_indexes(values):
            yield Diagnostic(path, lines.line_of((key, index)), f"{key}[{index}]", f"duplicate {label} '{values[index]}'")
    if "registries" in faulty:
        return
    slugs = {c.slug for c in meta.categories}
    names = {s.server.name for s in tree.servers}
    closest = _Closest(names)
    for index, profile in enumerate(meta.registries):
        for part in ("include", "exclude"):
            selector = getattr(profile, part)
            if selector is None:
                continue
            for slug in selector.categories:
                if slug not in slugs and "categories" not in faulty:
                    where = ("registries", index, part, "categories")
                    yield Diagnostic(path, lines.line_of(where), dotted_path(where), f"unknown category '{slug}'")
            for name in selector.names:
                if name not in names and name not in tree.faulty_servers:
                    where = ("registries", index, part, "names")
                    yield Diagnostic(path, lines.line_of(where), dotted_path(where), f"no server is called '{name}'{closest.hint(name)}")


def _pull_secrets_named_apart(tree: SourceTree, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """An image pull secret must not share its name with a Secret the runbooks have someone else
    create in the same namespace: a server's credentials (its deployers create it, and replace or
    delete it by name, so they could replace or delete the namespace's pull secret) or a registry
    profile's database passwords. Either way one `kubectl create secret` fails and a pod cannot start.

    The names are the bundles' own (`ServerNames`, `database_secret_name`), so the rule cannot drift from them.
    """
    lines, path = tree.meta_yaml, tree.meta_path
    assert lines is not None
    credentials = {ServerNames.of(s.server).secret: s.server.name for s in tree.servers if secret_entries(s.server)}
    # The catalog's list is used in the generic bundles and in every profile without a list of its own.
    lists = [(("toolhive", "image_pull_secrets"), meta.toolhive.image_pull_secrets,
              [profile for profile in meta.registries if profile.image_pull_secrets is None])]
    lists += [(("registries", index, "image_pull_secrets"), profile.image_pull_secrets, [profile])
              for index, profile in enumerate(meta.registries) if profile.image_pull_secrets is not None]
    for where, names, profiles in lists:
        databases = {secret: profile.name for profile in profiles
                     for secret in (database_secret_name(profile), pgpass_secret_name(profile))}
        for index, name in enumerate(names):
            if name in credentials:
                owner = f"server {credentials[name]}'s credentials, which its deployers create, replace and delete"
            elif name in databases:
                owner = f"registry profile {databases[name]}'s database passwords"
            else:
                continue
            at = (*where, index)
            yield Diagnostic(path, lines.line_of(at), dotted_path(at),
                             f"'{name}' is also the Secret of {owner}: give the pull secret another name")


# Address space a cluster's DNS can live in: private (RFC 1918, unique-local), shared (RFC 6598,
# some clouds' pod ranges) and link-local (NodeLocal DNSCache).
_CLUSTER_SPACE = tuple(ipaddress.ip_network(block) for block in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"))


# The widest block the DNS may be named by without a warning: an IPv4 /24, an IPv6 /120.
_WIDEST_DNS_BLOCK = 256


def _dns_beyond_the_cluster(tree: SourceTree, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """A `toolhive.cluster_dns` block holding public addresses lets every pod send DNS there: to a
    server of anyone's choosing when the block is wide, what the DNS rule exists to refuse. A private
    block wider than 256 addresses is warned about too: ipBlock also matches pod IPs in the common
    network plugins, so every pod could reach any pod or host of the block on the DNS ports."""
    lines = tree.meta_yaml
    assert lines is not None
    for index, cidr in enumerate(meta.toolhive.cluster_dns.cidrs):
        block = ipaddress.ip_network(cidr)
        where = ("toolhive", "cluster_dns", "cidrs", index)
        if not any(block.version == space.version and block.subnet_of(space) for space in _CLUSTER_SPACE):  # type: ignore[arg-type]
            yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where),
                             f"{cidr} holds addresses outside the private, shared and link-local ranges: every pod "
                             "may send DNS to them; name the resolver's own addresses", "warning")
        elif block.num_addresses > _WIDEST_DNS_BLOCK:
            yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where),
                             f"{cidr} holds {block.num_addresses} addresses: ipBlock also matches pod IPs in common "
                             "network plugins, so every pod could reach any pod or host of the block on the DNS ports; "
                             "name the DNS Service's address or NodeLocal DNSCache's /32 (e.g. 169.254.20.10)", "warning")


def _dns_outside_the_profiles(tree: SourceTree, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """The DNS pods may not be looked for in a registry profile's namespace: a proxy runner there
    could label its MCP pods like them and every pod's DNS egress would reach those, while real DNS
    pods there would be cut off by the profile's default-deny ingress."""
    lines = tree.meta_yaml
    assert lines is not None
    pods = meta.toolhive.cluster_dns.pods
    if pods is None:
        return
    for index, profile in enumerate(meta.registries):
        if profile.namespace != pods.namespace:
            continue
        # The default namespace (not written) is reported on the profile's namespace line.
        where: tuple[str | int, ...] = ("toolhive", "cluster_dns", "pods", "namespace")
        if where not in lines.lines:
            where = ("registries", index, "namespace")
        yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where),
                         f"'{pods.namespace}' is registry profile {profile.name}'s namespace: its MCP pods could be labelled "
                         "like the DNS pods and receive every pod's DNS, and DNS pods there would be cut off by the "
                         "profile's default-deny ingress; name the namespace the cluster's DNS runs in")


def _registry_writes_open(tree: SourceTree, meta: CatalogMeta, faulty: set[str]) -> Iterator[Diagnostic]:
    """A registry server that takes writes from anyone: every profile's in `anonymous` mode, and
    each profile's `legacy/` one, whose typed MCPRegistry (operators v0.15 to v0.16) can name no
    authorization rule or public path, so any token it accepted could write and readers would
    need one. Warnings, not errors: both are a deliberate choice the catalog says out loud."""
    lines = tree.meta_yaml
    assert lines is not None
    if "toolhive" not in faulty and meta.toolhive.registry_auth.mode == "anonymous":
        where = ("toolhive", "registry_auth", "mode")
        yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where),
                         "anonymous: every profile's registry server takes writes (publishing entries, replacing its "
                         "sources and registries) from every pod its registry-api NetworkPolicy admits, in any namespace; "
                         "set `kubernetes` (the default) to let only each profile's registry-admin service account write", "warning")
    if "registries" in faulty:
        return
    for index, profile in enumerate(meta.registries):
        if profile.operator == "current":
            continue
        where = ("registries", index, "operator")
        yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where),
                         f"{profile.operator}: the legacy/ MCPRegistry of operators up to v0.16 can name no authorization "
                         "rule, so its registry API stays anonymous and takes writes from every pod its registry-api "
                         "NetworkPolicy admits; use `current` once the cluster runs operator v0.18 or later", "warning")


def _server_rules(source: ServerSource) -> Iterator[Diagnostic]:
    server = source.server
    reported: set[tuple[str, int]] = set()
    for label, values, key in (
        ("tool name", [t.name for t in server.tools], "tools"),
        ("deployed tool name", [t.deployed_name for t in server.tools], "tools"),
        ("environment variable", [e.name for e in server.env], "env"),
    ):
        for index in _repeated_indexes(values):
            if (key, index) not in reported:  # a clash of plain names is also one of deployed names
                reported.add((key, index))
                yield _at(source, (key, index), f"duplicate {label} '{values[index]}'")
    if server.image and not server.digest:
        yield _at(source, ("image",), "not pinned by digest: add `digest: sha256:...` "
                  "(mcp-catalog pin can record it)", "warning")
    if server.remote is not None:
        yield from _private_endpoint(source, server.remote.url)
    yield from _moot_allow_lists(source)
    if source.overview is None:
        yield Diagnostic(source.path, 0, "", f"no overview: add {server.name}.md beside it", "warning")


def _image_rule_refusals(source: ServerSource, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """A profile whose image rule leaves out a server it would otherwise admit says so."""
    for profile in meta.registries:
        reason = left_out_by_image_rule(meta, profile, source.server)
        if reason is not None:
            yield _at(source, ("image",), f"registry profile '{profile.name}' leaves '{source.server.name}' out: image {source.server.image} {reason}", "warning")


def _undeclared_tools_withheld(source: ServerSource, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """A server declaring no tools is not offered by a profile that withholds tools by their hints."""
    server = source.server
    if server.tools or server.kind == "reference":
        return
    for profile in meta.registries:
        if profile.tools.exclude_annotations and admits(meta, profile, server):
            yield _at(source, ("tools",), f"registry profile '{profile.name}' admits '{server.name}' but leaves it out: it "
                      f"withholds tools by {', '.join(profile.tools.exclude_annotations)} and '{server.name}' declares no tools "
                      "(it would run with every tool it has); declare its tools", "warning")


def _profile_env_values(source: ServerSource, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """An env var's profile values name declared profiles, and only a container's environment is deployed."""
    declared = [profile.name for profile in meta.registries]
    for index, var in enumerate(source.server.env):
        for name in var.profiles:
            where = ("env", index, "profiles", name)
            if name not in declared:
                yield _at(source, where, f"no registry profile is called '{name}'; "
                          f"declared in catalog.yaml: {', '.join(declared) or 'none'}")
            elif source.server.kind != "container":
                yield _at(source, where, f"a {source.server.kind} server runs no container of the bundles, "
                          "so no profile can set its environment")


def _moot_allow_lists(source: ServerSource) -> Iterator[Diagnostic]:
    """`insecure_allow_all` opens every host and port, so allow lists beside it restrict nothing.

    A reader (or reviewer) seeing `allow_port: [443]` would believe egress is limited to it.
    """
    permissions = source.server.permissions
    if permissions is None or permissions.network is None or not permissions.network.outbound.insecure_allow_all:
        return
    outbound = permissions.network.outbound
    for key, values in (("allow_host", outbound.allow_host), ("allow_port", outbound.allow_port)):
        if values:
            yield _at(source, ("permissions", "network", "outbound", key),
                      "insecure_allow_all: true already allows every host and port, so this list restricts nothing: "
                      f"remove {key}, or remove insecure_allow_all to limit egress to the allow lists", "warning")


def _private_endpoint(source: ServerSource, url: str) -> Iterator[Diagnostic]:
    """The operator refuses remote URLs on private hosts unless told otherwise, and some always."""
    where = ("remote", "url")
    match endpoint_class(url):
        case "private":
            yield _at(source, where, "the host is private or cluster-internal: its MCPRemoteProxy sets "
                      "allowPrivateEndpoint: true (the operator refuses the URL without it)", "warning")
        case "blocked":
            yield _at(source, where, "the host is loopback, link-local or kubernetes.default: the ToolHive operator "
                      "refuses it even with allowPrivateEndpoint, so its MCPRemoteProxy cannot run", "warning")
        case "public" if url.startswith("http://"):
            yield _at(source, where, "plain http:// to a host that is neither a private address nor a "
                      "*.cluster.local name: requests and their headers, credentials included, travel to it "
                      "unencrypted; use https://", "warning")


class _Closest:
    """"; did you mean 'x'?" for a server name that misspells one of `names`. Each guess compares
    with every name, so only the first `_GUESSES` unknown names of a run get one: a list of 5,000
    misspelt names against 10,000 servers would otherwise take minutes."""

    _GUESSES = 20

    def __init__(self, names: Iterable[str]) -> None:
        self._names = sorted(names)
        self._left = self._GUESSES

    def hint(self, name: str, *, besides: str | None = None) -> str:
        """The hint for `name`, never suggesting `besides` (the server naming it), or ""."""
        if self._left <= 0:
            return ""
        self._left -= 1
        close = [found for found in difflib.get_close_matches(name.lower(), self._names, n=2, cutoff=0.75) if found != besides]
        return f"; did you mean '{close[0]}'?" if close else ""


def _replacements(tree: SourceTree) -> Iterator[Diagnostic]:
    """`replaced_by` names another server of the catalog, and only a deprecated one has it (pages link it)."""
    names = {source.server.name for source in tree.servers} | tree.faulty_servers  # one with errors is there too
    closest = _Closest(names)
    for source in tree.servers:
        server = source.server
        if server.replaced_by is None:
            continue
        if server.replaced_by == server.name or server.replaced_by not in names:
            hint = closest.hint(server.replaced_by, besides=server.name)
            yield _at(source, ("replaced_by",), f"no other server is called '{server.replaced_by}'{hint}")
        elif server.status != "deprecated":
            yield _at(source, ("replaced_by",), "only a deprecated server has a replacement: set `status: deprecated` "
                      "or remove `replaced_by`")


def _review_expiry(source: ServerSource, meta: CatalogMeta) -> Iterator[Diagnostic]:
    review = source.server.review
    as_of = meta.last_updated.date()
    if review and review.status == "approved" and review.expires and review.expires < as_of:
        yield _at(source, ("review", "expires"), f"approval expired on {review.expires} "
                  f"(catalog last_updated is {as_of}): renew the review", "warning")


def _registry_names_unique(tree: SourceTree, meta: CatalogMeta) -> Iterator[Diagnostic]:
    """Every server's registry name, explicit or derived from the namespace, names one server, also
    without regard to case: each names a folder of the MCP mirror (`v0.1/servers/<name>/`), and a
    case-insensitive file system (macOS, Windows) unpacking the release would make two folders one."""
    names = [(s, registry_name(meta, s.server)) for s in tree.servers]
    counts = Counter(name for _, name in names)
    spellings: dict[str, set[str]] = defaultdict(set)
    for _, name in names:
        spellings[name.casefold()].add(name)
    for source, name in names:
        field = ("registry_name",) if source.server.registry_name else ("name",)
        if counts[name] > 1:
            yield _at(source, field, f"registry name '{name}' is used by {counts[name]} servers")
        elif others := sorted(spellings[name.casefold()] - {name}):
            yield _at(source, field, f"registry name '{name}' differs only in case from {', '.join(repr(o) for o in others)}: their "
                      "MCP mirror folders would be one on a case-insensitive file system (macOS, Windows); "
                      "choose names that differ in more than case")


def _tags_used_once(tree: SourceTree) -> Iterator[Diagnostic]:
    counts = Counter(tag for s in tree.servers for tag in s.server.tags)
    for source in tree.servers:
        for index, tag in enumerate(source.server.tags):
            if counts[tag] == 1 and len(tree.servers) > 1:
                yield _at(source, ("tags", index), f"tag '{tag}' is used by no other server (typo?)", "warning")


def _look_alike_servers(tree: SourceTree) -> Iterator[Diagnostic]:
    """A warning for a name or title that looks like another server's but is other characters."""
    for key in ("name", "title"):
        entries = [(s.server.name, getattr(s.server, key)) for s in tree.servers]
        for index, first in look_alikes(entries):
            source, other = tree.servers[index], tree.servers[first]
            yield _at(source, (key,), f"'{escaped(entries[index][1])}' looks like the {key} '{escaped(entries[first][1])}' "
                      f"of {other.path} but is other characters: readers cannot tell them apart; rename one", "warning")


def _service_names(source: ServerSource) -> dict[str, str]:
    """The Services ToolHive makes for a server, each with who makes it: for an MCPServer the
    operator's `mcp-<name>-proxy` (CreateProxyServiceName in cmd/thv-operator/pkg/controllerutil/
    resources.go) and the proxy runner's `mcp-<name>` and `mcp-<name>-headless` (client.go; stdio
    servers are counted too, so a change of transport cannot make a collision); for an MCPRemoteProxy
    the operator's `mcp-<name>-remote-proxy` (createProxyServiceName in mcpremoteproxy_controller.go)."""
    name = source.server.name
    if source.server.remote is not None:
        return {f"mcp-{name}-remote-proxy": "remote proxy Service"}
    return {f"mcp-{name}-proxy": "proxy Service", f"mcp-{name}": "Service", f"mcp-{name}-headless": "headless Service"}


def _service_names_apart(tree: SourceTree) -> Iterator[Diagnostic]:
    """No two servers may be given the same Service name, or one's proxy runner takes over the
    other's Service (`foo-headless`'s `mcp-foo-headless` is `foo`'s headless one); and no server may be
    named like the `app` label ToolHive gives every proxy pod, or its Service selects them all.

    Every server of the catalog is checked against every other, not a profile's servers alone: the
    generic bundles may put any of them in one namespace, and a profile's selection changes with tiers."""
    made: dict[str, tuple[str, str]] = {}
    for source in sorted(tree.servers, key=lambda s: (len(s.server.name), s.server.name)):
        name = source.server.name
        if name in (MCPSERVER_PROXY_APP, REMOTE_PROXY_APP):
            yield _at(source, ("name",), f"'{name}' is the `app` label ToolHive gives every "
                      f"{'MCPServer' if name == MCPSERVER_PROXY_APP else 'MCPRemoteProxy'} proxy pod: the server's "
                      "Service would select every one of them; rename the server")
        services = _service_names(source)
        taken = [(service, made[service]) for service in services if service in made]
        for service, (other, kind) in taken[:1]:
            yield _at(source, ("name",), f"its {services[service]} {service} is also server {other}'s {kind}: "
                      "one proxy would take over the other's Service; rename the server")
        for service, kind in services.items():
            made.setdefault(service, (name, kind))


def _repeated_indexes(values: list[str]) -> Iterator[int]:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            yield index
        seen.add(value)


def _at(source: ServerSource, path: tuple[str | int, ...], message: str, severity: str = "error") -> Diagnostic:
    return Diagnostic(source.path, source.yaml.line_of(path), dotted_path(path), message, severity)  # type: ignore[arg-type]

