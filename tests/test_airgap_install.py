"""The air-gap settings of the bundles and the runbook: which folders a profile ships, pull
secrets, private remote endpoints, registry-export annotations, the mutable-tag rule, the `_meta`
budget, pinning the ToolHive images and the offline install pages.

The charts and the image audit are in test_toolhive_charts.py, whose helpers these tests share.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CATALOG_YAML, DEFAULT_SOURCE, FETCH_YAML, REMOTE_YAML
from generator.source.validate import read_catalog
from generator.render.context import RenderContext
from test_bundles_admission import review
from test_toolhive_charts import MIRROR, default_output, rendered_output, values  # noqa: F401 - default_output is a fixture


# --- operator setting, pull secrets, private endpoints, export annotations ---------


def test_operator_setting_chooses_the_folders(write_tree) -> None:
    catalog = CATALOG_YAML.replace("    namespace: mcp-prod\n", "    namespace: mcp-prod\n    operator: legacy\n")
    files = rendered_output(write_tree(catalog=catalog), mirror=None)
    production = {p for p in files if p.startswith("bundles/registries/production/")}
    assert "bundles/registries/production/legacy/mcpregistry.yaml" in production
    assert not any(p.startswith(("bundles/registries/production/base/", "bundles/registries/production/registry-server/")) for p in production)
    assert values(files, "bundles/registries/production/kustomization.yaml")["resources"] == ["legacy"]
    assert [d["kind"] for d in yaml.safe_load_all(files["bundles/registries/production/all.yaml"]) if d][1] == "ConfigMap"
    sandbox = {p for p in files if p.startswith("bundles/registries/sandbox/")}
    assert "bundles/registries/sandbox/registry-server/values.yaml" in sandbox
    assert not any(p.startswith("bundles/registries/sandbox/legacy/") for p in sandbox)


def test_pull_secrets_reach_every_pod_and_a_profile_overrides_them(write_tree) -> None:
    catalog = CATALOG_YAML.replace("categories:", "toolhive:\n  image_pull_secrets: [corp-pull]\ncategories:")
    catalog = catalog.replace("    namespace: mcp-sandbox\n", "    namespace: mcp-sandbox\n    image_pull_secrets: [sandbox-pull]\n")
    files = rendered_output(write_tree(catalog=catalog))
    server = values(files, "bundles/registries/production/servers/fetch/mcpserver.yaml")["spec"]
    assert server["podTemplateSpec"]["spec"]["imagePullSecrets"] == [{"name": "corp-pull"}]
    assert server["resourceOverrides"] == {"proxyDeployment": {"imagePullSecrets": [{"name": "corp-pull"}]}}
    proxy = values(files, "bundles/registries/sandbox/servers/docs-remote/mcpremoteproxy.yaml")["spec"]
    assert proxy["resourceOverrides"] == {"proxyDeployment": {"imagePullSecrets": [{"name": "sandbox-pull"}]}}
    assert values(files, "bundles/registries/sandbox/registry-server/values.yaml")["imagePullSecrets"] == [{"name": "sandbox-pull"}]
    assert values(files, "bundles/toolhive/operator-values.yaml")["operator"]["defaultImagePullSecrets"] == ["corp-pull"]


def test_private_remote_url_gets_allow_private_endpoint_and_a_warning(write_tree) -> None:
    private = REMOTE_YAML.replace("https://mcp.example.com/mcp", "http://docs.tools.svc.cluster.local:8080/mcp")
    loopback = REMOTE_YAML.replace("name: docs-remote", "name: local-docs").replace("https://mcp.example.com/mcp", "http://127.0.0.1:3000/mcp")
    source = write_tree({"fetch.yaml": FETCH_YAML, "docs-remote.yaml": private, "local-docs.yaml": loopback})
    files = rendered_output(source, mirror=None)
    proxy = values(files, "bundles/servers/docs-remote/workload/mcpremoteproxy.yaml")
    assert proxy["spec"]["allowPrivateEndpoint"] is True
    from test_bundles_validation import CRD_FILES, crd_version, validator

    assert list(validator(crd_version(CRD_FILES["MCPRemoteProxy"], "v1beta1")).iter_errors(proxy)) == []
    assert "allowPrivateEndpoint" not in values(files, "bundles/servers/local-docs/workload/mcpremoteproxy.yaml")["spec"]
    warnings = [w.format() for w in read_catalog(source).warnings if w.field == "remote.url"]
    assert warnings == [
        f"{source}/servers/docs-remote.yaml:10: remote.url: warning: the host is private or cluster-internal: its "
        "MCPRemoteProxy sets allowPrivateEndpoint: true (the operator refuses the URL without it)",
        f"{source}/servers/local-docs.yaml:10: remote.url: warning: the host is loopback, link-local or kubernetes.default: "
        "the ToolHive operator refuses it even with allowPrivateEndpoint, so its MCPRemoteProxy cannot run",
    ]


def test_public_remote_url_gets_no_flag(default_output: dict[str, bytes]) -> None:
    proxies = [values(default_output, p) for p in default_output if p.endswith("/mcpremoteproxy.yaml")]
    assert len(proxies) > 5 and not any("allowPrivateEndpoint" in proxy["spec"] for proxy in proxies)


def test_profile_servers_carry_the_registry_export_annotations(default_output: dict[str, bytes]) -> None:
    server = values(default_output, "bundles/registries/production/servers/fetch/mcpserver.yaml")["metadata"]["annotations"]
    assert server["toolhive.stacklok.dev/registry-export"] == "true"
    assert server["toolhive.stacklok.dev/registry-url"] == "http://mcp-fetch-proxy.mcp-production.svc.cluster.local:8080/mcp"
    assert server["toolhive.stacklok.dev/registry-description"]
    assert yaml.safe_load(server["toolhive.stacklok.dev/tools"]) == ["fetch"]
    remote = values(default_output, "bundles/registries/sandbox/servers/linear/mcpremoteproxy.yaml")["metadata"]["annotations"]
    assert remote["toolhive.stacklok.dev/registry-url"] == "http://mcp-linear-remote-proxy.mcp-sandbox.svc.cluster.local:8080/mcp"
    # a server bundle has no namespace, hence no URL to export
    assert "annotations" not in values(default_output, "bundles/servers/fetch/workload/mcpserver.yaml")["metadata"]


# --- mutable tags, the _meta budget, pinning the install's images ------------------


def test_production_admits_no_mutable_tag() -> None:
    files = rendered_output(DEFAULT_SOURCE, mirror=None)

    def policies(profile: str) -> list[dict]:
        base = f"bundles/registries/{profile}/base/"
        return [values(files, p) for p in sorted(files) if p.startswith(base + "admission-policy") and "binding" not in p]

    production = policies("production")
    workloads = [values(files, p) for p in files
                 if p.startswith("bundles/registries/production/servers/") and p.endswith("/mcpserver.yaml")]
    assert len(workloads) >= 6 and all(review(production, workload) == [] for workload in workloads)
    assert not any(workload["spec"]["image"].endswith(":latest") for workload in workloads)
    assert "bundles/registries/production/servers/time/mcpserver.yaml" not in files
    time = values(files, "bundles/registries/sandbox/servers/time/mcpserver.yaml")  # validated and approved, but mutable
    assert time["spec"]["image"] == "docker.io/mcp/time:latest"
    assert review(policies("sandbox"), time) == []  # sandbox has no such rule
    time["metadata"]["namespace"] = "mcp-production"
    assert review(production, time)
    data = values(files, "bundles/registries/production/base/configmap-production-data-1.yaml")["data"]["registry.json"]
    names = {server["name"] for server in json.loads(data)["data"]["servers"]}
    assert "com.example.mcp/time" not in names and "com.example.mcp/fetch" in names


MUTABLE = FETCH_YAML.replace("name: fetch\n", "name: clock\n").replace(
    "image: ghcr.io/stackloklabs/gofetch/server:1.0.3\ndigest: sha256:0000000000000000000000000000000000000000000000000000000000000001\n",
    "image: docker.io/mcp/time\n")
TAGGED = FETCH_YAML.replace("name: fetch\n", "name: tagged\n").replace(
    "digest: sha256:0000000000000000000000000000000000000000000000000000000000000001\n", "")


def test_image_rules_leave_servers_out_with_a_warning(write_tree) -> None:
    catalog = CATALOG_YAML.replace("      tiers: [validated]\n", "      tiers: [validated]\n    refuse: mutable-tags\n")
    catalog = catalog.replace("    namespace: mcp-sandbox\n", "    namespace: mcp-sandbox\n    require_digest: true\n")
    source = write_tree({"fetch.yaml": FETCH_YAML, "clock.yaml": MUTABLE, "tagged.yaml": TAGGED}, catalog=catalog)
    warnings = [w.format() for w in read_catalog(source).warnings if "leaves" in w.message]
    assert warnings == [
        f"{source}/servers/clock.yaml:12: image: warning: registry profile 'production' leaves 'clock' out: image "
        "docker.io/mcp/time has a mutable tag (latest or none) and no digest (profile refuses mutable tags)",
        f"{source}/servers/clock.yaml:12: image: warning: registry profile 'sandbox' leaves 'clock' out: image "
        "docker.io/mcp/time is not pinned by digest (profile requires digests)",
        f"{source}/servers/tagged.yaml:12: image: warning: registry profile 'sandbox' leaves 'tagged' out: image "
        "ghcr.io/stackloklabs/gofetch/server:1.0.3 is not pinned by digest (profile requires digests)",
    ]
    files = rendered_output(source, mirror=None)
    production = {p.split("/")[4] for p in files if p.startswith("bundles/registries/production/servers/")}
    sandbox = {p.split("/")[4] for p in files if p.startswith("bundles/registries/sandbox/servers/")}
    assert production == {"fetch", "tagged"} and sandbox == {"fetch"}
    assert "docker.io/mcp/time\n" not in files["mirror/profiles/production/images.txt"].decode()
    policy = values(files, "bundles/registries/production/base/admission-policy.yaml")
    clock = values(files, "bundles/registries/production/servers/fetch/mcpserver.yaml")
    clock["spec"]["image"] = "docker.io/mcp/time"
    assert any("image" in message for message in review(policy, clock))


def test_meta_over_the_registry_server_limit_fails_the_build(write_tree, runner) -> None:
    from generator.cli import main

    long_tools = "".join(f"  - name: tool_{n}\n    description: {'x' * 1500}\n" for n in range(2))
    big = FETCH_YAML.replace("name: fetch\n", "name: big\n") + long_tools
    limited = CATALOG_YAML.replace("categories:", "toolhive:\n  max_meta_size: 2048\ncategories:")
    source = write_tree({"fetch.yaml": FETCH_YAML, "big.yaml": big}, catalog=limited)
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(source.parent / "site"), "--jobs", "1", "-q"])
    assert result.exit_code == 1, result.output
    size = len(json.dumps(_publisher(source, "big"), separators=(",", ":"), ensure_ascii=False).encode())
    assert (f"servers/big.yaml:20: tools: the publisher-provided _meta of 'big' is {size} bytes, more than the registry "
            "server's maxMetaSize of 2048 bytes (toolhive.max_meta_size in catalog.yaml)") in result.output
    assert "'fetch'" not in result.output


def _publisher(source: Path, name: str) -> dict[str, Any]:
    """The server's publisher-provided `_meta` as the build makes it (the source read with the default limit)."""
    from generator.render.registry import server_json
    from generator.render.registry.server_json import PUBLISHER_PROVIDED

    (source / "catalog.yaml").write_text(CATALOG_YAML)
    catalog = read_catalog(source).catalog
    return server_json.server_json(RenderContext(catalog), catalog.server(name))["_meta"][PUBLISHER_PROVIDED]


