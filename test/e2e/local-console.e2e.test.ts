// Zero-config `npm run dev`, as a newcomer runs it: it makes a random admin token at each start,
// prints the console's link, leaves the token where `npm run cli` finds it, and the Worker honours
// that token on loopback hosts only. Runs the real `npm run dev` (migrations, then wrangler dev).

import { type ChildProcess, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ADMIN_TOKEN_FILE } from "../../src/local-dev";
import { REPO_ROOT, wranglerEnv } from "../../tools/wrangler-env";
import { freePort, startDevScript, stopDevScript } from "../helpers/node/dev-script";
import { plainRequest } from "../helpers/node/http";

// `npm run dev` makes the local token only when .dev.vars configures no ADMIN_TOKEN (as on a
// fresh clone and in CI); a developer's own .dev.vars with one turns this file off.
const devVarsPath = join(REPO_ROOT, ".dev.vars");
const configuredToken = existsSync(devVarsPath) && /^\s*ADMIN_TOKEN\s*=\s*\S/m.test(readFileSync(devVarsPath, "utf8"));
if (configuredToken)
  console.warn("local-console: .dev.vars sets ADMIN_TOKEN, so npm run dev makes no local token; skipped");

describe.skipIf(configuredToken)("npm run dev without configuration", () => {
  let child: ChildProcess;
  let port = 0;
  let link = "";
  const tempDirs: string[] = [];
  const tokenFile = join(REPO_ROOT, LOCAL_ADMIN_TOKEN_FILE);

  // A developer's own `npm run dev` may have left its token file: put it back afterwards.
  let previousTokenFile: string | undefined;

  beforeAll(async () => {
    previousTokenFile = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8") : undefined;
    port = await freePort();
    const persist = mkdtempSync(join(tmpdir(), "local-console-state-"));
    const configHome = mkdtempSync(join(tmpdir(), "local-console-config-"));
    tempDirs.push(persist, configHome);
    const env = wranglerEnv(configHome);
    // An ADMIN_TOKEN in the environment would configure the Worker instead of the local token.
    delete env.ADMIN_TOKEN;
    ({ child, link } = await startDevScript({
      command: "npm",
      args: ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persist],
      cwd: REPO_ROOT,
      env,
      timeoutMs: 60_000,
    }));
  }, 90_000);

  afterAll(async () => {
    await stopDevScript(child);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    if (previousTokenFile !== undefined) writeFileSync(tokenFile, previousTokenFile, { mode: 0o600 });
  });

  const token = () => new URL(link).hash.replace("#token=", "");

  it("prints the console link on its port and leaves the same token and URL for the command line", () => {
    expect(link).toMatch(new RegExp(`^http://localhost:${port}/admin#token=local-`));
    expect(token().length).toBeGreaterThanOrEqual(32);
    const file = JSON.parse(readFileSync(tokenFile, "utf8")) as { token: string; url: string };
    expect(file).toEqual({ token: token(), url: `http://localhost:${port}` });
  });

  it("keeps the token off the process list: it reaches wrangler in an owner-only file", () => {
    const processes = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout;
    expect(processes).toContain("wrangler");
    expect(processes).not.toContain(token());
  });

  it("opens /admin with the printed token on a loopback host", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const status = await plainRequest(`http://127.0.0.1:${port}/admin/status`, {
        headers: { host, authorization: `Bearer ${token()}` },
      });
      expect(status.status).toBe(200);
      const page = await plainRequest(`http://127.0.0.1:${port}/admin`, { headers: { host } });
      expect(page.status).toBe(200);
    }
    const wrong = await plainRequest(`http://127.0.0.1:${port}/admin/status`, {
      headers: { authorization: "Bearer local-not-the-token" },
    });
    expect(wrong.status).toBe(401);
  });

  it("never honours the local token for a public host name: /admin does not exist there", async () => {
    for (const path of ["/admin/status", "/admin", "/admin/console.js"]) {
      const response = await plainRequest(`http://127.0.0.1:${port}${path}`, {
        headers: { host: "maintainx-webhooks.example.workers.dev", authorization: `Bearer ${token()}` },
      });
      expect(response.status).toBe(404);
    }
  });

  it("removes the token file when it ends", async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
    // npm itself may end first; the dev script removes the file once wrangler has ended.
    await expect.poll(() => existsSync(tokenFile), { timeout: 10_000 }).toBe(false);
  });
});
