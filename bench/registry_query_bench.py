"""Latency, throughput and memory of the MCP Registry query layer behind the shipped nginx config.

Generates a synthetic catalog (bench/synthetic.py), renders only the MCP mirror (each
base's openapi.yaml, first page and query index, and every lookup document a default build
writes), serves it with deploy/web/nginx/ exactly as the tests do, and runs wrk on
loopback (2 threads, 50 connections) against: a search, a paged list (a cursor in the
middle of the catalog), the list without parameters, a search at a profile base, a version
lookup (a file), the `latest` and profile lookups the layer answers from another file
(`build` leaves those copies out), the one-server versions list the layer composes, and for scale the same-sized static first page served without Lua. Reports requests/s, p50 and
p99 latency, and the resident memory of each nginx worker after the runs.

    python bench/registry_query_bench.py [--servers 10000] [--seconds 15] [--work DIR]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from synthetic import write_catalog  # noqa: E402
from webservers import nginx_serving  # noqa: E402

from generator.output import OutputFile  # noqa: E402
from generator.render.context import RenderContext  # noqa: E402
from generator.render.registry import mirror as mcp_registry  # noqa: E402
from generator.source.validate import read_catalog  # noqa: E402


def write_mirror(source: Path, site: Path) -> int:
    """The MCP mirror of `source`'s catalog as a default build writes it, under `site`; returns the server count."""
    catalog = read_catalog(source).catalog
    context = RenderContext(catalog)
    items = [*mcp_registry.catalog_files(context), *(i for s in catalog.servers for i in mcp_registry.server_files(context, s))]
    for item in items:
        if isinstance(item, OutputFile):
            target = site / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.content)
    return len(catalog.servers)


def wrk(url: str, seconds: int) -> dict[str, float]:
    """One wrk run: requests/s and the 50th and 99th percentile latencies in milliseconds."""
    output = subprocess.run(["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url],
                            capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"wrk got error answers from {url}:\n{output}")
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percent in ("50", "99"):
        found = re.search(rf"^\s+{percent}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if found is None:
            raise SystemExit(f"no {percent}th percentile in wrk's output:\n{output}")
        figures[f"p{percent}"] = float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return figures


def worker_rss_mib(log_root: Path) -> list[float]:
    """Resident memory of each nginx worker in MiB, from /proc (the master's children)."""
    master = int((log_root / "nginx.pid").read_text().strip())
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024
            for pid in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--work", type=Path, default=None, help="folder for the catalog and site (default: a temp folder)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not installed: apt-get install wrk")
    work = args.work or Path(tempfile.mkdtemp(prefix="registry-query-bench-"))
    source, site = work / "catalog", work / "site"
    if not source.exists():
        write_catalog(source, args.servers)
    count = write_mirror(source, site)
    size = (site / "v0.1/servers/query.idx").stat().st_size
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {count} servers, index {size / 2**20:.1f} MiB")
    name = f"com.example.bench/server-{count // 2:06d}"
    lookup = name.replace("/", "%2F")
    version = next(folder.name for folder in (site / "v0.1/servers" / name / "versions").iterdir() if folder.is_dir())
    requests = {
        "search, one match (`?search=server-004217`)": "/v0.1/servers?search=server-004217",
        "search, a full page (`?search=server-0042&limit=30`)": "/v0.1/servers?search=server-0042&limit=30",
        "paged list (`?limit=30&cursor=` mid-catalog)": f"/v0.1/servers?limit=30&cursor=com.example.bench/server-{count // 2:06d}:x",
        "list without parameters": "/v0.1/servers",
        "search, profile base (`registry/sandbox/`)": "/registry/sandbox/v0.1/servers?search=server-00&limit=30",
        "version lookup, a file (`.../versions/<version>`)": f"/v0.1/servers/{lookup}/versions/{version}",
        "`latest` lookup, answered from the version's file": f"/v0.1/servers/{lookup}/versions/latest",
        "profile lookup, answered from the root's file (`registry/sandbox/`)": f"/registry/sandbox/v0.1/servers/{lookup}/versions/latest",
        "versions list, composed from the index (`.../versions`)": f"/v0.1/servers/{lookup}/versions",
        "for scale: the static first page (`/v0.1/servers/index.json`, no Lua)": "/v0.1/servers/index.json",
    }
    root = work / "nginx"
    shutil.rmtree(root, ignore_errors=True)
    with nginx_serving(site, root) as url:
        print("| request | requests/s | p50 (ms) | p99 (ms) |")
        print("|---|---:|---:|---:|")
        for label, path in requests.items():
            wrk(url + path, 2)  # warm the worker's index and the page cache
            figures = wrk(url + path, args.seconds)
            print(f"| {label} | {figures['rps']:,.0f} | {figures['p50']:.2f} | {figures['p99']:.2f} |")
        memory = ", ".join(f"{mib:.1f}" for mib in worker_rss_mib(root))
        print(f"nginx worker resident memory after the runs (MiB, per worker): {memory}")
        print(f"load average during the runs: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
