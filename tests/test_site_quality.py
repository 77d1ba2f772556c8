"""Measured quality of the site: Lighthouse scores and axe-core violations, as tests that fail below the bar.

Lighthouse 12.2.3 and axe-core come from npm, pinned in tools/quality/package-lock.json
(`npm ci --prefix tools/quality`; .ci/run does it); Chromium is Debian's. The default catalog is
served by real nginx with the shipped config (deploy/web/nginx), on 127.0.0.1 only: nothing
leaves the machine. Bars: accessibility 100, best practices 100, performance at least 95, on the
index, a server page, the reviewer's table and a registry page, with Lighthouse's desktop and
mobile settings; axe: no violation on every page kind, light and dark.

Performance is timed, so a loaded machine scores lower: a page below the bar is measured twice
more and judged on the median of the three runs, as Lighthouse's documentation recommends for
variance. Scores are written to test-artifacts/lighthouse.json (docs/site.md quotes them).

The eight first runs share one Node process, each in a Chromium of its own as the CLI runs it
(tests/lighthouse_batch.mjs): a CLI call per run took 15-18 s, of which Node loading Lighthouse
was a few seconds and a full-page screenshot no audit reads about 2.5 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO
from webservers import nginx_serving

sys.path.insert(0, str(REPO / "tools"))
from lighthouse_run import LIGHTHOUSE, QUALITY, scores  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
BATCH = Path(__file__).resolve().parent / "lighthouse_batch.mjs"
AXE = QUALITY / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
LIGHTHOUSE_PAGES = ("index.html", "servers/github/index.html", "reviews/index.html", "registries/production/index.html")
BARS = {"accessibility": 100, "best-practices": 100, "performance": 95}
# Every page kind the site has (changes/ only exists with --previous: see reviewed_site_url).
AXE_PAGES = ("index.html", "page/2/index.html", "servers/github/index.html", "servers/context7-remote/index.html",
             "categories/security/index.html", "tags/kubernetes/index.html", "tiers/validated/index.html",
             "tools/index.html", "registries/production/index.html", "registries/production/withheld/index.html",
             "registries/production/left-out/index.html", "reviews/index.html", "about/index.html",
             "404.html", "changes/index.html")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"),
    pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx: apt-get install nginx"),
    pytest.mark.skipif(not LIGHTHOUSE.is_file() or not AXE.is_file(),
                       reason="needs Lighthouse and axe-core: npm ci --prefix tools/quality"),
]


@pytest.fixture(scope="module")
def quality_site(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with a second index page, tools pages and a changes page, so that every page kind exists.

    The previous release is the shared default build's catalog document without one server: of a
    site folder passed as --previous the build reads api/v1/catalog.json only (a folder built
    here for it cost a whole build)."""
    from conftest import DEFAULT_SOURCE
    from generator.build import build
    from generator.render.site import pages as site_pages
    from generator.render.site import search as site_search

    previous = tmp_path_factory.mktemp("previous") / "site"
    (previous / "api/v1").mkdir(parents=True)
    catalog = json.loads((default_site / "api/v1/catalog.json").read_text())
    catalog["servers"] = [server for server in catalog["servers"] if server["name"] != "osv"]
    (previous / "api/v1/catalog.json").write_text(json.dumps(catalog))
    out = tmp_path_factory.mktemp("quality") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_search, "PAGE_SIZE", 30)
        patch.setattr(site_pages, "TOOLS_PER_PAGE", 200)
        build(DEFAULT_SOURCE, out, jobs=1, previous=previous)
    assert "osv" in (out / "changes/index.html").read_text(), "the changes page must show the server added since"
    return out


@pytest.fixture(scope="module")
def served(quality_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nginx_serving(quality_site, tmp_path_factory.mktemp("nginx")) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def recorded() -> Iterator[dict[str, dict[str, int]]]:
    results: dict[str, dict[str, int]] = {}
    yield results
    ARTIFACTS.mkdir(exist_ok=True)
    previous = ARTIFACTS / "lighthouse.json"
    merged = {**(json.loads(previous.read_text()) if previous.is_file() else {}), **results}
    previous.write_text(json.dumps(dict(sorted(merged.items())), indent=2) + "\n")


def lighthouse_scores(runs: list[tuple[str, str]]) -> list[dict[str, int]]:
    """The category scores of each (url, preset) run, in order, all in one Node process (a Chromium each)."""
    environment = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", str(CHROMIUM))}
    finished = subprocess.run(["node", str(BATCH), str(QUALITY), json.dumps(runs)], env=environment,
                              capture_output=True, text=True, timeout=300 * len(runs))
    if finished.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {runs}: {finished.stderr[-2000:]}")
    return [scores(report) for report in json.loads(finished.stdout)]


@pytest.fixture(scope="module")
def first_runs(served: str, request: pytest.FixtureRequest) -> dict[tuple[str, str], dict[str, int]]:
    """The first run of every (page, preset) the session selected, as one batch."""
    selected = [(item.callspec.params["page"], item.callspec.params["preset"]) for item in request.session.items
                if getattr(item, "originalname", "") == "test_lighthouse_scores" and item.module is request.module]
    return dict(zip(selected, lighthouse_scores([(served + page, preset) for page, preset in selected])))


@pytest.mark.alone  # performance is timed: scored beside the other tests' load, it drops below the bar
@pytest.mark.parametrize("preset", ["desktop", "mobile"])
@pytest.mark.parametrize("page", LIGHTHOUSE_PAGES)
def test_lighthouse_scores(served: str, first_runs: dict[tuple[str, str], dict[str, int]],
                           recorded: dict[str, dict[str, int]], page: str, preset: str) -> None:
    runs = [first_runs[(page, preset)]]
    if runs[0]["performance"] < BARS["performance"]:
        runs += lighthouse_scores([(served + page, preset)] * 2)
    result = {**runs[0], "performance": int(statistics.median(run["performance"] for run in runs))}
    recorded[f"{page} ({preset})"] = result
    low = {name: result[name] for name, bar in BARS.items() if result[name] < bar}
    assert not low, f"{page} ({preset}): {low} below {BARS} (runs: {runs})"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield instance
        instance.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_any_page_kind(browser: object, served: str, scheme: str) -> None:
    # bypass_csp: axe is injected as an inline script, which the pages' CSP rightly refuses.
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)  # type: ignore[attr-defined]
    source = AXE.read_text()
    found = {}
    try:
        page = context.new_page()
        for path in AXE_PAGES:
            response = page.goto(served + path)
            assert response is not None and response.ok, f"{path}: {response and response.status}"  # axe passes a 404 page
            page.add_script_tag(content=source)
            result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            violations = [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in result["violations"]]
            if violations:
                found[path] = violations
        page.goto(served + "index.html")  # the search results and the open filter panel, drawn by search.js
        page.fill("#q", "is:destructive")
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("#filters-toggle")
        page.add_script_tag(content=source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        if result["violations"]:
            found["index.html (searched, phone)"] = [v["id"] for v in result["violations"]]
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(served + "tools/index.html")  # a search of every tools page, its rows drawn by search.js
        page.fill("#tool-q", "delete")
        # Every page's matches: counted against the catalog's 453 tools, not the page's 200.
        page.wait_for_function("() => / of 453 tools$/.test(document.getElementById('tool-status').textContent)")
        page.add_script_tag(content=source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        if result["violations"]:
            found["tools/index.html (searched)"] = [v["id"] for v in result["violations"]]
    finally:
        context.close()
    assert found == {}, json.dumps(found, indent=2)
