// Handlers held and released through the admin routes, with the real local queue and the Worker's
// own consumer (docs/operations.md, "Retries and holds"): a held handler is not called, its events
// wait as `retrying` however long the hold lasts (longer than the whole retry schedule here), and
// its release runs every waiting event once.

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { requeueReleased } from "../../src/ingest/requeue";
import { recordAccepted } from "../../src/store/event-log";
import statusDone from "../fixtures/status-change-done.json";
import { maintainXDelivery, uniqueNewWorkOrder } from "../helpers/deliveries";
import { eventStatus, settled } from "../helpers/event-status";
import { maintainXEvent } from "../helpers/events";
import { worldErp, worldSlack } from "../helpers/outbound";
import { callWorker, recordingQueue, testEnv } from "../helpers/worker";

const TOKEN = "holds-admin-token";
const withAdmin = { ADMIN_TOKEN: TOKEN };

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${TOKEN}`);
  return callWorker(new Request(`https://worker.test/admin${path}`, { ...init, headers }), withAdmin);
}

const post = (path: string, body?: unknown) =>
  admin(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

interface HandlerEntry {
  name: string;
  types: string[];
  held: boolean;
  heldSince?: string;
  reason?: string;
  waiting: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
  requeued?: number;
}

async function completion(): Promise<{ eventId: string; workOrderId: number }> {
  const workOrderId = Math.floor(Math.random() * 1e9);
  const body = { ...statusDone, workOrderId, newWorkOrder: { ...statusDone.newWorkOrder, id: workOrderId } };
  const response = await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body));
  expect(response.status).toBe(200);
  const { eventId } = (await response.json()) as { eventId: string };
  return { eventId, workOrderId };
}

const erpPostsFor = (eventId: string) => worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId);

async function waits(eventId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT handler FROM held_events WHERE event_id = ?1")
    .bind(eventId)
    .all<{ handler: string }>();
  return results.map((r) => r.handler);
}

afterEach(async () => {
  await env.DB.prepare("UPDATE handlers SET held_since = NULL, hold_reason = NULL").run();
});

describe("GET /admin/handlers", () => {
  it("lists every registered handler, in order, with its types and state", async () => {
    const response = await admin("/handlers");
    expect(response.status).toBe(200);
    const { handlers } = (await response.json()) as { handlers: HandlerEntry[] };
    expect(handlers.map((h) => h.name)).toEqual([
      "slack-alert",
      "erp-sync",
      "completion-report",
      "warehouse",
      "asset-offline-alert",
      "meter-trigger-alert",
      "erp-purchase-order",
      "forward",
    ]);
    expect(handlers.find((h) => h.name === "erp-sync")).toMatchObject({
      types: ["workorder.completed"],
      held: false,
      waiting: 0,
    });
    expect(handlers.find((h) => h.name === "warehouse")?.types).toEqual(["workorder.*"]);
  });

  it("answers 404 naming the list for an unknown handler, and 400 for a body that is not {reason}", async () => {
    const unknown = await post("/handlers/no-such-handler/hold");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/No handler is named "no-such-handler"/);
    expect((await post("/handlers/no-such-handler/release")).status).toBe(404);

    for (const body of ["not json", "[1]", '{"reason": 12}', JSON.stringify({ reason: "x".repeat(201) })]) {
      const bad = await admin("/handlers/erp-sync/hold", { method: "POST", body });
      expect(bad.status, body).toBe(400);
    }
    // Nothing was held by the refused requests.
    const { handlers } = (await (await admin("/handlers")).json()) as { handlers: HandlerEntry[] };
    expect(handlers.find((h) => h.name === "erp-sync")?.held).toBe(false);
    const wrongToken = new Request("https://worker.test/admin/handlers/erp-sync/hold", {
      method: "POST",
      headers: { authorization: "Bearer wrong" },
    });
    expect((await callWorker(wrongToken, withAdmin)).status).toBe(401);
  });
});

