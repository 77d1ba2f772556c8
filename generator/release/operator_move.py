"""What `diff` tells whoever runs a profile's `legacy/` folder when the new release moves the profile to
the current operator (its `operator:` from `legacy` or `both` to `current`, or from `legacy` to `both`).

The move is not an apply: the legacy operator (v0.16) cannot read the new objects (v1beta1), and the
current one cannot read two of the old: under the new CRDs a typed MCPRegistry reads without its
registries, and an MCPRemoteProxy without its `remoteURL`. So the lines name, in the order of
docs/bundles.md "Moving from a legacy operator", what to delete before the CRDs change, what replaces
the rest under the same names (nothing else of `legacy/` may be deleted: its admission policies, Roles
and network policies hold the namespace until the new ones replace them), and what is left after.
Names come from the old release's validated profile; this module decides nothing about when a profile
changed (the caller does).
"""

from __future__ import annotations

from generator.derived import ships_current, ships_legacy
from generator.models import RegistryProfile
from generator.render.kubernetes.names import database_secret_name, registry_resource_name, registry_service_name

MOVE_SECTION = 'docs/bundles.md, "Moving from a legacy operator"'


def legacy_move_lines(old: RegistryProfile, new: RegistryProfile) -> list[str]:
    """The steps of the move, when the old release shipped `legacy/` and the new one gives the current
    operator's folders to a profile that had none, or no longer ships `legacy/`; else none."""
    if not ships_legacy(old) or not ships_current(new) or old.operator == new.operator:
        return []
    namespace, registry = old.namespace, registry_resource_name(old)
    return [
        f"where its legacy/ folder is applied (operators up to v0.16), the move to the current operator is "
        f"{MOVE_SECTION}, in this order: first, while the old operator still runs, kubectl -n {namespace} delete "
        f"mcpregistry/{registry} --ignore-not-found (under the new CRDs it reads without its registries, and "
        f"the registry server chart cannot install over its Deployment and Service {registry_service_name(old)})",
        "then helm upgrade the CRDs and the operator, apply the profile's current folder (its objects, admission "
        "policies included, replace legacy/'s under the same names: delete nothing else of legacy/), and have the "
        "deployers apply each server's servers/<name>/ again (an MCPRemoteProxy has no URL under the new CRDs, "
        "and the new policy refuses the legacy shape)",
        f"after, on the MCPRegistry path only, once its registry runs: kubectl -n {namespace} delete "
        f"secret/{database_secret_name(old)} --ignore-not-found (legacy/'s database Secret; the registry server "
        "chart reads it, keep it there)",
    ]
