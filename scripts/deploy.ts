// `npm run deploy`: applies the D1 migrations to the remote database, then deploys, so new code
// never runs against an old schema.
//
// wrangler.toml names every resource but carries no ids: `wrangler deploy` provisions what it
// lacks (the KV namespace, the D1 database, the R2 bucket and the queue the Worker sends to) and
// finds existing ones by name; `wrangler d1 migrations apply --remote` finds the database by its
// name too. Two things are left to this script:
// - a queue the Worker only consumes (the dead-letter queue) is not provisioned, and
//   `wrangler deploy` refuses to run while it is missing, so it is created here first;
// - migrations run before the deploy, except on the very first one, when the database does not
//   exist until `wrangler deploy` creates it: then they run right after it, before any MaintainX
//   subscription can point at the Worker.
// Extra arguments go to `wrangler deploy` (`npm run deploy -- --name my-worker`).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

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

/** The text of each `[[table]]` block in wrangler.toml, up to the next table header. */
function blocks(table: string): string[] {
  const header = new RegExp(`^\\s*\\[\\[${table.replace(".", "\\.")}\\]\\]\\s*$`, "m");
  return config()
    .split(header)
    .slice(1)
    .map((block) => block.split(/^\s*\[/m)[0] ?? "");
}

/** The values of `key = "…"` lines in a piece of wrangler.toml. */
function values(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, "gm"))].map((m) => m[1] as string);
}

/** The `database_name` of the `[[d1_databases]]` block with binding DB. */
function databaseName(): string {
  const block = blocks("d1_databases").find((b) => values(b, "binding").includes("DB"));
  const name = block && values(block, "database_name")[0];
  if (!name) throw new Error(`${CONFIG} has no [[d1_databases]] block with binding = "DB" and a database_name`);
  return name;
}

/**
 * The queues wrangler.toml consumes or dead-letters into that no producer binding names: the ones
 * `wrangler deploy` requires to exist and does not create.
 */
function consumedOnlyQueues(): string[] {
  const produced = new Set(blocks("queues.producers").flatMap((b) => values(b, "queue")));
  const consumed = blocks("queues.consumers").flatMap((b) => [
    ...values(b, "queue"),
    ...values(b, "dead_letter_queue"),
  ]);
  return [...new Set(consumed)].filter((name) => !produced.has(name));
}

/** Whether the account has a D1 database of this name; undefined when wrangler could not tell. */
async function databaseExists(name: string): Promise<boolean | undefined> {
  const listed = await read(["d1", "list", "--json"]);
  if (listed.code !== 0) return undefined;
  try {
    const databases = JSON.parse(listed.stdout.slice(listed.stdout.indexOf("["))) as Array<{ name?: string }>;
    return databases.some((db) => db.name === name);
  } catch {
    return undefined;
  }
}

const NOT_LOGGED_IN =
  "If you are not logged in, run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again.";
const migrate = () => run(["d1", "migrations", "apply", "DB", "--remote"]);
const deploy = () => run(["deploy", ...process.argv.slice(2)]);

async function ensureQueues(): Promise<boolean> {
  for (const queue of consumedOnlyQueues()) {
    if ((await read(["queues", "info", queue])).code === 0) continue;
    console.log(`\nCreating the queue ${queue} (wrangler deploy creates the queues a Worker sends to, not this one).`);
    if ((await run(["queues", "create", queue])) !== 0) {
      console.error(`\nCould not create the queue ${queue}; nothing was deployed. ${NOT_LOGGED_IN}`);
      return false;
    }
  }
  return true;
}

async function firstDeploy(name: string): Promise<number> {
  console.log(
    `\nNo D1 database "${name}" yet: this is the first deploy. Deploying (which creates it), then migrating.`,
  );
  const code = await deploy();
  if (code !== 0) return code;
  const migrated = await migrate();
  if (migrated !== 0) {
    console.error(
      "\nThe Worker is deployed but its D1 migrations failed: run `npx wrangler d1 migrations apply DB --remote` before sending it webhooks.",
    );
  }
  return migrated;
}

async function main(): Promise<number> {
  if (!(await ensureQueues())) return 1;
  const name = databaseName();
  const exists = await databaseExists(name);
  if (exists === undefined) {
    console.error(`\nCould not list the account's D1 databases, so nothing was deployed. ${NOT_LOGGED_IN}`);
    return 1;
  }
  if (!exists) return firstDeploy(name);

  const migrated = await migrate();
  if (migrated !== 0) {
    console.error(`\nApplying the D1 migrations failed, so nothing was deployed. ${NOT_LOGGED_IN}`);
    return migrated;
  }
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
          'Deployed. Next: set the secrets (README, "Deploy"), e.g.',
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
