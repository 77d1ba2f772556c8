// Run Lighthouse (tools/quality, pinned) on several pages in one Node process and one Chromium.
//
//   node tests/lighthouse_batch.mjs QUALITY_FOLDER '[["URL", "desktop"|"mobile"], ...]'
//
// Prints, as JSON, each run's category scores (0-1) in the order given. The runs are what
// `lighthouse URL --preset=desktop` (or Lighthouse's default, mobile) does, one after the other in
// the same browser, as Lighthouse's node API allows: before each navigation Lighthouse clears the
// origin's storage and the browser cache, so no run inherits a warm page from the one before.
// What a run per CLI call costs besides (about 5 s each: Node loading Lighthouse, Chromium
// starting and stopping) is paid once. The full-page screenshot is not taken: it is a picture for
// the HTML report, no audit reads it, and it took about 2.5 s a run.
import { pathToFileURL } from "node:url";
import path from "node:path";

const [quality, runsJson] = process.argv.slice(2);
const load = (relative) => import(pathToFileURL(path.join(quality, "node_modules", relative)).href);
const { default: lighthouse } = await load("lighthouse/core/index.js");
const { default: desktopConfig } = await load("lighthouse/core/config/desktop-config.js");
const chromeLauncher = await load("chrome-launcher/dist/index.js");

const CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run"];
const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH || "/usr/bin/chromium", chromeFlags: CHROME_FLAGS });
const results = [];
try {
  for (const [url, preset] of JSON.parse(runsJson)) {
    const flags = { port: chrome.port, output: "json", logLevel: "error", disableFullPageScreenshot: true,
      onlyCategories: ["performance", "accessibility", "best-practices"] };
    const { lhr } = await lighthouse(url, flags, preset === "desktop" ? desktopConfig : undefined);
    if (lhr.runtimeError) throw new Error(`${url} (${preset}): ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    results.push({ categories: Object.fromEntries(Object.entries(lhr.categories).map(([id, c]) => [id, { score: c.score }])) });
  }
} finally {
  await chrome.kill();
}
console.log(JSON.stringify(results));
