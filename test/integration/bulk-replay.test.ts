// Bulk replay (ingest/requeue.ts `replayEvents`) against the real local D1 and KV, with queues that
// record, drop or refuse what they are sent: 1,000 events fit one request's subrequests, a refusal
// partway leaves every event either queued or as it was, and a replay stops before its budget.
// Through the route: two bulk replays at once queue each event once.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { replayEvent, replayEvents } from "../../src/ingest/requeue";
import { insertStatement, statusStatement } from "../../src/store/event-log";
import { interceptD1 } from "../helpers/d1-round-trips";
import { BASE, uniqueNewWorkOrder } from "../helpers/deliveries";
import { maintainXEvent } from "../helpers/events";
import { callWorker, type EnvOverrides, testEnv } from "../helpers/worker";

/** A queue that keeps what it is sent (and sends nothing on), refusing every sendBatch from `failFrom` on. */
function heldQueue(failFrom = Number.POSITIVE_INFINITY) {
  const sent: EventMessage[] = [];
  let batches = 0;
  const queue = {
    sent,
    get batches() {
      return batches;
    },
    async send(body: EventMessage) {
      batches += 1;
      if (batches >= failFrom) throw new Error("Queue send failed: service unavailable");
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<EventMessage>>) {
      batches += 1;
      if (batches >= failFrom) throw new Error("Queue send failed: service unavailable");
      for (const m of messages) sent.push(m.body);
    },
  };
  return queue;
}

