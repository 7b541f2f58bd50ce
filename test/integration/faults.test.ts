// Fault injection inside workerd: KV, the queue, D1 and R2 throw; Slack, the ERP and MaintainX time
// out, answer 5xx or 429, close the connection or send garbage. Every test starts with a real signed
// delivery, asserts the receiver's answer, then plays the queue (first delivery plus the five retries
// of RETRY_BASE_SECONDS's schedule; then the consumer dead-letters the event itself, or, when D1
// refused that too, the dead-letter consumer records it) and asserts the event ends `processed` or
// `dead` (replayable), never silently gone.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { pollWorkOrders } from "../../src/polling/poller";
import { consumeEvents } from "../../src/routing/consumer";
import { consumeDeadLetters } from "../../src/routing/dead-letter";
import { readCursor } from "../../src/store/poll-state";
import { CLAIM_LEASE_MS, listSideEffects } from "../../src/store/side-effects";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { interceptD1 } from "../helpers/d1-round-trips";
import { BASE, maintainXDelivery } from "../helpers/deliveries";
import { batchOf, settle } from "../helpers/events";
import { createWorkOrderStore, seedWorkOrders } from "../helpers/fake-work-orders";
import {
  API_BASE,
  createOutbound,
  ERP_URL,
  type PlannedAnswer,
  reply,
  SLACK_URL,
  workOrderAnswer,
  worldSlack,
} from "../helpers/outbound";
import { callWorker, type EnvOverrides, failingQueue, recordingQueue, testEnv } from "../helpers/worker";

/** The first delivery plus the schedule's five retries; then the event is dead. */
const DELIVERIES = 6;
const ADMIN_TOKEN = "faults-admin-token";

let outbound: ReturnType<typeof createOutbound>;
let slack: ReturnType<typeof outbound.sink>;
let erp: ReturnType<typeof outbound.sink>;
let api: ReturnType<typeof outbound.sink>;

beforeEach(() => {
  outbound = createOutbound();
  slack = outbound.sink(SLACK_URL);
  erp = outbound.sink(ERP_URL);
  api = outbound.sink(API_BASE, () => new Response("no plan", { status: 500 }));
});

