"""The cost of the atomic switch: a rebuild that changed nothing still stages the whole tree.

Writes a tree of N small files (about the 33 files a server makes, times N / 33 servers),
then runs an `OutputTree` update in which every file is unchanged: the time is what the
switch adds to a rebuild (hard-link every file into staging, one exchange, delete the old
tree). Prints seconds and microseconds per file.

    python bench/switch_bench.py [FILES] [--place /dev/shm/x]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
from pathlib import Path

from generator.output import OutputFile, OutputTree, WrittenFile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", type=int, nargs="?", default=100_000)
    parser.add_argument("--place", type=Path, default=Path("/dev/shm/mcp-catalog-switch-bench"))
    options = parser.parse_args()
    shutil.rmtree(options.place, ignore_errors=True)
    out = options.place / "site"
    paths = [f"servers/s{i // 33}/f{i % 33}.json" for i in range(options.files)]
    content = b"{}\n"
    with OutputTree(out) as tree:
        for path in paths:
            tree.write(OutputFile(path, content))
    record = WrittenFile(hashlib.sha256(content).hexdigest(), len(content))
    started = time.perf_counter()
    with OutputTree(out, previous={path: record for path in paths}) as tree:
        for path in paths:
            tree.write(OutputFile(path, content))
    seconds = time.perf_counter() - started
    print(f"{options.files} unchanged files switched in {seconds:.2f} s ({seconds / options.files * 1e6:.1f} µs a file)")
    shutil.rmtree(options.place, ignore_errors=True)


if __name__ == "__main__":
    main()
