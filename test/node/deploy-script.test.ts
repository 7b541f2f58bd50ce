// `npm run deploy` (scripts/deploy.ts) in a copy of the repository's wrangler.toml, with a
// stand-in `wrangler` on PATH that records its calls: the dead-letter queue created when missing
// (wrangler deploy provisions the rest); migrations before the deploy; on the first deploy, the
// deploy (which creates the database) and then the migrations; nothing deployed when the
// migrations fail or the databases cannot be listed. One check runs the real wrangler: it finds
// the database for remote migrations by its name, so wrangler.toml needs no database_id.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT, WRANGLER_BIN, wranglerEnv } from "../../tools/wrangler-env";

const DATABASE_ID = "2f1b7c9e-0d4a-4e8b-9a51-6c3d2e7f8a90";
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  dirs.push(dir);
  copyFileSync(join(REPO_ROOT, "wrangler.toml"), join(dir, "wrangler.toml"));
  return dir;
}

interface World {
  /** `d1 list` shows the database before any deploy (after a deploy it always does). */
  databaseExists?: boolean;
  /** `d1 list` fails (not logged in, or the API is down). */
  listFails?: boolean;
  /** The queues the account has. */
  queues?: string[];
  migrations?: "ok" | "unauthorised";
}

function deployWith(world: World, extraArgs: string[] = []) {
  const dir = tempCopy();
  const log = join(dir, "calls.log");
  const queues = (world.queues ?? ["maintainx-events", "maintainx-events-dlq"]).join(" ");
  const fake = join(dir, "wrangler");
  writeFileSync(
    fake,
    `#!/usr/bin/env bash
echo "$*" >> "${log}"
case "$1 $2" in
  "queues info") for q in ${queues}; do [ "$q" = "$3" ] && { echo "name: $3"; exit 0; }; done
    echo "✘ [ERROR] Queue \\"$3\\" does not exist." >&2; exit 1 ;;
  "queues create") echo "Created queue $3"; exit 0 ;;
  "d1 migrations") if [ "${world.migrations ?? "ok"}" = ok ]; then echo "Migrations applied"; exit 0; fi
    echo "✘ [ERROR] Authentication error [code: 10000]" >&2; exit 1 ;;
  "d1 list")
    echo "[WARNING] a note on stderr" >&2
    if [ "${world.listFails ? "yes" : "no"}" = yes ]; then echo "✘ [ERROR] Authentication error" >&2; exit 1; fi
    if [ "${world.databaseExists ? "yes" : "no"}" = yes ] || grep -q '^deploy' "${log}"; then
      echo '[{"uuid":"0000-other","name":"other"},{"uuid":"${DATABASE_ID}","name":"maintainx"}]'
    else
      echo '[{"uuid":"0000-other","name":"other"}]'
    fi
    exit 0 ;;
esac
echo "Deployed"
`,
  );
  chmodSync(fake, 0o755);
  const result = spawnSync(
    join(REPO_ROOT, "node_modules", ".bin", "tsx"),
    [join(REPO_ROOT, "scripts/deploy.ts"), ...extraArgs],
    { cwd: dir, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, encoding: "utf8" },
  );
  return {
    status: result.status,
    calls: readFileSync(log, "utf8").trim().split("\n"),
    config: readFileSync(join(dir, "wrangler.toml"), "utf8"),
    output: `${result.stdout}${result.stderr}`,
  };
}

const MIGRATE = "d1 migrations apply DB --remote";
const DLQ_EXISTS = "queues info maintainx-events-dlq";
const LIST = "d1 list --json";

describe("npm run deploy", () => {
  it("applies the D1 migrations remotely before deploying, passing extra arguments to wrangler deploy", () => {
    const run = deployWith({ databaseExists: true }, ["--name", "my-worker"]);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([DLQ_EXISTS, LIST, MIGRATE, "deploy --name my-worker"]);
    expect(run.output).toContain("wrangler secret put MAINTAINX_WEBHOOK_SECRET");
  });

  it("creates the dead-letter queue when the account lacks it, since wrangler deploy creates only the queue it sends to", () => {
    const run = deployWith({ databaseExists: true, queues: ["maintainx-events"] });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([DLQ_EXISTS, "queues create maintainx-events-dlq", LIST, MIGRATE, "deploy"]);
  });

  it("leaves the queue the Worker sends to, and the KV, D1 and R2 resources, to wrangler deploy", () => {
    const run = deployWith({ databaseExists: true, queues: [] });
    expect(run.status).toBe(0);
    expect(run.calls.filter((call) => call.startsWith("queues create"))).toEqual([
      "queues create maintainx-events-dlq",
    ]);
    expect(run.calls.some((call) => /^(kv|r2|d1 create)/.test(call))).toBe(false);
  });

  it("on the first deploy, deploys (which creates the database) and then migrates, writing nothing into wrangler.toml", () => {
    const run = deployWith({ databaseExists: false });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([DLQ_EXISTS, LIST, "deploy", MIGRATE]);
    expect(run.output).toContain("first deploy");
    expect(run.config).toBe(readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8"));
  });

  it("deploys nothing when the migrations fail, and says what to do", () => {
    const run = deployWith({ databaseExists: true, migrations: "unauthorised" });
    expect(run.status).not.toBe(0);
    expect(run.calls).toEqual([DLQ_EXISTS, LIST, MIGRATE]);
    expect(run.output).toContain("npx wrangler login");
  });

  it("deploys nothing when it cannot tell whether the database exists, and says what to do", () => {
    const run = deployWith({ listFails: true });
    expect(run.status).not.toBe(0);
    expect(run.calls).toEqual([DLQ_EXISTS, LIST]);
    expect(run.output).toContain("npx wrangler login");
  });

  it("is right that the real wrangler finds the database for remote migrations by name, without a database_id", () => {
    const dir = tempCopy();
    cpSync(join(REPO_ROOT, "migrations"), join(dir, "migrations"), { recursive: true });
    const configHome = mkdtempSync(join(tmpdir(), "wrangler-config-"));
    dirs.push(configHome);
    const result = spawnSync(WRANGLER_BIN, ["d1", "migrations", "apply", "DB", "--remote"], {
      cwd: dir,
      env: { ...wranglerEnv(configHome), CLOUDFLARE_API_TOKEN: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    // It gets as far as asking the API, which needs credentials; it does not ask for an id.
    expect(result.status).not.toBe(0);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toMatch(/CLOUDFLARE_API_TOKEN/);
    expect(output).not.toMatch(/database_id/);
  });
});
