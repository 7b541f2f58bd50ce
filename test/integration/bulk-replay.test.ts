// Bulk replay (ingest/requeue.ts `replayEvents`) against the real local D1 and KV, with queues that
// record, drop or refuse what they are sent: 1,000 events fit one request's subrequests, a refusal
// partway leaves every event either queued or as it was, and a replay stops before its budget.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { replayEvent, replayEvents } from "../../src/ingest/requeue";
import { insertStatement, statusStatement } from "../../src/store/event-log";
import { uniqueNewWorkOrder } from "../helpers/deliveries";
import { maintainXEvent } from "../helpers/events";
import { testEnv } from "../helpers/worker";

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
