"""Real web servers for the tests: nginx started from the shipped deploy/web/ configuration.

Each server listens on 127.0.0.1 and a free port, keeps its configuration, logs and
temporary files in a folder the caller gives, and is always stopped.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO

NGINX = Path("/usr/sbin/nginx")
WEB = REPO / "deploy" / "web"
PREFIX = "/catalog"


def account() -> tuple[str, str]:
    """The user and group this test runs as: the workers must read the site in the test's tmp folder."""
    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def template(source: Path, target: Path, values: dict[str, str]) -> None:
    text = source.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    uncommented = "".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    # Placeholders are @UPPER_CASE@; nginx's named locations (@not_found) are not.
    assert not re.search(r"@[A-Z_]+@", uncommented), f"unfilled placeholder in {source}"
    target.write_text(text, encoding="utf-8")


def wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(100):
        if process.poll() is not None:
            pytest.fail(f"web server exited: {log.read_text(errors='replace') if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail("web server did not start listening")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def nginx_serving(site: Path, root: Path) -> Iterator[str]:
    """Serve `site` with nginx and the shipped config; yield its base URL (http://127.0.0.1:<port>/catalog)."""
    if not NGINX.is_file():
        pytest.skip("nginx not installed: apt-get install nginx")
    conf, logs, temp, docroot = (root / "conf", root / "logs", root / "tmp", root / "docroot")
    for folder in (conf, logs, temp, docroot):
        folder.mkdir(parents=True)
    (docroot / PREFIX.strip("/")).symlink_to(site)
    port = free_port()
    values = {"LISTEN": f"127.0.0.1:{port}", "DOCROOT": str(docroot), "PREFIX": PREFIX, "PIDFILE": str(root / "nginx.pid"),
              "LOGDIR": str(logs), "TEMPDIR": str(temp), "CONFDIR": str(conf), "USER": account()[0]}
    for name in ("nginx.conf", "mcp-catalog.conf"):
        template(WEB / "nginx" / name, conf / name, values)
    process = subprocess.Popen([str(NGINX), "-p", str(temp), "-c", str(conf / "nginx.conf")], stderr=subprocess.DEVNULL)
    try:
        wait_for(port, process, logs / "error.log")
        yield f"http://127.0.0.1:{port}{PREFIX}"
    finally:
        stop(process)
