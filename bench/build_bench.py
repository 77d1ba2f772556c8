"""Time full builds of generated catalogs and compare them with Hugo and MkDocs on the same text.

    python bench/build_bench.py [--sizes 1000 10000] [--huge] [--where tmpfs disk] [--jobs N]

The catalogs have the default catalog's registry profiles (`synthetic.py --default-profiles`).
For each size: a cold build (fresh output folder), a warm rebuild after one server changed
(median of three, each after another server's change), the peak RSS of the build's largest
process (cold, and over the rebuilds), the output's size and file count, and the time to
create the same number of files of the same sizes (the filesystem's floor for our output). Files are also given per server.
For the rebuild, the same floor for what it had to rewrite (the files the last rebuild gave a new
inode: the changed server's own and every whole-catalog file listing it) and the program's
start-up (importing the CLI and the build), the two costs no rebuild of this output can avoid.
When `hugo` or `mkdocs` is on PATH, the same N overviews are built as plain pages by them,
in the same run and on the same filesystem, and our time is printed as a ratio to theirs.
It never fails on a slow result: it prints one Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_catalog  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PLACES = {"tmpfs": Path("/dev/shm/mcp-catalog-bench"), "disk": REPO / ".cache" / "bench"}
MKDOCS_TIMEOUT = 900


@dataclass
class Figures:
    """One row of the table."""

    servers: int
    where: str
    cold: float
    warm: float
    peak_rss_mb: float
    warm_rss_mb: float
    files: int
    megabytes: float
    floor: float
    rewritten_files: int
    rewritten_megabytes: float
    rewrite_floor: float
    start_up: float
    hugo: float | None
    mkdocs: float | None


# Runs the command as its only child and prints that child's peak RSS (KiB), so each
# measurement starts from zero instead of the benchmark's running maximum.
_RSS_WRAPPER = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


# The builds run as an installed program does: with its compiled bytecode (pip writes it at install).
# A shell with PYTHONDONTWRITEBYTECODE set would otherwise make every build compile every module
# (about 0.1 s of each start-up). The bytecode goes to a folder of its own, not into the repository.
_PROGRAM_ENV = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": str(PLACES["tmpfs"] / "pycache"),
}


def compile_program() -> None:
    """Write the bytecode every timed build will use, as `pip install` would have."""
    subprocess.run([sys.executable, "-c", "import generator.cli, generator.build"], cwd=REPO, env=_PROGRAM_ENV, check=True)


def timed(command: list[str], cwd: Path | None = None, timeout: float | None = None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of `command`, run to completion in a fresh process (see `_PROGRAM_ENV`)."""
    started = time.perf_counter()
    # A session of its own, so that a timeout kills the measured command too (killing only the
    # wrapper would leave it running, holding our pipes open until it finished).
    process = subprocess.Popen(
        [sys.executable, "-c", _RSS_WRAPPER, *command], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env=_PROGRAM_ENV,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, stdout, stderr)
    elapsed = time.perf_counter() - started
    return elapsed, int(stdout.split()[-1]) / 1024


def build_command(source: Path, out: Path, jobs: int) -> list[str]:
    # The cache on the same disk as the output (beside it, as the default was until the default moved to ~/.cache).
    return [sys.executable, "-m", "generator", "build", "-q", "--jobs", str(jobs), "--source", str(source), "--out", str(out),
            "--cache-dir", str(out.parent / ".cache" / "mcp-catalog" / out.name)]


def file_floor(out: Path, scratch: Path) -> float:
    """Seconds to create files of the same count and sizes as `out` holds, single-threaded."""
    return sizes_floor([path.stat().st_size for path in out.rglob("*") if path.is_file()], scratch)


def sizes_floor(sizes: list[int], scratch: Path) -> float:
    """Seconds to create files of these sizes under `scratch`, single-threaded."""
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    for index, size in enumerate(sizes):
        folder = scratch / f"{index // 1000:04d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True)
        with open(folder / f"f{index}", "wb") as handle:
            handle.write(b"x" * size)
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    return elapsed


