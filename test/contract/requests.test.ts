// Every request the project makes to MaintainX is one MaintainX's OpenAPI description documents,
// with declared query names, parameter values valid by their schemas and a body valid by the
// request body schema: the Worker's REST client (as the poller and the handlers call it), and
// every `subscriptions` command of the CLI against a recording fake on 127.0.0.1.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runSubscriptions } from "../../cli/commands/subscriptions";
import { bufferOutput } from "../../cli/io";
import { readConfig } from "../../src/config";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import type { FetchLike } from "../../src/lib/outbound";
import { type MaintainXClient, maintainXClientFor } from "../../src/maintainx/client";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import {
  checkRequest,
  contractDescription,
  type Description,
  type RequestRecord,
  strictProblems,
  undeclaredProperties,
} from "../helpers/node/openapi";

const description = contractDescription();
const API_BASE = "https://maintainx.test/v1";
const ORGANIZATION_ID = "48213";
const PUBLIC_BASE = "https://maintainx-webhooks.example.workers.dev";

/** The description, inside a suite that runs only when it was found. */
function doc(): Description {
  if (!description) throw new Error("unreachable: the suite is skipped without the description");
  return description;
}

function expectValid(requests: RequestRecord[]): void {
  for (const request of requests) {
    expect(checkRequest(doc(), request).problems, `${request.method} ${request.url}`).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// The Worker's REST client.

type Env = Parameters<typeof readConfig>[0];

function workerConfig(vars: Record<string, string> = {}) {
  return readConfig({ MAINTAINX_API_KEY: "test-api-key", MAINTAINX_API_BASE: API_BASE, ...vars } as unknown as Env);
}

/** A fetch that records each request and answers with `answer(url)` as JSON. */
function recordingFetch(answer: (url: URL) => unknown) {
  const requests: RequestRecord[] = [];
  const fetch: FetchLike = async (input, init) => {
    const request = new Request(input, init);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    requests.push({ method: request.method, url: request.url, headers, body: await request.text() });
    return Response.json(answer(new URL(request.url)));
  };
  return { fetch, requests };
}

const LIST_ANSWER = (url: URL) => ({
  workOrders: [],
  nextCursor: url.searchParams.has("cursor") ? null : "eyJ1cGRhdGVkQXQiOiIyMDI2In0=",
});

/** The poller's two calls of a query: the first page, then the page its nextCursor names. */
async function pollLikeThePoller(vars: Record<string, string> = {}) {
  const config = workerConfig(vars);
  const { fetch, requests } = recordingFetch(LIST_ANSWER);
  const client = maintainXClientFor(config, fetch);
  if (!client) throw new Error("no client: MAINTAINX_API_KEY is set");
  // As src/polling/poller.ts: the cursor (first run: now less POLL_INITIAL_LOOKBACK_SECONDS),
  // POLL_PAGE_SIZE, and the page cursor of the previous answer.
  const cursor = new Date(Date.now() - config.pollInitialLookbackSeconds * 1000).toISOString();
  const first = await client.listWorkOrders({ updatedSince: cursor, limit: config.pollPageSize, cursor: undefined });
  await client.listWorkOrders({
    updatedSince: cursor,
    limit: config.pollPageSize,
    cursor: first.nextCursor ?? undefined,
  });
  return requests;
}

describe.skipIf(!description)("contract: the Worker's requests to MaintainX", () => {
  it.each([
    ["without", {}],
    ["with", { MAINTAINX_ORGANIZATION_ID: ORGANIZATION_ID }],
  ])("lists work orders as the poller does (first page and cursor page), %s x-organization-id", async (_, vars) => {
    const requests = await pollLikeThePoller(vars);

    expect(requests).toHaveLength(2);
    expect(new URL(requests[1]?.url ?? "").searchParams.get("cursor")).toBeTruthy();
    expectValid(requests);
  });

  it("asks GET /workorders with only updatedAt[gte], sort, limit and cursor, each declared for it", async () => {
    const requests = await pollLikeThePoller();
    const declared = new Set(
      doc()
        .operation("GET", "/workorders")
        ?.parameters.filter((p) => p.in === "query")
        .map((p) => p.name as string),
    );

    for (const request of requests) {
      const { operation } = checkRequest(doc(), request);
      expect([operation?.method, operation?.template]).toEqual(["get", "/workorders"]);
      const names = [...new URL(request.url).searchParams.keys()];
      expect(names.every((name) => ["updatedAt[gte]", "sort", "limit", "cursor"].includes(name))).toBe(true);
      for (const name of names) expect(declared.has(name), name).toBe(true);
    }
    expect([...new URL(requests[0]?.url ?? "").searchParams.keys()].sort()).toEqual([
      "limit",
      "sort",
      "updatedAt[gte]",
    ]);
  });

  it.each(["1", "200"])("sends POLL_PAGE_SIZE=%s as a limit within the description's bounds", async (size) => {
    expectValid(await pollLikeThePoller({ POLL_PAGE_SIZE: size }));
  });

  it.each([
    ["without", {}],
    ["with", { MAINTAINX_ORGANIZATION_ID: ORGANIZATION_ID }],
  ])("gets a work order by id as the handlers do, %s x-organization-id", async (_, vars) => {
    const { fetch, requests } = recordingFetch(() => ({ workOrder: { id: 4821337, title: "Belt" } }));
    // The handlers ask for the id the delivery named: its workOrderId, as text.
    await maintainXClientFor(workerConfig(vars), fetch)?.getWorkOrder(String(4821337));

    expect(requests).toHaveLength(1);
    expect(checkRequest(doc(), requests[0] as RequestRecord).operation?.template).toBe("/workorders/{id}");
    expectValid(requests);
  });

  it.each([
    ["an asset (the offline alert's name)", "/assets/{id}", (c: MaintainXClient) => c.getAsset("771002")],
    ["a purchase order (the ERP sync)", "/purchaseorders/{id}", (c: MaintainXClient) => c.getPurchaseOrder("135")],
  ])("gets %s by id as the handlers do", async (_, template, call) => {
    const { fetch, requests } = recordingFetch(() => ({
      asset: { id: 771002, name: "Forklift" },
      purchaseOrder: { id: 135, status: "APPROVED" },
    }));
    const client = maintainXClientFor(workerConfig({ MAINTAINX_ORGANIZATION_ID: ORGANIZATION_ID }), fetch);
    if (!client) throw new Error("no client: MAINTAINX_API_KEY is set");
    await call(client);

    expect(requests).toHaveLength(1);
    expect(checkRequest(doc(), requests[0] as RequestRecord).operation?.template).toBe(template);
    expectValid(requests);
  });

  it("refuses a request the description does not document (the checker's own test)", () => {
    const problems = checkRequest(doc(), {
      method: "GET",
      url: `${API_BASE}/workorders?updatedSince=2026-01-01T00:00:00.000Z&limit=500`,
      headers: { authorization: "Bearer k" },
    }).problems;

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("query parameter updatedSince is not declared"),
        expect.stringContaining("query limit"),
      ]),
    );
    expect(checkRequest(doc(), { method: "GET", url: `${API_BASE}/workorders/abc`, headers: {} }).problems).toEqual(
      expect.arrayContaining([expect.stringContaining("path id"), expect.stringContaining("Bearer")]),
    );
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      checkRequest(doc(), {
        method: "POST",
        url: `${API_BASE}/subscriptions`,
        headers: { authorization: "Bearer k", "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }).problems;
    expect(post({ type: "NEW_WORK_ORDER", url: PUBLIC_BASE })).toEqual([]);
    expect(post({ type: "NOT_A_TYPE", url: PUBLIC_BASE })).not.toEqual([]);
    expect(post({ type: "NEW_WORK_ORDER" })).not.toEqual([]);
    expect(post({ type: "NEW_WORK_ORDER", url: PUBLIC_BASE }, { "x-organization-id": "acme" })).toEqual([
      expect.stringContaining("header x-organization-id"),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI's subscription requests.

let fake: FakeMaintainX;
let emptyDir: string;

async function cli(argv: string[], env: Record<string, string> = {}) {
  const output = bufferOutput();
  const code = await runSubscriptions(argv, {
    env: { MAINTAINX_API_KEY: "test-api-key", MAINTAINX_API_BASE: fake.url, ...env },
    cwd: emptyDir,
    output,
    timeoutMs: 5000,
  });
  const requests: RequestRecord[] = fake.requests.map((r) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(r.query)) {
      for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
    }
    const search = query.size > 0 ? `?${query}` : "";
    return { method: r.method, url: `${r.path}${search}`, headers: r.headers, body: r.rawBody };
  });
  return { code, requests, output: output.text() };
}

/** Answers shaped as the description documents them, so each command goes as far as it can. */
function answerAsDocumented(): void {
  const subscription = (id: string, type = "NEW_WORK_ORDER") => ({
    id: Number(id),
    type,
    url: `${PUBLIC_BASE}/webhooks/maintainx/${type}`,
    status: "VALID",
  });
  fake.route("POST", "/v1/subscriptions", ({ body }) => ({
    status: 201,
    body: { id: 963, status: "VALID", secret: `secret-${(body as { type?: string }).type}` },
  }));
  fake.route("GET", "/v1/subscriptions/:id", ({ params }) => ({
    body: { subscription: subscription(params.id ?? "") },
  }));
  fake.route("PATCH", "/v1/subscriptions/:id", ({ params }) => ({
    body: { subscription: subscription(params.id ?? "") },
  }));
  fake.route("DELETE", "/v1/subscriptions/:id", { status: 204 });
  fake.route("GET", "/v1/subscriptions/:id/secret", { body: { secret: "whsec-test" } });
}

/** The documented variant of POST /subscriptions's body that a create body matches. */
function createVariant(body: unknown) {
  const schema = doc().operation("POST", "/subscriptions")?.definition.requestBody.content["application/json"].schema;
  const variants: Record<string, unknown>[] = schema?.oneOf ?? [schema];
  return variants.find((variant) => strictProblems(doc(), variant, body).length === 0);
}

const ORG_ENVS: Array<[string, Record<string, string>]> = [
  ["without", {}],
  ["with", { MAINTAINX_ORGANIZATION_ID: ORGANIZATION_ID }],
];

describe.skipIf(!description)("contract: the CLI's subscription requests to MaintainX", () => {
  beforeAll(async () => {
    fake = await startFakeMaintainX();
    emptyDir = mkdtempSync(join(tmpdir(), "contract-subscriptions-"));
  });
  afterAll(async () => {
    await fake?.close();
    if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.reset();
    answerAsDocumented();
  });

  it.each(ORG_ENVS)("create (default types) posts valid subscriptions, %s x-organization-id", async (_, env) => {
    const { requests } = await cli(["create", "--url", PUBLIC_BASE], env);

    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.method === "POST" && r.url === "/v1/subscriptions")).toBe(true);
    expectValid(requests);
  });

  it(`create --type <each of the ${MAINTAINX_EVENT_TYPES.length} types> posts a body valid for that type`, async () => {
    const { requests } = await cli(["create", "--url", PUBLIC_BASE, "--type", MAINTAINX_EVENT_TYPES.join(",")]);

    expect(requests.map((r) => (JSON.parse(r.body ?? "{}") as { type?: string }).type)).toEqual([
      ...MAINTAINX_EVENT_TYPES,
    ]);
    expectValid(requests);
  });

  it("create sends only the properties its type's documented subscription body declares", async () => {
    const { requests } = await cli(["create", "--url", PUBLIC_BASE, "--type", MAINTAINX_EVENT_TYPES.join(",")]);

    for (const request of requests) {
      const body = JSON.parse(request.body ?? "{}");
      const variant = createVariant(body);
      expect(variant, request.body).toBeDefined();
      expect(undeclaredProperties(doc(), variant, body), request.body).toEqual([]);
    }
  });

  it("create --no-entity, where the command has it, posts valid subscriptions", async () => {
    // The option may not exist in this version: then nothing is sent and nothing is checked.
    const { requests } = await cli(["create", "--url", PUBLIC_BASE, "--no-entity"]);

    expectValid(requests);
  });

  it.each(ORG_ENVS)("get, secret and delete ask valid requests, %s x-organization-id", async (_, env) => {
    for (const argv of [
      ["get", "963"],
      ["secret", "963"],
      ["delete", "963"],
    ]) {
      fake.requests.length = 0;
      const { requests } = await cli(argv, env);

      expect(requests, argv.join(" ")).toHaveLength(1);
      expectValid(requests);
    }
  });

  it("get, secret and delete name the operations the description documents", async () => {
    const asked: string[] = [];
    for (const argv of [
      ["get", "963"],
      ["secret", "963"],
      ["delete", "963"],
    ]) {
      fake.requests.length = 0;
      const { requests } = await cli(argv);
      for (const request of requests) {
        const { operation } = checkRequest(doc(), request);
        asked.push(`${operation?.method} ${operation?.template}`);
      }
    }
    expect(asked).toEqual(["get /subscriptions/{id}", "get /subscriptions/{id}/secret", "delete /subscriptions/{id}"]);
  });

  it("update, where the command exists, asks only valid requests", async () => {
    // Tried with the options an update is likely to take; whatever requests are made are checked.
    for (const argv of [
      ["update", "963", "--url", PUBLIC_BASE],
      ["update", "963", "--url", PUBLIC_BASE, "--type", "WORK_ORDER_CHANGE"],
      ["update", "963", "--type", "WORK_ORDER_CHANGE"],
    ]) {
      fake.requests.length = 0;
      const { requests } = await cli(argv);
      expectValid(requests);
    }
  });

  it.skipIf(description !== undefined && !description.operation("GET", "/subscriptions"))(
    "list asks a valid GET /subscriptions, once the description documents it",
    async () => {
      fake.route("GET", "/v1/subscriptions", { body: [] });
      const { requests } = await cli(["list"]);

      expect(requests).toHaveLength(1);
      expectValid(requests);
    },
  );
});