def test_pin_records_toolhive_digests_in_catalog_yaml(default_source_copy: Path, runner) -> None:
    from generator.cli import main

    digests = default_source_copy.parent / "digests.txt"
    digest = "sha256:" + "ab" * 32
    digests.write_text(f"{digest} {MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0\n")
    result = runner.invoke(main, ["pin", "--source", str(default_source_copy), "--digests", str(digests), "--image-mirror", MIRROR])
    assert result.exit_code == 0, result.output
    text = (default_source_copy / "catalog.yaml").read_text()
    assert f"    proxy_runner: ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0@{digest}\n" in text
    files = rendered_output(default_source_copy)
    pinned = f"{MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0@{digest}"
    assert values(files, "bundles/toolhive/operator-values.yaml")["operator"]["toolhiveRunnerImage"] == pinned
    assert f"ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0@{digest}={pinned}\n" in files["mirror/mapping.txt"].decode()


# --- the runbook pages ------------------------------------------------------------------


def test_runbook_pages_name_only_files_the_release_holds(default_site: Path) -> None:
    import html5lib

    install = (default_site / "install/index.html").read_text()
    assert 'href="../install/index.html">Install offline</a>' in (default_site / "about/index.html").read_text()
    for page in ("install/index.html", "registries/production/index.html", "registries/sandbox/index.html"):
        document = html5lib.parse((default_site / page).read_text(), namespaceHTMLElements=False)
        steps = document.findall(".//ol[@class='steps runbook']/li")
        assert len(steps) >= 4, page
        commands = "\n".join("".join(pre.itertext()) for pre in document.iter("pre"))
        assert "helm install toolhive-operator " in commands and "--version" in commands, page
        named = set(re.findall(r"(?:bundles|mirror)/[\w./-]+\.(?:yaml|txt)", commands))
        assert named, page
        for path in named:
            assert (default_site / path).is_file(), f"{page} names {path}, which the release does not hold"
        if page != "install/index.html":
            assert [li.get("id") for li in steps] == [
                "step-verify", "step-mirror", "step-operator", "step-prerequisites", "step-apply", "step-check"]
            assert "kubectl get validatingadmissionpolicy" in commands and "get mcpserver" in commands
    production = (default_site / "registries/production/index.html").read_text()
    assert "helm install production-api " in production and "production/legacy/" not in production
    assert "bundles/registries/sandbox/legacy/" in (default_site / "registries/sandbox/index.html").read_text()
    assert 'href="../registries/production/index.html"' in install


