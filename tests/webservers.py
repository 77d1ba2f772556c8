"""Real web servers for the tests: nginx and Apache started from the shipped deploy/web/ configuration.

Each server listens on 127.0.0.1 and a free port, keeps its configuration, logs and
temporary files in a folder the caller gives, and is always stopped.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO

APACHE = Path("/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
NGINX = Path("/usr/sbin/nginx")
LUA_MODULE = Path("/usr/lib/nginx/modules/ngx_http_lua_module.so")
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
def nginx_serving(site: Path, root: Path, prefix: str = PREFIX, tuning: str = "") -> Iterator[str]:
    """Serve `site` with nginx and the shipped config; yield its base URL (http://127.0.0.1:<port>/catalog).

    The document root is `root`/docroot, holding the site as its sub-folder `prefix`, or (an empty
    `prefix`: the site at the host's root) the site itself. `tuning` is what an administrator's
    own `http { }` adds around mcp-catalog.conf.
    """
    if not NGINX.is_file():
        pytest.skip("nginx not installed: apt-get install nginx")
    if not LUA_MODULE.is_file():
        pytest.skip("nginx's Lua module not installed: apt-get install libnginx-mod-http-lua")
    conf, logs, temp, docroot = (root / "conf", root / "logs", root / "tmp", root / "docroot")
    for folder in (conf, logs, temp):
        folder.mkdir(parents=True)
    if prefix:
        docroot.mkdir()
        (docroot / prefix.strip("/")).symlink_to(site)
    else:
        docroot.symlink_to(site)
    port = free_port()
    values = {"LISTEN": f"127.0.0.1:{port}", "DOCROOT": str(docroot), "PREFIX": prefix, "PIDFILE": str(root / "nginx.pid"),
              "LOGDIR": str(logs), "TEMPDIR": str(temp), "CONFDIR": str(conf), "USER": account()[0],
              "LUADIR": str(WEB / "lua")}
    for name in ("nginx.conf", "mcp-catalog.conf", "mcp-registry-query.conf"):
        template(WEB / "nginx" / name, conf / name, values)
    if tuning:
        text = (conf / "nginx.conf").read_text(encoding="utf-8")
        (conf / "nginx.conf").write_text(text.replace("http {\n", f"http {{\n    {tuning}\n", 1), encoding="utf-8")
    with running_nginx(temp, conf / "nginx.conf", port, logs / "error.log", prefix) as url:
        yield url


@contextlib.contextmanager
def running_nginx(folder: Path, conf: Path, port: int, log: Path, prefix: str = PREFIX) -> Iterator[str]:
    """nginx started from `conf`, listening on `port`, always stopped; yields the site's base URL."""
    process = subprocess.Popen([str(NGINX), "-p", str(folder), "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_for(port, process, log)
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        stop(process)


@contextlib.contextmanager
def apache_serving(site: Path, root: Path, prefix: str = PREFIX, in_place: bool = False) -> Iterator[str]:
    """Serve `site` with Apache httpd and the shipped config; yield its base URL (http://127.0.0.1:<port>/catalog,
    or the host's root for an empty `prefix`). `in_place`: serve `site` itself even as root (the caller
    made it readable to every account), so that a rebuild of it is seen."""
    if not APACHE.is_file() or not APACHE_MODULES.is_dir():
        pytest.skip("Apache httpd not installed: apt-get install apache2")
    (root / "conf").mkdir()
    (root / "empty").mkdir()
    port = free_port()
    user, group = account()
    readable = None
    lua = WEB / "lua"
    if os.getuid() == 0:
        # Apache refuses to serve as root and pytest's tmp folders are private: give
        # unprivileged workers a world-readable copy of the site and of the Lua layer.
        user, group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        readable = Path(tempfile.mkdtemp(prefix="mcp-catalog-apache-"))
        readable.chmod(0o755)
        shutil.copytree(lua, readable / "lua")
        lua = readable / "lua"
        if not in_place:
            shutil.copytree(site, readable / "site")
            site = readable / "site"
    values = {"LISTEN": f"127.0.0.1:{port}", "SITE": str(site), "PREFIX": prefix, "SERVERROOT": str(root),
              "MODULES": str(APACHE_MODULES), "CONFDIR": str(root / "conf"), "USER": user, "GROUP": group,
              "LUADIR": str(lua)}
    for name in ("httpd.conf", "mcp-catalog.conf"):
        template(WEB / "apache" / name, root / "conf" / name, values)
    process = subprocess.Popen([str(APACHE), "-f", str(root / "conf" / "httpd.conf"), "-DFOREGROUND"],
                               stdout=subprocess.DEVNULL, stderr=(root / "stderr.log").open("wb"))
    try:
        wait_for(port, process, root / "stderr.log")
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        stop(process)
        if readable is not None:
            shutil.rmtree(readable, ignore_errors=True)


SMALL_NGINX = """\
user {user};
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
{server}
    }}
}}
"""


@contextlib.contextmanager
def small_nginx(root: Path, server: str, http: str = "") -> Iterator[str]:
    """nginx with one server block of the lines `server` (and `http`, lines for `http { }` before it);
    yields its base URL with the site's prefix. Its files and logs are in `root`."""
    if not NGINX.is_file():
        pytest.skip("nginx not installed: apt-get install nginx")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = SMALL_NGINX.format(root=root, port=port, user=account()[0], server=server)
    (root / "nginx.conf").write_text(conf.replace("http {\n", f"http {{\n{http}\n", 1), encoding="utf-8")
    with running_nginx(root, root / "nginx.conf", port, root / "error.log") as url:
        yield url


@contextlib.contextmanager
def plain_file_server(site: Path, root: Path) -> Iterator[str]:
    """Serve `site` as any static host does (path to file, folder to index.json, the query unseen), with nginx."""
    docroot = root / "docroot"
    docroot.mkdir(parents=True)
    (docroot / PREFIX.strip("/")).symlink_to(site)
    server = f"root {docroot};\nlocation / {{ try_files $uri $uri/index.json =404; }}"
    with small_nginx(root, server, http="include /etc/nginx/mime.types;") as url:
        yield url
