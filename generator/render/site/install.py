"""The offline install runbook: the "Install offline" page and each registry profile's numbered steps.

One list of steps per page, each with its commands (shown with a copy button) and the
files of the release it uses. The commands name only files this build writes, the
charts and images `catalog.yaml`'s `toolhive:` targets and names derived from the
profile, so following them installs exactly what the audit in the tests checked; upgrading,
also the release being replaced, which only `mcp-catalog diff` reads (the build has no
earlier release to say which servers it shipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import derived, paths
from generator.models import Catalog, CatalogMeta, RegistryProfile
from generator.render.kubernetes import charts as k8s_toolhive
from generator.render.kubernetes.api_server import api_server_commands
from generator.render.kubernetes.policy import policy_name
from generator.render.kubernetes.database import (
    CHECKED_REGISTRY_SERVER,
    LEGACY_REGISTRY_API,
    database_commands,
    tls_settings,
)
from generator.render.kubernetes.profile import POSTGRES_SSL_MODE
from generator.render.kubernetes.registry_auth import REGISTRY_API_PORT, token_command as registry_token_command
from generator.render.kubernetes.names import database_secret_name, pgpass_secret_name, registry_resource_name

MIRROR_PLACEHOLDER = "registry.corp.example/mcp"


@dataclass(frozen=True)
class Step:
    """One numbered step: what to do, why, the commands and the release files it uses."""

    anchor: str
    title: str
    text: str
    """What to do and why: paragraphs separated by a blank line."""
    commands: str = ""
    files: list[tuple[str, str]] = field(default_factory=list)
    """(label, site path) of the files the step uses."""
    settings: list[tuple[str, str]] = field(default_factory=list)
    """(file name, lines) of configuration to put in a file of the user's, each a block of its own."""


def _mirror(meta: CatalogMeta, mirror: str | None) -> str:
    return mirror or meta.image_mirror or MIRROR_PLACEHOLDER


def verify_step(meta: CatalogMeta) -> Step:
    """Check the release before anything from it reaches the cluster.

    The stock-tools commands name this release's tarball (dist/ may hold several), check its
    signature, and that the signed trusted comment names that file, before unpacking it (`minisign -V`
    alone accepts an older release, genuinely signed, renamed to this one's name), then hold the unpacked folder against the signed lists inside
    it: `sha256sum -c` proves the listed files, the comparison with SIZES (every file but SIZES
    and its signature, with its size) finds the files nobody listed, which `sha256sum -c` ignores.
    `tar -m` dates each file as it is unpacked: every member carries the catalog's `last_updated`,
    which the next release may keep, and nginx's and Apache's ETag and Last-Modified are a file's
    date and size, so a file changed to bytes of the same length would keep them and a
    revalidating client its old copy.
    """
    name = f"{paths.release_name(meta.title)}-{meta.version}.tar.gz"
    tarball = f"dist/{name}"
    # A folder of its own per release: the next release's runbook runs where this one's did (`mkdir
    # site` failed there), and the release deployed stays unpacked beside it until the switch.
    folder = f"site-{meta.version}"
    return Step("verify", "Verify the release signature",
                "Before anything from the release crosses into the cluster: check its minisign signatures, checksums "
                "and file list with the public key you received out of band, and stop at the first command that fails.",
                f"mcp-catalog verify {tarball} --pubkey release.pub --not-older-than {meta.version}\n"
                "# or with stock tools: the tarball's signature and that its trusted comment names this file (an older\n"
                "# release renamed to this name fails), then unpack it, dating each file now (-m: the tarball dates them all\n"
                f"# last_updated, and web servers tag a file by its date and size) into {folder}, and run the next steps there\n"
                "# and check the signed lists inside it: every listed file intact, no file they do not list\n"
                f"minisign -QVm {tarball} -p release.pub | grep -F ' file={name}'\n"
                f"mkdir {folder} && tar -xzmf {tarball} -C {folder} --strip-components=1 && cd {folder}\n"
                "minisign -Vm SIZES -p ../release.pub && minisign -Vm SHA256SUMS -p ../release.pub\n"
                "sha256sum -c --quiet SHA256SUMS\n"
                "find . ! -type d ! -path ./SIZES ! -path ./SIZES.minisig -printf '%s  %P\\n' | LC_ALL=C sort -k 2 | diff SIZES -")


