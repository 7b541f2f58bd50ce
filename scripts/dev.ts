// `npm run dev`: applies the D1 migrations locally, then runs `wrangler dev --test-scheduled`.
// Without a .dev.vars file it injects a local-only webhook secret (printed below) so that
// `npm run cli -- send` works at once; the Worker honours that secret on loopback hosts only.
// Extra arguments are passed to `wrangler dev` (`npm run dev -- --port 8788`).

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { LOCAL_DEV_WEBHOOK_SECRET } from "../src/local-dev";

const passThrough = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const wrangler = process.platform === "win32" ? "wrangler.cmd" : "wrangler";
// Migrations go to the same local state as the dev server, also when --persist-to moves it.
const persistAt = passThrough.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persist =
  persistAt < 0
    ? []
    : passThrough[persistAt]?.includes("=")
      ? [passThrough[persistAt] as string]
      : ["--persist-to", passThrough[persistAt + 1] ?? ""];

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  stdio: "inherit",
  env: { ...env, CI: "true" },
});
if (migrate.status !== 0) {
  console.error("Applying the local D1 migrations failed; see the output above.");
  process.exit(migrate.status ?? 1);
}

const args = ["dev", "--test-scheduled", ...passThrough];
if (!existsSync(".dev.vars")) {
  args.push("--var", `MAINTAINX_WEBHOOK_SECRET:${LOCAL_DEV_WEBHOOK_SECRET}`);
  console.log(
    [
      "",
      "No .dev.vars found: using the local-only webhook secret",
      `  MAINTAINX_WEBHOOK_SECRET=${LOCAL_DEV_WEBHOOK_SECRET}`,
      "It is accepted only on localhost. Try: npm run cli -- send NEW_WORK_ORDER",
      "Copy .dev.vars.example to .dev.vars to configure secrets, Slack, the ERP and /admin.",
      "",
    ].join("\n"),
  );
}

const child = spawn(wrangler, args, { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
