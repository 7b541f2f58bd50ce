// Vitest global setup of the "node" project: says in one line when the contract tests will be
// skipped because MaintainX's OpenAPI description is not where they look for it, and when the
// browser tests will be skipped because no Chromium is installed.

import { existsSync } from "node:fs";
import { browserRequired, chromiumPath, missingBrowserMessage } from "./browser-location";
import { descriptionPath, descriptionRequired, missingDescriptionMessage } from "./openapi-location";

export default function setup(): void {
  const path = descriptionPath();
  if (!existsSync(path) && !descriptionRequired()) console.warn(missingDescriptionMessage(path));
  if (!chromiumPath() && !browserRequired()) console.warn(missingBrowserMessage());
}
