"""Reliability: what the shipped web configs hide and add, probed on real nginx and Apache.

Marked `reliability`. Dot-files and dot-folders (.git, .env, a build cache an earlier version
left beside the site) are never served, and the default build cache is no longer there; the
CORS preflight 204 carries the security headers; the JSON API is compressed for clients that
accept gzip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from webservers import PREFIX, apache_serving, nginx_serving

pytestmark = pytest.mark.reliability
SECURITY = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}
SECRET = b"state of the build: every parsed server file"


@pytest.fixture(scope="module")
def leaky_site(tmp_path_factory, default_site: Path) -> Path:
    """A copy of the site holding .git/config, .env and a dot-file among the API documents."""
    import shutil
    site = tmp_path_factory.mktemp("leaky") / "site"
    shutil.copytree(default_site, site)
    (site / ".git").mkdir()
    (site / ".git" / "config").write_bytes(SECRET)
    (site / ".env").write_bytes(SECRET)
    (site / "api" / ".hidden.json").write_bytes(SECRET)
    return site


@pytest.fixture(scope="module")
def apache(leaky_site: Path, tmp_path_factory) -> Iterator[str]:
    with apache_serving(leaky_site, tmp_path_factory.mktemp("apache")) as url:
        yield url


@pytest.fixture(scope="module")
def exposed(tmp_path_factory, leaky_site: Path) -> Iterator[tuple[str, Path]]:
    """nginx serving the leaky site, with a build cache and a lock beside it in the document root."""
    root = tmp_path_factory.mktemp("exposed")
    site = leaky_site
    with nginx_serving(site, root / "nginx") as url:
        cache = root / "nginx" / "docroot" / ".cache" / "mcp-catalog" / "catalog"
        cache.mkdir(parents=True)
        (cache / "state.marshal").write_bytes(SECRET)
        (root / "nginx" / "docroot" / ".catalog.lock").write_bytes(b"")
        yield url, site


@pytest.mark.parametrize("path", [f"{PREFIX}/.git/config", f"{PREFIX}/.env", f"{PREFIX}/api/.hidden.json",
                                  "/.cache/mcp-catalog/catalog/state.marshal", "/.catalog.lock", f"{PREFIX}/%2Eenv"])
def test_nginx_never_serves_dot_files(exposed, path):
    url, _ = exposed
    base = url.removesuffix(PREFIX)
    answer = requests.get(base + path, timeout=10)
    assert answer.status_code == 404
    assert SECRET not in answer.content
    for header, value in SECURITY.items():
        assert answer.headers.get(header) == value


def test_nginx_preflight_204_carries_the_security_headers(exposed):
    url, _ = exposed
    answer = requests.options(f"{url}/v0.1/servers", timeout=10)
    assert answer.status_code == 204
    for header, value in SECURITY.items():
        assert answer.headers.get(header) == value
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_nginx_compresses_the_api(exposed):
    url, site = exposed
    answer = requests.get(f"{url}/v0.1/servers", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers.get("Content-Encoding") == "gzip"
    assert answer.content == (site / "v0.1" / "servers" / "index.json").read_bytes()  # requests decompressed it


@pytest.mark.parametrize("path", ["/.git/config", "/.env", "/api/.hidden.json", "/%2Eenv"])
def test_apache_never_serves_dot_files(apache, path):
    answer = requests.get(f"{apache}{path}", timeout=10)
    assert answer.status_code in (403, 404)
    assert SECRET not in answer.content
    for header, value in SECURITY.items():
        assert answer.headers.get(header) == value


def test_apache_compresses_the_api(apache):
    answer = requests.get(f"{apache}/v0.1/servers", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers.get("Content-Encoding") == "gzip"


def test_apache_preflight_204_carries_the_security_headers(apache):
    answer = requests.options(f"{apache}/v0.1/servers", timeout=10)
    assert answer.status_code == 204
    for header, value in SECURITY.items():
        assert answer.headers.get(header) == value


def test_a_build_into_a_web_root_leaves_no_cache_there(write_tree, runner, tmp_path, user_cache_home):
    """The default cache of `--out DOCROOT/catalog` lay in DOCROOT/.cache and was served; it is in the user's cache now."""
    from generator.cli import main
    source, out = write_tree(), tmp_path / "docroot" / "catalog"
    for options in ([], ["--no-cache"]):
        result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out), *options])
        assert result.exit_code == 0, result.output
        assert "note:" not in result.output
        assert sorted(p.name for p in (tmp_path / "docroot").iterdir()) == [".catalog.lock", "catalog"]
    from generator.incremental.cache import default_cache_dir
    assert (default_cache_dir(out) / "state.marshal").is_file()
    assert default_cache_dir(out).parent == user_cache_home / "mcp-catalog"