def test_runbook_pages_apply_whole_profiles_server_side(default_site: Path) -> None:
    """A profile's registry ConfigMaps (up to 1 MiB) and a large profile's admission policies exceed
    the 256 KiB of annotations a client-side `kubectl apply` fills with a copy of each object, so
    every command applying a profile folder (the chart path's `registry-server/`, the MCPRegistry
    path's profile root, `legacy/`) is server-side, as the README and docs/bundles.md say; a
    server's folder (one small object, the deployers' part) is not. Each folder a command names
    renders with the real `kubectl kustomize`."""
    import shutil
    import subprocess

    import html5lib

    kubectl = shutil.which("kubectl") or pytest.skip("kubectl not installed")
    checked = 0
    for page in ("registries/production/index.html", "registries/sandbox/index.html"):
        document = html5lib.parse((default_site / page).read_text(), namespaceHTMLElements=False)
        step = next(li for li in document.iter("li") if li.get("id") == "step-apply")
        for line in "".join(next(step.iter("pre")).itertext()).splitlines():
            if not line.startswith("kubectl apply"):
                continue
            words = line.split("#")[0].split()
            target = words[words.index("-k") + 1]
            server = "/servers/" in target
            assert ("--server-side" in words) != server, (page, line)
            if not server:
                done = subprocess.run([kubectl, "kustomize", target], cwd=default_site, capture_output=True, text=True, timeout=120)
                assert done.returncode == 0 and "kind: ValidatingAdmissionPolicy" in done.stdout, (page, line, done.stderr)
            checked += 1
    assert checked == 7  # production: registry-server/, the root, a server; sandbox: those and legacy/


