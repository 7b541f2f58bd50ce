// Where the browser tests find Chromium (kept apart from browser.ts so the global setup can read
// it without loading vitest's test API). They drive an installed browser and download none.

import { existsSync } from "node:fs";

export const BROWSER_ENV = "CHROMIUM_PATH";
export const BROWSER_REQUIRED_ENV = "BROWSER_TESTS_REQUIRED";
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** CHROMIUM_PATH, else the first installed of Debian's and others' usual paths. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env[BROWSER_ENV]?.trim();
  if (configured) return existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** True when a missing browser must fail the run (CI sets BROWSER_TESTS_REQUIRED=1). */
export function browserRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[BROWSER_REQUIRED_ENV] === "1";
}

export function missingBrowserMessage(): string {
  return `Chromium not found (${CANDIDATES.join(", ")}; set ${BROWSER_ENV}); browser tests skipped (apt-get install -y chromium)`;
}
