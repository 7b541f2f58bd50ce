// How `npm run dev` hands wrangler dev the local secret and admin token (scripts/dev-vars.ts):
// never on the command line, and with a .dev.vars passed as a copy that wrangler's own reader
// (`unstable_getVarsForDev`, what `wrangler dev` calls) reads exactly as it reads the .dev.vars.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` here is dotenv text under test.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_getVarsForDev } from "wrangler";
import {
  type ConfigurationSources,
  configurationSources,
  envLine,
  injectionPlan,
  optionValues,
} from "../../scripts/dev-vars";

const TOKEN = "local-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2Rl";
const INJECTED = { MAINTAINX_WEBHOOK_SECRET: "local-dev-only-maintainx-secret", LOCAL_DEV_ADMIN_TOKEN: TOKEN };

let dir: string;
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dev-vars-"));
  // wrangler's reader looks at these; the test wants what a plain environment gives.
  for (const name of ["CLOUDFLARE_INCLUDE_PROCESS_ENV", "CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV"]) {
    saved[name] = process.env[name];
    delete process.env[name];
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
});

/** The values wrangler dev gives the Worker from the files in `folder` (or the env files given). */
function wranglerReads(folder: string, envFiles?: string[]): Record<string, string> {
  const bindings = unstable_getVarsForDev(join(folder, "wrangler.toml"), envFiles, {}, undefined, true);
  return Object.fromEntries(Object.entries(bindings).map(([name, b]) => [name, (b as { value: string }).value]));
}

let folders = 0;
/** A folder holding `.dev.vars` with `text`; returns wrangler's reading of it and of the plan. */
function readBothWays(text: string) {
  folders += 1;
  const folder = join(dir, `case-${folders}`);
  const planDir = join(folder, "private");
  mkdirSync(planDir, { recursive: true });
  writeFileSync(join(folder, ".dev.vars"), text);
  const sources = configurationSources([], { exists: (f) => f === ".dev.vars", dotEnvAllowed: true });
  const plan = injectionPlan({ sources, injected: INJECTED, readText: () => text, dir: planDir });
  for (const [file, body] of plan.files) writeFileSync(file, body);
  const envFiles = optionValues(plan.args, "--env-file");
  return { plan, direct: wranglerReads(folder), viaPlan: wranglerReads(folder, envFiles) };
}

describe("the files wrangler dev would read", () => {
  const exists = (present: string[]) => (f: string) => present.includes(f);

  it("are the --env-files given, else .dev.vars alone (.dev.vars.<env> first), else the .env files", () => {
    const all = [".dev.vars", ".dev.vars.staging", ".env", ".env.local", ".env.staging"];
    expect(
      configurationSources(["--env-file", "a.env", "--env-file=b.env"], { exists: exists(all), dotEnvAllowed: true }),
    ).toEqual({
      files: ["a.env", "b.env"],
      dotEnv: true,
      given: true,
    });
    expect(configurationSources([], { exists: exists(all), dotEnvAllowed: true })).toEqual({
      files: [".dev.vars"],
      dotEnv: false,
      given: false,
    });
    expect(configurationSources(["--env", "staging"], { exists: exists(all), dotEnvAllowed: true }).files).toEqual([
      ".dev.vars.staging",
    ]);
    expect(
      configurationSources(["-e=staging"], { exists: exists([".env", ".env.staging"]), dotEnvAllowed: true }).files,
    ).toEqual([".env", ".env.staging"]);
    expect(configurationSources([], { exists: exists([".env"]), dotEnvAllowed: false }).files).toEqual([]);
  });
});