def test_docs_delete_the_policy_parts_a_shrunk_profile_no_longer_ships(default_site: Path) -> None:
    """docs/bundles.md advised `kubectl apply -k ... --prune -l app.kubernetes.io/managed-by=mcp-catalog`
    for the admission policy parts a shrunk profile no longer ships. kubectl's default prune list
    holds neither ValidatingAdmissionPolicy nor its binding, and it prunes only objects a client-side
    apply annotated (profiles are applied server-side); it does hold Namespaces, which every profile's
    carries with that label. The documented command instead selects the namespace's parts by name:
    every policy and binding `kubectl kustomize` renders for the profile, another profile's none,
    nor those of a namespace whose name starts with this one's."""
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl") or pytest.skip("kubectl not installed")
    docs = (Path(__file__).resolve().parents[1] / "docs/bundles.md").read_text()
    advised = [docs[m.start() - 4:m.start()] for m in re.finditer(r"`kubectl\s+apply[^`]*--prune", docs)]
    assert advised == ["Not "], advised  # named only as what not to run
    block = next(b for b in re.findall(r"```sh\n(.*?)```", docs, re.S) if "validatingadmissionpolicybinding" in b)
    assert "kubectl kustomize bundles/registries/production/ |" in block and "kubectl delete" in block
    pattern = re.compile(re.search(r"grep -E '([^']+)'", block).group(1))

    def parts(profile: str) -> set[str]:
        done = subprocess.run([kubectl, "kustomize", f"bundles/registries/{profile}/"], cwd=default_site,
                              capture_output=True, text=True, timeout=120, check=True)
        return {f"{d['kind'].lower()}.admissionregistration.k8s.io/{d['metadata']['name']}"
                for d in yaml.safe_load_all(done.stdout) if d and d["kind"].startswith("ValidatingAdmissionPolicy")}

    production, sandbox = parts("production"), parts("sandbox")
    assert len(production) == 8 and all(pattern.search(name) for name in production)
    later = {name + "-2" for name in production if name.endswith(("-servers", "-workloads"))}  # a larger release's parts
    assert later and all(pattern.search(name) for name in later)
    others = sandbox | {name.replace("mcp-production-", "mcp-production-eu-") for name in production}
    assert not any(pattern.search(name) for name in others)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://mcp.linear.app/mcp", "public"),
    ("https://10.1.2.3/mcp", "private"),
    ("https://192.168.0.9:8443/mcp", "private"),
    ("http://[fd12::1]:8080/mcp", "private"),
    ("http://docs.tools.svc.cluster.local:8080/mcp", "private"),
    ("http://DOCS.Tools.SVC.Cluster.Local./mcp", "private"),
    ("http://docs.tools.svc:8080/mcp", "public"),  # bare .svc: the operator never blocks it
    ("http://127.0.0.1:3000/mcp", "blocked"),
    ("http://[::1]/mcp", "blocked"),
    ("http://169.254.169.254/latest", "blocked"),
    ("http://localhost:8080/mcp", "blocked"),
    ("https://kubernetes.default.svc/api", "blocked"),
    ("https://8.8.8.8/mcp", "public"),
])
def test_endpoint_class_follows_the_operator(url: str, expected: str) -> None:
    from generator.derived import endpoint_class

    assert endpoint_class(url) == expected


