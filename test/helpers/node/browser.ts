// Chromium for the browser tests, through playwright-core and the installed browser: the flags
// keep it from reaching out to the network, which this machine's tests never do.

import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { it } from "vitest";
import { browserRequired, chromiumPath, missingBrowserMessage } from "./browser-location";

/**
 * The browser's path, or undefined: the browser tests are then skipped (the run's one-line notice
 * comes from the global setup), unless BROWSER_TESTS_REQUIRED=1, when this registers a failing test.
 */
export function browserForTests(): string | undefined {
  const path = chromiumPath();
  if (!path && browserRequired()) {
    it("finds Chromium (BROWSER_TESTS_REQUIRED=1)", () => {
      throw new Error(missingBrowserMessage());
    });
  }
  return path;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      // Root (as in CI) cannot use Chromium's sandbox.
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
    ],
  });
}

/** Screenshots go to CONSOLE_SCREENSHOTS_DIR (README's come from `npm run screenshots`), else test-results/. */
const SCREENSHOT_DIR = resolve(process.env.CONSOLE_SCREENSHOTS_DIR?.trim() || "test-results/console");

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}