describe("hold and release through the real queue", () => {
  it("keeps completions waiting past the whole retry schedule, then sends each to the ERP once", async () => {
    // The schedule in force here is five immediate retries: a hold outlasts it many times over.
    expect(readConfig(testEnv()).retry.totalSeconds).toBe(0);
    const held = await post("/handlers/erp-sync/hold", { reason: "ERP maintenance until 14:00" });
    expect(held.status).toBe(200);
    const entry = (await held.json()) as HandlerEntry;
    expect(entry).toMatchObject({
      name: "erp-sync",
      types: ["workorder.completed"],
      held: true,
      heldSince: expect.any(String),
      reason: "ERP maintenance until 14:00",
    });
    // Holding again keeps the hold's start and takes the new reason.
    const again = (await (await post("/handlers/erp-sync/hold", { reason: "longer" })).json()) as HandlerEntry;
    expect(again).toMatchObject({ heldSince: entry.heldSince, reason: "longer" });

    const events = [await completion(), await completion(), await completion()];
    for (const { eventId } of events) {
      expect(await settled(eventId, ["retrying"])).toBe("retrying");
      await expect.poll(() => waits(eventId), { timeout: 10_000 }).toEqual(["erp-sync"]);
    }
    // Far longer than the schedule's five retries take: still waiting, none dead, nothing sent.
    await new Promise((r) => setTimeout(r, 2000));
    for (const { eventId, workOrderId } of events) {
      expect(await eventStatus(eventId)).toBe("retrying");
      expect(erpPostsFor(eventId)).toHaveLength(0);
      // The handlers that are not held ran as usual.
      expect(await env.REPORTS.head(`reports/${workOrderId}.json`)).not.toBeNull();
    }
    const detail = (await (await admin(`/events/${events[0]?.eventId}`)).json()) as {
      event: { status: string; nextAttemptAt?: string; outcomes: Array<Record<string, unknown>> };
      attempts: Array<{ handler: string; outcome: string }>;
    };
    expect(detail.event.status).toBe("retrying");
    expect(detail.event.nextAttemptAt).toBeUndefined();
    expect(detail.event.outcomes).toContainEqual({ handler: "erp-sync", status: "held", attempts: 0, held: true });
    expect(detail.attempts).toContainEqual(expect.objectContaining({ handler: "erp-sync", outcome: "held" }));
    const listed = (await (await admin("/handlers")).json()) as { handlers: HandlerEntry[] };
    expect(listed.handlers.find((h) => h.name === "erp-sync")?.waiting).toBeGreaterThanOrEqual(3);
    const status = (await (await admin("/status")).json()) as {
      handlers: { held: string[] };
      events: { retrying: number };
    };
    expect(status.handlers.held).toEqual(["erp-sync"]);
    expect(status.events.retrying).toBeGreaterThanOrEqual(3);

    const released = await post("/handlers/erp-sync/release");
    expect(released.status).toBe(200);
    const after = (await released.json()) as HandlerEntry;
    expect(after).toMatchObject({ name: "erp-sync", held: false, waiting: 0 });
    expect(after.requeued).toBeGreaterThanOrEqual(3);
    expect(after.heldSince).toBeUndefined();

    for (const { eventId } of events) {
      expect(await settled(eventId)).toBe("processed");
      expect(await waits(eventId)).toEqual([]);
    }
    // Let any extra copies drain: each completion reached the ERP exactly once.
    await new Promise((r) => setTimeout(r, 1500));
    for (const { eventId } of events) expect(erpPostsFor(eventId)).toHaveLength(1);
    const erp = (await (await admin("/handlers")).json()) as { handlers: HandlerEntry[] };
    expect(erp.handlers.find((h) => h.name === "erp-sync")?.lastSuccessAt).toEqual(expect.any(String));
  });

  it("a release of a handler not held queues nothing; a hold does not stop other handlers", async () => {
    const released = (await (await post("/handlers/slack-alert/release")).json()) as HandlerEntry;
    expect(released).toMatchObject({ held: false, requeued: 0 });

    await post("/handlers/warehouse/hold");
    const body = uniqueNewWorkOrder();
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", body));
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId, ["retrying"])).toBe("retrying");
    await expect
      .poll(
        () => worldSlack.calls.filter((c) => (c.json as { text?: string }).text?.includes(`#${body.workOrderId}:`)),
        { timeout: 10_000 },
      )
      .toHaveLength(1);
    expect(
      await env.DB.prepare("SELECT id FROM work_orders WHERE id = ?1").bind(String(body.workOrderId)).first(),
    ).toBe(null);
    await post("/handlers/warehouse/release");
    expect(await settled(eventId)).toBe("processed");
    expect(
      await env.DB.prepare("SELECT id FROM work_orders WHERE id = ?1").bind(String(body.workOrderId)).first(),
    ).not.toBeNull();
  });
});

describe("queueing the waiting events again", () => {
  it("takes them in rounds, each once, forgets their waits, and leaves those of a handler held again", async () => {
    const since = new Date().toISOString();
    const ids: string[] = [];
    // Events no handler takes: the real queue delivers them after the test, and nothing is sent.
    for (let i = 0; i < 120; i++) {
      const event = await maintainXEvent("NEW_LOCATION", { locationId: 990_000 + i, orgId: 1 });
      await recordAccepted(env.DB, event);
      ids.push(event.id);
    }
    const park = (handler: string, eventIds: string[]) =>
      env.DB.prepare("INSERT INTO held_events (handler, event_id, since) SELECT ?1, value, ?2 FROM json_each(?3)")
        .bind(handler, since, JSON.stringify(eventIds))
        .run();
    await park("report-test-released", ids.slice(0, 110));
    await park("report-test-held", ids.slice(100));
    await env.DB.prepare("INSERT INTO handlers (name, held_since) VALUES ('report-test-held', ?1)").bind(since).run();
    try {
      const queue = recordingQueue();
      const queued = await requeueReleased(testEnv({ EVENTS_QUEUE: queue }), { limit: 1000 });
      expect(queued).toBe(110);
      const sent = queue.sent.map((m) => (m as { event: { id: string }; replay?: boolean }).event.id);
      expect(new Set(sent)).toEqual(new Set(ids.slice(0, 110)));
      expect(sent).toHaveLength(110);
      // Ordinary messages, not replays: handlers already done or failed stay as they are.
      expect(queue.sent.every((m) => (m as { replay?: boolean }).replay === undefined)).toBe(true);
      const left = await env.DB.prepare(
        "SELECT handler, COUNT(*) AS n FROM held_events WHERE handler LIKE 'report-test-%' GROUP BY handler",
      ).all<{ handler: string; n: number }>();
      expect(left.results).toEqual([{ handler: "report-test-held", n: 20 }]);
      // Nothing more to queue until that handler is released.
      expect(await requeueReleased(testEnv({ EVENTS_QUEUE: recordingQueue() }), { limit: 1000 })).toBe(0);
    } finally {
      await env.DB.prepare("DELETE FROM handlers WHERE name LIKE 'report-test-%'").run();
      await env.DB.prepare("DELETE FROM held_events WHERE handler LIKE 'report-test-%'").run();
    }
  });
});