def mirror_step(meta: CatalogMeta, mirror: str | None, profile: str | None) -> Step:
    """Copy every image and the three charts into the internal registry (on the connected side)."""
    target = _mirror(meta, mirror)
    release = meta.toolhive
    charts = "\n".join(
        f"helm pull {chart} --version {version}"
        for chart, version in (
            (k8s_toolhive.OPERATOR_CRDS_CHART, release.operator_chart),
            (k8s_toolhive.OPERATOR_CHART, release.operator_chart),
            (k8s_toolhive.REGISTRY_SERVER_CHART, release.registry_server_chart),
        )
    )
    text = ("Where the images can be pulled (the connected side, or a registry both sides reach). "
            "The lists name the MCP servers' images (never a rejected server's) and the ToolHive install's own: the operator, the images it "
            "starts at run time (proxy runner, vMCP, registry API), the registry server and its database. "
            "mapping.txt pairs each with the name the manifests pull; the loop copies each image to exactly that name "
            "and records its digest for pin. (Hauler and Zarf users: hauler-images.yaml and zarf.yaml list the same images.)")
    files = [(name, paths.mirror_list(name, profile)) for name in ("images.txt", "mapping.txt", "skopeo-copy.txt", "hauler-images.yaml", "zarf.yaml")]
    return Step("mirror", "Mirror the images and charts", text, f"{mirror_commands(target, profile)}\n{charts}", files)


def mirror_commands(target: str, profile: str | None) -> str:
    """Copy each image of skopeo-copy.txt to `target` and pin the digests it recorded.

    One `skopeo copy` per image, not `skopeo sync`: sync keeps only an image's last path component
    at the destination (`--scoped` adds the source host), never the path the manifests pull.
    `--preserve-digests` makes the digest pushed the upstream one, which `pin` records as the
    server's; skopeo writes a bare digest, so the loop adds the destination, as `skopeo sync
    --digestfile` lines do.
    """
    copy_list = paths.mirror_list("skopeo-copy.txt", profile)
    # A failed copy stops the loop and the pin: pinning what was copied would read as a success.
    # The digests go beside the site, not into it: the rebuild after the pin replaces the site folder
    # and would delete their record, and a release packaged before it would carry them.
    return (": > ../digests.txt; copied=yes\n"
            "while read -r source repository; do\n"
            f"  skopeo copy --all --preserve-digests --digestfile ../digest \"docker://$source\" \"docker://{target}/$repository\" </dev/null \\\n"
            "    || { echo \"skopeo copy failed: $source\" >&2; copied=no; break; }\n"
            f"  echo \"$(cat ../digest) docker://{target}/$repository\" >> ../digests.txt\n"
            f"done < {copy_list}\n"
            f"[ \"$copied\" = yes ] && mcp-catalog pin --source ../catalog-source --digests ../digests.txt --image-mirror {target}   # the source site/ was built from; then raise its version and rebuild: every reference pinned")


def operator_step(meta: CatalogMeta, mirror: str | None) -> Step:
    """Install the CRDs and the operator from the official charts with our values."""
    release = meta.toolhive
    secrets = derived.pull_secrets(meta, None)
    namespace = k8s_toolhive.OPERATOR_NAMESPACE
    pull = "".join(
        f"kubectl -n {namespace} create secret docker-registry {name} --docker-server={_mirror(meta, mirror).split('/')[0]} "
        "--docker-username=... --docker-password=...\n" for name in secrets
    )
    return Step("operator", "Install the CRDs and the operator",
                "Once per cluster. The values point the operator and every image it injects at the mirror"
                + (", and name the pull secret it passes to every workload." if secrets else "."),
                f"kubectl create namespace {namespace}\n{pull}"
                f"helm install toolhive-operator-crds toolhive-operator-crds-{release.operator_chart}.tgz\n"
                f"helm install toolhive-operator toolhive-operator-{release.operator_chart}.tgz -n {namespace} \\\n"
                "  -f bundles/toolhive/operator-values.yaml\n"
                f"kubectl -n {namespace} rollout status deployment/toolhive-operator",
                [("operator-values.yaml", paths.operator_values())])


def install_steps(catalog: Catalog, mirror: str | None) -> list[Step]:
    """The "Install offline" page: the whole catalog, then a profile per namespace."""
    meta = catalog.meta
    profiles = Step("profiles", "Set up each namespace from its registry profile",
                    "Each registry profile is a namespace with its registry, policies and servers; its page is the "
                    "numbered runbook for that namespace.",
                    files=[(f"Registry: {profile.name} (namespace {profile.namespace})", paths.profile_page(profile.name))
                           for profile in meta.registries])
    return [verify_step(meta), mirror_step(meta, mirror, None), operator_step(meta, mirror), profiles]


