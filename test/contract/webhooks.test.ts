// The webhook bodies the project stands behind are deliveries MaintainX could really send, by the
// `x-webhooks` payload schemas of its OpenAPI description: what `cli send` posts for each of the
// 46 types (full and --minimal), and the MaintainX-format fixtures and body builders of test/.
// Strict: required fields, types, enums; and, separately, no property the schema does not
// declare, since real deliveries carry none.

import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSend } from "../../cli/commands/send";
import { bufferOutput } from "../../cli/io";
import { sampleMaintainXBody } from "../../cli/samples";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import { uniqueNewWorkOrder } from "../helpers/deliveries";
import { contractDescription, type Description, strictProblems, undeclaredProperties } from "../helpers/node/openapi";

const description = contractDescription();
const TYPES = [...MAINTAINX_EVENT_TYPES];
const FIXTURES_DIR = join(import.meta.dirname, "../fixtures");

/** Each fixture file's MaintainX type; the seed-format ones are the earlier guide's envelope, not MaintainX's. */
const FIXTURE_TYPES: Readonly<Record<string, string>> = {
  "new-work-order.json": "NEW_WORK_ORDER",
  "status-change-done.json": "WORK_ORDER_STATUS_CHANGE",
  "work-order-delete.json": "WORK_ORDER_DELETE",
  "work-request-status.json": "WORK_REQUEST_STATUS_CHANGE",
};
const SEED_FORMAT_FIXTURES = ["seed-workorder-created.json"];

/** Entity keys: what a serialising subscription adds, never REST's own fields. */
const ENTITY_KEYS = [
  "newWorkOrder",
  "WorkOrder",
  "newAsset",
  "newPart",
  "deletedPart",
  "newPurchaseOrder",
  "purchaseOrder",
];
const REST_ONLY_FIELDS = ["id", "status", "updatedAt", "completedAt"];

function doc(): Description {
  if (!description) throw new Error("unreachable: the suite is skipped without the description");
  return description;
}

function schemaOf(type: string) {
  const schema = doc().webhookSchema(type);
  if (!schema) throw new Error(`The description has no x-webhooks schema for ${type}`);
  return schema;
}

function expectDelivery(type: string, body: unknown, where: string): void {
  expect(strictProblems(doc(), schemaOf(type), body), `${where}: ${JSON.stringify(body)}`).toEqual([]);
}

function expectOnlyDeclared(type: string, body: unknown, where: string): void {
  expect(undeclaredProperties(doc(), schemaOf(type), body), where).toEqual([]);
}

describe.skipIf(!description)("contract: cli send posts real MaintainX deliveries", () => {
  /** What `send` posted, by type: the full sample and the --minimal one. */
  const posted = new Map<string, { full?: unknown; minimal?: unknown }>();
  let server: Server;

  beforeAll(async () => {
    const bodies: Array<{ path: string; body: unknown }> = [];
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      bodies.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"accepted"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    for (const type of TYPES) {
      for (const variant of ["full", "minimal"] as const) {
        const argv = [
          type,
          "--url",
          url,
          "--secret",
          "contract-secret",
          ...(variant === "minimal" ? ["--minimal"] : []),
        ];
        const code = await runSend(argv, { env: {}, cwd: import.meta.dirname, output: bufferOutput() });
        const last = bodies.at(-1);
        if (code !== 0 || last?.path !== `/webhooks/maintainx/${type}`)
          throw new Error(`send ${argv.join(" ")} failed`);
        posted.set(type, { ...posted.get(type), [variant]: last.body });
      }
    }
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it("knows exactly the description's webhook types", () => {
    expect(doc().webhookTypes()).toEqual(TYPES);
  });

  it.each(TYPES)("send %s posts a body valid by its x-webhooks schema", (type) => {
    expectDelivery(type, posted.get(type)?.full, `send ${type}`);
  });

  it.each(TYPES)("send %s posts only properties its x-webhooks schema declares", (type) => {
    expectOnlyDeclared(type, posted.get(type)?.full, `send ${type}`);
  });

  it.each(TYPES)("send %s --minimal posts exactly the schema's required fields, valid", (type) => {
    const body = posted.get(type)?.minimal as Record<string, unknown>;
    expectDelivery(type, body, `send ${type} --minimal`);
    expect(Object.keys(body).sort()).toEqual([...(schemaOf(type).required as string[])].sort());
  });

  it("carries no id, status, updatedAt or completedAt in any entity: those come from the REST API", () => {
    for (const type of TYPES) {
      const body = posted.get(type)?.full as Record<string, unknown>;
      for (const key of ENTITY_KEYS.filter((k) => body[k] !== undefined)) {
        const entity = body[key] as Record<string, unknown>;
        // Unless MaintainX requires one (a serialised purchase order's id).
        const required = new Set<string>(schemaOf(type).properties?.[key]?.required ?? []);
        const restOnly = REST_ONLY_FIELDS.filter((field) => field in entity && !required.has(field));
        expect(restOnly, `${type}.${key}`).toEqual([]);
      }
    }
  });

  it.each(["CANCELED", "SKIPPED"] as const)("the WORK_ORDER_STATUS_CHANGE sample ended %s is valid", (subStatus) => {
    const body = sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE", { subStatus });

    expect(body).toMatchObject({ newStatus: "DONE", newSubStatus: subStatus });
    expectDelivery("WORK_ORDER_STATUS_CHANGE", body, subStatus);
    expectOnlyDeclared("WORK_ORDER_STATUS_CHANGE", body, subStatus);
  });
});

describe.skipIf(!description)("contract: the test fixtures and body builders are real MaintainX deliveries", () => {
  const fixtures = Object.entries(FIXTURE_TYPES).map(
    ([file, type]) => [file, type, JSON.parse(readFileSync(join(FIXTURES_DIR, file), "utf8"))] as const,
  );

  it("knows the format of every fixture file in test/fixtures", () => {
    const files = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith(".json"));
    expect(files.sort()).toEqual([...Object.keys(FIXTURE_TYPES), ...SEED_FORMAT_FIXTURES].sort());
  });

  it.each(fixtures)("%s is a valid %s delivery", (file, type, body) => {
    expectDelivery(type, body, file);
  });

  it.each(fixtures)("%s carries only properties the %s schema declares", (file, type, body) => {
    expectOnlyDeclared(type, body, file);
  });

  it("uniqueNewWorkOrder (test/helpers/deliveries.ts) builds valid NEW_WORK_ORDER deliveries", () => {
    for (let i = 0; i < 3; i++) {
      const body = uniqueNewWorkOrder();
      expectDelivery("NEW_WORK_ORDER", body, "uniqueNewWorkOrder()");
      expectOnlyDeclared("NEW_WORK_ORDER", body, "uniqueNewWorkOrder()");
    }
  });
});