# --- the mirror-then-pin pipeline, run as documented ------------------------------------

# Stands in for skopeo: copies nothing, but parses its arguments as skopeo does (a docker://
# reference with both a tag and a digest is refused), keeps the pushed references and their
# digests in a JSON "registry" and writes --digestfile as `skopeo copy` does (the digest alone).
# With --preserve-digests the digest pushed is upstream's: the source's own when it names one.
FAKE_SKOPEO = """\
import hashlib, json, os, re, sys
args = sys.argv[1:]
assert args[:3] == ["copy", "--all", "--preserve-digests"] and args[3] == "--digestfile", args
digest_file, source, destination = args[4:]
for reference in (source, destination):
    if not reference.startswith("docker://"):
        sys.exit(f"Invalid source name {reference}: no transport")
    if re.search(r":[^/@]+@sha256:", reference):
        sys.exit("Docker references with both a tag and digest are currently not supported")
if "@" in destination:
    sys.exit("skopeo: the runbook pushes by tag")
if os.environ.get("FAKE_SKOPEO_FAIL") and os.environ["FAKE_SKOPEO_FAIL"] in source:
    sys.exit(f"reading manifest {source}: unauthorized")
name, _, digest = source.partition("@")
digest = digest or "sha256:" + hashlib.sha256(name.encode()).hexdigest()
registry = json.loads(open(os.environ["FAKE_REGISTRY"]).read()) if os.path.exists(os.environ["FAKE_REGISTRY"]) else {}
registry[destination.removeprefix("docker://")] = digest
open(os.environ["FAKE_REGISTRY"], "w").write(json.dumps(registry))
open(digest_file, "w").write(digest)
"""


