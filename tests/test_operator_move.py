"""The move of a profile from a legacy operator (v0.16, `legacy/`) to the current one, as docs/bundles.md
"Moving from a legacy operator" gives it, step by step, with the real tools.

Two releases of the default catalog: 1.0.0 with `sandbox` on `operator: legacy` (what the cluster runs)
and 1.0.1 with it on `operator: current`. What exists at each step is what `kubectl kustomize` renders
of the folders applied so far; a stored object read through the new CRDs is what the API server gives
for it (the fields the new schema lacks dropped: it prunes on every read of a stored object), checked
against those CRDs; the admission policies in force at each step are evaluated with the CEL engine
(`test_bundles_admission`'s harness). And `mcp-catalog diff` of the two releases names the steps.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import DEFAULT_SOURCE, REPO
from generator.build import build
from generator.cli import main
from kustomized import kustomize
from test_bundles_admission import review, review_update
from test_bundles_validation import crd_version, validator

PROFILE, NAMESPACE = "sandbox", "mcp-sandbox"
CRD_FILES = {"MCPServer": "toolhive.stacklok.dev_mcpservers.yaml", "MCPRemoteProxy": "toolhive.stacklok.dev_mcpremoteproxies.yaml",
             "MCPToolConfig": "toolhive.stacklok.dev_mcptoolconfigs.yaml", "MCPRegistry": "toolhive.stacklok.dev_mcpregistries.yaml"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the release the cluster runs, the one it moves to), as built sites."""
    root = tmp_path_factory.mktemp("operator-move")
    sites = []
    for version, operator in (("1.0.0", "legacy"), ("1.0.1", "current")):
        source = root / f"src-{operator}"
        shutil.copytree(DEFAULT_SOURCE, source)
        catalog = source / "catalog.yaml"
        text = catalog.read_text(encoding="utf-8").replace("    operator: both\n", f"    operator: {operator}\n")
        catalog.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", text), encoding="utf-8")
        build(source, root / f"site-{operator}")
        sites.append(root / f"site-{operator}" / "bundles" / "registries" / PROFILE)
    return sites[0], sites[1]


def move_section() -> str:
    text = (REPO / "docs" / "bundles.md").read_text(encoding="utf-8")
    return text.split("### Moving from a legacy operator\n", 1)[1].split("\n### ", 1)[0]


def move_commands() -> list[str]:
    """The commands of the section's script, in order (comments dropped)."""
    script = move_section().split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in script.splitlines() if line and not line.startswith("#")]


def read_through_new_crd(document: dict[str, Any]) -> dict[str, Any]:
    """A stored object as the API server reads it once the current CRDs are installed: the fields its
    schema lacks dropped (metadata is the API server's own)."""
    schema = crd_version(CRD_FILES[document["kind"]], "v1beta1")
    body = _pruned(schema, {key: value for key, value in document.items() if key != "metadata"})
    return {**body, "apiVersion": "toolhive.stacklok.dev/v1beta1", "metadata": copy.deepcopy(document["metadata"])}


