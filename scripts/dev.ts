// `npm run dev`: applies the D1 migrations locally, then runs `wrangler dev --test-scheduled`.
// Where the local configuration (.dev.vars, else .env and .env.local, as wrangler reads them)
// sets no webhook secret, it injects a local-only one (printed below) so that
// `npm run cli -- send` works at once; where it sets no ADMIN_TOKEN, it makes a random local admin
// token at each start, prints the console's link and leaves the token where `npm run cli` finds
// it. The Worker honours both only for requests made on this machine, never through a proxy or
// tunnel (src/local-dev.ts); neither value is put on wrangler's command line (scripts/dev-vars.ts).
// Extra arguments are passed to `wrangler dev` (`npm run dev -- --port 8788`).

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseDevVars } from "../cli/env";
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_ADMIN_TOKEN_VAR, LOCAL_DEV_WEBHOOK_SECRET } from "../src/local-dev";
import { quietBindings } from "./dev-output";
import { configurationSources, DEV_VARS_COPY, INJECTED_FILE, injectionPlan, optionValues } from "./dev-vars";

const passThrough = process.argv.slice(2);
const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const wrangler = process.platform === "win32" ? "wrangler.cmd" : "wrangler";

const option = (name: string): string | undefined => optionValues(passThrough, name)[0];

// Migrations go to the same local state as the dev server, also when --persist-to moves it.
const persistTo = option("--persist-to");
const persist = persistTo === undefined ? [] : ["--persist-to", persistTo];

// Its tables of migrations are summed up in one line; its whole output is shown only on failure.
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...env, CI: "true" },
  encoding: "utf8",
});
if (migrate.status !== 0) {
  process.stderr.write(`${migrate.stdout ?? ""}${migrate.stderr ?? ""}`);
  console.error("Applying the local D1 migrations failed; see the output above.");
  process.exit(migrate.status ?? 1);
}
const applied = (migrate.stdout.match(/About to apply (\d+) migration/) ?? [])[1];
console.log(applied ? `Local D1 database: ${applied} migrations applied.` : "Local D1 database: up to date.");

// The files wrangler dev takes secrets from (scripts/dev-vars.ts), later ones winning.
const sources = configurationSources(passThrough, {
  exists: existsSync,
  dotEnvAllowed: process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV !== "false",
});
const configured: Record<string, string> = {};
for (const file of sources.files) {
  if (existsSync(file)) Object.assign(configured, parseDevVars(readFileSync(file, "utf8")));
}
const isSet = (name: string) => Boolean(configured[name]?.trim());

const port = option("--port") ?? "8787";
const injected: Record<string, string> = {};
const notes: string[] = [];

if (!isSet("MAINTAINX_WEBHOOK_SECRET")) {
  injected.MAINTAINX_WEBHOOK_SECRET = LOCAL_DEV_WEBHOOK_SECRET;
  notes.push(
    "No webhook secret configured: using the local-only webhook secret",
    `  MAINTAINX_WEBHOOK_SECRET=${LOCAL_DEV_WEBHOOK_SECRET}`,
    "It is accepted only on localhost. Try: npm run cli -- send NEW_WORK_ORDER",
    "Copy .dev.vars.example to .dev.vars to configure secrets, Slack, the ERP and /admin.",
  );
}

let tokenFileWritten = false;
if (!isSet("ADMIN_TOKEN")) {
  const token = `local-${randomBytes(24).toString("base64url")}`;
  const url = `http://localhost:${port}`;
  injected[LOCAL_ADMIN_TOKEN_VAR] = token;
  mkdirSync(dirname(LOCAL_ADMIN_TOKEN_FILE), { recursive: true });
  // Made afresh, so the file is readable by its owner only whatever an older one allowed.
  rmSync(LOCAL_ADMIN_TOKEN_FILE, { force: true });
  writeFileSync(LOCAL_ADMIN_TOKEN_FILE, `${JSON.stringify({ token, url })}\n`, { mode: 0o600 });
  tokenFileWritten = true;
  notes.push(
    "Operator console (a local admin token made for this run, accepted only on localhost):",
    `  ${url}/admin#token=${token}`,
    "`npm run cli -- status` and `npm run cli -- events list` use it without configuration.",
  );
  if (process.env.ADMIN_TOKEN?.trim()) {
    notes.push(
      "ADMIN_TOKEN is set in this shell, and `npm run cli` sends it before the local token; this Worker",
      "does not know it (wrangler reads .dev.vars, not the shell): unset it here, or put it in .dev.vars.",
    );
  }
}

// The injected values reach the Worker through owner-only files in a private folder, never on
// the command line, so the local admin token is not on the process list; the files wrangler
// would have read are passed with them (a .dev.vars as a copy that reads the same: dev-vars.ts).
const args = ["dev", "--test-scheduled", ...passThrough];
let injectedDir: string | undefined;
const renamed = new Map<string, string | undefined>();
if (Object.keys(injected).length > 0) {
  injectedDir = mkdtempSync(join(tmpdir(), "maintainx-dev-"));
  const plan = injectionPlan({ sources, injected, readText: (file) => readFileSync(file, "utf8"), dir: injectedDir });
  for (const [file, text] of plan.files) writeFileSync(file, text, { mode: 0o600 });
  args.push(...plan.args);
  for (const [name, value] of Object.entries(plan.env)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // wrangler names each file it reads: the copy by the file it copies, the injected one not at all.
  if (!sources.dotEnv) renamed.set(join(injectedDir, DEV_VARS_COPY), sources.files[0]);
  renamed.set(join(injectedDir, INJECTED_FILE), undefined);
}

function cleanUp(): void {
  if (tokenFileWritten) rmSync(LOCAL_ADMIN_TOKEN_FILE, { force: true });
  tokenFileWritten = false;
  if (injectedDir) rmSync(injectedDir, { recursive: true, force: true });
  injectedDir = undefined;
}

// wrangler's output passes through a filter that drops the variable rows of its bindings table
// (they are wrangler.toml's [vars] and the secrets, over twenty lines) and a bindings table it
// prints again unchanged. Read through a pipe, wrangler shows no key shortcuts: Ctrl-C stops it.
const child = spawn(wrangler, args, {
  stdio: ["inherit", "pipe", "pipe"],
  env: { ...env, ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: "1" } : {}) },
});
child.stdout.pipe(quietBindings({ secretFiles: renamed })).pipe(process.stdout);
child.stderr.pipe(process.stderr);

/** Prints the notes once the Worker answers, so they are not lost above wrangler's start-up output. */
async function printNotesWhenReady(): Promise<void> {
  if (notes.length === 0) return;
  for (let attempt = 0; attempt < 200 && child.exitCode === null; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  if (child.exitCode === null) console.log(["", ...notes, ""].join("\n"));
}
void printNotesWhenReady();
// A closed terminal (SIGHUP) ends the dev server too, and the token file with it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  cleanUp();
  process.exit(code ?? (signal ? 1 : 0));
});
