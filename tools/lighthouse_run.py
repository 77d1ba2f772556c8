"""Run Lighthouse (tools/quality, pinned) on one URL and print the category scores as JSON.

Used by tests/test_site_quality.py and by hand:
    .venv/bin/python tools/lighthouse_run.py URL [--preset desktop|mobile]
Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) runs headless; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

QUALITY = Path(__file__).resolve().parent / "quality"
LIGHTHOUSE = QUALITY / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --no-first-run"


def lighthouse(url: str, preset: str) -> dict[str, object]:
    """The Lighthouse report of `url` with the `desktop` or `mobile` (Lighthouse's default) settings."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as folder:
        report = Path(folder) / "report.json"
        command = ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
                   f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}"]
        if preset == "desktop":
            command.append("--preset=desktop")
        environment = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
        finished = subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        if finished.returncode != 0:
            raise RuntimeError(f"lighthouse failed on {url}: {finished.stderr.decode(errors='replace')[-2000:]}")
        return json.loads(report.read_text())


def scores(report: dict[str, object]) -> dict[str, int]:
    """Each category's score out of 100."""
    categories = report["categories"]  # type: ignore[index]
    return {name: round(categories[name]["score"] * 100) for name in CATEGORIES}  # type: ignore[index]


def failing_audits(report: dict[str, object]) -> list[str]:
    """The scored audits below 1, with their values: what to look at when a score drops."""
    audits = report["audits"]  # type: ignore[index]
    return [f"{key}: {audit['score']} {audit.get('displayValue', '')}".strip() for key, audit in audits.items()  # type: ignore[union-attr]
            if audit.get("score") is not None and audit["score"] < 1 and audit.get("scoreDisplayMode") in ("binary", "numeric")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--preset", choices=("desktop", "mobile"), default="mobile")
    options = parser.parse_args()
    report = lighthouse(options.url, options.preset)
    print(json.dumps({"scores": scores(report), "below_1": failing_audits(report)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