def _runbook_mirror_commands(page: Path) -> str:
    """The mirror step's commands on a runbook page, up to `mcp-catalog pin` (the charts need the network)."""
    import html5lib

    document = html5lib.parse(page.read_text(), namespaceHTMLElements=False)
    step = next(li for li in document.iter("li") if li.get("id") == "step-mirror")
    commands = "".join(next(step.iter("pre")).itertext()).splitlines()
    return "\n".join(commands[: next(i for i, line in enumerate(commands) if "mcp-catalog pin" in line) + 1])


def _run_mirror_step(site: Path, source: Path, tmp_path: Path, page: str, fail: str = "") -> tuple[dict[str, str], str]:
    """Run the page's mirror commands in `site` with the fake skopeo (failing on a source holding
    `fail`, then asserting the commands fail); (registry after, pin's output)."""
    import os
    import subprocess
    import sys

    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    (tools / "skopeo").write_text(f"#!{sys.executable}\n{FAKE_SKOPEO}")
    # The command as the page gives it: pin names the source beside the site (`../catalog-source`).
    assert site.parent / "catalog-source" == source
    (tools / "mcp-catalog").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m generator "$@"\n')
    for tool in tools.iterdir():
        tool.chmod(0o755)
    registry = tmp_path / f"registry-{site.name}.json"
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "FAKE_REGISTRY": str(registry),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "FAKE_SKOPEO_FAIL": fail}
    script = _runbook_mirror_commands(site / page)  # as pasted into a shell: no `set -e`
    files_before = sorted(site.rglob("*"))
    done = subprocess.run(["bash", "-c", script], cwd=site, env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode == 0) != bool(fail), done.stdout + done.stderr
    # The digests are kept beside the site: the rebuild after the pin replaces the site folder.
    assert sorted(site.rglob("*")) == files_before
    assert (site.parent / "digests.txt").exists()
    return (json.loads(registry.read_text()) if registry.exists() else {}), done.stdout + done.stderr


def test_a_failed_copy_stops_the_mirror_step_before_pin(default_source_copy: Path, tmp_path: Path) -> None:
    """Pinning what was copied before a copy failed would read as a success: the step fails, says which
    image, and pins nothing."""
    from generator.build import build

    site = tmp_path / "site"
    build(default_source_copy, site)
    sources = [line.split()[0] for line in (site / "mirror/profiles/production/skopeo-copy.txt").read_text().splitlines()
               if line and not line.startswith("#")]
    before = {path.name: path.read_bytes() for path in (default_source_copy / "servers").iterdir()}
    registry, output = _run_mirror_step(site, default_source_copy, tmp_path, "registries/production/index.html", fail=sources[2])
    assert f"skopeo copy failed: {sources[2]}" in output and "pinned" not in output, output
    assert len(registry) == 2
    assert {path.name: path.read_bytes() for path in (default_source_copy / "servers").iterdir()} == before


