// `npm run deploy`: applies the D1 migrations to the remote database, then deploys, so new code
// never runs against an old schema.
//
// A fresh clone's wrangler.toml names every resource but carries no ids: `wrangler deploy`
// creates the KV namespace, the D1 database and the R2 bucket on its first run, but not the
// queues, and remote migrations need the database's id. So this first creates any queue that
// wrangler.toml names and the account lacks; then, while wrangler.toml has no `database_id`, it
// looks the database up by name (`wrangler d1 list`), deploying first if it does not exist yet
// (which creates it), writes its id into wrangler.toml (commit it), and migrates.
// Extra arguments go to `wrangler deploy` (`npm run deploy -- --name my-worker`).

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const wrangler = process.platform === "win32" ? "wrangler.cmd" : "wrangler";
const env = { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" };
const CONFIG = "wrangler.toml";

/** Runs wrangler in this terminal (it may ask which account to use), and resolves with its exit code. */
function run(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(wrangler, args, { env, stdio: "inherit" });
    child.on("error", () => resolve(127));
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

/** Runs wrangler quietly and resolves with its exit code and standard output alone. */
function read(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(wrangler, args, { env, stdio: ["inherit", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.on("error", () => resolve({ code: 127, stdout }));
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout }));
  });
}

const config = () => readFileSync(CONFIG, "utf8");

/** The `[[d1_databases]]` block of binding DB: its name, and its id when it has one. */
function database(): { name: string; id: string | undefined } {
  const blocks = config()
    .split(/^\s*\[\[d1_databases\]\]\s*$/m)
    .slice(1);
  const block = blocks.map((b) => b.split(/^\s*\[/m)[0] ?? "").find((b) => /^\s*binding\s*=\s*"DB"/m.test(b));
  const name = block && /^\s*database_name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
  if (!block || !name)
    throw new Error(`${CONFIG} has no [[d1_databases]] block with binding = "DB" and a database_name`);
  return { name, id: /^\s*database_id\s*=\s*"([^"]+)"/m.exec(block)?.[1] };
}

/** Every queue wrangler.toml names (producers, consumers, dead-letter queues). */
function queueNames(): string[] {
  const names = [...config().matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1] as string);
  return [...new Set(names)];
}

/** The id of the account's D1 database with this name, if it exists. */
async function findDatabaseId(name: string): Promise<string | undefined> {
  const listed = await read(["d1", "list", "--json"]);
  if (listed.code !== 0) return undefined;
  try {
    const databases = JSON.parse(listed.stdout.slice(listed.stdout.indexOf("["))) as Array<{
      uuid?: string;
      name?: string;
    }>;
    return databases.find((db) => db.name === name)?.uuid;
  } catch {
    return undefined;
  }
}

/** Adds `database_id` right under the database's `database_name` line in wrangler.toml. */
function writeDatabaseId(name: string, id: string): boolean {
  const text = config();
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const line = new RegExp(`^([ \\t]*)database_name[ \\t]*=[ \\t]*"${escaped}"[^\\n]*$`, "m");
  if (!line.test(text)) return false;
  writeFileSync(
    CONFIG,
    text.replace(line, (found, indent: string) => `${found}\n${indent}database_id = "${id}"`),
  );
  console.log(`\n${CONFIG}: added database_id = "${id}" for the D1 database "${name}". Commit it.`);
  return true;
}

const NOT_LOGGED_IN =
  "If you are not logged in, run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again.";
const migrate = () => run(["d1", "migrations", "apply", "DB", "--remote"]);
const deploy = () => run(["deploy", ...process.argv.slice(2)]);

async function ensureQueues(): Promise<boolean> {
  for (const queue of queueNames()) {
    if ((await read(["queues", "info", queue])).code === 0) continue;
    console.log(`\nCreating the queue ${queue} (wrangler deploy does not create queues).`);
    if ((await run(["queues", "create", queue])) !== 0) {
      console.error(`\nCould not create the queue ${queue}; nothing was deployed. ${NOT_LOGGED_IN}`);
      return false;
    }
  }
  return true;
}

async function main(): Promise<number> {
  if (!(await ensureQueues())) return 1;

  let deployed = false;
  const { name, id: configuredId } = database();
  if (configuredId === undefined) {
    let id = await findDatabaseId(name);
    if (id === undefined) {
      console.log(
        `\nNo D1 database "${name}" yet: this is the first deploy. Deploying (which creates it), then migrating.`,
      );
      const code = await deploy();
      if (code !== 0) return code;
      deployed = true;
      id = await findDatabaseId(name);
    }
    if (id === undefined || !writeDatabaseId(name, id)) {
      console.error(
        `\nCould not find the D1 database "${name}" or name it in ${CONFIG}. Create it with \`npx wrangler d1 create ${name}\`, put its database_id under database_name in ${CONFIG}, then run \`npm run deploy\` again. ${NOT_LOGGED_IN}`,
      );
      return 1;
    }
  }

  const migrated = await migrate();
  if (migrated !== 0) {
    console.error(
      deployed
        ? "\nThe Worker is deployed but its D1 migrations failed: run `npx wrangler d1 migrations apply DB --remote` before sending it webhooks."
        : `\nApplying the D1 migrations failed, so nothing was deployed. ${NOT_LOGGED_IN}`,
    );
    return migrated;
  }
  if (deployed) return 0;
  const code = await deploy();
  if (code !== 0) {
    console.error(
      "\nThe migrations were applied, but `wrangler deploy` failed; see above, then run `npm run deploy` again.",
    );
  }
  return code;
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
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