/** D1 and KV bindings that count the calls made through them (a D1 batch is one call). */
function counted() {
  const calls = { d1: 0, kv: 0 };
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, key) {
        if (key === "bind") return (...values: unknown[]) => statement(target.bind(...values));
        if (key === "first" || key === "all" || key === "run" || key === "raw") {
          return (...args: unknown[]) => {
            calls.d1 += 1;
            return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = {
    prepare: (sql: string) => statement(env.DB.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) => {
      calls.d1 += 1;
      return env.DB.batch(statements);
    },
  } as unknown as D1Database;
  const kv = new Proxy(env.IDEMPOTENCY, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.kv += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { calls, db, kv };
}

/** `count` failed work-order events in the log, oldest first. */
async function failedEvents(count: number, tag: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < count; i++) {
    const event = await maintainXEvent("NEW_WORK_ORDER", uniqueNewWorkOrder(extra), `${tag}-${i}`);
    ids.push(event.id);
    statements.push(insertStatement(env.DB, event));
  }
  for (let i = 0; i < statements.length; i += 100) await env.DB.batch(statements.slice(i, i + 100));
  await Promise.all(ids.map((id) => statusStatement(env.DB, id, "failed", "erp-sync: HTTP 400").run()));
  return ids;
}

async function statuses(ids: string[]): Promise<string[]> {
  return Promise.all(
    ids.map(
      async (id) =>
        (await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>())
          ?.status as string,
    ),
  );
}

describe("bulk replay", () => {
  it("replays 1,000 events with fewer than 100 D1, KV and Queue calls, each as a replay of its own event", async () => {
    const ids = await failedEvents(1000, "thousand");
    const queue = heldQueue();
    const { calls, db, kv } = counted();
    const outcome = await replayEvents(testEnv({ DB: db, IDEMPOTENCY: kv, EVENTS_QUEUE: queue }), ids);
    expect(outcome).toEqual({ replayed: ids });
    expect(queue.sent.map((m) => m.event.id)).toEqual(ids);
    expect(queue.sent.every((m) => m.replay === true && m.event.data.workOrderId !== undefined)).toBe(true);
    // Per 50: one read, one reopen, one sendBatch; no KV call for small events.
    expect({ ...calls, queue: queue.batches }).toEqual({ d1: 40, kv: 0, queue: 20 });
    expect(new Set(await statuses(ids))).toEqual(new Set(["accepted"]));
  });

  it("keeps every event either queued or as it was when the queue refuses partway", async () => {
    const ids = await failedEvents(5, "refused");
    const queue = heldQueue(2);
    const outcome = await replayEvents(testEnv({ EVENTS_QUEUE: queue }), ids, { perRound: 2 });
    expect(outcome).toEqual({ replayed: ids.slice(0, 2), stopped: "unavailable" });
    expect(queue.sent.map((m) => m.event.id)).toEqual(ids.slice(0, 2));
    // The queued ones are pending again; the round the queue refused is restored, and the rest untouched.
    expect(await statuses(ids)).toEqual(["accepted", "accepted", "failed", "failed", "failed"]);
    const errors = await env.DB.prepare(`SELECT last_error FROM events WHERE id IN (?1, ?2)`)
      .bind(ids[2], ids[4])
      .all<{ last_error: string }>();
    expect(errors.results.map((r) => r.last_error)).toEqual(["erp-sync: HTTP 400", "erp-sync: HTTP 400"]);
  });

  it("restores only the events of a round that the queue did not take, when it refuses the round's second sendBatch", async () => {
    // About 90 KB each: sent as they are, two to a sendBatch (200 KB at most).
    const ids = await failedEvents(3, "split", {
      newWorkOrder: { title: "Mid", priority: "LOW", description: "y".repeat(90_000) },
    });
    const queue = heldQueue(2);
    const outcome = await replayEvents(testEnv({ EVENTS_QUEUE: queue }), ids);
    expect(outcome).toEqual({ replayed: ids.slice(0, 2), stopped: "unavailable" });
    expect(queue.sent.every((m) => m.payloadKey === undefined)).toBe(true);
    expect(await statuses(ids)).toEqual(["accepted", "accepted", "failed"]);
  });

  it("stops before a round whose worst case would exceed its subrequest budget, leaving the rest as they were", async () => {
    const ids = await failedEvents(3, "budget");
    const queue = heldQueue();
    // Room for one round of one event (4 calls per round, at most 3 per event), then not another.
    const outcome = await replayEvents(testEnv({ EVENTS_QUEUE: queue }), ids, { budget: 7 });
    expect(outcome).toEqual({ replayed: ids.slice(0, 1), stopped: "budget" });
    expect(await statuses(ids)).toEqual(["accepted", "failed", "failed"]);
    // Enough for all three in one round.
    const more = await replayEvents(testEnv({ EVENTS_QUEUE: queue }), ids.slice(1), { budget: 10 });
    expect(more).toEqual({ replayed: ids.slice(1) });
  });

  it("reads large rows alone and writes each a claim check of its own, within the budget", async () => {
    const ids = await failedEvents(3, "large", {
      newWorkOrder: { title: "Large", priority: "LOW", description: "x".repeat(110_000) },
    });
    const queue = heldQueue();
    const { calls, db, kv } = counted();
    const outcome = await replayEvents(testEnv({ DB: db, IDEMPOTENCY: kv, EVENTS_QUEUE: queue }), ids);
    expect(outcome).toEqual({ replayed: ids });
    expect(queue.sent.map((m) => m.payloadKey?.startsWith(`payload:${m.event.id}:replay:`))).toEqual([
      true,
      true,
      true,
    ]);
    for (const message of queue.sent) {
      expect(((await env.IDEMPOTENCY.get(message.payloadKey as string)) as string).length).toBeGreaterThan(110_000);
    }
    // One batch read, three rows alone, one reopen; three claim checks; one sendBatch.
    expect({ ...calls, queue: queue.batches }).toEqual({ d1: 5, kv: 3, queue: 1 });
  });

  it("never makes more calls than its budget, whatever mix of small and large events it meets", async () => {
    const large = { newWorkOrder: { title: "Large", priority: "LOW", description: "z".repeat(110_000) } };
    for (const budget of [7, 12, 20, 40]) {
      const ids = [
        ...(await failedEvents(4, `mix-small-${budget}`)),
        ...(await failedEvents(4, `mix-large-${budget}`, large)),
      ];
      const queue = heldQueue();
      const { calls, db, kv } = counted();
      const outcome = await replayEvents(testEnv({ DB: db, IDEMPOTENCY: kv, EVENTS_QUEUE: queue }), ids, {
        budget,
        perRound: 3,
      });
      expect(calls.d1 + calls.kv + queue.batches, `budget ${budget}`).toBeLessThanOrEqual(budget);
      expect(outcome.replayed).toEqual(ids.slice(0, outcome.replayed.length));
      expect(outcome.stopped).toBe(outcome.replayed.length < ids.length ? "budget" : undefined);
      const n = outcome.replayed.length;
      expect(await statuses(ids)).toEqual([...Array(n).fill("accepted"), ...Array(ids.length - n).fill("failed")]);
    }
  });

  it("replays one event as a round of one: one read with its data, one reopen, one send", async () => {
    for (const [tag, extra, kvPuts] of [
      ["one-small", {}, 0],
      ["one-large", { newWorkOrder: { title: "Large", priority: "LOW", description: "w".repeat(110_000) } }, 1],
    ] as const) {
      const [id] = await failedEvents(1, tag, extra);
      const queue = heldQueue();
      const { calls, db, kv } = counted();
      expect(await replayEvent(testEnv({ DB: db, IDEMPOTENCY: kv, EVENTS_QUEUE: queue }), id as string)).toBe("queued");
      expect({ ...calls, queue: queue.batches }, tag).toEqual({ d1: 2, kv: kvPuts, queue: 1 });
      expect(queue.sent.map((m) => m.event.id)).toEqual([id]);
      expect(await statuses([id as string])).toEqual(["accepted"]);
    }
    const { calls, db } = counted();
    expect(await replayEvent(testEnv({ DB: db, EVENTS_QUEUE: heldQueue() }), "no-such-event")).toBe("not_found");
    expect(calls.d1).toBe(1);
  });
});

const TOKEN = "bulk-replay-token";

function adminPost(path: string, body: unknown, overrides: EnvOverrides = {}): Promise<Response> {
  return callWorker(
    new Request(`${BASE}/admin${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    { ADMIN_TOKEN: TOKEN, ...overrides },
  );
}

/**
 * D1 on which a bulk replay's listing of the events waits until `count` listings have arrived, or
 * until `release()`: replays started together then all list the same events before any reopens them.
 */
function listingsMeet(count: number) {
  let arrived = 0;
  let open!: () => void;
  let first!: () => void;
  const met = new Promise<void>((resolve) => {
    open = resolve;
  });
  const listed = new Promise<void>((resolve) => {
    first = resolve;
  });
  const db = interceptD1(env.DB, (_kind, statements, call) => {
    if (!statements.some((sql) => /\bFROM events\b[\s\S]*ORDER BY received_at DESC/.test(sql))) return call();
    arrived += 1;
    first();
    if (arrived >= count) open();
    return met.then(call);
  });
  return { db, listed, release: () => open() };
}

/** How many times the queue was sent each event. */
function timesSent(queue: { sent: EventMessage[] }): Map<string, number> {
  const times = new Map<string, number>();
  for (const message of queue.sent) times.set(message.event.id, (times.get(message.event.id) ?? 0) + 1);
  return times;
}

describe("bulk replays at the same time", () => {
  it("queues each event once when two bulk replays start together: the second is refused with 409", async () => {
    const since = new Date().toISOString();
    const ids = await failedEvents(6, "together");
    const until = new Date().toISOString();
    const queue = heldQueue();
    const { db, release } = listingsMeet(2);
    const replay = () =>
      adminPost("/events/replay", { status: "failed", since, until }, { DB: db, EVENTS_QUEUE: queue }).finally(release);

    const answers = await Promise.all([replay(), replay()]);

    expect(timesSent(queue)).toEqual(new Map(ids.map((id) => [id, 1])));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const [ran, refused] = answers[0]?.status === 202 ? answers : [...answers].reverse();
    expect(await ran?.json()).toEqual({ replayed: 6, ids: [...ids].reverse() });
    expect(await refused?.json()).toEqual({
      error: "Another bulk replay is running; try again when it has ended (in 5 minutes at most)",
    });
    expect(new Set(await statuses(ids))).toEqual(new Set(["accepted"]));
  });

  it("replays a single event while a bulk replay runs, and frees the lock for the next bulk replay when it ends", async () => {
    const since = new Date().toISOString();
    const ids = await failedEvents(3, "during");
    const until = new Date().toISOString();
    const [single] = await failedEvents(1, "during-single");
    const queue = heldQueue();
    // The bulk replay waits at its listing, holding the lock, until released.
    const { db, listed, release } = listingsMeet(Number.POSITIVE_INFINITY);
    const filters = { status: "failed", since, until };
    const running = adminPost("/events/replay", filters, { DB: db, EVENTS_QUEUE: queue });
    await listed;
    expect(await lockHolders()).toHaveLength(1);

    const one = await adminPost(`/events/${single}/replay`, {}, { EVENTS_QUEUE: queue });
    expect(one.status).toBe(202);
    expect(await one.json()).toEqual({ status: "replaying", eventId: single });
    const refused = await adminPost("/events/replay", { status: "failed" }, { EVENTS_QUEUE: queue });
    expect(refused.status).toBe(409);
    // A dry run only reads: it is answered while a replay runs.
    const dry = await adminPost("/events/replay", { ...filters, dryRun: true });
    expect(await dry.json()).toEqual({ dryRun: true, matched: 3, ids: [...ids].reverse() });

    release();
    expect((await running).status).toBe(202);
    expect(timesSent(queue)).toEqual(new Map([single as string, ...ids].map((id) => [id, 1])));
    expect(await lockHolders()).toEqual([]);
    // Ended, it no longer keeps others out: the next one runs (its events no longer fail).
    const next = await adminPost("/events/replay", filters, { EVENTS_QUEUE: queue });
    expect(next.status).toBe(202);
    expect(await next.json()).toEqual({ replayed: 0, ids: [] });
  });

  it("releases the lock however the replay ends: refused by the queue, or failing at the listing", async () => {
    const since = new Date().toISOString();
    const ids = await failedEvents(2, "ends");
    const until = new Date().toISOString();
    const filters = { status: "failed", since, until };

    const refusing = heldQueue(1);
    const refused = await adminPost("/events/replay", filters, { EVENTS_QUEUE: refusing });
    expect(refused.status).toBe(503);
    expect(await lockHolders()).toEqual([]);

    const listingDown = interceptD1(env.DB, (_kind, statements, call) =>
      statements.some((sql) => /ORDER BY received_at DESC/.test(sql))
        ? Promise.reject(new Error("D1_ERROR: simulated outage"))
        : call(),
    );
    const failed = await adminPost("/events/replay", filters, { DB: listingDown });
    expect(failed.status).toBe(500);
    expect(await lockHolders()).toEqual([]);

    const queue = heldQueue();
    const ran = await adminPost("/events/replay", filters, { EVENTS_QUEUE: queue });
    expect(await ran.json()).toEqual({ replayed: 2, ids: [...ids].reverse() });
  });

  it("takes over a lock whose lease ran out (its holder cut off), and answers 503 when D1 cannot give the lock", async () => {
    const since = new Date().toISOString();
    const ids = await failedEvents(1, "stale");
    const until = new Date().toISOString();
    const filters = { status: "failed", since, until };
    await env.DB.prepare("INSERT INTO locks (name, holder, until_ms) VALUES ('bulk-replay', 'cut-off', ?1)")
      .bind(Date.now() - 1)
      .run();

    const locksDown = interceptD1(env.DB, (_kind, statements, call) =>
      statements.some((sql) => /\bINTO locks\b/.test(sql))
        ? Promise.reject(new Error("D1_ERROR: simulated outage"))
        : call(),
    );
    const down = await adminPost("/events/replay", filters, { DB: locksDown });
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: "Bulk replay could not start: D1 did not answer; try again" });
    expect(await statuses(ids)).toEqual(["failed"]);

    const queue = heldQueue();
    const ran = await adminPost("/events/replay", filters, { EVENTS_QUEUE: queue });
    expect(ran.status).toBe(202);
    expect(timesSent(queue)).toEqual(new Map(ids.map((id) => [id, 1])));
    expect(await lockHolders()).toEqual([]);
  });

  it("starts no round once its lock's lease is nearly over, leaving the rest as they were", async () => {
    const ids = await failedEvents(5, "late");
    const queue = heldQueue();
    let clock = 1_000;
    const outcome = await replayEvents(testEnv({ EVENTS_QUEUE: queue }), ids, {
      perRound: 2,
      stopAtMs: 1_500,
      // Each round starts a second after the one before.
      now: () => {
        const at = clock;
        clock += 1_000;
        return at;
      },
    });
    expect(outcome).toEqual({ replayed: ids.slice(0, 2), stopped: "time" });
    expect(await statuses(ids)).toEqual(["accepted", "accepted", "failed", "failed", "failed"]);
  });
});

/** The holders of the bulk replay lock, as D1 has them. */
async function lockHolders(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT holder FROM locks WHERE name = 'bulk-replay'").all<{
    holder: string;
  }>();
  return results.map((r) => r.holder);
}
