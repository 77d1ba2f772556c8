"""Benchmark: `mcp-catalog import` of a synthetic 1,000-entry ToolHive legacy registry.

Run `python bench/import_bench.py [--servers N]`. Each run is a fresh process
(interpreter start-up included, as a user sees it) importing into an empty
temporary folder; the best of three is reported. The target is under 5 s for
1,000 entries. Entries are generated here (containers and remotes with env,
permissions and tools), not copied from any registry.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLI = Path(sys.executable).with_name("mcp-catalog")


def synthetic_registry(count: int) -> dict[str, Any]:
    """A legacy registry of `count` entries, one in five a remote server."""
    servers: dict[str, Any] = {}
    remotes: dict[str, Any] = {}
    for index in range(count):
        name = f"bench-server-{index:05d}"
        common = {
            "description": f"Synthetic server number {index} used to time the importer on a large registry file.",
            "tier": "Community",
            "status": "Active",
            "tags": ["bench", f"group-{index % 17}"],
            "tools": [f"tool_{index}_{t}" for t in range(12)],
            "metadata": {"last_updated": "2026-10-01T00:00:00Z"},
        }
        if index % 5 == 4:
            remotes[name] = {**common, "transport": "streamable-http", "url": f"https://mcp{index}.example.com/mcp"}
            continue
        servers[name] = {
            **common,
            "transport": "stdio",
            "image": f"ghcr.io/bench/server-{index}:1.{index % 10}.0",
            "env_vars": [{"name": f"TOKEN_{v}", "description": "A credential.", "required": True, "secret": True} for v in range(3)],
            "permissions": {"network": {"outbound": {"allow_host": [f"api{index}.example.com"], "allow_port": [443]}}},
        }
    return {"version": "1.0.0", "last_updated": "2026-10-01T00:00:00Z", "servers": servers, "remote_servers": remotes}


def time_import(registry: Path, runs: int = 3) -> float:
    """Best wall-clock seconds of `runs` fresh-process imports into empty folders."""
    best = float("inf")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as target:
            started = time.perf_counter()
            subprocess.run([str(CLI), "import", str(registry), "--into", f"{target}/src", "--quiet"], check=True, capture_output=True)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry = Path(folder) / "registry.json"
        registry.write_text(json.dumps(synthetic_registry(args.servers)), encoding="utf-8")
        seconds = time_import(registry)
    print(f"import of {args.servers:,} entries: {seconds:.2f} s (best of 3, fresh process)")


if __name__ == "__main__":
    main()
