"""Golden trees: every output kind of a small catalog, compared as a tree with the reviewed copy.

The HTML pages have their own golden files (`test_site.py::test_golden_pages`); this tree
holds everything else a build writes for the conftest catalog (fetch, an image server, and
docs-remote, a remote one): the JSON API, the MCP Registry mirror, the ToolHive registry
files, the schemas, the Kubernetes bundles, the image-mirror lists, and the release tarball
`package` makes of it as its member list (`dist/<name>.members`: type, mode, owner, time, size,
SHA-256, name), so that any change to an output shows in review as a readable diff. Regenerate with `make golden` (pytest `--update-golden`)
and read the diff before committing it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.build import build
from generator.release.package import package_site

GOLDEN = Path(__file__).resolve().parent / "golden" / "outputs"
MEMBERS_SUFFIX = ".members"
# Shown in the failure: enough to read what changed without flooding the terminal.
SHOWN_FILES, SHOWN_LINES = 6, 40


def covered_elsewhere(path: str) -> bool:
    """HTML pages and site assets: golden pages in test_site.py, assets are the shipped files."""
    return path.endswith(".html") or path.startswith("assets/")


def tarball_members(path: Path) -> bytes:
    """One line per member: what `tar tvf` shows, plus the SHA-256 of each file's bytes."""
    lines = []
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            content = archive.extractfile(member) if member.isfile() else None
            digest = hashlib.sha256(content.read()).hexdigest() if content is not None else "-"
            kind = "d" if member.isdir() else "f" if member.isfile() else "?"
            lines.append(
                f"{kind} {member.mode:04o} {member.uid}:{member.gid} {member.uname or '-'}:{member.gname or '-'} "
                f"{member.mtime} {member.size} {digest} {member.name}"
            )
    return ("\n".join(lines) + "\n").encode("utf-8")


def golden_view(out: Path, dist: Path) -> dict[str, bytes]:
    """The build's outputs as the golden tree holds them (path -> bytes), and its release tarball's member list."""
    view: dict[str, bytes] = {}
    for file in sorted(out.rglob("*")):
        relative = file.relative_to(out).as_posix()
        if file.is_file() and not covered_elsewhere(relative):
            view[relative] = file.read_bytes()
    tarball = package_site(out, dist, None).tarball
    view[f"dist/{tarball.name}{MEMBERS_SUFFIX}"] = tarball_members(tarball)
    return view


def read_tree(folder: Path) -> dict[str, bytes]:
    return {
        file.relative_to(folder).as_posix(): file.read_bytes() for file in sorted(folder.rglob("*")) if file.is_file()
    }


def readable(path: str, content: bytes) -> str:
    """The text to diff: JSON indented (most documents are one compact line), anything else as it is."""
    text = content.decode("utf-8")
    if path.endswith(".json"):
        try:
            return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
        except ValueError:
            pass  # not JSON after all: diff the text (the bytes differ either way)
    return text


def tree_differences(golden: dict[str, bytes], built: dict[str, bytes]) -> str:
    """A readable account of how `built` differs from `golden`: missing and new files, then unified diffs."""
    missing = sorted(golden.keys() - built.keys())
    new = sorted(built.keys() - golden.keys())
    changed = sorted(path for path in golden.keys() & built.keys() if golden[path] != built[path])
    report = [f"no longer built: {path}" for path in missing] + [f"not in the golden tree: {path}" for path in new]
    for path in changed[:SHOWN_FILES]:
        try:
            before, after = readable(path, golden[path]), readable(path, built[path])
        except UnicodeDecodeError:
            report.append(f"changed (binary): {path}")
            continue
        diff = list(difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"golden/{path}", f"built/{path}", lineterm="", n=1
        ))
        report += diff[:SHOWN_LINES] + ([f"... {len(diff) - SHOWN_LINES} more diff lines"] if len(diff) > SHOWN_LINES else [])
    if len(changed) > SHOWN_FILES:
        report.append(f"... and {len(changed) - SHOWN_FILES} more changed files: {', '.join(changed[SHOWN_FILES:])}")
    return "\n".join(report)


@pytest.fixture
def small_build(write_tree: Callable[..., Path], tmp_path: Path) -> Path:
    out = tmp_path / "site"
    build(write_tree(), out, use_cache=False)
    return out


def test_every_output_kind_matches_its_golden_tree(
    small_build: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # the release's times come from the catalog
    built = golden_view(small_build, small_build.parent / "dist")
    if request.config.getoption("--update-golden"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for path, content in built.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_bytes(content)
    differences = tree_differences(read_tree(GOLDEN), built)
    assert not differences, (
        f"the build differs from tests/golden/outputs:\n{differences}\n"
        "if intended, run `make golden` (pytest --update-golden) and review the diff"
    )


def test_the_golden_tree_holds_every_output_kind() -> None:
    """Each kind must be present, so that a kind dropped from the view cannot go unnoticed."""
    tree = read_tree(GOLDEN)
    for expected in (
        "api/v1/servers/fetch.json",  # our JSON API
        "v0.1/servers/index.json",  # the MCP Registry mirror
        "registry.json",  # ToolHive registry
        "schemas/server.schema.json",
        "bundles/servers/fetch/workload/mcpserver.yaml",  # Kubernetes bundles
        "bundles/registries/production/servers/fetch/kustomization.yaml",  # a profile overlay
        "bundles/registries/sandbox/all.yaml",
        "mirror/images.txt",  # image-mirror lists
    ):
        assert expected in tree, expected
    # The release tarball as its member list, never as bytes; the build itself writes no archive.
    assert [path for path in tree if path.startswith("dist/")] == ["dist/test-catalog-1.2.3.tar.gz" + MEMBERS_SUFFIX]
    assert not [path for path in tree if path.endswith((".tar.gz", ".tgz"))]


def test_a_difference_is_shown_as_a_diff() -> None:
    golden = {"a.json": b'{"x":1,"y":[2]}', "gone.yaml": b"", "same.txt": b"s\n"}
    built = {"a.json": b'{"x":3,"y":[2]}', "new.yaml": b"", "same.txt": b"s\n"}
    assert tree_differences(golden, built).splitlines() == [
        "no longer built: gone.yaml",
        "not in the golden tree: new.yaml",
        "--- golden/a.json",
        "+++ built/a.json",
        "@@ -1,3 +1,3 @@",
        " {",
        '- "x": 1,',
        '+ "x": 3,',
        '  "y": [',
    ]