def _pruned(schema: dict[str, Any], value: Any) -> Any:
    """`value` less what structural schema pruning drops: keys neither in `properties` nor under
    `additionalProperties`, unless the node keeps unknown fields."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_pruned(schema["items"], item) for item in value]
    if not isinstance(value, dict) or ("properties" not in schema and schema.get("x-kubernetes-preserve-unknown-fields")):
        return value
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
    kept = {}
    for key, item in value.items():
        if key in properties:
            kept[key] = _pruned(properties[key], item)
        elif isinstance(extra, dict):
            kept[key] = _pruned(extra, item)
        elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
            kept[key] = item
    return kept


def named(documents: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(document["kind"], document["metadata"]["name"]): document for document in documents}


def servers(profile: Path, folder: str) -> list[dict[str, Any]]:
    return [document for server in sorted((profile / folder).iterdir()) for document in kustomize(server)]


def policies(folder: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("admission-policy*.yaml"))
            if "binding" not in path.name]


def test_pruning_drops_what_the_schema_lacks_and_keeps_maps() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "object", "additionalProperties": {"type": "string"}},
                                              "b": {"type": "array", "items": {"type": "object", "properties": {"c": {}}}}}}
    assert _pruned(schema, {"a": {"x": "1"}, "b": [{"c": 1, "d": 2}], "e": 3}) == {"a": {"x": "1"}, "b": [{"c": 1}]}


def test_the_section_gives_the_steps_in_their_order() -> None:
    commands = move_commands()
    order = ["delete mcpregistry/sandbox", "helm upgrade toolhive-operator-crds", "helm upgrade toolhive-operator ",
             "kubectl apply --server-side -k bundles/registries/sandbox/registry-server/", "helm install sandbox-api",
             "kubectl apply -k bundles/registries/sandbox/servers/SERVER/", "delete secret/sandbox-db"]
    found = [next(index for index, command in enumerate(commands) if step in command) for step in order]
    assert found == sorted(found), list(zip(order, found))
    assert not any("delete -k" in command or "legacy/" in command for command in commands), commands


def test_every_folder_the_section_applies_renders(releases: tuple[Path, Path]) -> None:
    _, new = releases
    folders = [re.search(r"-k bundles/registries/sandbox/(\S*)", command).group(1)
               for command in move_commands() if " -k " in command]
    assert folders and all(kustomize(new / folder.replace("SERVER", "fetch")) for folder in folders), folders
    assert "kubectl apply --server-side -k bundles/registries/sandbox/ " in move_section().replace("\n#    ", " ")


def test_only_the_mcpregistry_of_legacy_has_no_namesake_in_the_current_folders(releases: tuple[Path, Path]) -> None:
    """What step 3 leaves behind is what step 1 deletes (the MCPRegistry path has a namesake for it, which
    step 1 deletes all the same: see the next test): every other object of legacy/ is replaced in place."""
    old, new = releases
    legacy = named(kustomize(old / "legacy"))
    for folder, left in (("registry-server", {("MCPRegistry", PROFILE)}), (".", set())):
        current = named(kustomize(new / folder))
        assert set(legacy) - set(current) == left, folder
        assert all(current[key]["metadata"].get("namespace") == document["metadata"].get("namespace")
                   for key, document in legacy.items() if key in current)
    # the admission policies and bindings above all: never absent between legacy/'s and the current ones
    assert {key for key in legacy if key[0].startswith("ValidatingAdmissionPolicy")} == {
        key for key in named(kustomize(new / "base")) if key[0].startswith("ValidatingAdmissionPolicy")}
    secret = yaml.safe_load((old / "legacy" / "database-secret.example.yaml").read_text(encoding="utf-8"))
    assert f"delete secret/{secret['metadata']['name']} " in " ".join(move_commands())


def test_under_the_new_crds_the_registry_and_the_remote_proxies_lose_what_they_run_on(releases: tuple[Path, Path]) -> None:
    """Step 1 and step 4's reasons: the stored objects read through the current CRDs."""
    old, _ = releases
    registry = next(d for d in kustomize(old / "legacy") if d["kind"] == "MCPRegistry")
    read = read_through_new_crd(registry)
    assert {"registries", "databaseConfig", "enforceServers"} <= set(registry["spec"]) - set(read["spec"])
    assert any("'configYAML' is a required property" in error.message
               for error in validator(crd_version(CRD_FILES["MCPRegistry"], "v1beta1")).iter_errors(read))
    for document in servers(old, "legacy/servers") + [d for d in kustomize(old / "legacy") if d["kind"] == "MCPToolConfig"]:
        read = read_through_new_crd(document)
        if document["kind"] == "MCPRemoteProxy":
            assert "remoteURL" in document["spec"] and "remoteUrl" not in read["spec"], document["metadata"]["name"]
        else:
            assert read["spec"] == document["spec"], document["metadata"]["name"]


def test_admission_holds_at_every_step_and_refuses_nothing_running(releases: tuple[Path, Path]) -> None:
    old, new = releases
    legacy_policy, current_policy = policies(old / "legacy"), policies(new / "base")
    stored = named([read_through_new_crd(document) for document in servers(old, "legacy/servers")])
    current = servers(new, "servers")
    assert len(current) == len(stored) > 20
    for policy in (legacy_policy, current_policy):
        # the operator's updates of the running servers (a finalizer) change nothing pinned
        for document in stored.values():
            touched = copy.deepcopy(document)
            touched["metadata"]["finalizers"] = ["toolhive.stacklok.dev/finalizer"]
            assert review_update(policy, document, touched) == [], document["metadata"]["name"]
    # step 2: legacy/'s policy is still in force and refuses the current folders (deployers wait for step 3)
    assert all(review(legacy_policy, document) for document in current)
    # step 4: the current policy admits each server's current object over the stored one ...
    for document in current:
        before = stored[(document["kind"], document["metadata"]["name"])]
        assert review_update(current_policy, before, document) == [], document["metadata"]["name"]
    # ... and refuses the legacy shape
    assert all(review(current_policy, document) for document in stored.values())


def test_diff_names_the_move_in_order(releases: tuple[Path, Path], runner) -> None:
    old, new = releases
    result = runner.invoke(main, ["diff", str(old.parents[2]), str(new.parents[2])])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "operator: legacy -> current" in text
    steps = [f"kubectl -n {NAMESPACE} delete mcpregistry/{PROFILE} --ignore-not-found", "helm upgrade the CRDs and the operator",
             "servers/<name>/ again", f"kubectl -n {NAMESPACE} delete secret/{PROFILE}-db --ignore-not-found"]
    at = [text.find(step) for step in steps]
    assert -1 not in at and at == sorted(at), list(zip(steps, at))
    assert '"Moving from a legacy operator"' in text and "### Moving from a legacy operator\n" in (
        REPO / "docs" / "bundles.md").read_text(encoding="utf-8")
