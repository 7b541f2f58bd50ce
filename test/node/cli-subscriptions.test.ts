// `subscriptions create|list|get|update|delete|secret` against the fake MaintainX API: the exact
// requests sent, what is printed (and what is not: secrets, the API key), the local record of
// created subscriptions, and the exit codes.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_SUBSCRIPTION_URL_LENGTH, runSubscriptions } from "../../cli/commands/subscriptions";
import { bufferOutput } from "../../cli/io";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import { routeDescribedSubscriptions } from "../helpers/node/fake-subscriptions";

const API_KEY = "test-api-key-3f9a";
const BASE = "https://maintainx-webhooks.example.workers.dev";
const NEW_BASE = "https://webhooks.example.com";
const RECORD_FILE = ".maintainx-subscriptions.json";
const ENTITY = { serializeEntity: true };

let fake: FakeMaintainX;
/** The command's current directory: no .dev.vars, and a record of its own for each test. */
let dir: string;

beforeAll(async () => {
  fake = await startFakeMaintainX();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), "cli-subscriptions-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string> = {}, timeoutMs?: number) {
  const output = bufferOutput();
  const code = await runSubscriptions(argv, {
    env: { MAINTAINX_API_KEY: API_KEY, MAINTAINX_API_BASE: fake.url, ...env },
    cwd: dir,
    output,
    timeoutMs,
  });
  return { code, stdout: output.lines.stdout.join("\n"), stderr: output.lines.stderr.join("\n"), all: output.text() };
}

function recordText(): string {
  return readFileSync(join(dir, RECORD_FILE), "utf8");
}

function recorded(): Array<Record<string, unknown>> {
  return (JSON.parse(recordText()) as { subscriptions: Array<Record<string, unknown>> }).subscriptions;
}

function writeRecord(subscriptions: Array<Record<string, unknown>>): void {
  writeFileSync(join(dir, RECORD_FILE), JSON.stringify({ subscriptions }));
}

function entry(id: string, type: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type,
    url: `${BASE}/webhooks/maintainx/${type}`,
    status: "VALID",
    createdAt: "2026-07-01T10:00:00.000Z",
    ...extra,
  };
}

const methodsAndPaths = () => fake.requests.map((r) => [r.method, r.path]);

/** Answers each create with an id and secret derived from the type. */
function answerCreates(status: (type: string) => string = () => "VALID") {
  fake.route("POST", "/v1/subscriptions", ({ body }) => {
    const { type } = body as { type: string };
    return { status: 201, body: { id: `sub-${type}`, status: status(type), secret: `secret-${type}` } };
  });
}