def test_runbook_mirror_step_pushes_what_the_manifests_pull_and_pins_it(default_source_copy: Path, tmp_path: Path) -> None:
    from generator.build import build
    from generator.render.site.install import MIRROR_PLACEHOLDER

    site = tmp_path / "site"
    build(default_source_copy, site)
    registry, output = _run_mirror_step(site, default_source_copy, tmp_path, "registries/production/index.html")
    assert "0 unmatched digests" in output and "warning" not in output, output
    # The next build, at the mirror the page named, pulls exactly what was pushed, by the digest pushed.
    pinned = tmp_path / "pinned"
    build(default_source_copy, pinned, image_mirror=MIRROR_PLACEHOLDER)
    pairs = [line.split("=") for line in (pinned / "mirror/profiles/production/mapping.txt").read_text().splitlines()]
    pulled = {target.partition("@")[0]: target.partition("@")[2] for _, target in pairs}
    assert set(pulled) == set(registry), "every image pushed where the manifests pull it, and nothing else"
    servers = {target for source, target in pairs if "toolhive" not in source and "thv-registry-api" not in source}
    assert servers and all(pulled[t.partition("@")[0]] == registry[t.partition("@")[0]] for t in servers), "every server pinned"
    # Mirroring the pinned release again copies by digest (skopeo refuses tag and digest together).
    registry, output = _run_mirror_step(pinned, default_source_copy, tmp_path, "registries/production/index.html")
    assert set(registry) == set(pulled) and f"pinned 0 servers, {len(pairs)} already pinned" in output, output


def test_readme_shows_the_runbook_mirror_commands() -> None:
    from generator.render.site.install import MIRROR_PLACEHOLDER, mirror_commands

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert mirror_commands(MIRROR_PLACEHOLDER, "production") in readme


def _readme_runbook() -> list[str]:
    """The commands of the README's offline-install block, each continued line joined, comments dropped."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M) if b.startswith("# connected side")]
    return _commands(block)


def _commands(text: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", "", text)
    lines = (re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines())
    return [re.sub(r"\s+", " ", line) for line in lines if line and not line.startswith("#")]


def test_readme_runbook_is_the_profile_pages_runbook() -> None:
    """Every command the README's offline install runs is one the production page gives, and the README
    pulls each chart the page pulls: the registry server's chart lives under another OCI path than the
    operator's, which no reader can guess from 'and toolhive-registry-server'."""
    from generator.render.site.install import MIRROR_PLACEHOLDER, profile_steps

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    production = next(p for p in catalog.meta.registries if p.name == "production")
    page = [command for step in profile_steps(catalog, production, MIRROR_PLACEHOLDER) for command in _commands(step.commands)]
    readme = _readme_runbook()
    assert [command for command in readme if command not in page] == []
    assert [c for c in readme if c.startswith("helm pull ")] == [c for c in page if c.startswith("helm pull ")]


def test_readme_gives_every_command_of_the_pages_install_steps() -> None:
    """The README's install block named the pull secret in its comments but created it in neither
    namespace: copied as written, every pod of a mirror that needs credentials failed to pull. Each
    command of the page's operator and prerequisites steps is in the README (the MCPRegistry path's
    pgpass Secret in that path's own block)."""
    from generator.render.site.install import MIRROR_PLACEHOLDER, profile_steps

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    production = next(p for p in catalog.meta.registries if p.name == "production")
    steps = [step for step in profile_steps(catalog, production, MIRROR_PLACEHOLDER) if step.anchor in {"operator", "prerequisites"}]
    assert len(steps) == 2
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    shown = [command for block in re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M) for command in _commands(block)]
    assert [c for step in steps for c in _commands(step.commands) if c not in shown] == []