def profile_steps(catalog: Catalog, profile: RegistryProfile, mirror: str | None) -> list[Step]:
    """A registry profile's runbook, for the registry path(s) its `operator` setting ships."""
    meta = catalog.meta
    return [
        verify_step(meta),
        mirror_step(meta, mirror, profile.name),
        operator_step(meta, mirror),
        _prerequisites(meta, profile, mirror),
        _apply(meta, profile),
        _check(meta, profile),
    ]


def _prerequisites(meta: CatalogMeta, profile: RegistryProfile, mirror: str | None) -> Step:
    ns = profile.namespace
    root = paths.profile_bundle_dir(profile.name)
    commands = [f"kubectl apply -f {root}{'base' if profile.operator != 'legacy' else 'legacy'}/namespace.yaml"]
    for name in derived.pull_secrets(meta, profile):
        commands.append(f"kubectl -n {ns} create secret docker-registry {name} --docker-server={_mirror(meta, mirror).split('/')[0]} "
                        "--docker-username=... --docker-password=...")
    if profile.operator != "legacy":
        commands += ["# registry server chart: database passwords", f"kubectl -n {ns} create secret generic {database_secret_name(profile)} \\",
                     "  --from-literal=app-password=... --from-literal=migration-password=...",
                     "# MCPRegistry instead: a pgpass file, one line per user (postgres:5432:registry:USER:PASSWORD)",
                     f"kubectl -n {ns} create secret generic {pgpass_secret_name(profile)} --from-file=.pgpass=./pgpass"]
    else:
        commands += [f"kubectl -n {ns} create secret generic {database_secret_name(profile)} \\",
                     "  --from-literal=app-password=... --from-literal=migration-password=..."]
    current = profile.operator != "legacy"
    commands += ["# the database, its users and their grants, once, as a PostgreSQL superuser (psql's PGHOST, PGUSER: yours)"
                 + ("; MCPRegistry alone: your pgpass file's passwords in place of the two $(...)" if current else ""),
                 database_commands(ns, database_secret_name(profile)),
                 api_server_commands(ns)]
    release = CHECKED_REGISTRY_SERVER if current else f"{CHECKED_REGISTRY_SERVER}, and v{LEGACY_REGISTRY_API}, the one operator v0.16 runs"
    text = "\n\n".join(part for part in (
        f"The registry needs PostgreSQL reachable as postgres:5432 from namespace {ns} (a Service named postgres), "
        "with database registry, an application user db_app and a migration user db_migrator; run it with the "
        "database image from the mirror list or your own, and run the SQL below in it. The registry server (the "
        f"SQL follows its release {release}) migrates its tables at start-up as db_migrator, which "
        "grants them to the role toolhive_registry_server and cannot create that role; db_app, a member of it, "
        "only reads and writes them.",
        f"The registry server connects only over TLS (sslMode {POSTGRES_SSL_MODE}), and the stock postgres image "
        "starts with ssl off: give PostgreSQL a certificate and key (ssl=on, ssl_cert_file, ssl_key_file below; "
        "it refuses a key others may read: mode 0600 owned by its user, or 0640 owned by root), and put the "
        "pg_hba.conf lines above every other host line, so that the registry's users never connect in the clear."
        if current else "",
        "Each server that needs credentials needs its Secret (see its page). The default-deny NetworkPolicies let only "
        "the registry server reach port 5432 of the namespace's pods: a PostgreSQL that needs more (replication, its "
        "operator) needs a policy of yours selecting its pods.",
        "The default-deny NetworkPolicies also leave out your API server, whose address differs "
        "per cluster: the last commands read it from the kubernetes EndpointSlice and let the registry server's pods "
        "and the proxies' (never the MCP containers') reach it there, a NetworkPolicy each, the platform team's to "
        "apply (a deployer may not create NetworkPolicies); run them again when the control plane's addresses "
        "change. With Cilium, whose ipBlocks match no node's address unless its policy-cidr-match-mode includes "
        "nodes, allow its kube-apiserver entity in a CiliumNetworkPolicy instead.",
    ) if part)
    return Step("prerequisites", "Create the namespace, the database, the secrets and the API server policies", text, "\n".join(commands),
                [("database secret template", f"{paths.registry_server_dir(profile.name)}database-secret.example.yaml")]
                if current else [], [(name, lines.rstrip("\n")) for name, lines in tls_settings().items()] if current else [])


