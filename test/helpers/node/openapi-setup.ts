// Vitest global setup of the "node" project: says in one line when the contract tests will be
// skipped because MaintainX's OpenAPI description is not where they look for it.

import { existsSync } from "node:fs";
import { descriptionPath, descriptionRequired, missingDescriptionMessage } from "./openapi-location";

export default function setup(): void {
  const path = descriptionPath();
  if (!existsSync(path) && !descriptionRequired()) console.warn(missingDescriptionMessage(path));
}
