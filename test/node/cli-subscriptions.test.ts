// `subscriptions create|list|get|delete|secret` against the fake MaintainX API: the exact
// requests sent, what is printed (and what is not: secrets, the API key), and the exit codes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_SUBSCRIPTION_URL_LENGTH, runSubscriptions } from "../../cli/commands/subscriptions";
import { bufferOutput } from "../../cli/io";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";

const API_KEY = "test-api-key-3f9a";
const BASE = "https://maintainx-webhooks.example.workers.dev";

let fake: FakeMaintainX;
let emptyDir: string;

beforeAll(async () => {
  fake = await startFakeMaintainX();
  // No .dev.vars here, so only the env given to each run counts.
  emptyDir = mkdtempSync(join(tmpdir(), "cli-subscriptions-"));
});

afterAll(async () => {
  await fake.close();
  rmSync(emptyDir, { recursive: true, force: true });
});

beforeEach(() => fake.reset());

async function run(argv: string[], env: Record<string, string> = {}, timeoutMs?: number) {
  const output = bufferOutput();
  const code = await runSubscriptions(argv, {
    env: { MAINTAINX_API_KEY: API_KEY, MAINTAINX_API_BASE: fake.url, ...env },
    cwd: emptyDir,
    output,
    timeoutMs,
  });
  return { code, stdout: output.lines.stdout.join("\n"), stderr: output.lines.stderr.join("\n"), all: output.text() };
}

/** Answers each create with an id and secret derived from the type. */
function answerCreates(status: (type: string) => string = () => "VALID") {
  fake.route("POST", "/v1/subscriptions", ({ body }) => {
    const { type, url } = body as { type: string; url: string };
    return { status: 201, body: { id: `sub-${type}`, status: status(type), secret: `secret-${type}`, type, url } };
  });
}

describe("subscriptions create", () => {
  it("posts one subscription per default type to <base>/webhooks/maintainx/<TYPE>, with the bearer key", async () => {
    answerCreates();
    const result = await run(["create", "--url", `${BASE}/`]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ["POST", "/v1/subscriptions", { type: "NEW_WORK_ORDER", url: `${BASE}/webhooks/maintainx/NEW_WORK_ORDER` }],
      ["POST", "/v1/subscriptions", { type: "WORK_ORDER_CHANGE", url: `${BASE}/webhooks/maintainx/WORK_ORDER_CHANGE` }],
      [
        "POST",
        "/v1/subscriptions",
        { type: "WORK_ORDER_STATUS_CHANGE", url: `${BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE` },
      ],
    ]);
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers).not.toHaveProperty("x-organization-id");
    }
  });

  it("prints each id, status and secret, then the wrangler step with the secrets comma-separated", async () => {
    answerCreates();
    const { stdout } = await run(["create", "--url", BASE]);

    for (const type of ["NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE"]) {
      expect(stdout).toContain(`Created subscription sub-${type} for ${type}: VALID`);
      expect(stdout).toContain(`secret: secret-${type}`);
    }
    expect(stdout).toContain("npx wrangler secret put MAINTAINX_WEBHOOK_SECRET");
    expect(stdout).toContain(
      "NEW_WORK_ORDER:secret-NEW_WORK_ORDER,WORK_ORDER_CHANGE:secret-WORK_ORDER_CHANGE,WORK_ORDER_STATUS_CHANGE:secret-WORK_ORDER_STATUS_CHANGE",
    );
  });

  it("takes --type repeated or comma-separated, and sends x-organization-id when configured", async () => {
    answerCreates();
    const result = await run(
      ["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_DELETE", "--type", "NEW_ASSET"],
      {
        MAINTAINX_ORGANIZATION_ID: "77",
      },
    );

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => (r.body as { type: string }).type)).toEqual([
      "NEW_WORK_ORDER",
      "WORK_ORDER_DELETE",
      "NEW_ASSET",
    ]);
    expect(fake.requests.every((r) => r.headers["x-organization-id"] === "77")).toBe(true);
  });

  it("warns about a subscription MaintainX left PENDING_APPROVAL, and still succeeds", async () => {
    answerCreates((type) => (type === "WORK_ORDER_CHANGE" ? "PENDING_APPROVAL" : "VALID"));
    const result = await run(["create", "--url", BASE]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Created subscription sub-WORK_ORDER_CHANGE for WORK_ORDER_CHANGE: PENDING_APPROVAL",
    );
    expect(result.stderr).toMatch(
      /Warning: subscription sub-WORK_ORDER_CHANGE .*PENDING_APPROVAL.*Contact MaintainX support/,
    );
    expect(result.stderr).not.toContain("sub-NEW_WORK_ORDER");
  });

  it("keeps the secrets already created when a later create fails, and exits 1", async () => {
    fake.route("POST", "/v1/subscriptions", ({ body }) => {
      const { type } = body as { type: string };
      if (type === "NEW_WORK_ORDER") return { status: 201, body: { id: 1, status: "VALID", secret: "first-secret" } };
      return { status: 503, body: { message: "unavailable" } };
    });
    const result = await run(["create", "--url", BASE]);

    expect(result.code).toBe(1);
    expect(fake.requests).toHaveLength(2);
    expect(result.stdout).toContain("Created subscription 1 for NEW_WORK_ORDER: VALID");
    // Bound to its type: the Worker then verifies it only on /webhooks/maintainx/NEW_WORK_ORDER.
    expect(result.stdout).toContain("paste when prompted: NEW_WORK_ORDER:first-secret");
    expect(result.stderr).toContain("server error (503)");
    expect(result.stderr).toContain("Not created: WORK_ORDER_CHANGE, WORK_ORDER_STATUS_CHANGE.");
  });

  it("refuses a delivery URL longer than MaintainX's 512 characters before any request", async () => {
    const longBase = `https://${"a".repeat(MAX_SUBSCRIPTION_URL_LENGTH)}.example`;
    const result = await run(["create", "--url", longBase]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("at most 512");
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    [["create"], "--url is required"],
    [["create", "--url", "not a url"], "--url is not a URL"],
    [["create", "--url", "ftp://example.com"], "http(s)"],
    [["create", "--url", `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`], "base URL"],
    [["create", "--url", BASE, "--type", "workorder.created"], "UPPER_SNAKE"],
    [["create", "--url", BASE, "--bogus"], "Unknown option '--bogus'"],
    [["create", "--url", BASE, "extra"], "Unexpected argument: extra"],
  ])("exits 2 on the usage error in %j", async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("npm run cli -- subscriptions create --help");
    expect(fake.requests).toHaveLength(0);
  });

  it("rejects an answer without an id as not understood", async () => {
    fake.route("POST", "/v1/subscriptions", { status: 201, body: { status: "VALID" } });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("a body this CLI does not understand");
  });
});

