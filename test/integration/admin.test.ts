// Operator routes (docs/console.md): authorisation, each route's answer, and replay of a dead event.

import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ADMIN_TOKEN_VAR } from "../../src/local-dev";
import statusDone from "../fixtures/status-change-done.json";
import { BASE, maintainXDelivery, uniqueNewWorkOrder } from "../helpers/deliveries";
import { settled } from "../helpers/event-status";
import { deadLetterWithClaimCheck } from "../helpers/events";
import { reply, worldErp, worldSlack } from "../helpers/outbound";
import { callWorker, type EnvOverrides, recordingQueue } from "../helpers/worker";

const TOKEN = "admin-token-for-tests";
const withAdmin = { ADMIN_TOKEN: TOKEN };

function admin(path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return callWorker(new Request(`${BASE}/admin${path}`, { ...init, headers }), withAdmin);
}

async function deliver(type: string, body: Record<string, unknown>): Promise<string> {
  const response = await callWorker(await maintainXDelivery(type, body));
  return ((await response.json()) as { eventId: string }).eventId;
}

describe("authorisation", () => {
  it("answers 404 on every /admin path when ADMIN_TOKEN is unset", async () => {
    for (const path of ["/events", "/status", "/events/x/replay", "/nope"]) {
      const response = await callWorker(
        new Request(`${BASE}/admin${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      );
      expect(response.status, path).toBe(404);
    }
  });

  it("answers 401 without a token and with a wrong one, 200 with the right one", async () => {
    const missing = await admin("/status", { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/Bearer/);
    expect((await admin("/status", { token: "wrong" })).status).toBe(401);
    expect((await admin("/status", { token: `${TOKEN}x` })).status).toBe(401);
    const basic = await callWorker(
      new Request(`${BASE}/admin/status`, { headers: { authorization: `Basic ${btoa(`a:${TOKEN}`)}` } }),
      withAdmin,
    );
    expect(basic.status).toBe(401);
    expect((await admin("/status")).status).toBe(200);
  });

  it("never honours the local dev token through a proxy or tunnel, even one that rewrites Host to localhost", async () => {
    const localToken = "local-dev-token-for-proxy-tests";
    const local = { [LOCAL_ADMIN_TOKEN_VAR]: localToken } as EnvOverrides;
    const status = (headers: Record<string, string>, origin = "http://localhost:8787") =>
      callWorker(
        new Request(`${origin}/admin/status`, { headers: { authorization: `Bearer ${localToken}`, ...headers } }),
        local,
      );
    const relayed: Array<Record<string, string>> = [
      // ngrok http 8787 --host-header=rewrite
      { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "abc.ngrok.app" },
      { "x-forwarded-for": "::1" },
      { "x-forwarded-host": "localhost:8787" },
      { "x-forwarded-proto": "http" },
      { forwarded: "for=203.0.113.7" },
      { "x-real-ip": "203.0.113.7" },
      // cloudflared: the client's address
      { "cf-connecting-ip": "198.51.100.9" },
      { "cf-connecting-ip": "fe80::1" },
    ];
    for (const headers of relayed) {
      const response = await status(headers);
      expect(response.status, JSON.stringify(headers)).toBe(404);
      expect(await response.json()).toEqual({ error: "Not found" });
    }
    // Made on this machine: loopback host, no proxy header, a loopback client address if any.
    for (const [origin, headers] of [
      ["http://localhost:8787", {}],
      ["http://127.0.0.1:8787", { "cf-connecting-ip": "127.0.0.1" }],
      ["http://[::1]:8787", { "cf-connecting-ip": "::1" }],
    ] as const) {
      const response = await status(headers, origin);
      expect(response.status, origin).toBe(200);
      await response.arrayBuffer();
    }
    // The console's page too: through a tunnel it is not there.
    const page = (headers: Record<string, string>) =>
      callWorker(new Request("http://localhost:8787/admin", { headers }), local);
    expect((await page({ "x-forwarded-for": "203.0.113.7" })).status).toBe(404);
    const direct = await page({});
    expect(direct.status).toBe(200);
    await direct.arrayBuffer();
  });

  it("never echoes the token", async () => {
    const text = await (await admin("/status", { token: "guess" })).text();
    expect(text).not.toContain(TOKEN);
  });
});

describe("routes", () => {
  let createdId: string;
  let doneId: string;
  let workOrderId: number;

  beforeAll(async () => {
    const created = uniqueNewWorkOrder();
    workOrderId = created.workOrderId as number;
    createdId = await deliver("NEW_WORK_ORDER", created);
    const done = {
      ...statusDone,
      workOrderId,
      newWorkOrder: { ...statusDone.newWorkOrder, id: workOrderId, updatedAt: "2099-01-01T00:00:00Z" },
    };
    doneId = await deliver("WORK_ORDER_STATUS_CHANGE", done);
    await settled(createdId);
    await settled(doneId);
  });

  it("lists events newest first with the list fields and a cursor for the next page", async () => {
    const response = await admin("/events?limit=2");
    expect(response.status).toBe(200);
    const { events, nextCursor } = (await response.json()) as {
      events: Array<Record<string, unknown>>;
      nextCursor: string | null;
    };
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      id: doneId,
      type: "workorder.status_changed",
      sourceType: "WORK_ORDER_STATUS_CHANGE",
      source: "webhook",
      status: "processed",
      attempts: 1,
      summary: `#${workOrderId} ${statusDone.newWorkOrder.title}`,
    });
    expect(Object.keys(events[0] ?? {}).sort()).toEqual([
      "attempts",
      "id",
      "receivedAt",
      "source",
      "sourceType",
      "status",
      "summary",
      "type",
    ]);
    expect(events[1]?.id).toBe(createdId);
    expect(typeof nextCursor === "string" || nextCursor === null).toBe(true);
  });

  it("filters by status and type and refuses bad filters", async () => {
    const byType = (await (await admin("/events?type=workorder.created")).json()) as {
      events: Array<{ type: string }>;
    };
    expect(byType.events.length).toBeGreaterThan(0);
    expect(byType.events.every((e) => e.type === "workorder.created")).toBe(true);
    const failed = (await (await admin("/events?status=dead")).json()) as { events: Array<{ status: string }> };
    expect(failed.events.every((e) => e.status === "dead")).toBe(true);
    for (const query of ["limit=0", "limit=1001", "limit=abc", "status=weird", "type=bad%20type"]) {
      const response = await admin(`/events?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBeTruthy();
    }
    expect((await admin("/events?limit=1000")).status).toBe(200);
  });

  it("shows one event with its data, the work order and subject it is about, and per-handler outcomes", async () => {
    const response = await admin(`/events/${doneId}`);
    const { event, attempts } = (await response.json()) as {
      event: Record<string, unknown> & { outcomes: unknown[] };
      attempts: unknown[];
    };
    expect(event).toMatchObject({
      id: doneId,
      status: "processed",
      workOrderId: String(workOrderId),
      subject: `workorder:${workOrderId}`,
      data: { newStatus: "DONE", workOrderId },
    });
    expect(event.outcomes).toEqual(
      expect.arrayContaining([
        { handler: "erp-sync", status: "done", attempts: 1, detail: `work order ${workOrderId} sent` },
        {
          handler: "completion-report",
          status: "done",
          attempts: 1,
          detail: `report written for work order ${workOrderId}`,
        },
        { handler: "warehouse", status: "done", attempts: 1, detail: expect.any(String) },
      ]),
    );
    // Every handler call, oldest first, beside the event (whose `attempts` is the count).
    expect(attempts).toHaveLength(3);
    expect(attempts).toContainEqual({
      handler: "erp-sync",
      attempt: 1,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      durationMs: expect.any(Number),
      outcome: "ok",
      status: 200,
      detail: `work order ${workOrderId} sent`,
    });
    expect((await admin("/events/unknown-id")).status).toBe(404);
  });

  it("decodes percent-encoded ids such as poll ids with colons", async () => {
    const id = `poll:${workOrderId}:2026-11-28T10:00:00.000Z`;
    await env.DB.prepare(
      `INSERT INTO events (id, type, source_type, source, received_at, status, attempts, data, updated_at)
       VALUES (?1, 'workorder.updated', 'WORK_ORDER_POLL', 'poll', ?2, 'processed', 1, '{}', ?2)`,
    )
      .bind(id, new Date().toISOString())
      .run();
    const response = await admin(`/events/${encodeURIComponent(id)}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { event: { id: string } }).event.id).toBe(id);
  });

  it("serves the mirrored work order and 404 for an unknown one", async () => {
    const response = await admin(`/work-orders/${workOrderId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      workOrder: { id: String(workOrderId), status: "DONE", priority: "HIGH", updatedAt: "2099-01-01T00:00:00Z" },
    });
    expect((await admin("/work-orders/0")).status).toBe(404);
  });

  it("serves the completion report as HTML, or JSON when asked", async () => {
    const html = await admin(`/reports/${workOrderId}`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toMatch(/text\/html/);
    expect(await html.text()).toContain(`Work order ${workOrderId} completed`);
    const json = await admin(`/reports/${workOrderId}`, { headers: { accept: "application/json" } });
    expect(json.headers.get("content-type")).toMatch(/application\/json/);
    expect(await json.json()).toMatchObject({ workOrderId: String(workOrderId), eventId: doneId });
    expect((await admin("/reports/999999999")).status).toBe(404);
  });

  it("reports poll state, counts per status and the last webhook time", async () => {
    const response = await admin("/status");
    const body = (await response.json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(body.poll ?? {}).sort()).toEqual([
      "cursor",
      "events",
      "lastRunAt",
      "outcome",
      "pages",
      "skippedUntil",
    ]);
    expect(Object.keys(body.events ?? {}).sort()).toEqual(["accepted", "dead", "failed", "processed", "retrying"]);
    expect((body.events as Record<string, number>).processed).toBeGreaterThanOrEqual(2);
    expect(typeof body.lastWebhookAt).toBe("string");
  });
});

describe("replay", () => {
  it("replays a dead event: its failed handler runs again, the handlers that succeeded stay done", async () => {
    const id = Math.floor(Math.random() * 1e9);
    const failing = reply(503, "down");
    worldErp.plan(failing, failing, failing, failing, failing, failing);
    const body = { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
    const eventId = await deliver("WORK_ORDER_STATUS_CHANGE", body);
    expect(await settled(eventId, ["dead"])).toBe("dead");
    const erpBefore = worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId).length;
    expect(erpBefore).toBe(6);

    const response = await admin(`/events/${eventId}/replay`, { method: "POST" });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ status: "replaying", eventId });
    expect(await settled(eventId, ["processed"])).toBe("processed");

    const erpCalls = worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId);
    expect(erpCalls).toHaveLength(7);
    const { event } = (await (await admin(`/events/${eventId}`)).json()) as {
      event: { outcomes: Array<{ handler: string; status: string; attempts: number }> };
    };
    expect(event.outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ handler: "erp-sync", status: "done", attempts: 7 }),
        expect.objectContaining({ handler: "completion-report", status: "done", attempts: 1 }),
        expect.objectContaining({ handler: "warehouse", status: "done", attempts: 1 }),
      ]),
    );
  });

  it("replays an event whose only record is a dead letter carrying a claim check", async () => {
    const body = uniqueNewWorkOrder();
    const eventId = `dead-claim-${Math.random()}`;
    await deadLetterWithClaimCheck(body, eventId);
    const queue = recordingQueue();
    const response = await callWorker(
      new Request(`${BASE}/admin/events/${eventId}/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
      { ...withAdmin, EVENTS_QUEUE: queue },
    );
    expect(response.status).toBe(202);
    expect(queue.sent[0]).toMatchObject({ payloadKey: `payload:${eventId}`, replay: true });
    expect(await settled(eventId, ["processed"])).toBe("processed");
    expect(
      worldSlack.calls.some((c) => (c.json as { text?: string } | undefined)?.text?.includes(`#${body.workOrderId}:`)),
    ).toBe(true);
  });

  it("answers 404 for an unknown event", async () => {
    expect((await admin("/events/nope/replay", { method: "POST" })).status).toBe(404);
  });
});
