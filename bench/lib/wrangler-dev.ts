// The receiver under a real `wrangler dev` (what `npm run dev` runs), on 127.0.0.1, with fresh
// local state and the D1 migrations applied, for the row that measures wrangler's dev proxy.

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { wranglerEnv } from "../../test/helpers/node/wrangler-env";
import { REPO_ROOT, type RunningServer, startServer } from "./servers";
import { WRANGLER_BIN } from "./worker-build";

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("No free port on 127.0.0.1"))));
    });
  });
}

export async function startWranglerDev(options: { tempDir: string; secret: string }): Promise<RunningServer> {
  const env = wranglerEnv(join(options.tempDir, "config"));
  const persistTo = join(options.tempDir, "state");
  await run(WRANGLER_BIN, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    cwd: REPO_ROOT,
    env,
    timeout: 60_000,
  });
  // An env file of its own keeps a developer's .dev.vars (real secrets) out of the benchmark.
  const envFile = join(options.tempDir, "bench.env");
  writeFileSync(envFile, "");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  return startServer({
    command: WRANGLER_BIN,
    args: [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      persistTo,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      "--var",
      `MAINTAINX_WEBHOOK_SECRET:${options.secret}`,
    ],
    env,
    probe: async () => {
      try {
        const response = await fetch(new URL("/health", url), { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        return response.status === 200 ? { url } : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs: 60_000,
  });
}
