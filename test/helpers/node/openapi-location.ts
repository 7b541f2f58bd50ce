// Where the contract tests find MaintainX's OpenAPI description (kept apart from openapi.ts so
// the global setup can read it without loading vitest's test API).

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEFAULT_DESCRIPTION = "../shared/maintainx-openapi/api-evangelist-maintainx-original-1b91c3a.openapi.json";
export const DESCRIPTION_ENV = "MAINTAINX_OPENAPI";
export const REQUIRED_ENV = "MAINTAINX_OPENAPI_REQUIRED";

/** Where the description is looked for: MAINTAINX_OPENAPI, else the default, against the repository root. */
export function descriptionPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env[DESCRIPTION_ENV]?.trim() || DEFAULT_DESCRIPTION);
}

/** True when a missing description must fail the run (CI sets MAINTAINX_OPENAPI_REQUIRED=1). */
export function descriptionRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[REQUIRED_ENV] === "1";
}

export function missingDescriptionMessage(path: string): string {
  return `MaintainX OpenAPI description not found at ${path}; contract tests skipped (set ${DESCRIPTION_ENV})`;
}
