// `npm run deploy`: applies the D1 migrations to the remote database, then deploys, so new code
// never runs against an old schema. wrangler.toml names the database but carries no id (a clone
// has none, and `wrangler deploy` creates the database, the KV namespace, the queues and the R2
// bucket on its first run); remote migrations need the id, so when it is missing this looks the
// database up by name (`wrangler d1 list`), deploying first if it does not exist yet, writes its
// `database_id` into wrangler.toml (commit it), and then migrates.
// Extra arguments go to `wrangler deploy` (`npm run deploy -- --name my-worker`).

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const wrangler = process.platform === "win32" ? "wrangler.cmd" : "wrangler";
const env = { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" };

/** Runs wrangler with its output shown as it comes (unless quiet), and kept to read. */
function run(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
  quiet = false,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(wrangler, args, { env: { ...env, ...extraEnv }, stdio: ["inherit", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (!quiet) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (!quiet) process.stderr.write(chunk);
    });
    child.on("error", (error) => resolve({ code: 127, output: `${output}\n${error.message}` }));
    child.on("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** What wrangler says when wrangler.toml gives the D1 database no id. */
const NO_DATABASE_ID = /couldn'?t find a d1 db/i;
const CONFIG = "wrangler.toml";

function databaseName(): string {
  const match = /^\s*database_name\s*=\s*"([^"]+)"/m.exec(readFileSync(CONFIG, "utf8"));
  if (!match) throw new Error(`${CONFIG} names no D1 database (database_name)`);
  return match[1] as string;
}

/** The id of the account's database with this name, if it exists. */
async function findDatabaseId(name: string): Promise<string | undefined> {
  const listed = await run(["d1", "list", "--json"], {}, true);
  if (listed.code !== 0) return undefined;
  try {
    const start = listed.output.indexOf("[");
    const databases = JSON.parse(listed.output.slice(start)) as Array<{ uuid?: string; name?: string }>;
    return databases.find((db) => db.name === name)?.uuid;
  } catch {
    return undefined;
  }
}

/** Adds `database_id` under the database's `database_name` in wrangler.toml. */
function writeDatabaseId(name: string, id: string): void {
  const text = readFileSync(CONFIG, "utf8");
  const line = new RegExp(`^(\\s*)database_name\\s*=\\s*"${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"\\s*$`, "m");
  const updated = text.replace(line, (found, indent: string) => `${found}\n${indent}database_id = "${id}"`);
  writeFileSync(CONFIG, updated);
  console.log(`\n${CONFIG}: added database_id = "${id}" for the D1 database "${name}". Commit it.`);
}

// Non-interactive: wrangler asks for no confirmation before applying migrations.
const migrate = () => run(["d1", "migrations", "apply", "DB", "--remote"], { CI: "true" });
const deploy = () => run(["deploy", ...process.argv.slice(2)]);

const NOT_LOGGED_IN =
  "If you are not logged in, run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again.";

async function deployAfterMigrations(deployedAlready: boolean): Promise<number> {
  if (deployedAlready) return 0;
  const deployed = await deploy();
  if (deployed.code !== 0) {
    console.error(
      "\nThe migrations were applied, but `wrangler deploy` failed; see above, then run `npm run deploy` again.",
    );
  }
  return deployed.code;
}

async function main(): Promise<number> {
  const first = await migrate();
  if (first.code === 0) return deployAfterMigrations(false);
  if (!NO_DATABASE_ID.test(first.output)) {
    console.error(`\nApplying the D1 migrations failed, so nothing was deployed. ${NOT_LOGGED_IN}`);
    return first.code;
  }

  const name = databaseName();
  let deployed = false;
  let id = await findDatabaseId(name);
  if (id === undefined) {
    console.log(
      `\nNo D1 database "${name}" yet: this is the first deploy. Deploying (which creates it), then migrating.`,
    );
    const result = await deploy();
    if (result.code !== 0) return result.code;
    deployed = true;
    id = await findDatabaseId(name);
  }
  if (id === undefined) {
    console.error(
      `\nCould not find the D1 database "${name}". Create it with \`npx wrangler d1 create ${name}\`, put its database_id in ${CONFIG}, then run \`npm run deploy\` again. ${NOT_LOGGED_IN}`,
    );
    return 1;
  }
  writeDatabaseId(name, id);
  const second = await migrate();
  if (second.code !== 0) {
    console.error(
      deployed
        ? "\nThe Worker is deployed but its D1 migrations failed: run `npx wrangler d1 migrations apply DB --remote` before sending it webhooks."
        : `\nApplying the D1 migrations failed, so nothing was deployed. ${NOT_LOGGED_IN}`,
    );
    return second.code;
  }
  return deployAfterMigrations(deployed);
}

main().then(
  (code) => {
    if (code === 0) {
      console.log(
        [
          "",
          'Deployed. Next: set the secrets (README, "Deploying to Cloudflare"), e.g.',
          "  npx wrangler secret put MAINTAINX_WEBHOOK_SECRET",
          "  npx wrangler secret put ADMIN_TOKEN",
          "then open https://<worker>/admin for the console.",
        ].join("\n"),
      );
    }
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