describe("the injected values", () => {
  const cases: Array<[string, ConfigurationSources]> = [
    ["a .dev.vars", { files: [".dev.vars"], dotEnv: false, given: false }],
    [".env files", { files: [".env", ".env.local"], dotEnv: true, given: false }],
    ["--env-files given", { files: ["mine.env"], dotEnv: true, given: true }],
    ["no file at all", { files: [], dotEnv: true, given: false }],
  ];

  it.each(cases)("with %s, go in an owner-only file: wrangler's arguments carry paths only", (_, sources) => {
    const plan = injectionPlan({ sources, injected: INJECTED, readText: () => "A=1\n", dir: "/private" });
    expect(plan.args.join(" ")).not.toContain(TOKEN);
    expect(plan.args.join(" ")).not.toContain(INJECTED.MAINTAINX_WEBHOOK_SECRET);
    expect(plan.args.filter((_, i) => i % 2 === 0).every((arg) => arg === "--env-file")).toBe(true);
    expect(plan.args.at(-1)).toBe("/private/local-dev.env");
    expect(plan.files.get("/private/local-dev.env")).toContain(`LOCAL_DEV_ADMIN_TOKEN='${TOKEN}'`);
    // --env-files are read only while this is not "false": set, whatever the shell said.
    expect(plan.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV).toBe("true");
  });

  it("leave the files wrangler would have read in place before them", () => {
    const read = (sources: ConfigurationSources) =>
      optionValues(injectionPlan({ sources, injected: INJECTED, readText: () => "", dir: "/p" }).args, "--env-file");
    expect(read(cases[0]?.[1] as ConfigurationSources)).toEqual(["/p/.dev.vars", "/p/local-dev.env"]);
    expect(read(cases[1]?.[1] as ConfigurationSources)).toEqual([".env", ".env.local", "/p/local-dev.env"]);
    // Given on the command line, they are already among wrangler's arguments.
    expect(read(cases[2]?.[1] as ConfigurationSources)).toEqual(["/p/local-dev.env"]);
  });

  it("change nothing when nothing is injected", () => {
    const plan = injectionPlan({
      sources: cases[0]?.[1] as ConfigurationSources,
      injected: {},
      readText: () => "",
      dir: "/p",
    });
    expect(plan).toEqual({ args: [], files: new Map(), env: {} });
  });

  it("are refused rather than written in a form an env file would read otherwise", () => {
    expect(() => envLine("A", "it's")).toThrow(RangeError);
    expect(() => envLine("A", "two\nlines")).toThrow(RangeError);
    expect(envLine("A", "a$b${C}")).toBe("A='a\\$b\\${C}'");
  });
});

describe("a .dev.vars passed as a copy", () => {
  it("reads as wrangler reads the .dev.vars itself, $ and quotes included, plus the injected values", () => {
    const text = [
      "# comment with $HOME",
      "PLAIN=value",
      "DOLLAR=pa$$word",
      "BRACED=${HOME}x",
      "ESCAPED=a\\$b",
      "SINGLE='it $HOME'",
      'DOUBLE="line\\nnext $PATH \\$X"',
      "BACKTICK=`q'\"$Y`",
      "export EXPORTED=$1",
      "COMMENTED=abc # $trailing",
      "MULTI='one",
      "two $Z'",
      "EMPTY=",
      "SPACES =  spaced $ out  ",
    ].join("\n");
    const { direct, viaPlan } = readBothWays(text);
    expect(direct.DOLLAR).toBe("pa$$word");
    expect(direct.BRACED).toBe("${HOME}x");
    expect(viaPlan).toEqual({ ...direct, ...INJECTED });
  });

  it("reads as the .dev.vars does, whatever its lines (property)", () => {
    const char = fc.constantFrom(
      "a",
      "Z",
      "0",
      "$",
      "{",
      "}",
      "\\",
      "'",
      '"',
      "`",
      "#",
      " ",
      "=",
      ":",
      "-",
      "n",
      "\n",
      "\r\n",
    );
    const value = fc.array(char, { maxLength: 12 }).map((cs) => cs.join(""));
    const quote = fc.constantFrom("", "'", '"', "`");
    const line = fc
      .tuple(
        fc.constantFrom("A", "B_1", "HOME", "PATH", "export C", "D.E"),
        fc.constantFrom("=", " = ", ": "),
        quote,
        value,
      )
      .map(([key, eq, q, v]) => `${key}${eq}${q}${v}${q}`);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
        const { direct, viaPlan } = readBothWays(lines.join("\n"));
        expect(viaPlan).toEqual({ ...direct, ...INJECTED });
      }),
      { numRuns: 300 },
    );
  });
});
