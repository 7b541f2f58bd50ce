// The top level: help, unknown commands and exit codes, in-process and from the real process.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function runInProcess(argv: string[]) {
  const output = bufferOutput();
  return runCli(argv, { env: {}, cwd: repoRoot, output }).then((code) => ({ code, ...output.lines }));
}

/** Runs `npx tsx cli/index.ts ...` as an operator would, offline. */
function runProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_offline: "true" };
  for (const key of Object.keys(env)) if (key.startsWith("MAINTAINX_")) delete env[key];
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "cli/index.ts", ...args],
      { cwd: repoRoot, env, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

describe("program", () => {
  it.each([["--help"], ["-h"], ["help"]])("prints the program help for %s and exits 0", async (flag) => {
    const result = await runInProcess([flag]);

    expect(result.code).toBe(0);
    expect(result.stdout.join("\n")).toContain("Usage: npm run cli -- <command>");
    expect(result.stdout.join("\n")).toContain("subscriptions create --url");
    expect(result.stdout.join("\n")).toContain("subscriptions update <id> --url");
    expect(result.stdout.join("\n")).toContain("send <TYPE>");
    expect(result.stdout.join("\n")).toContain("events list [--status <S>]");
    expect(result.stdout.join("\n")).toContain("events show <id>");
    expect(result.stdout.join("\n")).toContain("events replay <id> | events replay <filters>");
    expect(result.stdout.join("\n")).toContain("handlers list | hold <name> [--reason <R>] | release <name>");
    expect(result.stdout.join("\n")).toContain("status             events by status");
  });

  it("exits 2 with the help when no command is given", async () => {
    const result = await runInProcess([]);

    expect(result.code).toBe(2);
    expect(result.stderr.join("\n")).toContain("Usage: npm run cli -- <command>");
  });

  it.each([["subscribe"], ["constructor"]])("exits 2 on the unknown command %s", async (command) => {
    const result = await runInProcess([command]);

    expect(result.code).toBe(2);
    expect(result.stderr[0]).toBe(`Error: unknown command "${command}".`);
  });

  it("dispatches to the commands' own help", async () => {
    const send = await runInProcess(["send", "--help"]);
    const subscriptions = await runInProcess(["subscriptions", "create", "--help"]);

    expect([send.code, subscriptions.code]).toEqual([0, 0]);
    expect(send.stdout.join("\n")).toMatch(/^Usage: npm run cli -- send/);
    expect(subscriptions.stdout.join("\n")).toMatch(/^Usage: npm run cli -- subscriptions create/);
  });

  it.each([
    [["events", "--help"], /^Usage: npm run cli -- events <command>/],
    [["events", "list", "--help"], /^Usage: npm run cli -- events list/],
    [["events", "show", "--help"], /^Usage: npm run cli -- events show <id>/],
    [["events", "replay", "--help"], /^Usage: npm run cli -- events replay <id>/],
    [["status", "--help"], /^Usage: npm run cli -- status/],
    [["handlers", "--help"], /^Usage: npm run cli -- handlers <command>/],
    [["handlers", "list", "--help"], /^Usage: npm run cli -- handlers list/],
    [["handlers", "hold", "--help"], /^Usage: npm run cli -- handlers hold <name>/],
    [["handlers", "release", "--help"], /^Usage: npm run cli -- handlers release <name>/],
  ])("%j prints its help and exits 0, without a token or a request", async (argv, usage) => {
    const result = await runInProcess(argv);

    expect(result.code).toBe(0);
    expect(result.stdout.join("\n")).toMatch(usage);
    expect(result.stdout.join("\n")).toContain("ADMIN_TOKEN from the environment");
  });

  it.each([["events"], ["handlers"]])("`%s` without a command exits 2 with its help", async (group) => {
    const result = await runInProcess([group]);

    expect(result.code).toBe(2);
    expect(result.stderr.join("\n")).toMatch(new RegExp(`^Usage: npm run cli -- ${group} <command>`));
  });
});

describe("the real process", () => {
  it("`npx tsx cli/index.ts --help` exits 0 with the help on stdout", async () => {
    const result = await runProcess(["--help"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: npm run cli -- <command>");
  });

  it("sets exit code 2 on a usage error", async () => {
    const result = await runProcess(["subscriptions", "create"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--url is required");
  });
});
