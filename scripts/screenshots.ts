// `npm run screenshots`: runs the console's browser tests (test/browser/) against a fresh
// `wrangler dev` and keeps the views the README shows, as PNGs in docs/screenshots/.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const VIEWS = ["status", "events", "event", "bulk-replay-preview", "events-phone", "handlers"];
const target = join("docs", "screenshots");
const shots = mkdtempSync(join(tmpdir(), "console-screenshots-"));

const run = spawnSync("npx", ["vitest", "run", "--project", "node", "test/browser"], {
  stdio: "inherit",
  env: { ...process.env, CONSOLE_SCREENSHOTS_DIR: shots, BROWSER_TESTS_REQUIRED: "1" },
});
if (run.status !== 0) {
  rmSync(shots, { recursive: true, force: true });
  console.error("The browser tests failed, so no screenshot was replaced; see the output above.");
  process.exit(run.status ?? 1);
}
mkdirSync(target, { recursive: true });
for (const view of VIEWS) copyFileSync(join(shots, `${view}.png`), join(target, `console-${view}.png`));
rmSync(shots, { recursive: true, force: true });
console.log(`Wrote ${VIEWS.length} screenshots to ${target}/`);