describe("subscriptions create", () => {
  it("posts one subscription per default type to <base>/webhooks/maintainx/<TYPE> with options.serializeEntity, with the bearer key", async () => {
    answerCreates();
    const result = await run(["create", "--url", `${BASE}/`]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.body])).toEqual(
      ["NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE"].map((type) => [
        "POST",
        "/v1/subscriptions",
        { type, url: `${BASE}/webhooks/maintainx/${type}`, options: ENTITY },
      ]),
    );
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers).not.toHaveProperty("x-organization-id");
    }
  });

  it("leaves options out of every POST body with --no-entity", async () => {
    answerCreates();
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_DELETE", "--no-entity"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => r.body)).toEqual([
      { type: "NEW_WORK_ORDER", url: `${BASE}/webhooks/maintainx/NEW_WORK_ORDER` },
      { type: "WORK_ORDER_DELETE", url: `${BASE}/webhooks/maintainx/WORK_ORDER_DELETE` },
    ]);
  });

  it("asks for the entity only with the option each type's subscription documents", async () => {
    answerCreates();
    const types = "NEW_ASSET,PURCHASE_ORDER_STATUS_CHANGE,METER_TRIGGER_STATE_CHANGE,USER_LOGIN_FAILURE";
    const result = await run(["create", "--url", BASE, "--type", types]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => r.body)).toEqual([
      { type: "NEW_ASSET", url: `${BASE}/webhooks/maintainx/NEW_ASSET`, options: { serializeEntity: true } },
      {
        type: "PURCHASE_ORDER_STATUS_CHANGE",
        url: `${BASE}/webhooks/maintainx/PURCHASE_ORDER_STATUS_CHANGE`,
        options: { serializePurchaseOrder: true },
      },
      { type: "METER_TRIGGER_STATE_CHANGE", url: `${BASE}/webhooks/maintainx/METER_TRIGGER_STATE_CHANGE` },
      { type: "USER_LOGIN_FAILURE", url: `${BASE}/webhooks/maintainx/USER_LOGIN_FAILURE` },
    ]);
  });

  it("prints each id, status and secret, then the wrangler step with the secrets bound to their types", async () => {
    answerCreates();
    const { stdout } = await run(["create", "--url", BASE]);

    for (const type of ["NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE"]) {
      expect(stdout).toContain(`Created subscription sub-${type} for ${type}: VALID`);
      expect(stdout).toContain(`url:    ${BASE}/webhooks/maintainx/${type}`);
      expect(stdout).toContain(`secret: secret-${type}`);
    }
    expect(stdout).toContain("npx wrangler secret put MAINTAINX_WEBHOOK_SECRET");
    expect(stdout).toContain(
      "NEW_WORK_ORDER:secret-NEW_WORK_ORDER,WORK_ORDER_CHANGE:secret-WORK_ORDER_CHANGE,WORK_ORDER_STATUS_CHANGE:secret-WORK_ORDER_STATUS_CHANGE",
    );
  });

  it("records each created subscription (id, type, url, status, createdAt) and never its secret", async () => {
    routeDescribedSubscriptions(fake, {
      status: (type) => (type === "WORK_ORDER_CHANGE" ? "PENDING_APPROVAL" : "VALID"),
    });
    const before = Date.now();
    const result = await run(["create", "--url", BASE]);

    expect(result.code).toBe(0);
    const entries = recorded();
    expect(entries.map(({ createdAt: _createdAt, ...rest }) => rest)).toEqual([
      { id: "963", type: "NEW_WORK_ORDER", url: `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, status: "VALID" },
      {
        id: "964",
        type: "WORK_ORDER_CHANGE",
        url: `${BASE}/webhooks/maintainx/WORK_ORDER_CHANGE`,
        status: "PENDING_APPROVAL",
      },
      {
        id: "965",
        type: "WORK_ORDER_STATUS_CHANGE",
        url: `${BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE`,
        status: "VALID",
      },
    ]);
    for (const { createdAt } of entries) {
      expect(Date.parse(String(createdAt))).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(String(createdAt))).toBeLessThanOrEqual(Date.now());
    }
    // The secrets were printed, but the record holds none of them.
    expect(result.stdout).toContain("NEW_WORK_ORDER:secret-963");
    expect(recordText()).not.toMatch(/secret/i);
    // Renamed into place: no temporary file is left beside it.
    expect(readdirSync(dir)).toEqual([RECORD_FILE]);
  });

  it("adds to an existing record rather than replacing it", async () => {
    writeRecord([entry("12", "NEW_ASSET")]);
    routeDescribedSubscriptions(fake);
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(0);
    expect(recorded().map((e) => [e.id, e.type])).toEqual([
      ["12", "NEW_ASSET"],
      ["963", "NEW_WORK_ORDER"],
    ]);
  });

  it("fetches a secret the create answer lacks from GET /subscriptions/{id}/secret, so the printed list is complete", async () => {
    routeDescribedSubscriptions(fake, { secretInCreate: false });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_STATUS_CHANGE"]);

    expect(result.code).toBe(0);
    expect(methodsAndPaths()).toEqual([
      ["POST", "/v1/subscriptions"],
      ["GET", "/v1/subscriptions/963/secret"],
      ["POST", "/v1/subscriptions"],
      ["GET", "/v1/subscriptions/964/secret"],
    ]);
    expect(result.stdout).toContain("secret: secret-963");
    expect(result.stdout).toContain(
      "paste when prompted: NEW_WORK_ORDER:secret-963,WORK_ORDER_STATUS_CHANGE:secret-964",
    );
    expect(recordText()).not.toContain("secret-96");
  });

  it("names the subscription whose secret could not be fetched and how to get it, and exits 1", async () => {
    routeDescribedSubscriptions(fake, { secretInCreate: false });
    fake.route("GET", "/v1/subscriptions/:id/secret", ({ params }) =>
      params.id === "964" ? { status: 503 } : { body: { secret: `secret-${params.id}` } },
    );
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_CHANGE"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain("paste when prompted: NEW_WORK_ORDER:secret-963\n");
    expect(result.stdout).toContain("secret: (not available; run `npm run cli -- subscriptions secret 964`)");
    expect(result.stderr).toContain(
      "the secret of subscription 964 (WORK_ORDER_CHANGE) is missing from the list above: MaintainX failed with a server error (503)",
    );
    expect(result.stderr).toContain(
      "Get it with `npm run cli -- subscriptions secret 964` and add WORK_ORDER_CHANGE:<secret> to MAINTAINX_WEBHOOK_SECRET.",
    );
    // Both exist in MaintainX, so both are recorded.
    expect(recorded().map((e) => e.id)).toEqual(["963", "964"]);
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

  it("keeps the secrets and the record entries already created when a later create fails, and exits 1", async () => {
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
    expect(recorded().map((e) => [e.id, e.type])).toEqual([["1", "NEW_WORK_ORDER"]]);
  });

  it("refuses an unknown type before any request, naming the closest known type", async () => {
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,NEW_WORKORDER"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown MaintainX event type "NEW_WORKORDER"; did you mean NEW_WORK_ORDER?');
    expect(fake.requests).toHaveLength(0);
    expect(existsSync(join(dir, RECORD_FILE))).toBe(false);
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
    [["create", "--url", BASE, "--type", "workorder.created"], 'Unknown MaintainX event type "workorder.created"'],
    [["create", "--url", BASE, "--bogus"], "Unknown option '--bogus'"],
    [["create", "--url", BASE, "--no-entity=yes"], "--no-entity"],
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

  it("stops on a corrupt record before any request, saying what to do", async () => {
    writeFileSync(join(dir, RECORD_FILE), "{ not json");
    routeDescribedSubscriptions(fake);
    const result = await run(["create", "--url", BASE]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, RECORD_FILE)} cannot be used: it is not JSON.`);
    expect(result.stderr).toContain("move it aside to start a new record");
    expect(fake.requests).toHaveLength(0);
    expect(recordText()).toBe("{ not json");
  });
});

describe("MaintainX error bodies", () => {
  it("shows an errors array in words: each field and message, joined with '; '", async () => {
    fake.route("POST", "/v1/subscriptions", {
      status: 400,
      body: {
        errors: [
          { error: "must be a valid URL", fieldPath: "url", fieldValue: "not-a-url" },
          { error: "Unknown option.", fieldPath: "options.serializeEntity", fieldValue: true },
          { error: "Missing x-organization-id header.", fieldPath: null, fieldValue: null },
        ],
      },
    });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Error: MaintainX refused POST /subscriptions (400): url: must be a valid URL (got "not-a-url"); options.serializeEntity: Unknown option (got "true"); Missing x-organization-id header. If the API key belongs to several organisations, set MAINTAINX_ORGANIZATION_ID.',
    );
  });

  it("does not echo a huge fieldValue, and keeps the message to a few hundred characters", async () => {
    const huge = `https://${"x".repeat(5000)}.example`;
    fake.route("POST", "/v1/subscriptions", {
      status: 400,
      body: {
        errors: Array.from({ length: 40 }, (_, i) => ({ error: `problem ${i}`, fieldPath: "url", fieldValue: huge })),
      },
    });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("(400): url: problem 0; url: problem 1;");
    expect(result.stderr).toContain("(and 35 more)");
    expect(result.stderr).not.toContain("xxxxxxxxxx");
    const line = result.stderr.split("\n").find((l) => l.startsWith("Error:")) ?? "";
    expect(line.length).toBeLessThan(500);
  });

  it("never prints the API key, even when MaintainX echoes it in an error", async () => {
    fake.route("POST", "/v1/subscriptions", {
      status: 400,
      body: { errors: [{ error: `token Bearer ${API_KEY} is not valid here`, fieldPath: "authorization" }] },
    });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("authorization: token Bearer <API key> is not valid here");
    expect(result.all).not.toContain(API_KEY);
  });

  it("keeps the permission sentence for a 403 errors body", async () => {
    fake.route("POST", "/v1/subscriptions", {
      status: 403,
      body: { errors: [{ error: "User don't have the right permissions" }] },
    });
    const result = await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "MaintainX refused POST /subscriptions (403): User don't have the right permissions: the API key is not allowed to manage webhook subscriptions.",
    );
  });

  it("keeps the not-found sentence for a 404 {error} body", async () => {
    fake.route("GET", "/v1/subscriptions/:id", { status: 404, body: { error: "Not found" } });
    const result = await run(["get", "404404"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Error: Subscription 404404 was not found (404). Run `npm run cli -- subscriptions list` to see the ids.",
    );
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

  it("prints the record refreshed with GET /subscriptions/{id}, a 404 entry as GONE (404), and exits 0", async () => {
    const { store } = routeDescribedSubscriptions(fake, { status: () => "PENDING_APPROVAL" });
    await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_CHANGE,NEW_ASSET"]);
    const createdAt = recorded().map((e) => String(e.createdAt));
    // Behind the CLI's back: MaintainX approved one, another was moved, the third deleted.
    Object.assign(store.get("963") ?? {}, { status: "VALID" });
    Object.assign(store.get("964") ?? {}, { url: `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_CHANGE` });
    store.delete("965");
    fake.requests.length = 0;

    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(methodsAndPaths()).toEqual([
      ["GET", "/v1/subscriptions"],
      ["GET", "/v1/subscriptions/963"],
      ["GET", "/v1/subscriptions/964"],
      ["GET", "/v1/subscriptions/965"],
    ]);
    const lines = result.stdout.split("\n").map((line) => line.split(/\s+/));
    expect(lines).toEqual([
      ["ID", "STATUS", "TYPE", "CREATED", "URL"],
      ["963", "VALID", "NEW_WORK_ORDER", createdAt[0], `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`],
      [
        "964",
        "PENDING_APPROVAL",
        "WORK_ORDER_CHANGE",
        createdAt[1],
        `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_CHANGE`,
      ],
      ["965", "GONE", "(404)", "NEW_ASSET", createdAt[2], `${BASE}/webhooks/maintainx/NEW_ASSET`],
    ]);
    expect(result.stdout).toContain("GONE (404)");
    expect(result.stderr).toContain("MaintainX has no endpoint that lists subscriptions");
    expect(result.stderr).toContain("`npm run cli -- subscriptions delete <id>` removes one from the record");
    expect(result.all).not.toContain("secret-96");
    // list only reads the record.
    expect(recorded().map((e) => e.status)).toEqual(["PENDING_APPROVAL", "PENDING_APPROVAL", "PENDING_APPROVAL"]);
  });

  it("says how subscriptions get into the record when it is empty and there is no list endpoint", async () => {
    routeDescribedSubscriptions(fake);
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(methodsAndPaths()).toEqual([["GET", "/v1/subscriptions"]]);
    expect(result.stdout).toBe(
      `No subscriptions recorded in ${RECORD_FILE} in ${dir}. MaintainX has no endpoint that lists subscriptions, so \`list\` shows those that \`npm run cli -- subscriptions create\` made from this directory; \`subscriptions get <id>\` shows any other by id.`,
    );
  });

  it("treats a 404 on GET /subscriptions as no list endpoint, not as an error", async () => {
    writeRecord([entry("7", "NEW_WORK_ORDER")]);
    fake.route("GET", "/v1/subscriptions", { status: 404, body: { error: "Not Found." } });
    fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({
      body: { subscription: { id: Number(params.id), type: "NEW_WORK_ORDER", status: "VALID", url: `${BASE}/x` } },
    }));
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[1]).toMatch(/^7\s+VALID\s+NEW_WORK_ORDER\s+2026-07-01T10:00:00.000Z\s+\S+\/x$/);
  });

  it.each([
    ["a bare array", subscriptions],
    ["{subscriptions: [...]}", { subscriptions }],
  ])("lists id, status, type and URL from a list endpoint answering %s, without secrets", async (_shape, answer) => {
    fake.route("GET", "/v1/subscriptions", { body: answer });
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ["GET", "/v1/subscriptions", `Bearer ${API_KEY}`],
    ]);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TYPE\s+CREATED\s+URL$/);
    expect(lines[1]).toMatch(
      new RegExp(`^11\\s+VALID\\s+NEW_WORK_ORDER\\s+-\\s+${BASE}/webhooks/maintainx/NEW_WORK_ORDER$`),
    );
    expect(lines[2]).toMatch(/^12\s+PENDING_APPROVAL\s+WORK_ORDER_CHANGE\s+-\s+/);
    expect(result.all).not.toContain("s-11");
    expect(result.stderr).toBe("");
  });

  it("merges a list endpoint's answer with the record by id, without a GET for the listed ones", async () => {
    writeRecord([entry("12", "WORK_ORDER_CHANGE", { status: "VALID" }), entry("30", "NEW_ASSET")]);
    fake.route("GET", "/v1/subscriptions", { body: subscriptions });
    fake.route("GET", "/v1/subscriptions/:id", { status: 404, body: { error: "Not found" } });
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(methodsAndPaths()).toEqual([
      ["GET", "/v1/subscriptions"],
      ["GET", "/v1/subscriptions/30"],
    ]);
    const lines = result.stdout.split("\n");
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
      ["12", "PENDING_APPROVAL", "WORK_ORDER_CHANGE", "2026-07-01T10:00:00.000Z"],
      ["30", "GONE", "(404)", "NEW_ASSET"],
      ["11", "VALID", "NEW_WORK_ORDER", "-"],
    ]);
    expect(result.stderr).not.toContain("no endpoint that lists");
  });

  it("says so when a list endpoint answers none and nothing is recorded", async () => {
    fake.route("GET", "/v1/subscriptions", { body: [] });
    const result = await run(["list"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe("No subscriptions.");
  });

  it.each([
    ["not JSON", "[1,", "it is not JSON"],
    [
      "not a record",
      JSON.stringify({ subscriptions: [{ id: "1" }] }),
      "it does not look like a subscription record at subscriptions.0.type",
    ],
  ])("reports a record that is %s in words, and exits 2", async (_what, text, reason) => {
    writeFileSync(join(dir, RECORD_FILE), text);
    routeDescribedSubscriptions(fake);
    const result = await run(["list"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, RECORD_FILE)} cannot be used: ${reason}. Repair it`);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(fake.requests).toHaveLength(0);
  });

  it("says the API key is wrong on a 401, without printing it", async () => {
    fake.route("GET", "/v1/subscriptions", { status: 401, body: { message: "Unauthorized" } });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MaintainX refused the API key (401)");
    expect(result.stderr).toContain("MAINTAINX_API_KEY from the environment is wrong");
    expect(result.all).not.toContain(API_KEY);
  });

  it("says the API key is wrong when refreshing a recorded entry answers 401", async () => {
    writeRecord([entry("7", "NEW_WORK_ORDER")]);
    routeDescribedSubscriptions(fake);
    fake.route("GET", "/v1/subscriptions/:id", { status: 401 });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MaintainX refused the API key (401)");
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
    fake.route("GET", "/v1/subscriptions", {
      status: 400,
      body: { errors: [{ error: "Missing x-organization-id header." }] },
    });
    const result = await run(["list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MaintainX refused GET /subscriptions (400): Missing x-organization-id header.");
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
    const code = await runSubscriptions(["list"], { env: { MAINTAINX_API_BASE: fake.url }, cwd: dir, output });

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
  it.each([
    ["wrapped as {subscription}", (subscription: object) => ({ subscription })],
    ["as a bare object", (subscription: object) => subscription],
  ])("prints the subscription MaintainX answers %s as JSON, without its secret", async (_shape, shape) => {
    fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({
      body: shape({
        id: Number(params.id),
        type: "NEW_WORK_ORDER",
        status: "VALID",
        url: `${BASE}/x`,
        secret: "hidden-secret",
      }),
    }));
    const result = await run(["get", "42"]);

    expect(result.code).toBe(0);
    expect(methodsAndPaths()).toEqual([["GET", "/v1/subscriptions/42"]]);
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
    fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({ body: { subscription: { id: params.id } } }));
    const result = await run(["get", "a/b"]);

    expect(result.code).toBe(0);
    expect(fake.requests[0]?.path).toBe("/v1/subscriptions/a%2Fb");
  });

  it.each([[["get"]], [["get", "1", "2"]], [["delete"]], [["secret"]], [["update", "--url", BASE]]])(
    "exits 2 on %j",
    async (argv) => {
      const result = await run(argv);

      expect(result.code).toBe(2);
      expect(fake.requests).toHaveLength(0);
    },
  );
});

describe("subscriptions update", () => {
  it("PATCHes only the url, with the type from the record, and updates the record entry", async () => {
    routeDescribedSubscriptions(fake);
    await run(["create", "--url", BASE, "--type", "WORK_ORDER_STATUS_CHANGE"]);
    const [before] = recorded();
    fake.requests.length = 0;

    const result = await run(["update", "963", "--url", `${NEW_BASE}/`]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ["PATCH", "/v1/subscriptions/963", { url: `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE` }],
    ]);
    expect(result.stdout).toBe(
      `Updated subscription 963 for WORK_ORDER_STATUS_CHANGE: VALID\n  url:    ${NEW_BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE`,
    );
    expect(recorded()).toEqual([{ ...before, url: `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE` }]);
    expect(result.stderr).toBe("");
  });

  it("takes the type from GET /subscriptions/{id} when the record has no entry, and records nothing", async () => {
    const { store } = routeDescribedSubscriptions(fake);
    store.set("50", {
      id: 50,
      type: "NEW_ASSET",
      url: `${BASE}/webhooks/maintainx/NEW_ASSET`,
      status: "VALID",
      secret: "s-50",
    });
    const result = await run(["update", "50", "--url", NEW_BASE], { MAINTAINX_ORGANIZATION_ID: "3" });

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.body, r.headers["x-organization-id"]])).toEqual([
      ["GET", "/v1/subscriptions/50", undefined, "3"],
      ["PATCH", "/v1/subscriptions/50", { url: `${NEW_BASE}/webhooks/maintainx/NEW_ASSET` }, "3"],
    ]);
    expect(store.get("50")?.url).toBe(`${NEW_BASE}/webhooks/maintainx/NEW_ASSET`);
    expect(existsSync(join(dir, RECORD_FILE))).toBe(false);
    expect(result.all).not.toContain("s-50");
  });

  it("with --type sends the type too, delivers to that type's path, and says to rebind the secret", async () => {
    writeRecord([entry("963", "WORK_ORDER_CHANGE")]);
    const { store } = routeDescribedSubscriptions(fake);
    store.set("963", { id: 963, type: "WORK_ORDER_CHANGE", url: "u", status: "VALID", secret: "s-963" });
    const result = await run(["update", "963", "--url", NEW_BASE, "--type", "WORK_ORDER_STATUS_CHANGE"]);

    expect(result.code).toBe(0);
    expect(fake.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      [
        "PATCH",
        "/v1/subscriptions/963",
        { type: "WORK_ORDER_STATUS_CHANGE", url: `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE` },
      ],
    ]);
    expect(recorded()).toEqual([
      entry("963", "WORK_ORDER_STATUS_CHANGE", { url: `${NEW_BASE}/webhooks/maintainx/WORK_ORDER_STATUS_CHANGE` }),
    ]);
    expect(result.stderr).toContain(
      "binds this subscription's secret to WORK_ORDER_CHANGE, bind it to WORK_ORDER_STATUS_CHANGE instead",
    );
    expect(result.all).not.toContain("s-963");
  });

  it("refuses an unknown --type before any request, naming the closest known type", async () => {
    const result = await run(["update", "1", "--url", NEW_BASE, "--type", "WORK_ORDER_STATUS_CHANG"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Unknown MaintainX event type "WORK_ORDER_STATUS_CHANG"; did you mean WORK_ORDER_STATUS_CHANGE?',
    );
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    [["update", "1"], "--url is required"],
    [["update", "1", "--url", "not a url"], "--url is not a URL"],
    [["update", "1", "--url", "ftp://example.com"], "http(s)"],
    [["update", "1", "--url", `${BASE}?x=1`], "without a query or fragment"],
    [["update", "1", "--url", `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`], "base URL"],
    [
      ["update", "1", "--url", `https://${"a".repeat(MAX_SUBSCRIPTION_URL_LENGTH)}.example`, "--type", "NEW_PART"],
      "at most 512",
    ],
    [["update", "1", "2", "--url", BASE], "Unexpected argument: 2"],
    [["update", "1", "--url", BASE, "--no-entity"], "Unknown option '--no-entity'"],
  ])("validates --url and the arguments like create: exits 2 on %j", async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("npm run cli -- subscriptions update --help");
    expect(fake.requests).toHaveLength(0);
  });

  it("says the subscription was not found when GET /subscriptions/{id} answers 404", async () => {
    routeDescribedSubscriptions(fake);
    const result = await run(["update", "77", "--url", NEW_BASE]);

    expect(result.code).toBe(1);
    expect(methodsAndPaths()).toEqual([["GET", "/v1/subscriptions/77"]]);
    expect(result.stderr).toContain("Subscription 77 was not found (404).");
  });

  it("shows MaintainX's refusal of the PATCH in words and leaves the record as it was", async () => {
    writeRecord([entry("963", "NEW_WORK_ORDER")]);
    fake.route("PATCH", "/v1/subscriptions/:id", {
      status: 400,
      body: { errors: [{ error: "must be a valid URL", fieldPath: "url" }] },
    });
    const result = await run(["update", "963", "--url", NEW_BASE], { MAINTAINX_ORGANIZATION_ID: "3" });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("Error: MaintainX refused PATCH /subscriptions/963 (400): url: must be a valid URL.");
    expect(recorded()).toEqual([entry("963", "NEW_WORK_ORDER")]);
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

  it("removes the deleted subscription's entry from the record and keeps the others", async () => {
    routeDescribedSubscriptions(fake);
    await run(["create", "--url", BASE, "--type", "NEW_WORK_ORDER,WORK_ORDER_CHANGE"]);
    const result = await run(["delete", "963"]);

    expect(result.code).toBe(0);
    expect(recorded().map((e) => [e.id, e.type])).toEqual([["964", "WORK_ORDER_CHANGE"]]);
  });

  it("removes a recorded subscription MaintainX no longer has from the record, and exits 0", async () => {
    writeRecord([entry("963", "NEW_WORK_ORDER"), entry("964", "NEW_ASSET")]);
    routeDescribedSubscriptions(fake);
    const result = await run(["delete", "963"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Subscription 963 no longer exists in MaintainX (404); removed it from ${RECORD_FILE}.`);
    expect(recorded().map((e) => e.id)).toEqual(["964"]);
  });

  it("says the subscription was not found on a 404 when it is not recorded", async () => {
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
    expect(methodsAndPaths()).toEqual([["GET", "/v1/subscriptions/42/secret"]]);
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
    ["update", "--help"],
    ["delete", "--help"],
    ["secret", "--help"],
  ])("prints help for %s and exits 0 without a request", async (...argv) => {
    const result = await run(argv);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run cli -- subscriptions/);
    expect(fake.requests).toHaveLength(0);
  });

  it("names update, --no-entity and the record file in the help", async () => {
    const overall = await run(["--help"]);
    const create = await run(["create", "--help"]);

    expect(overall.stdout).toContain("update <id> --url <base URL> [--type <TYPE>]");
    expect(overall.stdout).toContain(RECORD_FILE);
    expect(create.stdout).toContain("--no-entity");
  });

  it("exits 2 with the help when no command is given", async () => {
    const result = await run([]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: npm run cli -- subscriptions <command>");
  });

  it.each([["rename"], ["toString"]])(
    "exits 2 on the unknown command %s, naming update among the commands",
    async (command) => {
      const result = await run([command, "1"]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `Unknown subscriptions command "${command}": use create, list, get, update, delete or secret.`,
      );
      expect(fake.requests).toHaveLength(0);
    },
  );
});
