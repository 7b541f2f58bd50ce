// Log hygiene: capture every line the Worker logs while it receives good and bad deliveries,
// guards the admin routes, routes events to failing sinks, dead-letters, replays and polls, and
// assert that no secret, token, secret-bearing URL part or full signature appears in any of them
// (nor in the errors stored for operators).

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { pollWorkOrders } from "../../src/polling/poller";
import { consumeEvents } from "../../src/routing/consumer";
import { consumeDeadLetters } from "../../src/routing/dead-letter";
import { signSeed } from "../../src/webhooks/signature";
import newWorkOrder from "../fixtures/new-work-order.json";
import seedCreated from "../fixtures/seed-workorder-created.json";
import statusDone from "../fixtures/status-change-done.json";
import { BASE, maintainXDelivery, PREVIOUS_SECRET, SECRET, seedDelivery, uniqueEventId } from "../helpers/deliveries";
import { batchOf, settle } from "../helpers/events";
import { API_BASE, createOutbound, reply, SLACK_URL } from "../helpers/outbound";
import { callWorker, recordingQueue, testEnv } from "../helpers/worker";

const ADMIN_TOKEN = "log-hygiene-admin-token-5f1c";
const WRONG_TOKEN = "log-hygiene-wrong-token-77aa";
const API_KEY = "log-hygiene-api-key-0c9d";
const SLACK_TOKEN = "secret-slack-token";
const ERP_PATH_TOKEN = "erp-path-token-3b8e61d2a4";
const ERP_QUERY_TOKEN = "erp-query-token-91c0ffee77";
const ERP_BASE = "https://erp.test/maintainx/completed";
const ERP_URL = `${ERP_BASE}/${ERP_PATH_TOKEN}?key=${ERP_QUERY_TOKEN}`;

const captured: string[] = [];
/** Every signature value sent during the run; none may be logged whole. */
const signatures: string[] = [];

beforeEach(() => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

function noteSignatures(request: Request): Request {
  for (const name of ["x-maintainx-webhook-body-signature", "x-maintainx-signature"]) {
    const value = request.headers.get(name);
    if (value) signatures.push(...value.split(/[,=]/).filter((part) => /^[0-9a-f]{64}$/i.test(part)));
  }
  return request;
}

const held = () => recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue<unknown>);

function consumerEnv(): Env {
  return testEnv({
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: API_KEY,
    MAINTAINX_API_BASE: API_BASE,
    ADMIN_TOKEN,
    OUTBOUND_TIMEOUT_SECONDS: "1",
    // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
    RETRY_SCHEDULE: "",
    RETRY_BASE_SECONDS: "10",
  });
}

let seq = 0;
const workOrder = () => {
  seq += 1;
  const id = 93_000_000 + seq * 7 + Math.floor(Math.random() * 1000) * 10_000;
  return { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id } };
};

