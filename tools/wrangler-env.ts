// How every wrangler command run by the end-to-end tests, the soak and the benchmarks is started:
// the repository's own wrangler binary, in the repository's root, with this environment.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

export const WRANGLER_BIN = join(
  REPO_ROOT,
  "node_modules",
  ".bin",
  process.platform === "win32" ? "wrangler.cmd" : "wrangler",
);

export function wranglerEnv(configHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // No telemetry, no prompts, nothing written under the home folder, and plain text logs.
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: configHome,
    CI: "true",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
  // With this set, wrangler would copy the whole environment into the Worker's bindings.
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
  return env;
}
