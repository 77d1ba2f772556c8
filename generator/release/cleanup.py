"""What to delete in the cluster after an upgrade: the workloads and objects a release no longer ships.

`kubectl apply` of a new release deletes nothing. From two releases' admissions (`admissions`) this
works out each workload a profile's namespace is shipped no more (`withdrawn_workloads`) and each
namespace no profile is deployed to any more (`vacated_namespaces`); given the releases' bundles
(`bundle_objects`), every other object of them to delete (`with_server_objects`,
`with_namespace_objects`), with the kubectl commands that delete them. It reads no release itself
and reports nothing else: `diff` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from generator.models import RegistryProfile
from generator.release.admissions import WORKLOAD_RESOURCES, Admissions
from generator.release.bundle_objects import NAME, ReleaseBundles
from generator.release.wording import shown
from generator.render.kubernetes.names import database_secret_name, pgpass_secret_name
from generator.render.kubernetes.policy import policy_name
from generator.render.kubernetes.workloads import attach_policy_name, service_policy_name, workload_policy_name


@dataclass(frozen=True)
class Withdrawn:
    """A workload a profile's namespace was shipped by the old release and is not by the new one."""

    profile: str
    """The profile that shipped it (in the old release)."""
    server: str
    namespace: str
    resource: str
    """`mcpserver` or `mcpremoteproxy`."""
    name: str
    """The object's name (the server's, as the bundles name its workload)."""
    command: str
    """The kubectl command deleting it and, when both releases' bundles were read, every other object
    of the server `objects` names (it may never have been applied: not found is no error)."""
    objects: list[str] = field(default_factory=list)
    """`kind/name` of every object the old release's bundle rendered for the server in the namespace
    and the new one renders there no more, the workload among them, and of the Secret made by hand
    from the server's template (`secret/<server>-secrets`) where the old release shipped one and the
    new one deploys the server there no more; empty when the bundles were not read."""
    variants: list[str] = field(default_factory=list)
    """The old bundle's variants these objects are of ("current", "legacy"), when the bundles were read."""
    why: str = ""
    """Why the namespace has it no more, as the command's comment says it: `withdrawn from profile p`
    (no longer admitted or shipped), `now an mcpremoteproxy of profile p` (the server changed kind),
    `profile p moved to namespace n`, `profile p removed`."""
    unchecked: list[str] = field(default_factory=list)
    """`kind/name` of each object the old bundle rendered for the server there that no command deletes:
    of a kind the build never renders in a profile's namespace (`NAMESPACED_KINDS`), which `-n` may
    not confine (a release of another version, or a crafted one); to check by hand."""


@dataclass(frozen=True)
class Vacated:
    """A namespace the old release's profiles were deployed to and no profile of the new one is (a
    profile removed or moved to another namespace): `kubectl apply` of the new release never touches
    it, so what the old bundle put there keeps working as that release set it: the deployers' Role
    (which still lets them create servers there), the registry serving the old entries, the
    NetworkPolicies, and the admission policies bound to the namespace, which keep admitting what the
    old release admitted."""

    namespace: str
    profiles: list[str]
    """The old release's profiles deployed to it."""
    commands: list[str] = field(default_factory=list)
    """The kubectl commands deleting, in this order, every object of the profiles' bundles but the
    servers' (`to delete` has those) and the Namespace: `with_namespace_objects`. Empty when the
    bundles were not read."""
    objects: list[str] = field(default_factory=list)
    """`kind/name` of each object the commands delete."""
    unchecked: list[str] = field(default_factory=list)
    """`kind/name` of each object of the profiles' bundles that no command deletes: neither of a kind
    the build renders in a profile's namespace (`NAMESPACED_KINDS`) nor an admission policy or binding
    under a name the build gives the namespace's (`admission_names`): a release of another version, or
    a crafted one, could name a CustomResourceDefinition there, whose delete removes every object of
    it in the cluster; to check by hand."""


