// `npm run dev` with a .dev.vars that sets a webhook secret but no ADMIN_TOKEN, as a developer who
// receives real deliveries runs it: the local admin token it makes stays off the process list,
// the .dev.vars values reach the Worker as written (`$` included), and neither the local token
// nor the local secret is honoured for a request relayed by a tunnel that rewrites Host to
// localhost. Runs scripts/dev.ts in a folder of its own (links to the repository's Worker), so
// the repository's own .dev.vars and token file are left alone.

import { type ChildProcess, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_DEV_WEBHOOK_SECRET } from "../../src/local-dev";
import { signMaintainX } from "../../src/webhooks/signature";
import { REPO_ROOT, wranglerEnv } from "../../tools/wrangler-env";
import { freePort, startDevScript, stopDevScript } from "../helpers/node/dev-script";
import { plainRequest } from "../helpers/node/http";

// biome-ignore lint/suspicious/noTemplateCurlyInString: `${HOME}` is .dev.vars text, read verbatim.
const SECRET = "e2e-$ecret-${HOME}-$1";
/** What ngrok adds with --host-header=rewrite: the Host is localhost, the request is not. */
const TUNNEL = { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "x.ngrok.app" };

describe("npm run dev with a .dev.vars and no ADMIN_TOKEN", () => {
  let child: ChildProcess;
  let output = () => "";
  let port = 0;
  let token = "";
  let folder = "";
  let privateFiles: string[] = [];
  const tempDirs: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    folder = mkdtempSync(join(tmpdir(), "dev-vars-e2e-"));
    const configHome = mkdtempSync(join(tmpdir(), "dev-vars-e2e-config-"));
    tempDirs.push(folder, configHome);
    for (const name of [
      "wrangler.toml",
      "src",
      "public",
      "migrations",
      "node_modules",
      "package.json",
      "tsconfig.json",
    ]) {
      symlinkSync(join(REPO_ROOT, name), join(folder, name));
    }
    writeFileSync(join(folder, ".dev.vars"), `MAINTAINX_WEBHOOK_SECRET='${SECRET}'\n`, { mode: 0o600 });
    const env = wranglerEnv(configHome);
    delete env.ADMIN_TOKEN;
    delete env.MAINTAINX_WEBHOOK_SECRET;
    env.PATH = `${join(REPO_ROOT, "node_modules", ".bin")}${delimiter}${env.PATH ?? ""}`;
    const dev = await startDevScript({
      command: join(REPO_ROOT, "node_modules", ".bin", "tsx"),
      args: [join(REPO_ROOT, "scripts", "dev.ts"), "--port", String(port), "--ip", "127.0.0.1"],
      cwd: folder,
      env,
      timeoutMs: 90_000,
    });
    ({ child, output } = dev);
    token = new URL(dev.link).hash.replace("#token=", "");
  }, 120_000);

  afterAll(async () => {
    await stopDevScript(child);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  const status = (headers: Record<string, string> = {}) =>
    plainRequest(`http://127.0.0.1:${port}/admin/status`, {
      headers: { host: `localhost:${port}`, authorization: `Bearer ${token}`, ...headers },
    });

  const deliver = async (secret: string, headers: Record<string, string> = {}) => {
    const raw = JSON.stringify({ workOrderId: Date.now(), orgId: 1, occurredAt: new Date().toISOString() });
    return plainRequest(`http://127.0.0.1:${port}/webhooks/maintainx/NEW_WORK_ORDER`, {
      method: "POST",
      headers: {
        host: `localhost:${port}`,
        "content-type": "application/json",
        "x-maintainx-webhook-body-signature": await signMaintainX(secret, raw, Math.floor(Date.now() / 1000)),
        ...headers,
      },
      body: raw,
    });
  };

  it("keeps the local admin token off the process list", () => {
    const processes = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout;
    expect(processes).toContain("wrangler");
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(processes).not.toContain(token);
    expect(JSON.parse(readFileSync(join(folder, LOCAL_ADMIN_TOKEN_FILE), "utf8")).token).toBe(token);
    // It reaches wrangler in owner-only files named on its command line instead.
    const wranglerArgs = processes.split("\n").find((line) => /wrangler.* dev --test-scheduled/.test(line)) ?? "";
    privateFiles = [...wranglerArgs.matchAll(/--env-file (\S+)/g)].map((m) => m[1] as string);
    expect(privateFiles).toHaveLength(2);
    for (const file of privateFiles) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(readFileSync(privateFiles[1] as string, "utf8")).toContain(token);
  });

  it("names .dev.vars as the secrets' file, not the private copy it reads", () => {
    expect(output()).toContain("Using secrets defined in .dev.vars");
    expect(output()).not.toMatch(/Using secrets defined in .*maintainx-dev-/);
  });

  it("gives the Worker the .dev.vars secret as written, $ and all", async () => {
    const delivered = await deliver(SECRET);
    expect(delivered.status, delivered.text).toBe(200);
    // The local secret is not injected: .dev.vars sets one.
    expect((await deliver(LOCAL_DEV_WEBHOOK_SECRET)).status).toBe(401);
  });

  it("opens /admin with the local token on this machine, and not through a tunnel that rewrites Host", async () => {
    expect((await status()).status).toBe(200);
    const tunnelled = await status(TUNNEL);
    expect(tunnelled.status).toBe(404);
    expect(JSON.parse(tunnelled.text)).toEqual({ error: "Not found" });
    // The subscription secret still works through the tunnel: that is what it is for.
    expect((await deliver(SECRET, TUNNEL)).status).toBe(200);
  });

  it("removes the token file and the private copy when it ends", async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
    await expect.poll(() => existsSync(join(folder, LOCAL_ADMIN_TOKEN_FILE)), { timeout: 10_000 }).toBe(false);
    for (const file of privateFiles) expect(existsSync(file), file).toBe(false);
  });
});