def test_runbook_says_the_registry_database_must_take_tls(default_output: dict[str, bytes]) -> None:
    """The chart's config (and MCPRegistry's) connect with sslMode require, which the stock postgres image
    the mirror list carries refuses (it starts with ssl off): each profile's prerequisites step and the
    docs say so; the legacy operator's default (prefer) needs nothing."""
    from generator.render.site.install import profile_steps

    mode = values(default_output, "bundles/registries/production/registry-server/values.yaml")["config"]["database"]["sslMode"]
    assert f"sslMode: {mode}" in yaml.safe_dump(values(default_output, "bundles/registries/production/base/mcpregistry.yaml"))
    catalog = read_catalog(DEFAULT_SOURCE).catalog
    profile = catalog.meta.registries[0]
    for operator, says in (("current", True), ("both", True), ("legacy", False)):
        step = next(s for s in profile_steps(catalog, profile.model_copy(update={"operator": operator}), None)
                    if s.anchor == "prerequisites")
        assert (f"sslMode {mode}" in step.text and "ssl=on" in step.text) is says, (operator, step.text)
    repo = Path(__file__).resolve().parents[1]
    must_provide = " ".join((repo / "docs/bundles.md").read_text().partition("### What you must provide")[2].split())
    assert f"`sslMode: {mode}`" in must_provide and "`ssl=on`" in must_provide
    assert f"PostgreSQL as postgres:5432 with TLS on (sslMode {mode})" in (repo / "README.md").read_text()


def test_runbook_gives_the_registry_database_sql_and_tls_settings() -> None:
    """The SQL tests/test_registry_database.py runs on a real PostgreSQL, and the TLS settings it
    starts that server with, are what each profile page's prerequisites step, the README's install
    block and docs/bundles.md show (TLS settings not for legacy/, whose operator does not ask for TLS)."""
    from generator.render.kubernetes.database import database_commands, database_sql, tls_settings
    from generator.render.kubernetes.names import database_secret_name
    from generator.render.site.install import profile_steps

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    for profile in catalog.meta.registries:
        for operator in ("current", "both", "legacy"):
            variant = profile.model_copy(update={"operator": operator})
            step = next(s for s in profile_steps(catalog, variant, None) if s.anchor == "prerequisites")
            assert database_commands(profile.namespace, database_secret_name(profile)) in step.commands, (profile.name, operator)
            shown = {name: lines + "\n" for name, lines in step.settings}
            assert shown == (tls_settings() if operator != "legacy" else {}), (profile.name, operator)
    repo = Path(__file__).resolve().parents[1]
    readme = (repo / "README.md").read_text()
    (block,) = [b for b in re.findall(r"^```sh\n(.*?)^```", readme, re.S | re.M) if b.startswith("# connected side")]
    assert database_commands("mcp-production", "production-db") in block
    docs = (repo / "docs/bundles.md").read_text().partition("### The registry database")[2].partition("\n### ")[0]
    for text in (readme, docs):
        assert all(lines in text for lines in tls_settings().values())
    assert database_sql() in docs


def test_the_registry_database_sql_was_checked_against_the_registry_server_the_bundles_install() -> None:
    """The SQL grants what registry server CHECKED_REGISTRY_SERVER's migrations need: installing
    another release means reading its migrations (database/migrations/, docs/database.md) again."""
    from generator.render.kubernetes.database import CHECKED_REGISTRY_SERVER

    catalog = read_catalog(DEFAULT_SOURCE).catalog
    assert catalog.meta.toolhive.registry_server_chart == CHECKED_REGISTRY_SERVER, (
        "the registry server chart changed: check its migrations against generator/render/kubernetes/database.py, "
        "then move CHECKED_REGISTRY_SERVER")