def _apply(meta: CatalogMeta, profile: RegistryProfile) -> Step:
    ns = profile.namespace
    root = paths.profile_bundle_dir(profile.name)
    commands, text = [], []
    if profile.operator != "legacy":
        chart = f"toolhive-registry-server-{meta.toolhive.registry_server_chart}.tgz"
        text.append("Recommended: the registry server from its own Helm chart (MCPRegistry is deprecated since operator "
                    "v0.29.2). The kustomization applies the profile without its MCPRegistry; the chart serves the registry "
                    f"as Service {k8s_toolhive.registry_server_name(profile)}:{REGISTRY_API_PORT} and also lists the servers running in the namespace. "
                    "Its ClusterRole has a fixed name, so one release of the chart per cluster: use MCPRegistry for a second profile.")
        commands += [f"kubectl apply --server-side -k {root}registry-server/",
                     f"helm install {k8s_toolhive.registry_server_name(profile)} {chart} -n {ns} -f {root}registry-server/values.yaml",
                     f"# or, on clusters that still use the deprecated MCPRegistry:\nkubectl apply --server-side -k {root}"]
    if derived.ships_legacy(profile):
        text.append("Operators v0.15 to v0.16 (typed MCPRegistry, v1alpha1): apply legacy/ instead.")
        commands.append(f"kubectl apply --server-side -k {root}legacy/" + ("   # operators up to v0.16 only" if profile.operator == "both" else ""))
    commands.append(f"kubectl apply -k {root}{'legacy/' if profile.operator == 'legacy' else ''}servers/SERVER/   # each server you deploy")
    # kubectl apply never deletes: the policy that let every pod reach PostgreSQL would stay, and so
    # would the one that let every server's proxy reach every MCP container (each server's own
    # `<name>-ingress` replaces it; NetworkPolicies add up, so the old one must go).
    commands.append(f"# upgrading from an earlier release: delete the policies it shipped that opened more than this one\n"
                    f"kubectl -n {ns} delete networkpolicy allow-same-namespace mcp-servers --ignore-not-found")
    # Which servers the earlier release shipped is in that release alone: the diff, holding both, names them.
    release = f"../dist/{paths.release_name(meta.title)}"
    commands.append("# then each server this release no longer ships to the profile: one applied earlier keeps running (admission\n"
                    "# refuses only new ones); the diff of the release you run and this one prints the command deleting each\n"
                    f"mcp-catalog diff {release}-DEPLOYED_VERSION.tar.gz {release}-{meta.version}.tar.gz")
    text.append("Apply the profile server-side (--server-side): its registry ConfigMaps (up to 1 MiB) and a large profile's "
                "admission policies exceed the 256 KiB of annotations a client-side apply fills with a copy of each object.")
    files = [("all.yaml", paths.profile_bundle_all(profile.name))]
    if profile.operator != "legacy":
        files.append(("registry server values.yaml", f"{paths.registry_server_dir(profile.name)}values.yaml"))
    return Step("apply", "Apply the profile", " ".join(text), "\n".join(commands), files)


def _check(meta: CatalogMeta, profile: RegistryProfile) -> Step:
    ns = profile.namespace
    commands = [f"kubectl get namespace {ns} --show-labels"]
    text = f"Every object should be Ready; the registry answers at /registry/{profile.name}/v0.1/servers on port {REGISTRY_API_PORT}."
    if profile.operator != "legacy":
        commands += [f"kubectl -n {ns} get deployment,service {k8s_toolhive.registry_server_name(profile)}   # chart path",
                     f"kubectl -n {ns} get mcpregistry {registry_resource_name(profile)}   # MCPRegistry path",
                     f"kubectl get validatingadmissionpolicy {policy_name(ns)}"]
        if meta.toolhive.registry_auth.mode == "kubernetes":
            commands += [f"kubectl get --raw /.well-known/openid-configuration   # its issuer must be {meta.toolhive.registry_auth.issuer}",
                         f"{registry_token_command(profile)}   # a token for writes (/v1/)"]
            text += (" Reading needs no token; writing (/v1/) needs a token of the service account registry-admin, checked "
                     "against the cluster's service-account issuer, which must be the one catalog.yaml names "
                     "(toolhive.registry_auth.issuer) or every write is refused. One gap is the registry server's own "
                     "(v1.5.1): a /v1/registries/ path holding an encoded '..' (%2F..) skips the check, so refuse /v1/ "
                     "requests whose raw path holds '..' or %2E in a proxy in front of it (the catalog's docs/bundles.md, "
                     "'Who may write to the registry').")
    else:
        commands.append(f"kubectl -n {ns} get mcpregistry {registry_resource_name(profile)}")
    commands += [f"kubectl -n {ns} get mcpserver,mcpremoteproxy,mcptoolconfig",
                 f"kubectl -n {ns} get events --field-selector reason=Failed   # ImagePullBackOff means an image is missing from the mirror"]
    return Step("check", "Check it", text, "\n".join(commands))