VACATED_NOTE = ("no profile is deployed here any more, and the new release's kubectl apply never touches it: "
                "the deployers' Role, the registry and the admission policies bound to it keep working as the old "
                "release set them until deleted (the namespace itself too, once nothing of yours is left in it)")
VACATED_STEPS = ("its registry and its database Secret, Roles and service account",
                 "the admission policies bound to it, once no Role lets deployers create servers there",
                 "its network and mesh policies, once nothing else runs there (they confine every pod of it)")
UNCHECKED = "not deleted, not what this version's bundles render for the namespace: check by hand"
"""What the report says of the objects `unchecked` names."""
VACATED_UNREAD = ("(its objects could not be read from the old release's bundles, as a catalog-wide note says: find "
                  "them in the namespace and among the admission policies bound to it, and delete them by hand)")
"""What `diff`, and the `--previous` changes page and feed, say of a vacated namespace whose objects
could not be read."""


def withdrawn_workloads(old: Admissions, new: Admissions) -> list[Withdrawn]:
    """The workloads the old release shipped to a namespace and the new one does not ship there, by
    namespace, kind and name: a server withdrawn or all its tools withheld, a profile removed or moved
    to another namespace, a server now deployed as another kind; each saying which."""
    renamed = renamed_profiles({name: profile.namespace for name, profile in old.profiles.items()},
                               {name: profile.namespace for name, profile in new.profiles.items()})
    successors = {was: name for name, was in renamed.items()}
    return [
        Withdrawn(profile, server, namespace, resource, name,
                  f"kubectl -n {namespace} delete {resource}/{name} --ignore-not-found",
                  why=_why_withdrawn(profile, namespace, resource, name, new, successors.get(profile)))
        for (namespace, resource, name), (profile, server) in sorted(old.running.items())
        if (namespace, resource, name) not in new.running
    ]


def renamed_profiles(before: dict[str, str | None], after: dict[str, str | None]) -> dict[str, str]:
    """Each new profile that takes the namespace of a removed one, with the removed one's name, given
    each release's profiles' namespaces by name (a namespace two removed profiles shared goes to the
    first; a second new profile there is new)."""
    removed: dict[str | None, str] = {}
    for name, namespace in before.items():
        if name not in after:
            removed.setdefault(namespace, name)
    renamed = {}
    for name, namespace in after.items():
        was = removed.pop(namespace, None) if name not in before else None
        if was is not None:
            renamed[name] = was
    return renamed


def _why_withdrawn(profile: str, namespace: str, resource: str, name: str, new: Admissions,
                   successor: str | None) -> str:
    """Why the new release no longer ships a workload to `namespace`: a withdrawal reads as the server
    leaving the profile, which a kind change or a profile moved is not; a profile renamed
    (`renamed_profiles`: `successor` its new name) as the profile section says it."""
    for other in WORKLOAD_RESOURCES.values():
        if other != resource and (namespace, other, name) in new.running:
            return f"now an {other} of profile {shown(new.running[namespace, other, name][0])}"
    if successor is not None:
        return f"profile {shown(profile)} renamed to {shown(successor)}, which does not ship it"
    if profile not in new.profiles:
        there = sorted(other.name for other in new.profiles.values() if other.namespace == namespace)
        return f"profile {shown(profile)} removed" + (f", and {', '.join(there)} deployed there does not ship it" if there else "")
    if new.profiles[profile].namespace != namespace:
        return f"profile {shown(profile)} moved to namespace {new.profiles[profile].namespace}"
    return f"withdrawn from profile {shown(profile)}"


def vacated_namespaces(old: Admissions, new: Admissions) -> list[Vacated]:
    """The namespaces the old release's profiles were deployed to and none of the new release's is."""
    kept = {profile.namespace for profile in new.profiles.values()}
    by_namespace: dict[str, list[str]] = {}
    for profile in old.profiles.values():
        if profile.namespace not in kept:
            by_namespace.setdefault(profile.namespace, []).append(profile.name)
    return [Vacated(namespace, sorted(profiles)) for namespace, profiles in sorted(by_namespace.items())]


