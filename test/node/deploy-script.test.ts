// `npm run deploy` (scripts/deploy.ts) in a copy of the repository's wrangler.toml, with a
// stand-in `wrangler` on PATH that records its calls: migrations before the deploy; without a
// database id, the database is looked up by name (deploying first when it does not exist yet),
// its id is written into wrangler.toml, and then it migrates; nothing is deployed when the
// migrations fail for another reason.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/wrangler-env";

const DATABASE_ID = "2f1b7c9e-0d4a-4e8b-9a51-6c3d2e7f8a90";
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Migration = "ok" | "no-id" | "unauthorised";

/**
 * Runs the deploy script against a fake wrangler. `migrations` is the outcome of each
 * `d1 migrations apply` in turn; `listed` is whether `d1 list` shows the database before the
 * first deploy (after a deploy it always does).
 */
function deployWith(migrations: Migration[], listed: boolean, extraArgs: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  dirs.push(dir);
  copyFileSync(join(REPO_ROOT, "wrangler.toml"), join(dir, "wrangler.toml"));
  const log = join(dir, "calls.log");
  const plan = join(dir, "plan");
  writeFileSync(plan, `${migrations.join("\n")}\n`);
  const fake = join(dir, "wrangler");
  writeFileSync(
    fake,
    `#!/usr/bin/env bash
echo "$*" >> "${log}"
if [ "$1 $2" = "d1 migrations" ]; then
  outcome=$(head -n1 "${plan}"); sed -i 1d "${plan}"
  case "$outcome" in
    ok) echo "Migrations applied"; exit 0 ;;
    no-id) echo "✘ [ERROR] Couldn't find a D1 DB with the name or binding 'DB' in your wrangler.toml file." >&2; exit 1 ;;
    *) echo "✘ [ERROR] Authentication error [code: 10000]" >&2; exit 1 ;;
  esac
fi
if [ "$1 $2" = "d1 list" ]; then
  if [ "${listed ? "yes" : "no"}" = "yes" ] || grep -q '^deploy' "${log}"; then
    echo '[{"uuid":"0000-other","name":"other"},{"uuid":"${DATABASE_ID}","name":"maintainx"}]'
  else
    echo '[{"uuid":"0000-other","name":"other"}]'
  fi
  exit 0
fi
echo "Deployed"
`,
  );
  chmodSync(fake, 0o755);
  const result = spawnSync(
    join(REPO_ROOT, "node_modules", ".bin", "tsx"),
    [join(REPO_ROOT, "scripts/deploy.ts"), ...extraArgs],
    { cwd: dir, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, encoding: "utf8" },
  );
  const calls = readFileSync(log, "utf8").trim().split("\n");
  const config = readFileSync(join(dir, "wrangler.toml"), "utf8");
  return { status: result.status, calls, config, output: `${result.stdout}${result.stderr}` };
}

const MIGRATE = "d1 migrations apply DB --remote";

describe("npm run deploy", () => {
  it("applies the D1 migrations remotely before deploying, passing extra arguments to wrangler deploy", () => {
    const run = deployWith(["ok"], true, ["--name", "my-worker"]);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([MIGRATE, "deploy --name my-worker"]);
    expect(run.output).toContain("wrangler secret put MAINTAINX_WEBHOOK_SECRET");
  });

  it("finds an existing database's id by name, writes it into wrangler.toml, and migrates before deploying", () => {
    const run = deployWith(["no-id", "ok"], true);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([MIGRATE, "d1 list --json", MIGRATE, "deploy"]);
    expect(run.config).toContain(`database_name = "maintainx"\ndatabase_id = "${DATABASE_ID}"`);
  });

  it("on the first deploy, deploys (creating the database), writes its id and then migrates", () => {
    const run = deployWith(["no-id", "ok"], false);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([MIGRATE, "d1 list --json", "deploy", "d1 list --json", MIGRATE]);
    expect(run.config).toContain(`database_id = "${DATABASE_ID}"`);
    expect(run.output).toContain("first deploy");
  });

  it("deploys nothing when the migrations fail for another reason, and says what to do", () => {
    const run = deployWith(["unauthorised"], true);
    expect(run.status).not.toBe(0);
    expect(run.calls).toEqual([MIGRATE]);
    expect(run.output).toContain("npx wrangler login");
  });
});
