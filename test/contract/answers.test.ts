// Every answer shape the project parses accepts the answers MaintainX's OpenAPI description
// documents: its examples (where it has any) and openapi-sampler samples of the 200/201 schemas.
// Leniently: an example that fails its own schema must still be accepted.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runSubscriptions } from "../../cli/commands/subscriptions";
import { bufferOutput } from "../../cli/io";
import { readConfig } from "../../src/config";
import type { FetchLike } from "../../src/lib/outbound";
import { maintainXClientFor } from "../../src/maintainx/client";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import {
  answerSchema,
  contractDescription,
  type Description,
  documentedExamples,
  lenientProblems,
  type Operation,
  SAMPLE_KINDS,
  schemaSamples,
} from "../helpers/node/openapi";

const description = contractDescription();

/** The documented answers of an operation: examples first, then samples of its schema. */
function documentedAnswers(method: string, path: string, status: number): Array<[string, unknown]> {
  if (!description) return [["(no description)", undefined]];
  const operation = description.operation(method, path);
  if (!operation) throw new Error(`The description has no ${method} ${path}`);
  const schema = answerSchema(description, operation, status);
  if (!schema) throw new Error(`The description has no JSON ${status} answer for ${method} ${path}`);
  return [...documentedExamples(description, operation, status), ...schemaSamples(description, schema)].map(
    ({ name, value }) => [name, value],
  );
}

function doc(): Description {
  if (!description) throw new Error("unreachable: the suite is skipped without the description");
  return description;
}

// ---------------------------------------------------------------------------------------------
// The Worker's REST client.

type Env = Parameters<typeof readConfig>[0];

function clientAnswering(body: unknown) {
  const config = readConfig({
    MAINTAINX_API_KEY: "test-api-key",
    MAINTAINX_API_BASE: "https://maintainx.test/v1",
  } as unknown as Env);
  const fetch: FetchLike = async () => Response.json(body);
  const client = maintainXClientFor(config, fetch);
  if (!client) throw new Error("no client: MAINTAINX_API_KEY is set");
  return client;
}

describe.skipIf(!description)("contract: the Worker parses MaintainX's documented answers", () => {
  const lists = documentedAnswers("GET", "/workorders", 200);
  const single = documentedAnswers("GET", "/workorders/{id}", 200);

  it("has answers of both to check, and its type-derived samples keep to their schema's JSON types", () => {
    expect(lists.length).toBeGreaterThanOrEqual(3);
    expect(single.length).toBeGreaterThanOrEqual(3);
    // Only the type-derived samples: the description's own example values do not all match its
    // types (e.g. a boolean documented with a text example), and must be accepted anyway.
    for (const [path, answers] of [
      ["/workorders", lists],
      ["/workorders/{id}", single],
    ] as const) {
      const schema = answerSchema(doc(), doc().operation("GET", path) as Operation, 200) as object;
      for (const [name, body] of answers.filter(([name]) => name === SAMPLE_KINDS.types)) {
        expect(lenientProblems(doc(), schema, body), `${path}: ${name}`).toEqual([]);
      }
    }
  });

  it.each(lists)("listWorkOrders (the poller) accepts GET /workorders's %s", async (_, body) => {
    const page = await clientAnswering(body).listWorkOrders({
      updatedSince: "2026-11-28T00:00:00.000Z",
      limit: 100,
    });

    const documented = (body as { workOrders: unknown[] }).workOrders;
    expect(page.workOrders).toHaveLength(documented.length);
    expect(page.workOrders.every((wo) => typeof wo.id === "string" && wo.id !== "")).toBe(true);
  });

  it.each(single)("getWorkOrder (the handlers) accepts GET /workorders/{id}'s %s", async (_, body) => {
    const workOrder = await clientAnswering(body).getWorkOrder("4821337");

    expect(typeof workOrder.id).toBe("string");
    expect(workOrder.title).toBe((body as { workOrder: { title?: string } }).workOrder.title);
  });

  it.each(documentedAnswers("GET", "/assets/{id}", 200))(
    "getAsset (the offline alert) accepts GET /assets/{id}'s %s, name included",
    async (_, body) => {
      const asset = await clientAnswering(body).getAsset("963");

      expect(typeof asset.id).toBe("string");
      expect(asset.name).toBe((body as { asset: { name: string } }).asset.name);
    },
  );

  it.each(documentedAnswers("GET", "/purchaseorders/{id}", 200))(
    "getPurchaseOrder (the ERP sync) accepts GET /purchaseorders/{id}'s %s",
    async (_, body) => {
      const order = await clientAnswering(body).getPurchaseOrder("135");

      expect(typeof order.id).toBe("string");
      expect(order.items).toEqual((body as { purchaseOrder: { items: unknown } }).purchaseOrder.items);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The CLI, through `runSubscriptions` only.

let fake: FakeMaintainX;
let emptyDir: string;

async function cli(argv: string[]) {
  const output = bufferOutput();
  const code = await runSubscriptions(argv, {
    env: { MAINTAINX_API_KEY: "test-api-key", MAINTAINX_API_BASE: fake.url },
    cwd: emptyDir,
    output,
    timeoutMs: 5000,
  });
  return { code, output: output.text() };
}

describe.skipIf(!description)("contract: the CLI accepts MaintainX's documented subscription answers", () => {
  beforeAll(async () => {
    fake = await startFakeMaintainX();
    emptyDir = mkdtempSync(join(tmpdir(), "contract-answers-"));
  });
  afterAll(async () => {
    await fake?.close();
    if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset());

  it.each(documentedAnswers("POST", "/subscriptions", 201))(
    "subscriptions create exits 0 on POST /subscriptions's %s",
    async (_, body) => {
      fake.route("POST", "/v1/subscriptions", { status: 201, body });
      // Only `id` and `status` are required in a create answer; a missing secret comes from its own route.
      const secret = documentedAnswers("GET", "/subscriptions/{id}/secret", 200)[0]?.[1];
      fake.route("GET", "/v1/subscriptions/:id/secret", { body: secret });
      const result = await cli(["create", "--url", "https://maintainx-webhooks.example.workers.dev"]);

      expect(result.code, result.output).toBe(0);
    },
  );

  it.each(documentedAnswers("GET", "/subscriptions/{id}", 200))(
    "subscriptions get exits 0 on GET /subscriptions/{id}'s %s",
    async (_, body) => {
      fake.route("GET", "/v1/subscriptions/:id", { body });
      const result = await cli(["get", "963"]);

      expect(result.code, result.output).toBe(0);
    },
  );

  it.each(documentedAnswers("GET", "/subscriptions/{id}/secret", 200))(
    "subscriptions secret exits 0 on GET /subscriptions/{id}/secret's %s",
    async (_, body) => {
      fake.route("GET", "/v1/subscriptions/:id/secret", { body });
      const result = await cli(["secret", "963"]);

      expect(result.code, result.output).toBe(0);
    },
  );

  it("subscriptions delete exits 0 on DELETE /subscriptions/{id}'s documented 204 without a body", async () => {
    const operation = doc().operation("DELETE", "/subscriptions/{id}");
    expect(Object.keys(operation?.definition.responses ?? {})).toContain("204");
    fake.route("DELETE", "/v1/subscriptions/:id", { status: 204 });

    expect((await cli(["delete", "963"])).code).toBe(0);
  });
});
