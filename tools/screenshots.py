"""Take the README's screenshots of the site, at desktop and phone width, into docs/screenshots/.

    .venv/bin/python tools/screenshots.py

Builds the default catalog into a temporary folder and opens it from disk in Debian's Chromium
(through Playwright; no browser is downloaded). Run it after changing the look of the site.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.build import build  # noqa: E402

SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# (file name, page and hash, viewport width, height)
VIEWS = (
    ("site-index.png", "index.html#q=kube", 1400, 1000),
    ("site-index-phone.png", "index.html", 390, 844),
    ("site-server.png", "servers/github/index.html", 1400, 1000),
    ("site-server-phone.png", "servers/github/index.html", 390, 844),
    ("site-reviews.png", "reviews/index.html", 1400, 1000),
    ("site-server-deploy.png", "servers/github/index.html#deploy-profile-production", 1400, 1000),
    ("site-server-rejected.png", "servers/slack-mcp-server/index.html", 1400, 1000),
)


def take(site: Path) -> list[Path]:
    """Every view of `site` as a PNG in docs/screenshots/."""
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, page_path, width, height in VIEWS:
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme="light")
            page = context.new_page()
            page.goto(f"{site.as_uri()}/{page_path}")
            page.wait_for_load_state("load")
            page.screenshot(path=str(SHOTS / name))
            written.append(SHOTS / name)
            context.close()
        browser.close()
    return written


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mcp-catalog-shots-") as folder:
        site = Path(folder) / "site"
        build(REPO / "catalog-source", site, jobs=1)
        for path in take(site):
            print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
