// Configuration: the environment first, then .dev.vars in the current directory, seen through
// what actually reaches the fake MaintainX API.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runSubscriptions } from "../../cli/commands/subscriptions";
import { loadCliConfig, parseDevVars } from "../../cli/env";
import { bufferOutput } from "../../cli/io";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";

let fake: FakeMaintainX;
let dir: string;

beforeAll(async () => {
  fake = await startFakeMaintainX();
  dir = mkdtempSync(join(tmpdir(), "cli-config-"));
});

afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  fake.route("GET", "/v1/subscriptions", { body: [] });
  rmSync(join(dir, ".dev.vars"), { force: true });
});

async function list(env: Record<string, string>) {
  const output = bufferOutput();
  const code = await runSubscriptions(["list"], { env, cwd: dir, output });
  return { code, stderr: output.lines.stderr.join("\n") };
}

describe("parseDevVars", () => {
  it("reads KEY=value and quoted values, and skips comments, blanks and non-assignments", () => {
    const text = [
      "# a comment",
      "",
      "MAINTAINX_API_KEY=plain-key",
      'MAINTAINX_WEBHOOK_SECRET="a,b # not a comment"',
      "MAINTAINX_ORGANIZATION_ID='42'",
      "export MAINTAINX_API_BASE = http://127.0.0.1:1/v1 # trailing comment",
      "not an assignment",
      "EMPTY=",
      "WINDOWS=crlf\r",
    ].join("\n");

    expect(parseDevVars(text)).toEqual({
      MAINTAINX_API_KEY: "plain-key",
      MAINTAINX_WEBHOOK_SECRET: "a,b # not a comment",
      MAINTAINX_ORGANIZATION_ID: "42",
      MAINTAINX_API_BASE: "http://127.0.0.1:1/v1",
      EMPTY: "",
      WINDOWS: "crlf",
    });
  });
});

describe("loadCliConfig", () => {
  it("lets the environment win, fills gaps from .dev.vars, and treats empty values as unset", () => {
    writeFileSync(
      join(dir, ".dev.vars"),
      'MAINTAINX_API_KEY="file-key"\nMAINTAINX_ORGANIZATION_ID="file-org"\nMAINTAINX_WEBHOOK_SECRET=""\n',
    );
    const config = loadCliConfig({ env: { MAINTAINX_API_KEY: "env-key", MAINTAINX_ORGANIZATION_ID: "" }, cwd: dir });

    expect(config).toEqual({
      MAINTAINX_API_KEY: { value: "env-key", source: "the environment" },
      MAINTAINX_ORGANIZATION_ID: { value: "file-org", source: ".dev.vars" },
    });
  });

  it("works without a .dev.vars file", () => {
    expect(loadCliConfig({ env: {}, cwd: dir })).toEqual({});
  });
});

describe("configuration reaching MaintainX", () => {
  it("uses the API key, base and organisation from .dev.vars when the environment has none", async () => {
    writeFileSync(
      join(dir, ".dev.vars"),
      `# local settings\nMAINTAINX_API_KEY="file-key"\nMAINTAINX_API_BASE=${fake.url}\nMAINTAINX_ORGANIZATION_ID=5\n`,
    );
    const result = await list({});

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.path, r.headers.authorization, r.headers["x-organization-id"]])).toEqual([
      ["/v1/subscriptions", "Bearer file-key", "5"],
    ]);
  });

  it("sends the environment's API key over the one in .dev.vars", async () => {
    writeFileSync(join(dir, ".dev.vars"), `MAINTAINX_API_KEY=file-key\nMAINTAINX_API_BASE=${fake.url}\n`);
    const result = await list({ MAINTAINX_API_KEY: "env-key" });

    expect(result.code).toBe(0);
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer env-key");
  });

  it("names .dev.vars as the source of a key MaintainX refuses", async () => {
    writeFileSync(join(dir, ".dev.vars"), `MAINTAINX_API_KEY=file-key\nMAINTAINX_API_BASE=${fake.url}\n`);
    fake.route("GET", "/v1/subscriptions", { status: 401 });
    const result = await list({});

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MAINTAINX_API_KEY from .dev.vars is wrong");
    expect(result.stderr).not.toContain("file-key");
  });

  it("treats the .dev.vars.example placeholder (empty key) as missing", async () => {
    writeFileSync(join(dir, ".dev.vars"), 'MAINTAINX_API_KEY=""\n');
    const result = await list({ MAINTAINX_API_BASE: fake.url });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("MAINTAINX_API_KEY is not set");
    expect(fake.requests).toHaveLength(0);
  });
});
