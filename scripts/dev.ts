// `npm run dev`: applies the D1 migrations locally, then runs `wrangler dev --test-scheduled`.
// Without a .dev.vars file it injects a local-only webhook secret (printed below) so that
// `npm run cli -- send` works at once; without an ADMIN_TOKEN it makes a random local admin token
// at each start, prints the console's link and leaves the token where `npm run cli` finds it.
// The Worker honours both on loopback hosts only (src/local-dev.ts).
// Extra arguments are passed to `wrangler dev` (`npm run dev -- --port 8788`).

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseDevVars } from "../cli/env";
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_ADMIN_TOKEN_VAR, LOCAL_DEV_WEBHOOK_SECRET } from "../src/local-dev";

const passThrough = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const wrangler = process.platform === "win32" ? "wrangler.cmd" : "wrangler";

/** The value of `--name value` or `--name=value` among the pass-through arguments. */
function option(name: string): string | undefined {
  const at = passThrough.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  const arg = passThrough[at] as string;
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : passThrough[at + 1];
}

// Migrations go to the same local state as the dev server, also when --persist-to moves it.
const persistTo = option("--persist-to");
const persist = persistTo === undefined ? [] : ["--persist-to", persistTo];

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  stdio: "inherit",
  env: { ...env, CI: "true" },
});
if (migrate.status !== 0) {
  console.error("Applying the local D1 migrations failed; see the output above.");
  process.exit(migrate.status ?? 1);
}

const args = ["dev", "--test-scheduled", ...passThrough];
const devVars = existsSync(".dev.vars") ? parseDevVars(readFileSync(".dev.vars", "utf8")) : undefined;
const notes: string[] = [];
const port = option("--port") ?? "8787";

if (!devVars) {
  args.push("--var", `MAINTAINX_WEBHOOK_SECRET:${LOCAL_DEV_WEBHOOK_SECRET}`);
  notes.push(
    "No .dev.vars found: using the local-only webhook secret",
    `  MAINTAINX_WEBHOOK_SECRET=${LOCAL_DEV_WEBHOOK_SECRET}`,
    "It is accepted only on localhost. Try: npm run cli -- send NEW_WORK_ORDER",
    "Copy .dev.vars.example to .dev.vars to configure secrets, Slack, the ERP and /admin.",
  );
}

let tokenFileWritten = false;
// An ADMIN_TOKEN in the environment (which `npm run cli` reads first) configures the Worker too,
// unless .dev.vars sets one; wrangler itself reads only .dev.vars.
const environmentToken = process.env.ADMIN_TOKEN?.trim();
if (!devVars?.ADMIN_TOKEN?.trim() && environmentToken) {
  args.push("--var", `ADMIN_TOKEN:${environmentToken}`);
  notes.push(`Operator console: http://localhost:${port}/admin (sign in with ADMIN_TOKEN from the environment).`);
} else if (!devVars?.ADMIN_TOKEN?.trim()) {
  const token = `local-${randomBytes(24).toString("base64url")}`;
  const url = `http://localhost:${port}`;
  args.push("--var", `${LOCAL_ADMIN_TOKEN_VAR}:${token}`);
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
}

function removeTokenFile(): void {
  if (tokenFileWritten) rmSync(LOCAL_ADMIN_TOKEN_FILE, { force: true });
  tokenFileWritten = false;
}

const child = spawn(wrangler, args, { stdio: "inherit", env });

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
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  removeTokenFile();
  process.exit(code ?? (signal ? 1 : 0));
});