def hugo_time(source: Path, work: Path) -> float | None:
    """Hugo building the N overviews as plain pages, or None when hugo is not installed."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    site = work / "hugo"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content" / "servers").mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "/"\ntitle = "bench"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n')
    layout = "<!DOCTYPE html><html><head><title>{{ .Title }}</title></head><body>{{ .Content }}</body></html>\n"
    (site / "layouts" / "_default" / "single.html").write_text(layout)
    (site / "layouts" / "_default" / "list.html").write_text(layout)
    for overview in sorted((source / "servers").glob("*.md")):
        page = f"---\ntitle: {overview.stem}\n---\n" + overview.read_text()
        (site / "content" / "servers" / overview.name).write_text(page)
    try:
        elapsed, _ = timed([hugo, "--quiet", "--destination", str(site / "public")], cwd=site)
    finally:
        shutil.rmtree(site, ignore_errors=True)  # tmpfs is memory: leave nothing behind
    return elapsed


def mkdocs_time(source: Path, work: Path) -> float | None:
    """MkDocs building the N overviews, or None when mkdocs is missing or too slow."""
    mkdocs = shutil.which("mkdocs")
    if mkdocs is None:
        return None
    site = work / "mkdocs"
    shutil.rmtree(site, ignore_errors=True)
    (site / "docs").mkdir(parents=True)
    (site / "mkdocs.yml").write_text("site_name: bench\n")
    (site / "docs" / "index.md").write_text("# bench\n")
    for overview in sorted((source / "servers").glob("*.md")):
        shutil.copy(overview, site / "docs" / overview.name)
    try:
        elapsed, _ = timed([mkdocs, "build", "--quiet", "--site-dir", str(site / "site")], cwd=site, timeout=MKDOCS_TIMEOUT)
    except subprocess.TimeoutExpired:
        return float("inf")
    finally:
        # MkDocs copies the whole navigation into every page: at 10,000 pages its output filled
        # 15 GB of tmpfs (that is, of memory) before the timeout.
        shutil.rmtree(site, ignore_errors=True)
    return elapsed


# Rebuilds timed per size, each after one more server's title changed; the median is reported
# (this VM's speed drifts by a third between minutes).
REBUILDS = 3


def rebuilds_after_one_change(source: Path, out: Path, jobs: int, rewritten: list[int]) -> Iterator[tuple[float, float]]:
    """Wall time and peak RSS (MB) of REBUILDS rebuilds of `out`, each after one more server's title changed.

    `rewritten` receives the sizes of the files the last rebuild wrote (see `inodes`)."""
    originals: dict[Path, str] = {}
    try:
        for number in range(REBUILDS):
            changed = source / "servers" / f"server-{number:06d}.yaml"
            originals[changed] = changed.read_text()
            changed.write_text(originals[changed].replace(f"title: Server {number}\n", f"title: Server {number} (changed)\n"))
            before = inodes(out)
            yield timed(build_command(source, out, jobs), cwd=REPO)
            rewritten[:] = [size for path, (inode, size) in inodes(out).items() if before.get(path, (None, 0))[0] != inode]
    finally:
        for path, text in originals.items():
            path.write_text(text)


def inodes(out: Path) -> dict[str, tuple[int, int]]:
    """Path -> (inode, size) of every file of `out`. A rebuild keeps a file it need not change as
    the same inode (a hard link into the new tree) and writes every other one as a new inode."""
    return {os.fspath(path.relative_to(out)): (stat.st_ino, stat.st_size)
            for path in out.rglob("*") if path.is_file() and (stat := path.stat())}


def start_up() -> float:
    """Seconds to start Python and import the CLI and the build (compiled), the least any build costs; median of three."""
    command = [sys.executable, "-c", "import generator.cli, generator.build"]
    return statistics.median(timed(command, cwd=REPO)[0] for _ in range(3))


def measure(size: int, where: str, jobs: int, compare: bool, mkdocs_up_to: int) -> Figures:
    base = PLACES[where] / f"n{size}"
    source = base / "source-default-profiles"  # issue 14's files-per-server target is set with the default catalog's profiles
    if not (source / "catalog.yaml").exists():
        shutil.rmtree(source, ignore_errors=True)
        write_catalog(source, size, default_profiles=True)
    out = base / "site"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(base / ".cache", ignore_errors=True)  # the build cache (--cache-dir): a cold build has none
    cold, rss = timed(build_command(source, out, jobs), cwd=REPO)
    rewritten: list[int] = []
    rebuilds = list(rebuilds_after_one_change(source, out, jobs, rewritten))
    warm = statistics.median(seconds for seconds, _ in rebuilds)
    warm_rss = max(rss for _, rss in rebuilds)
    files = [path for path in out.rglob("*") if path.is_file()]
    megabytes = sum(path.stat().st_size for path in files) / 1e6
    floor = file_floor(out, base / "floor")
    rewrite_floor = sizes_floor(rewritten, base / "floor")
    hugo = hugo_time(source, base) if compare else None
    mkdocs = mkdocs_time(source, base) if compare and size <= mkdocs_up_to else NOT_RUN
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(base / ".cache", ignore_errors=True)
    return Figures(size, where, cold, warm, rss, warm_rss, len(files), megabytes, floor,
                   len(rewritten), sum(rewritten) / 1e6, rewrite_floor, start_up(), hugo, mkdocs)


NOT_RUN = -1.0


def ratio(ours: float, theirs: float | None) -> str:
    if theirs is None:
        return "not installed"
    if theirs == NOT_RUN:
        return "not run (--mkdocs-up-to)"
    if theirs == float("inf"):
        return f"did not finish in {MKDOCS_TIMEOUT} s"
    return f"{theirs:.1f} s (ours ×{ours / theirs:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--huge", action="store_true", help="also 100,000 servers")
    parser.add_argument("--where", nargs="+", choices=sorted(PLACES), default=["tmpfs", "disk"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-compare", action="store_true", help="skip Hugo and MkDocs")
    parser.add_argument(
        "--mkdocs-up-to", type=int, default=1000,
        help="run MkDocs only up to this size (it needs over 15 minutes for 10,000 pages here)",
    )
    arguments = parser.parse_args()
    sizes = arguments.sizes + ([100_000] if arguments.huge else [])
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, --jobs {arguments.jobs}")
    print(
        "| servers | where | cold build | rebuild after 1 change | peak RSS cold / rebuild | files (per server) | output "
        "| file-creation floor | rewritten by a rebuild | rewrite floor + start-up | Hugo | MkDocs |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    compile_program()
    for size in sizes:
        for where in arguments.where:
            row = measure(size, where, arguments.jobs, compare=not arguments.no_compare, mkdocs_up_to=arguments.mkdocs_up_to)
            print(
                f"| {row.servers:,} | {row.where} | {row.cold:.1f} s | {row.warm:.1f} s | {row.peak_rss_mb:,.0f} / {row.warm_rss_mb:,.0f} MB "
                f"| {row.files:,} ({row.files / row.servers:.1f}) | {row.megabytes:.0f} MB | {row.floor:.1f} s "
                f"| {row.rewritten_files:,} files, {row.rewritten_megabytes:,.0f} MB | {row.rewrite_floor:.2f} + {row.start_up:.2f} s "
                f"| {ratio(row.cold, row.hugo)} "
                f"| {ratio(row.cold, row.mkdocs)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
