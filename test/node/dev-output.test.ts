// `npm run dev`'s filter on wrangler's output (scripts/dev-output.ts), fed what wrangler 4 prints
// at start: the bindings table twice, each with a row per variable and secret.

import { relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { quietBindings } from "../../scripts/dev-output";

const TABLE = [
  "Your Worker has access to the following bindings:",
  "Binding                                       Resource                  Mode",
  "env.IDEMPOTENCY                               KV Namespace              local",
  "env.EVENTS_QUEUE (maintainx-events)           Queue                     local",
  "env.DB (maintainx)                            D1 Database               local",
  'env.MAINTAINX_API_BASE ("https://api.getmaintainx.com/v1")  Environment Variable  local',
  'env.RETENTION_DAYS ("30")                     Environment Variable      local',
  'env.MAINTAINX_WEBHOOK_SECRET ("(hidden)")     Environment Variable      local',
];
const START = [
  "Using secrets defined in .dev.vars",
  ...TABLE,
  "",
  "⎔ Starting local server...",
  "⎔ Connection status updated",
  ...TABLE,
  "",
  "[wrangler:info] Ready on http://localhost:8787",
  '{"level":"info","msg":"Event received"}',
].join("\n");

/** Runs the filter over `input`, cut into chunks of `size` characters. */
async function filtered(input: string, size = input.length): Promise<string> {
  const chunks: string[] = [];
  for (let i = 0; i < input.length; i += size) chunks.push(input.slice(i, i + size));
  return text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(quietBindings()));
}

describe("npm run dev's output filter", () => {
  it("drops the variable rows, says how many, and drops the table printed again unchanged", async () => {
    const out = (await filtered(START)).split("\n");
    expect(out.filter((line) => line.includes("Your Worker has access"))).toHaveLength(1);
    expect(out.some((line) => line.includes("Environment Variable"))).toBe(false);
    expect(out).toContain("(3 variables and secrets not listed: wrangler.toml [vars], .dev.vars)");
    for (const kept of ["env.IDEMPOTENCY", "env.DB (maintainx)", "Ready on http://localhost:8787", "Event received"]) {
      expect(out.filter((line) => line.includes(kept))).toHaveLength(1);
    }
    expect(out.indexOf("⎔ Starting local server...")).toBeGreaterThan(out.indexOf(TABLE[4] as string));
  });

  it("gives the same output whatever chunks the lines arrive in", async () => {
    const whole = await filtered(START);
    expect(await filtered(START, 7)).toBe(whole);
    expect(await filtered(START, 1)).toBe(whole);
  });

  it("prints a table again when it changed", async () => {
    const changed = TABLE.map((line) => line.replace("env.DB (maintainx)", "env.DB (other)"));
    const out = await filtered([...TABLE, "x", ...changed, "y"].join("\n"));
    expect(out.match(/Your Worker has access/g)).toHaveLength(2);
    expect(out).toContain("env.DB (other)");
  });

  it("reads coloured output the same way, and leaves the colours in what it prints", async () => {
    const coloured = START.replace(/(env\.\S+)/g, "\u001b[2m$1\u001b[22m").replace(
      /local$/gm,
      "\u001b[34mlocal\u001b[39m",
    );
    const out = await filtered(coloured);
    expect(out.match(/Your Worker has access/g)).toHaveLength(1);
    expect(out).not.toContain("Environment Variable");
    expect(out).toContain("\u001b[2menv.IDEMPOTENCY\u001b[22m");
  });

  it("names the file a secrets file stands for, drops the injected one, and leaves others as they are", async () => {
    const secretFiles = new Map([
      [resolve("/tmp/maintainx-dev-x/.dev.vars"), ".dev.vars"],
      [resolve("/tmp/maintainx-dev-x/local-dev.env"), undefined],
    ]);
    const input = [
      `Using secrets defined in ${relative(process.cwd(), "/tmp/maintainx-dev-x/.dev.vars")}`,
      `Using secrets defined in ${relative(process.cwd(), "/tmp/maintainx-dev-x/local-dev.env")}`,
      "Using secrets defined in .env",
      "next",
    ].join("\n");
    const out = await text(Readable.from([Buffer.from(input)]).pipe(quietBindings({ secretFiles })));
    expect(out).toBe("Using secrets defined in .dev.vars\nUsing secrets defined in .env\nnext\n");
    expect(out).not.toContain("maintainx-dev-x");
  });

  it("passes every other line through unchanged, including the last one without a newline", async () => {
    expect(await filtered("one\ntwo\nthree")).toBe("one\ntwo\nthree\n");
  });
});