describe("log hygiene", () => {
  it("logs no secret, token, secret URL part or full signature, whatever happens", async () => {
    const outbound = createOutbound();
    // Sinks that fail the way real servers do, echoing the path they were called on.
    const slack = outbound.sink(SLACK_URL);
    slack.plan(
      reply(404, `Cannot POST /services/T000/B000/${SLACK_TOKEN}`),
      reply(500, `upstream error for ${SLACK_URL}`),
      "network-error",
      "hang",
    );
    const erp = outbound.sink(ERP_BASE);
    erp.plan(
      reply(500, `Cannot POST /maintainx/completed/${ERP_PATH_TOKEN}?key=${ERP_QUERY_TOKEN}`),
      reply(429, "slow down", { "retry-after": "5" }),
    );
    erp.fallback = reply(503, `no backend for ${ERP_URL}`);
    const api = outbound.sink(API_BASE);
    api.plan(reply(401, '{"error":"invalid key"}'), reply(500, "down"), "hang");
    api.fallback = reply(502, "bad gateway");

    // Deliveries: accepted, duplicate, wrong secret, stale, unsigned, malformed, oversize, seed.
    const queue = held();
    const call = (request: Request, overrides = {}) =>
      callWorker(noteSignatures(request), { EVENTS_QUEUE: queue, ...overrides }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    const created = workOrder();
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", created))).toBe(200);
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", created))).toBe(200);
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", workOrder(), { secret: "an-attackers-guess" }))).toBe(
      401,
    );
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", workOrder(), { timestamp: 1_000 }))).toBe(401);
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", workOrder(), { signature: "t=1,v1=zz" }))).toBe(401);
    expect(await call(new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, { method: "POST", body: "{}" }))).toBe(
      401,
    );
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", "not json"))).toBe(400);
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", workOrder()), { MAX_BODY_BYTES: "10" })).toBe(413);
    expect(await call(await seedDelivery(seedCreated, { eventId: uniqueEventId() }))).toBe(200);
    expect(await call(await seedDelivery(seedCreated, { signature: await signSeed(PREVIOUS_SECRET, "other") }))).toBe(
      401,
    );
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", workOrder()), { MAINTAINX_WEBHOOK_SECRET: "" })).toBe(
      503,
    );

    // Events through failing sinks, to the dead-letter queue, and replayed.
    const status = { ...statusDone, workOrderId: 4242, newWorkOrder: { ...statusDone.newWorkOrder, id: 4242 } };
    expect(await call(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", status))).toBe(200);
    const bare = { workOrderId: 4343, orgId: 1, occurredAt: "2026-11-28T09:15:02Z" };
    expect(await call(await maintainXDelivery("NEW_WORK_ORDER", bare))).toBe(200);
    const messages = queue.sent as EventMessage[];
    for (let attempt = 1; attempt <= 6; attempt++) {
      await settle(batchOf(messages, attempt), (batch) =>
        consumeEvents(batch, consumerEnv(), { registry, fetch: outbound.fetch, random: () => 0 }),
      );
    }
    await settle(batchOf(messages, 6, "maintainx-events-dlq"), (batch) => consumeDeadLetters(batch, consumerEnv()));

    // The admin surface: wrong token, right token, replay.
    const admin = (path: string, token: string, method = "GET") =>
      callWorker(new Request(`${BASE}/admin${path}`, { method, headers: { authorization: `Bearer ${token}` } }), {
        ADMIN_TOKEN,
        EVENTS_QUEUE: held(),
      });
    expect((await admin("/events", WRONG_TOKEN)).status).toBe(401);
    const listed = await admin("/events?limit=1000", ADMIN_TOKEN);
    expect(listed.status).toBe(200);
    const stored = [JSON.stringify(await listed.json())];
    for (const message of messages) {
      const detail = await admin(`/events/${encodeURIComponent(message.event.id)}`, ADMIN_TOKEN);
      stored.push(JSON.stringify(await detail.json()));
    }
    const eventId = messages[0]?.event.id as string;
    expect((await admin(`/events/${eventId}/replay`, ADMIN_TOKEN, "POST")).status).toBe(202);

    // A polling run against a failing API.
    await pollWorkOrders(testEnv({ ...consumerEnv(), EVENTS_QUEUE: held() }), { fetch: outbound.fetch });

    const logs = captured.join("\n");
    // The capture worked, and covered refusals, failures and dead letters.
    expect(logs).toMatch(/Webhook refused/);
    expect(logs).toMatch(/Handler failed; will retry/);
    expect(logs).toMatch(/Event dead-lettered/);
    expect(logs).toMatch(/Polling run failed/);
    expect(slack.calls.length).toBeGreaterThan(0);
    expect(erp.calls.length).toBeGreaterThan(0);

    const secrets = [
      SECRET,
      PREVIOUS_SECRET,
      ADMIN_TOKEN,
      WRONG_TOKEN,
      API_KEY,
      SLACK_TOKEN,
      ERP_PATH_TOKEN,
      ERP_QUERY_TOKEN,
      "an-attackers-guess",
    ];
    expect(signatures.length).toBeGreaterThanOrEqual(8);
    // The errors kept for operators (events list, outcomes) follow the same rule as the logs.
    for (const text of [logs, ...stored]) {
      for (const secret of [...secrets, ...signatures]) expect(text).not.toContain(secret);
    }
  });
});
