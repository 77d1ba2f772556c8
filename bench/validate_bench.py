"""Time `mcp-catalog validate` on generated catalogs (issue: 10,000 servers in under 5 s).

    python bench/validate_bench.py [--sizes 1000 10000] [--runs 3] [--dir /dev/shm/mcp-bench]

Generates each catalog once (bench/synthetic.py), then runs the real CLI in a
fresh process several times and prints the best and median wall time. Figures
belong in bench/RESULTS.md with the machine and the date.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_catalog  # noqa: E402


def time_validate(source: Path, runs: int) -> list[float]:
    """Wall times of `mcp-catalog validate -q` on `source`, one fresh process per run."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "generator", "validate", "-q", "--source", str(source)], check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/mcp-bench"))
    arguments = parser.parse_args()
    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| servers | files | best (s) | median (s) |")
    print("|---:|---:|---:|---:|")
    for size in arguments.sizes:
        source = arguments.dir / f"catalog-{size}"
        if not (source / "catalog.yaml").exists():
            shutil.rmtree(source, ignore_errors=True)
            write_catalog(source, size)
        times = time_validate(source, arguments.runs)
        print(f"| {size} | {2 * size + 1} | {min(times):.2f} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