# Kinds that confine the namespace's pods (what they may reach, what may reach them): deleted last,
# once nothing else runs there, since without them a pod left there (the registry's PostgreSQL) is open.
CONFINING = frozenset({"networkpolicy", "peerauthentication", "authorizationpolicy"})
NAMESPACED_KINDS = frozenset({
    "configmap", "secret", "serviceaccount", "role", "rolebinding", "mcpregistry", "mcpserver", "mcpremoteproxy",
    "mcptoolconfig", *CONFINING,
})
"""The kinds the build renders in a profile's namespace: the only ones a `kubectl -n` line deletes (`-n`
does not confine a kind without a namespace, a Node or a ClusterIssuer, which a bundle may place in one)."""
ADMISSION_KINDS = frozenset({"validatingadmissionpolicy", "validatingadmissionpolicybinding"})
"""The only cluster-wide kinds the build renders for a profile, deleted only under the names it gives
the namespace's (`admission_names`)."""


def admission_names(namespace: str, parts: int) -> set[str]:
    """The names the build gives the admission policies of a profile's namespace, and their bindings
    (named as their policy): the servers' and the workloads' policies in up to `parts` parts, the
    Services' and the attach policy (`generator.render.kubernetes.policy` and `.workloads`)."""
    return {service_policy_name(namespace), attach_policy_name(namespace),
            *(named(namespace, part) for named in (policy_name, workload_policy_name) for part in range(parts))}


def with_namespace_objects(
    item: Vacated, document: dict[str, Any], bundles: ReleaseBundles, profiles: dict[str, RegistryProfile]
) -> Vacated:
    """`item` with the commands deleting what its profiles' bundles (every variant) rendered outside the
    servers' folders, in three steps: in the namespace, what runs or grants (the registry, its data,
    the Roles, RoleBindings and service account); then the admission policies and bindings, cluster-wide
    but named for the namespace by the build (so no other namespace's are among them), once no Role lets
    deployers create what they confine; then the network and mesh policies. Never the Namespace, which
    may hold what is not the catalog's. The registry's database Secret, made by hand from a template no
    kustomization renders, is named as `_registry_leftovers` names it, under both operators' names.
    Only what the build renders is deleted: of `NAMESPACED_KINDS` in the namespace, and admission
    policies and bindings under `admission_names`; anything else is `unchecked`."""
    steps: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    unchecked: set[str] = set()
    found = [rendered for profile in sorted(profiles_in(document, {item.namespace}))
             for rendered in bundles.everything(profile)
             if rendered.server is None and rendered.kind.lower() != "namespace"]
    policies = admission_names(item.namespace, len(found) + 1)
    for rendered in found:
        kind = rendered.kind.lower()
        if kind in ADMISSION_KINDS and rendered.name in policies:
            steps[1].add(rendered.reference)
        elif kind in NAMESPACED_KINDS and rendered.namespace == item.namespace:
            steps[2 if kind in CONFINING else 0].add(rendered.reference)
        elif kind not in NAMESPACED_KINDS:
            unchecked.add(rendered.reference)
    for name in item.profiles:
        steps[0].update(f"secret/{secret(profiles[name])}" for secret in (pgpass_secret_name, database_secret_name))
    scopes = (f"-n {item.namespace} ", "", f"-n {item.namespace} ")
    commands = [f"kubectl {scope}delete {' '.join(sorted(objects))} --ignore-not-found   # {why}"
                for scope, objects, why in zip(scopes, steps, VACATED_STEPS) if objects]
    return replace(item, commands=commands, objects=[reference for objects in steps for reference in sorted(objects)],
                   unchecked=sorted(unchecked))


