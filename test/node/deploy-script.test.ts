// `npm run deploy` (scripts/deploy.ts) in a copy of the repository's wrangler.toml, with a
// stand-in `wrangler` on PATH that records its calls: queues created when missing; migrations
// before the deploy; without a database id, the database found by name (deploying first when it
// does not exist yet), its id written into wrangler.toml, then the migrations; nothing deployed
// when the migrations fail. One check runs the real wrangler: it refuses remote migrations without
// a database id, which is why the script names the id first.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT, WRANGLER_BIN, wranglerEnv } from "../../tools/wrangler-env";

const DATABASE_ID = "2f1b7c9e-0d4a-4e8b-9a51-6c3d2e7f8a90";
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempCopy(withDatabaseId: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  dirs.push(dir);
  copyFileSync(join(REPO_ROOT, "wrangler.toml"), join(dir, "wrangler.toml"));
  if (withDatabaseId) {
    const path = join(dir, "wrangler.toml");
    const text = readFileSync(path, "utf8").replace(
      'database_name = "maintainx"',
      `database_name = "maintainx"\ndatabase_id = "${DATABASE_ID}"`,
    );
    writeFileSync(path, text);
  }
  return dir;
}

interface World {
  /** wrangler.toml already names the database's id. */
  withDatabaseId?: boolean;
  /** `d1 list` shows the database before any deploy (after a deploy it always does). */
  databaseExists?: boolean;
  /** The queues the account has. */
  queues?: string[];
  migrations?: "ok" | "unauthorised";
}

function deployWith(world: World, extraArgs: string[] = []) {
  const dir = tempCopy(world.withDatabaseId ?? false);
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
const QUEUES_EXIST = ["queues info maintainx-events", "queues info maintainx-events-dlq"];

describe("npm run deploy", () => {
  it("applies the D1 migrations remotely before deploying, passing extra arguments to wrangler deploy", () => {
    const run = deployWith({ withDatabaseId: true }, ["--name", "my-worker"]);
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([...QUEUES_EXIST, MIGRATE, "deploy --name my-worker"]);
    expect(run.output).toContain("wrangler secret put MAINTAINX_WEBHOOK_SECRET");
  });

  it("creates the queues the account lacks, since wrangler deploy does not", () => {
    const run = deployWith({ withDatabaseId: true, queues: ["maintainx-events"] });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([
      "queues info maintainx-events",
      "queues info maintainx-events-dlq",
      "queues create maintainx-events-dlq",
      MIGRATE,
      "deploy",
    ]);
  });

  it("finds an existing database's id by name, writes it into wrangler.toml, and migrates before deploying", () => {
    const run = deployWith({ databaseExists: true });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([...QUEUES_EXIST, "d1 list --json", MIGRATE, "deploy"]);
    expect(run.config).toContain(`database_name = "maintainx"\ndatabase_id = "${DATABASE_ID}"`);
  });

  it("on the first deploy, deploys (creating the database), writes its id and then migrates", () => {
    const run = deployWith({ databaseExists: false });
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([...QUEUES_EXIST, "d1 list --json", "deploy", "d1 list --json", MIGRATE]);
    expect(run.config).toContain(`database_id = "${DATABASE_ID}"`);
    expect(run.output).toContain("first deploy");
  });

  it("deploys nothing when the migrations fail, and says what to do", () => {
    const run = deployWith({ withDatabaseId: true, migrations: "unauthorised" });
    expect(run.status).not.toBe(0);
    expect(run.calls).toEqual([...QUEUES_EXIST, MIGRATE]);
    expect(run.output).toContain("npx wrangler login");
  });

  it("is right that the real wrangler refuses remote migrations while wrangler.toml has no database_id", () => {
    const dir = tempCopy(false);
    const configHome = mkdtempSync(join(tmpdir(), "wrangler-config-"));
    dirs.push(configHome);
    const result = spawnSync(WRANGLER_BIN, ["d1", "migrations", "apply", "DB", "--remote"], {
      cwd: dir,
      env: { ...wranglerEnv(configHome), CLOUDFLARE_API_TOKEN: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/database_id/);
  });
});
