"""Keystroke-to-results time of the index page's search, in Debian's Chromium, at N servers.

Generates a synthetic catalog (bench/synthetic.py), renders only what the
index page needs (its pages, the stylesheet, search.js and the search data,
chunked above 5,000 servers), opens it over file:// and times, inside the
page, one `input` event on the search box until search.js has rebuilt the
result list and the browser has laid it out. Reports median and worst per query.

    python bench/search_bench.py [--servers 10000] [--work DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from generator.output import OutputFile
from generator.render import site
from generator.render.context import RenderContext
from generator.render.kind import Deferred
from generator.source.validate import read_catalog

QUERIES = ("q", "qu", "que", "quer", "query", "query i", "query index", "tool:fetch", '"secret token"', "-alert")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
# One keystroke: set the value, fire `input`, then force layout so the time includes the new cards.
MEASURE = """query => {
  const box = document.getElementById('q');
  const start = performance.now();
  box.value = query;
  box.dispatchEvent(new Event('input'));
  document.getElementById('results').getBoundingClientRect();
  return performance.now() - start;
}"""


def index_files(source: Path) -> list[OutputFile]:
    """The index pages, assets and search data of the site for `source` (server pages are not needed)."""
    context = RenderContext(read_catalog(source).catalog)
    wanted = ("index.html", "page/", "assets/")
    items = (item for item in site.catalog_files(context) if item.path.startswith(wanted))
    return [item.made() if isinstance(item, Deferred) else item for item in items]


def measure(site_dir: Path, rounds: int) -> tuple[float, float, dict[str, list[float]]]:
    """Milliseconds until the page is usable and until its search is ready, and per query
    `rounds` times each, in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {query: [] for query in QUERIES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((site_dir / "index.html").as_uri())
        page.wait_for_function("() => window.MCPCatalogPage !== undefined", timeout=60000, polling=5)
        ready = page.evaluate("performance.now()")  # since navigation started: search data loaded
        usable = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
        for _ in range(rounds):
            for query in QUERIES:
                page.evaluate(MEASURE, "")
                timings[query].append(page.evaluate(MEASURE, query))
        browser.close()
    return usable, ready, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated catalog and pages")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="search-bench-"))
    source = work / "source"
    if not (source / "catalog.yaml").is_file():
        subprocess.run([sys.executable, str(Path(__file__).with_name("synthetic.py")), str(source),
                        str(options.servers)], check=True)
    site_dir = work / "site"
    for item in index_files(source):
        target = site_dir / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)
    print(f"{options.servers} servers, {options.rounds} rounds, milliseconds from keystroke to laid-out results")
    print(f"{'query':<16} {'median':>8} {'worst':>8}")
    worst_median = 0.0
    usable, ready, timings = measure(site_dir, options.rounds)
    for query, values in timings.items():
        median = statistics.median(values)
        worst_median = max(worst_median, median)
        print(f"{query:<16} {median:8.1f} {max(values):8.1f}")
    print(f"slowest median: {worst_median:.1f} ms (target: under 50 ms)")
    print(f"index page usable (DOMContentLoaded: list, links, pager) after {usable:.0f} ms")
    print(f"index page search ready (every chunk loaded) after {ready:.0f} ms (target for interactive: 1,000 ms)")


if __name__ == "__main__":
    main()