def profiles_in(document: dict[str, Any], namespaces: set[str]) -> set[str]:
    """The profiles of a release deployed to one of `namespaces`, by names fit for a path."""
    return {profile["name"] for profile in document["catalog"].get("registries") or []
            if profile_namespace(profile) in namespaces and NAME.match(profile["name"])}


def profile_namespace(profile: dict[str, Any]) -> str | None:
    """A profile's namespace as a release's document gives it; None when it is no string (an unchecked
    document may hold a list there, which no set or dict can look up)."""
    namespace = profile.get("namespace")
    return namespace if isinstance(namespace, str) else None


NamespaceObjects = dict[str, dict[tuple[str, str], set[str | None]]]
"""Per namespace, each (kind, name) a release's bundles render there and the servers whose folders
render it (None: a profile-wide part)."""


def namespace_objects(document: dict[str, Any], bundles: ReleaseBundles, namespaces: set[str]) -> NamespaceObjects:
    """What the release's bundles render in each of `namespaces` (`NamespaceObjects`); made once for every
    withdrawn server of the namespace."""
    found: NamespaceObjects = {namespace: {} for namespace in namespaces}
    for namespace in namespaces:
        for profile in profiles_in(document, {namespace}):
            for rendered in bundles.everything(profile):
                if rendered.namespace == namespace:
                    found[namespace].setdefault((rendered.kind.lower(), rendered.name), set()).add(rendered.server)
    return found


def with_server_objects(
    withdrawn: list[Withdrawn], old_document: dict[str, Any], old_bundles: ReleaseBundles, still_rendered: NamespaceObjects
) -> list[Withdrawn]:
    """Each withdrawn workload as one command per variant of the old bundle deleting everything of its
    server there: the objects its folders rendered in the namespace, but any the new release renders in
    that namespace (`still_rendered`: its `namespace_objects`, which need not keep its bundles), any
    another server's folder (of those the bundles render: `diff_release_targets`
    renders only the withdrawn servers') or a profile-wide part of the old one rendered there, and any
    of a kind the build never renders in a profile's namespace (`unchecked`: `-n` may not confine
    it); and the Secret made from the server's template where the
    old release shipped one (by hand: it may be absent), unless the new release still deploys the
    server in the namespace (as another kind: it reads the same Secret). Variants deleting the same
    objects share one command."""
    old_owners, new_owners = namespace_objects(old_document, old_bundles, {item.namespace for item in withdrawn}), still_rendered
    result = []
    for item in withdrawn:
        old_here = old_owners[item.namespace]
        kept = set(new_owners[item.namespace]) | {key for key, owners in old_here.items() if owners - {item.server}}
        still_deployed = any(item.server in owners for owners in new_owners[item.namespace].values())
        secret = set() if still_deployed else {rendered.reference for rendered in old_bundles.secret_template(item.server)
                                               if ("secret", rendered.name) not in kept}
        by_objects: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
        for variant, folder in old_bundles.profile(item.profile) if NAME.match(item.profile) else ():
            rendered_here = [rendered for rendered in old_bundles.server_objects(folder, item.server)
                             if (rendered.kind.lower(), rendered.name) not in kept]
            objects = sorted(secret | {rendered.reference for rendered in rendered_here
                                       if rendered.kind.lower() in NAMESPACED_KINDS
                                       and rendered.namespace == item.namespace})
            unchecked = sorted({rendered.reference for rendered in rendered_here
                                if rendered.kind.lower() not in NAMESPACED_KINDS})
            if objects:
                by_objects.setdefault((tuple(objects), tuple(unchecked)), []).append(variant)
        if not by_objects:
            result.append(item)
        for (objects, unchecked), variants in by_objects.items():
            command = f"kubectl -n {item.namespace} delete {' '.join(objects)} --ignore-not-found"
            result.append(replace(item, command=command, objects=list(objects), variants=variants,
                                  unchecked=list(unchecked)))
    return result