function consumerEnv(overrides: EnvOverrides = {}): Env {
  return testEnv({
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: "faults-api-key",
    MAINTAINX_API_BASE: API_BASE,
    // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
    RETRY_SCHEDULE: "",
    RETRY_BASE_SECONDS: "10",
    OUTBOUND_TIMEOUT_SECONDS: "1",
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------
// Bindings that fail on purpose. Each wraps the real binding, so what does succeed is real.

const outage = (what: string) => new Error(`${what}: simulated outage`);

/** KV whose `get` / `put` throw for their first N calls (Infinity: always). */
function faultyKv(failures: { get?: number; put?: number }): KVNamespace {
  const left = { get: failures.get ?? 0, put: failures.put ?? 0 };
  return new Proxy(env.IDEMPOTENCY, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === "get" || prop === "put") {
        return async (...args: unknown[]) => {
          if (left[prop] > 0) {
            left[prop] -= 1;
            throw outage(`KV ${prop}`);
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Fails the first `count` statements whose SQL matches `pattern` (Infinity: every one). */
function failing(pattern: RegExp, count = Number.POSITIVE_INFINITY): (sql: string) => boolean {
  let left = count;
  return (sql) => {
    if (left <= 0 || !pattern.test(sql)) return false;
    left -= 1;
    return true;
  };
}

/** D1 whose round trips reject (as D1 does when it is unavailable) when `shouldFail(sql)` says so of a statement. */
function faultyD1(shouldFail: (sql: string) => boolean): D1Database {
  // A batch is one transaction: one failing statement fails it all.
  return interceptD1(env.DB, (_kind, statements, call) =>
    statements.some((sql) => shouldFail(sql)) ? Promise.reject(outage("D1_ERROR")) : call(),
  );
}

/** R2 whose `put` throws for its first N calls. */
function faultyR2(putFailures: number): R2Bucket {
  let left = putFailures;
  return new Proxy(env.REPORTS, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === "put") {
        return async (...args: unknown[]) => {
          if (left > 0) {
            left -= 1;
            throw outage("R2 put");
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Holds calls back: each waits until `release()`, then is made for real. After `backstopMs` they
 * are let through anyway, so a handler without a deadline makes its test fail late, not hang it.
 */
function holdBack(backstopMs = 5_000) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const backstop = setTimeout(open, backstopMs);
  return {
    wait: <T>(call: () => Promise<T>): Promise<T> => gate.then(call),
    release: () => {
      clearTimeout(backstop);
      open();
    },
  };
}
type Held = ReturnType<typeof holdBack>;

/** R2 whose `put` does not answer while `held` holds it back. */
function stalledR2(held: Held): R2Bucket {
  return new Proxy(env.REPORTS, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === "put") {
        return (...args: unknown[]) =>
          held.wait(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** D1 whose round trips with a statement matching `pattern` do not answer while `held` holds them back. */
function stalledD1(pattern: RegExp, held: Held): D1Database {
  return interceptD1(env.DB, (_kind, statements, call) =>
    statements.some((sql) => pattern.test(sql)) ? held.wait(call) : call(),
  );
}

// ---------------------------------------------------------------------------------------------
// Deliveries in, the queue played by hand.

let woSeq = 0;
function uniqueWorkOrderId(): number {
  woSeq += 1;
  return 81_000_000 + woSeq * 11 + Math.floor(Math.random() * 1000) * 100_000;
}

function highPriorityCreated(id = uniqueWorkOrderId()) {
  return { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id } };
}

function doneChange(id = uniqueWorkOrderId()) {
  return { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
}

/** Only the id: the handlers must ask MaintainX for the rest. */
function bareCreated(id = uniqueWorkOrderId()) {
  return { workOrderId: id, orgId: 99411, occurredAt: "2026-11-28T09:15:02.417Z" };
}

/** A queue that keeps what it is sent: the test delivers it to the consumer itself. */
const heldQueue = () =>
  recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue<unknown>);

interface Received {
  status: number;
  body: { status?: string; eventId?: string; error?: string };
  messages: EventMessage[];
}

async function receive(request: Request, overrides: EnvOverrides = {}): Promise<Received> {
  const queue = heldQueue();
  const response = await callWorker(request, { EVENTS_QUEUE: queue, ...overrides });
  const body = (await response.json()) as Received["body"];
  return { status: response.status, body, messages: queue.sent as EventMessage[] };
}

async function accepted(type: string, body: Record<string, unknown>, overrides: EnvOverrides = {}) {
  const received = await receive(await maintainXDelivery(type, body), overrides);
  expect(received.status).toBe(200);
  expect(received.body.status).toBe("accepted");
  expect(received.messages).toHaveLength(1);
  return { eventId: received.body.eventId as string, message: received.messages[0] as EventMessage };
}

interface Played {
  outcome: "acked" | "dead";
  deliveries: number;
  /** The delay each retry asked for, in order. */
  delays: Array<number | undefined>;
}

/**
 * Delivers the message as the queue would: again after every retry, up to DELIVERIES times; the
 * last is acked dead by the consumer itself, or (D1 down) retried into the dead-letter consumer.
 * `envFor(n)` is the environment of the n-th delivery (n = 7: the DLQ).
 */
async function playQueue(message: EventMessage, envFor: (delivery: number) => Env): Promise<Played> {
  const delays: Array<number | undefined> = [];
  for (let delivery = 1; delivery <= DELIVERIES; delivery++) {
    const settled = await settle(batchOf([message], delivery), (batch) =>
      consumeEvents(batch, envFor(delivery), { registry, fetch: outbound.fetch, random: () => 0 }),
    );
    if (settled.explicitAcks.length === 1) {
      const dead = delivery === DELIVERIES && (await eventStatus(message.event.id)) === "dead";
      return { outcome: dead ? "dead" : "acked", deliveries: delivery, delays };
    }
    expect(settled.retryMessages).toHaveLength(1);
    delays.push(settled.retryMessages[0]?.delaySeconds);
  }
  const dead = await settle(batchOf([message], DELIVERIES, "maintainx-events-dlq"), (batch) =>
    consumeDeadLetters(batch, envFor(DELIVERIES + 1)),
  );
  expect(dead.explicitAcks).toHaveLength(1);
  return { outcome: "dead", deliveries: DELIVERIES, delays };
}

async function eventStatus(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
  return row?.status;
}

async function outcomeOf(eventId: string, handler: string) {
  return (await listSideEffects(env.DB, eventId)).find((o) => o.handler === handler);
}

const slackPostsFor = (workOrderId: number) =>
  slack.calls.filter((c) => (c.json as { text?: string } | undefined)?.text?.includes(`#${workOrderId}:`));

/** Replays an event through the admin route; the queued replay message is returned, not sent. */
async function replay(eventId: string): Promise<EventMessage> {
  const queue = heldQueue();
  const response = await callWorker(
    new Request(`${BASE}/admin/events/${encodeURIComponent(eventId)}/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    }),
    { ADMIN_TOKEN, EVENTS_QUEUE: queue },
  );
  expect(response.status).toBe(202);
  expect(queue.sent).toHaveLength(1);
  return queue.sent[0] as EventMessage;
}

const healthy = () => consumerEnv();

// ---------------------------------------------------------------------------------------------

describe("receiver faults", () => {
  it("accepts when the KV dedupe lookup throws, and the event is processed", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body, { IDEMPOTENCY: faultyKv({ get: 1 }) });
    expect((await playQueue(message, healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("accepts when the KV dedupe write throws; the sender's retry is absorbed by the consumer's claims", async () => {
    const body = highPriorityCreated();
    const raw = JSON.stringify(body);
    const first = await accepted("NEW_WORK_ORDER", JSON.parse(raw), { IDEMPOTENCY: faultyKv({ put: 1 }) });
    // Nothing was marked seen, so MaintainX's redelivery is queued again.
    const again = await receive(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(again.body).toEqual({ status: "accepted", eventId: first.eventId });

    expect((await playQueue(first.message, healthy)).outcome).toBe("acked");
    expect((await playQueue(again.messages[0] as EventMessage, healthy)).outcome).toBe("acked");
    expect(await eventStatus(first.eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("answers 503 when the claim-check write throws, marks nothing seen, and processes the retry in full", async () => {
    const body = { ...highPriorityCreated(), notes: "n".repeat(100 * 1024) };
    const raw = JSON.stringify(body);
    const refused = await receive(await maintainXDelivery("NEW_WORK_ORDER", raw), {
      IDEMPOTENCY: faultyKv({ put: Number.POSITIVE_INFINITY }),
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/retry/);
    expect(refused.messages).toHaveLength(0);

    const retry = await receive(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(retry.body.status).toBe("accepted");
    const message = retry.messages[0] as EventMessage;
    expect(message.payloadKey).toBeDefined();
    expect((await playQueue(message, healthy)).outcome).toBe("acked");
    expect(await eventStatus(retry.body.eventId as string)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("answers 503 when the queue send throws, and the sender's retry is accepted and processed", async () => {
    const body = highPriorityCreated();
    const raw = JSON.stringify(body);
    const refused = await receive(await maintainXDelivery("NEW_WORK_ORDER", raw), { EVENTS_QUEUE: failingQueue() });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: "Event could not be queued; retry the delivery" });

    const retry = await receive(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(retry.body.status).toBe("accepted");
    expect((await playQueue(retry.messages[0] as EventMessage, healthy)).outcome).toBe("acked");
    expect(await eventStatus(retry.body.eventId as string)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("accepts when D1 is down at the receiver (the event log is the consumer's to write too)", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body, { DB: faultyD1(() => true) });
    expect(await eventStatus(eventId)).toBeUndefined();
    expect((await playQueue(message, healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
  });

  it("through the real local queue: KV failing both ways at the receiver still ends processed", async () => {
    const body = highPriorityCreated();
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", body), {
      IDEMPOTENCY: faultyKv({ get: 1, put: 1 }),
    });
    expect(response.status).toBe(200);
    const { eventId } = (await response.json()) as { eventId: string };
    const deadline = Date.now() + 20_000;
    while ((await eventStatus(eventId)) !== "processed" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await eventStatus(eventId)).toBe("processed");
    const posts = worldSlack.calls.filter((c) =>
      (c.json as { text?: string } | undefined)?.text?.includes(`#${body.workOrderId}:`),
    );
    expect(posts).toHaveLength(1);
  });
});

describe("storage faults in the consumer", () => {
  it("retries while D1 is down at the start of a delivery, then processes", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    const down = consumerEnv({ DB: faultyD1(() => true) });
    const played = await playQueue(message, (n) => (n <= 2 ? down : healthy()));
    expect(played).toMatchObject({ outcome: "acked", deliveries: 3 });
    expect(played.delays).toEqual([10, 20]);
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("posts once when D1 fails to record a Slack post that succeeded", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    const blip = consumerEnv({ DB: faultyD1(failing(/^UPDATE side_effects SET status/, 1)) });
    const played = await playQueue(message, (n) => (n === 1 ? blip : healthy()));
    expect(played.outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
    expect(await outcomeOf(eventId, "slack-alert")).toMatchObject({ status: "done", attempts: 1 });
  });

  it("repeats no post whose success D1 could not record, though the claim's lease runs out on the real retry schedule", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    // D1 refuses every write of an outcome during the first delivery.
    const down = consumerEnv({ DB: faultyD1(failing(/^UPDATE side_effects SET status/, 10)) });
    const start = Date.now();
    let clock = start;
    for (let delivery = 1; delivery <= DELIVERIES; delivery++) {
      const settled = await settle(batchOf([message], delivery), (batch) =>
        consumeEvents(batch, delivery === 1 ? down : healthy(), {
          registry,
          fetch: outbound.fetch,
          random: () => 0,
          now: () => clock,
        }),
      );
      if (settled.explicitAcks.length === 1) break;
      // The next delivery comes when the queue would bring it: 10, 20, 40, 80 s later.
      clock += (settled.retryMessages[0]?.delaySeconds ?? 0) * 1000;
    }
    // By the last delivery the claim's lease had run out, so the claim was taken over...
    expect(clock - start).toBeGreaterThan(CLAIM_LEASE_MS);
    // ...and its fallback marker, not a second post, decided the outcome.
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
    expect(await outcomeOf(eventId, "slack-alert")).toMatchObject({ status: "done" });
    expect(await eventStatus(eventId)).toBe("processed");
  });

  it("dead-letters an event while D1 stays down, keeps it replayable, and the replay processes it", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    const down = consumerEnv({ DB: faultyD1(() => true) });
    const played = await playQueue(message, (n) => (n <= DELIVERIES ? down : healthy()));
    expect(played.outcome).toBe("dead");
    expect(await eventStatus(eventId)).toBe("dead");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(0);

    expect((await playQueue(await replay(eventId), healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("retries a dead letter with a delay when D1 cannot record it, and records it later", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    const down = consumerEnv({ DB: faultyD1(() => true) });
    const refused = await settle(batchOf([message], DELIVERIES, "maintainx-events-dlq"), (batch) =>
      consumeDeadLetters(batch, down),
    );
    expect(refused.explicitAcks).toHaveLength(0);
    expect(refused.retryMessages).toHaveLength(1);
    // Not at once: a D1 blip must not use up the dead-letter queue's own retries in a second.
    expect(refused.retryMessages[0]?.delaySeconds).toBeGreaterThanOrEqual(10);

    const recorded = await settle(batchOf([message], 2, "maintainx-events-dlq"), (batch) =>
      consumeDeadLetters(batch, healthy()),
    );
    expect(recorded.explicitAcks).toHaveLength(1);
    expect(await eventStatus(eventId)).toBe("dead");
  });

  it("retries while R2 refuses the report, then writes it; the ERP is posted once", async () => {
    const body = doneChange();
    const { eventId, message } = await accepted("WORK_ORDER_STATUS_CHANGE", body);
    const r2 = faultyR2(2);
    const played = await playQueue(message, () => consumerEnv({ REPORTS: r2 }));
    expect(played).toMatchObject({ outcome: "acked", deliveries: 2 });
    expect(await eventStatus(eventId)).toBe("processed");
    expect(await env.REPORTS.head(`reports/${body.workOrderId}.json`)).not.toBeNull();
    expect(erp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(1);
  });

  it("dead-letters an event while R2 stays down, then the replay writes only the report", async () => {
    const body = doneChange();
    const { eventId, message } = await accepted("WORK_ORDER_STATUS_CHANGE", body);
    const r2 = faultyR2(Number.POSITIVE_INFINITY);
    const played = await playQueue(message, (n) => (n <= DELIVERIES ? consumerEnv({ REPORTS: r2 }) : healthy()));
    expect(played.outcome).toBe("dead");
    expect(await eventStatus(eventId)).toBe("dead");
    expect(await outcomeOf(eventId, "completion-report")).toMatchObject({ status: "retry", attempts: DELIVERIES });

    expect((await playQueue(await replay(eventId), healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(await env.REPORTS.head(`reports/${body.workOrderId}.html`)).not.toBeNull();
    expect(erp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(1);
  });

  it("retries while the KV claim check cannot be read, then processes the full data", async () => {
    const body = { ...highPriorityCreated(), notes: "n".repeat(100 * 1024) };
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    expect(message.payloadKey).toBeDefined();
    const kv = faultyKv({ get: 2 });
    const played = await playQueue(message, () => consumerEnv({ IDEMPOTENCY: kv }));
    expect(played).toMatchObject({ outcome: "acked", deliveries: 3 });
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });
});

describe("storage that does not answer inside a handler", () => {
  /** The handler's claim row as it stands: its status, lease and last error. */
  async function claimOf(eventId: string, handler: string) {
    return env.DB.prepare(
      `SELECT status, attempts, lease_until, last_error FROM side_effects
       WHERE handler = ?2 AND (event_id = ?1 OR change_id = (SELECT change_id FROM event_changes WHERE event_id = ?1))`,
    )
      .bind(eventId, handler)
      .first<{ status: string; attempts: number; lease_until: number; last_error: string | null }>();
  }

  const stalls: Array<[string, string, (held: Held) => EnvOverrides, string]> = [
    ["an R2 report write", "completion-report", (held) => ({ REPORTS: stalledR2(held) }), "R2: report write"],
    [
      "a D1 mirror write",
      "warehouse",
      (held) => ({ DB: stalledD1(/\bINTO work_orders\b/, held) }),
      "D1: work-order mirror write",
    ],
  ];

  it.each(stalls)(
    "%s that hangs ends the handler `retry` at OUTBOUND_TIMEOUT_SECONDS, its claim released for the next delivery",
    async (_, handler, stalled, what) => {
      const body = doneChange();
      const { eventId, message } = await accepted("WORK_ORDER_STATUS_CHANGE", body);
      const held = holdBack();
      try {
        const started = Date.now();
        const first = await settle(batchOf([message], 1), (batch) =>
          consumeEvents(batch, consumerEnv(stalled(held)), { registry, fetch: outbound.fetch, random: () => 0 }),
        );
        // OUTBOUND_TIMEOUT_SECONDS is 1 here: the attempt ends then, not when storage answers.
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(first.retryMessages).toHaveLength(1);
        expect(await claimOf(eventId, handler)).toEqual({
          status: "retry",
          attempts: 1,
          lease_until: 0,
          last_error: `TransientError: ${what}: no answer within 1 s`,
        });
        expect(await eventStatus(eventId)).toBe("retrying");

        // Released, the claim is taken by the very next delivery, long before its lease would end.
        const second = await settle(batchOf([message], 2), (batch) =>
          consumeEvents(batch, healthy(), { registry, fetch: outbound.fetch, random: () => 0 }),
        );
        expect(second.explicitAcks).toHaveLength(1);
        expect(await eventStatus(eventId)).toBe("processed");
        expect(await outcomeOf(eventId, handler)).toMatchObject({ status: "done", attempts: 2 });
        expect(await env.REPORTS.head(`reports/${body.workOrderId}.json`)).not.toBeNull();
        // The handlers that had finished on the first delivery did not run again.
        expect(erp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(1);
      } finally {
        held.release();
      }
    },
  );
});

describe("sink faults: Slack and the ERP", () => {
  const transient: Array<[string, PlannedAnswer]> = [
    ["a timeout", "hang"],
    ["a 500", reply(500, "internal error")],
    ["a 502", reply(502, "bad gateway")],
    ["a 503", reply(503, "unavailable")],
    ["a closed connection", "network-error"],
  ];

  it.each(transient)("Slack: retries %s and posts the alert once", async (_, failure) => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    slack.plan(failure, failure);
    const started = Date.now();
    const played = await playQueue(message, healthy);
    // Hanging calls are cut at OUTBOUND_TIMEOUT_SECONDS (1 s here), so two deliveries stay short.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(played).toMatchObject({ outcome: "acked", deliveries: 3 });
    expect(played.delays).toEqual([10, 20]);
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(3);
    expect(await outcomeOf(eventId, "slack-alert")).toMatchObject({ status: "done", attempts: 3 });
  });

  it.each(transient)("ERP: retries %s and completes with the same Idempotency-Key", async (_, failure) => {
    const body = doneChange();
    const { eventId, message } = await accepted("WORK_ORDER_STATUS_CHANGE", body);
    erp.plan(failure, failure);
    const played = await playQueue(message, healthy);
    expect(played).toMatchObject({ outcome: "acked", deliveries: 3 });
    expect(await eventStatus(eventId)).toBe("processed");
    const posts = erp.calls.filter((c) => c.headers["idempotency-key"] === eventId);
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.body)).size).toBe(1);
    // The report and the mirror were written once, on the first delivery.
    expect(await outcomeOf(eventId, "completion-report")).toMatchObject({ status: "done", attempts: 1 });
    expect(await outcomeOf(eventId, "warehouse")).toMatchObject({ status: "done", attempts: 1 });
  });

  it("honours a 429's Retry-After from Slack and from the ERP", async () => {
    const created = highPriorityCreated();
    const a = await accepted("NEW_WORK_ORDER", created);
    slack.plan(reply(429, "rate_limited", { "retry-after": "120" }));
    const slackPlayed = await playQueue(a.message, healthy);
    expect(slackPlayed).toMatchObject({ outcome: "acked", deliveries: 2, delays: [120] });
    expect(await eventStatus(a.eventId)).toBe("processed");

    const b = await accepted("WORK_ORDER_STATUS_CHANGE", doneChange());
    const later = new Date(Date.now() + 300_000).toUTCString();
    erp.plan(reply(429, "slow down", { "retry-after": later }));
    const erpPlayed = await playQueue(b.message, healthy);
    expect(erpPlayed.outcome).toBe("acked");
    expect(erpPlayed.delays[0]).toBeGreaterThanOrEqual(298);
    expect(await eventStatus(b.eventId)).toBe("processed");
  });

  it("dead-letters an event whose Slack never recovers; the replay posts it once", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    slack.fallback = reply(503, "down");
    const played = await playQueue(message, healthy);
    expect(played.outcome).toBe("dead");
    // The schedule's five delays; the sixth failure is past its end: dead, without a seventh try.
    expect(played.delays).toEqual([10, 20, 40, 80, 160]);
    expect(slack.calls).toHaveLength(DELIVERIES);
    expect(await eventStatus(eventId)).toBe("dead");

    slack.fallback = () => new Response("ok");
    expect((await playQueue(await replay(eventId), healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(DELIVERIES + 1);
  });

  it("dead-letters an event whose ERP times out, then keeps dropping the connection", async () => {
    const { eventId, message } = await accepted("WORK_ORDER_STATUS_CHANGE", doneChange());
    erp.plan("hang", "hang");
    erp.fallback = "network-error";
    const played = await playQueue(message, healthy);
    expect(played.outcome).toBe("dead");
    expect(await eventStatus(eventId)).toBe("dead");
    const outcome = await outcomeOf(eventId, "erp-sync");
    expect(outcome).toMatchObject({
      status: "retry",
      attempts: DELIVERIES,
      lastError: "TransientError: ERP: network error",
    });
    expect(erp.calls).toHaveLength(DELIVERIES);
  });
});

describe("MaintainX API faults during enrichment", () => {
  const current = (id: number) =>
    workOrderAnswer({ id, title: "Pump", priority: "HIGH", status: "OPEN", updatedAt: "2026-11-28T09:15:03Z" });

  const faults: Array<[string, PlannedAnswer]> = [
    ["a 500", reply(500, "upstream down")],
    ["a 503", reply(503, "maintenance")],
    ["a timeout", "hang"],
    ["malformed JSON", reply(200, '{"workOrder": {"id": 1,', { "content-type": "application/json" })],
    ["HTML instead of JSON", reply(200, "<html>login</html>", { "content-type": "text/html" })],
    ["JSON of the wrong shape", reply(200, '{"items":[]}', { "content-type": "application/json" })],
    ["a closed connection", "network-error"],
  ];

  it.each(faults)("retries %s and alerts once MaintainX answers", async (_, failure) => {
    const body = bareCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    api.plan(failure, () => current(body.workOrderId));
    const played = await playQueue(message, healthy);
    expect(played).toMatchObject({ outcome: "acked", deliveries: 2 });
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
    // One lookup per delivery, shared by the Slack and mirror handlers.
    expect(api.calls).toHaveLength(2);
  });

  it("dead-letters an event while MaintainX stays down, and the replay completes it", async () => {
    const body = bareCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    api.fallback = reply(502, "bad gateway");
    expect((await playQueue(message, healthy)).outcome).toBe("dead");
    expect(await eventStatus(eventId)).toBe("dead");

    api.fallback = () => current(body.workOrderId);
    expect((await playQueue(await replay(eventId), healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(1);
  });

  it("never asks MaintainX for a path outside /workorders when a work-order id is a dot segment", async () => {
    for (const id of ["..", "."]) {
      const { eventId, message } = await accepted("NEW_WORK_ORDER", { workOrderId: id, orgId: 1 });
      expect((await playQueue(message, healthy)).outcome).toBe("acked");
      expect(await eventStatus(eventId)).toBe("failed");
    }
    expect(api.calls).toHaveLength(0);
  });
});

describe("poller faults", () => {
  it("keeps the cursor when the queue refuses a run's events, and the next run queues every one", async () => {
    const store = createWorkOrderStore();
    const seeded = seedWorkOrders(store, 15, Date.now() - 10 * 60_000, { firstId: 880_000 });
    api.fallback = () => store.list(new URL(api.calls.at(-1)?.url ?? API_BASE));
    const pollEnv = (queue: Queue) => consumerEnv({ EVENTS_QUEUE: queue, POLL_MODE: "always", POLL_PAGE_SIZE: "10" });

    const failed = await pollWorkOrders(pollEnv(failingQueue()), { fetch: outbound.fetch });
    expect(failed.outcome).toBe("failed");
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();

    const queue = heldQueue();
    const next = await pollWorkOrders(pollEnv(queue), { fetch: outbound.fetch, now: () => Date.now() + 60_000 });
    expect(next).toMatchObject({ outcome: "ok", events: 15 });
    expect(await readCursor(env.IDEMPOTENCY)).toBe(seeded.at(-1)?.updatedAt);
    for (const message of queue.sent as EventMessage[]) {
      expect((await playQueue(message, healthy)).outcome).toBe("acked");
      expect(await eventStatus(message.event.id)).toBe("processed");
    }
  });
});

describe("replays and copies in one batch", () => {
  it("runs a replay even when an ordinary copy of the same event comes first in the batch", async () => {
    const body = highPriorityCreated();
    const { eventId, message } = await accepted("NEW_WORK_ORDER", body);
    slack.plan(reply(404, "no_service"));
    expect((await playQueue(message, healthy)).outcome).toBe("acked");
    expect(await eventStatus(eventId)).toBe("failed");

    const replayed = await replay(eventId);
    const settled = await settle(batchOf([message, replayed], 1), (batch) =>
      consumeEvents(batch, healthy(), { registry, fetch: outbound.fetch, random: () => 0 }),
    );
    expect(settled.explicitAcks).toHaveLength(2);
    expect(await eventStatus(eventId)).toBe("processed");
    expect(slackPostsFor(body.workOrderId)).toHaveLength(2);
    expect(await outcomeOf(eventId, "slack-alert")).toMatchObject({ status: "done" });
  });
});

describe("bounded outbound calls", () => {
  it("caps OUTBOUND_TIMEOUT_SECONDS so a handler's two calls end well inside its claim's lease", () => {
    for (const value of ["10", "30", "600", "100000"]) {
      const { outboundTimeoutMs } = readConfig(consumerEnv({ OUTBOUND_TIMEOUT_SECONDS: value }));
      // A handler makes at most two calls (MaintainX lookup, then the post) while holding its claim.
      expect(2 * outboundTimeoutMs, value).toBeLessThanOrEqual(CLAIM_LEASE_MS / 2);
    }
    expect(readConfig(consumerEnv({ OUTBOUND_TIMEOUT_SECONDS: undefined })).outboundTimeoutMs).toBe(10_000);
  });
});