describe("subscriptions list", () => {
  const subscriptions = [
    {
      id: 11,
      type: "NEW_WORK_ORDER",
      status: "VALID",
      url: `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`,
      secret: "s-11",
    },
    {
      id: "12",
      type: "WORK_ORDER_CHANGE",
      status: "PENDING_APPROVAL",
      url: `${BASE}/webhooks/maintainx/WORK_ORDER_CHANGE`,
    },
  ];

  it.each([
    ["a bare array", subscriptions],
    ["{subscriptions: [...]}", { subscriptions }],
  ])("lists id, status, type and URL from %s, without secrets", async (_shape, answer) => {
    fake.route("GET", "/v1/subscriptions", { body: answer });
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ["GET", "/v1/subscriptions", `Bearer ${API_KEY}`],
    ]);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TYPE\s+URL$/);
    expect(lines[1]).toMatch(
      new RegExp(`^11\\s+VALID\\s+NEW_WORK_ORDER\\s+${BASE}/webhooks/maintainx/NEW_WORK_ORDER$`),
    );
    expect(lines[2]).toMatch(/^12\s+PENDING_APPROVAL\s+WORK_ORDER_CHANGE\s+/);
    expect(result.all).not.toContain("s-11");
  });

  it("says so when there are none", async () => {
    fake.route("GET", "/v1/subscriptions", { body: [] });
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe("No subscriptions.");
  });

  it("says the API key is wrong on a 401, without printing it", async () => {
    fake.route("GET", "/v1/subscriptions", { status: 401, body: { message: "Unauthorized" } });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MaintainX refused the API key (401)");
    expect(result.stderr).toContain("MAINTAINX_API_KEY from the environment is wrong");
    expect(result.all).not.toContain(API_KEY);
  });

  it("says MaintainX failed on a 5xx", async () => {
    fake.route("GET", "/v1/subscriptions", { status: 502, rawBody: "<html>Bad gateway</html>" });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "MaintainX failed with a server error (502) on GET /subscriptions; try again later.",
    );
  });

  it("names the rate limit and the wait on a 429", async () => {
    fake.route("GET", "/v1/subscriptions", {
      status: 429,
      rawBody: "Too many requests. Please retry in 10 seconds",
      headers: { "x-rate-limit-reset": "10" },
    });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("rate limit reached (429): try again in 10 s");
  });

  it("suggests MAINTAINX_ORGANIZATION_ID on a 400 when it is not set", async () => {
    fake.route("GET", "/v1/subscriptions", { status: 400, body: { message: "x-organization-id header is required" } });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "MaintainX refused GET /subscriptions (400): x-organization-id header is required.",
    );
    expect(result.stderr).toContain("set MAINTAINX_ORGANIZATION_ID");
  });

  it("says MaintainX could not be reached when nothing listens", async () => {
    const closed = await startFakeMaintainX();
    await closed.close();
    const result = await run(["list"], { MAINTAINX_API_BASE: closed.url });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Could not reach MaintainX (GET ${closed.url}/subscriptions): ECONNREFUSED.`);
  });

  it("gives up after the timeout when MaintainX does not answer", async () => {
    fake.route("GET", "/v1/subscriptions", () => new Promise(() => {}));
    const result = await run(["list"], {}, 200);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MaintainX did not answer within 0.2 s");
  });

  it("says how to set MAINTAINX_API_KEY when it is missing, and sends nothing", async () => {
    const output = bufferOutput();
    const code = await runSubscriptions(["list"], { env: { MAINTAINX_API_BASE: fake.url }, cwd: emptyDir, output });

    expect(code).toBe(2);
    expect(output.lines.stderr.join("\n")).toContain("MAINTAINX_API_KEY is not set");
    expect(output.lines.stderr.join("\n")).toContain(".dev.vars");
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses a MAINTAINX_API_BASE that is not an http(s) URL", async () => {
    const result = await run(["list"], { MAINTAINX_API_BASE: "api.getmaintainx.com/v1" });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("MAINTAINX_API_BASE must be an http(s) URL");
  });
});

describe("subscriptions get", () => {
  it("prints the subscription as JSON without its secret", async () => {
    fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({
      body: {
        id: Number(params.id),
        type: "NEW_WORK_ORDER",
        status: "VALID",
        url: `${BASE}/x`,
        secret: "hidden-secret",
      },
    }));
    const result = await run(["get", "42"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/v1/subscriptions/42"]]);
    expect(JSON.parse(result.stdout)).toEqual({ id: "42", type: "NEW_WORK_ORDER", status: "VALID", url: `${BASE}/x` });
    expect(result.all).not.toContain("hidden-secret");
  });

  it("says the subscription was not found on a 404", async () => {
    fake.route("GET", "/v1/subscriptions/:id", { status: 404, body: { message: "Not found" } });
    const result = await run(["get", "404404"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Subscription 404404 was not found (404).");
  });

  it("percent-encodes the id into the path", async () => {
    fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({ body: { id: params.id } }));
    const result = await run(["get", "a/b"]);

    expect(result.code).toBe(0);
    expect(fake.requests[0]?.path).toBe("/v1/subscriptions/a%2Fb");
  });

  it.each([[["get"]], [["get", "1", "2"]], [["delete"]], [["secret"]]])("exits 2 on %j", async (argv) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("subscriptions delete", () => {
  it("sends DELETE and accepts MaintainX's 204", async () => {
    fake.route("DELETE", "/v1/subscriptions/:id", { status: 204 });
    const result = await run(["delete", "42"], { MAINTAINX_ORGANIZATION_ID: "9" });

    expect(result.code).toBe(0);
    expect(
      fake.requests.map((r) => [r.method, r.path, r.headers.authorization, r.headers["x-organization-id"]]),
    ).toEqual([["DELETE", "/v1/subscriptions/42", `Bearer ${API_KEY}`, "9"]]);
    expect(result.stdout).toBe("Deleted subscription 42.");
  });

  it("says the subscription was not found on a 404", async () => {
    fake.route("DELETE", "/v1/subscriptions/:id", { status: 404 });
    const result = await run(["delete", "42"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Subscription 42 was not found");
  });
});

describe("subscriptions secret", () => {
  it("prints only the secret on stdout", async () => {
    fake.route("GET", "/v1/subscriptions/:id/secret", { body: { secret: "whsec-abc123" } });
    const result = await run(["secret", "42"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/v1/subscriptions/42/secret"]]);
    expect(result.stdout).toBe("whsec-abc123");
  });

  it("fails clearly when the answer has no secret", async () => {
    fake.route("GET", "/v1/subscriptions/:id/secret", { body: {} });
    const result = await run(["secret", "42"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("does not understand");
  });
});

describe("subscriptions help and usage", () => {
  it.each([
    ["--help"],
    ["create", "--help"],
    ["list", "--help"],
    ["get", "-h"],
    ["delete", "--help"],
    ["secret", "--help"],
  ])("prints help for %s and exits 0 without a request", async (...argv) => {
    const result = await run(argv);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run cli -- subscriptions/);
    expect(fake.requests).toHaveLength(0);
  });

  it("exits 2 with the help when no command is given", async () => {
    const result = await run([]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: npm run cli -- subscriptions <command>");
  });

  it.each([["rename"], ["toString"]])("exits 2 on the unknown command %s", async (command) => {
    const result = await run([command, "1"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Unknown subscriptions command "${command}"`);
    expect(fake.requests).toHaveLength(0);
  });
});
