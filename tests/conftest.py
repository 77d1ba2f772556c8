"""Shared fixtures: source trees written to tmp_path from short dedented strings."""

from __future__ import annotations

import importlib.util
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO / "catalog-source"
SHARED = REPO.parent / "shared" / "reference"


def bench_module(name: str) -> ModuleType:
    """`bench/<name>.py`, loaded from its file so that no test puts `bench/` on the import path."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_catalog(out: Path, count: int, **options: object) -> Path:
    """A source folder of `count` generated servers, as the benchmark writes it (`bench/synthetic.py`)."""
    return bench_module("synthetic").write_catalog(out, count, **options)

CATALOG_YAML = """\
title: Test Catalog
description: A small catalog for tests.
version: 1.2.3
namespace: com.example.test
last_updated: 2026-11-01T00:00:00Z
categories:
  - slug: web
    title: Web
  - slug: data
    title: Data
registries:
  - name: production
    namespace: mcp-prod
    include:
      tiers: [validated]
  - name: sandbox
    namespace: mcp-sandbox
"""

FETCH_YAML = """\
name: fetch
title: Fetch
description: Fetches web pages and returns them as Markdown.
version: 1.0.3
category: web
tags: [web, http]
tier: validated
publisher: Stacklok
repository: https://github.com/stackloklabs/gofetch
license: Apache-2.0
transport: streamable-http
image: ghcr.io/stackloklabs/gofetch/server:1.0.3
digest: sha256:0000000000000000000000000000000000000000000000000000000000000001
port: 8080
permissions:
  network:
    outbound:
      allow_host: [example.com]
      allow_port: [443]
tools:
  - name: fetch
    description: Fetch a URL.
    annotations:
      readOnlyHint: true
      openWorldHint: true
"""

REMOTE_YAML = """\
name: docs-remote
title: Docs (remote)
description: Searches product documentation hosted by the vendor.
version: 2.0.0
category: data
tags: [web, http]
tier: community
transport: streamable-http
remote:
  url: https://mcp.example.com/mcp
tools:
  - name: search_docs
    description: Search the documentation.
"""


@pytest.fixture
def write_tree(tmp_path: Path) -> Callable[..., Path]:
    """Write a source tree: catalog.yaml plus servers given as {file name: text}."""

    def write(servers: dict[str, str | bytes] | None = None, catalog: str = CATALOG_YAML) -> Path:
        root = tmp_path / "src"
        (root / "servers").mkdir(parents=True)
        (root / "catalog.yaml").write_text(textwrap.dedent(catalog), encoding="utf-8")
        if servers is None:
            servers = {"fetch.yaml": FETCH_YAML, "fetch.md": "## What it does\n\nFetches.\n",
                       "docs-remote.yaml": REMOTE_YAML, "docs-remote.md": "## Docs\n"}
        for name, text in servers.items():
            target = root / "servers" / name
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write


@pytest.fixture(scope="session", autouse=True)
def user_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """XDG_CACHE_HOME for the whole session, before any other fixture builds: builds keep their
    default cache there, never in the real home (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def default_source_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped default catalog."""
    target = tmp_path / "catalog-source"
    shutil.copytree(DEFAULT_SOURCE, target)
    return target


@pytest.fixture(scope="session")
def default_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog built once per test session (read-only: copy it before changing it)."""
    from generator.build import build

    out = tmp_path_factory.mktemp("default-site") / "site"
    build(DEFAULT_SOURCE, out)
    return out


@pytest.fixture(scope="session")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test catalog (fetch and docs-remote) built once per session (read-only: copy it before
    changing it). Its source is `small_site.parent / "src"`."""
    from generator.build import build

    base = tmp_path_factory.mktemp("small")
    (base / "src" / "servers").mkdir(parents=True)
    (base / "src" / "catalog.yaml").write_text(textwrap.dedent(CATALOG_YAML))
    (base / "src" / "servers" / "fetch.yaml").write_text(FETCH_YAML)
    (base / "src" / "servers" / "docs-remote.yaml").write_text(REMOTE_YAML)
    build(base / "src", base / "site")
    return base / "site"


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding two minisign key pairs, `release.key`/`.pub` and `other.key`/`.pub`."""
    from generator.release.minisign import generate_keypair

    folder = tmp_path_factory.mktemp("keys")
    generate_keypair(folder / "release")
    generate_keypair(folder / "other")
    return folder


@pytest.fixture(scope="session")
def plain_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog built for a plain file server (`--hosting plain`: every document a file)."""
    from generator.build import build

    out = tmp_path_factory.mktemp("default-site-plain") / "site"
    build(DEFAULT_SOURCE, out, hosting="plain")
    return out


@pytest.fixture(scope="session")
def large_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 synthetic servers with the default catalog's profiles (production withholds some 1,100
    of their tools), built once per session, for the pages that must not grow with the catalog.
    Its source is `large_site.parent / "src"`."""
    from generator.build import build

    folder = tmp_path_factory.mktemp("large")
    build(synthetic_catalog(folder / "src", 1000, default_profiles=True), folder / "site", jobs=1)
    return folder / "site"


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites tests/golden/ from the current output instead of comparing."""
    parser.addoption("--update-golden", action="store_true", help="regenerate golden files in tests/golden/")
