// Run Lighthouse (tools/quality, pinned) on several pages in one Node process.
//
//   node tests/lighthouse_batch.mjs QUALITY_FOLDER '[["URL", "desktop"|"mobile"], ...]'
//
// Prints, as JSON, each run's category scores (0-1) in the order given. Each run is what
// `lighthouse URL --preset=desktop` (or Lighthouse's default, mobile) does, in a Chromium of its
// own started with the CLI's launcher and flags, as the CLI would: no run shares a browser (its
// cache, its heap) with another. What a CLI call per run cost besides, Node starting and loading
// Lighthouse, is paid once. The full-page screenshot is not taken: it is a picture for the HTML
// report, no audit reads it, and it took about 2.5 s a run.
import { pathToFileURL } from "node:url";
import path from "node:path";

const [quality, runsJson] = process.argv.slice(2);
const load = (relative) => import(pathToFileURL(path.join(quality, "node_modules", relative)).href);
const { default: lighthouse } = await load("lighthouse/core/index.js");
const { default: desktopConfig } = await load("lighthouse/core/config/desktop-config.js");
const chromeLauncher = await load("chrome-launcher/dist/index.js");

const CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run"];
const results = [];
for (const [url, preset] of JSON.parse(runsJson)) {
  const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH || "/usr/bin/chromium", chromeFlags: CHROME_FLAGS });
  try {
    const flags = { port: chrome.port, output: "json", logLevel: "error", disableFullPageScreenshot: true,
      onlyCategories: ["performance", "accessibility", "best-practices"] };
    const { lhr } = await lighthouse(url, flags, preset === "desktop" ? desktopConfig : undefined);
    if (lhr.runtimeError) throw new Error(`${url} (${preset}): ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    results.push({ categories: Object.fromEntries(Object.entries(lhr.categories).map(([id, c]) => [id, { score: c.score }])) });
  } finally {
    await chrome.kill();
  }
}
console.log(JSON.stringify(results));
