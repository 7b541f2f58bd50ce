// The polling fallback (docs/polling.md) against a fake MaintainX: pages, ties, filters, failures,
// rate limits, timeouts and POLL_MODE. Each test uses its own KV cursor by isolating keys.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { pollWorkOrders } from "../../src/polling/poller";
import { dedupeKey, POLL_CURSOR_KEY } from "../../src/store/keys";
import { readCursor, readPollState } from "../../src/store/poll-state";
import { createWorkOrderStore, seedWorkOrders } from "../helpers/fake-work-orders";
import { API_BASE, createOutbound, reply } from "../helpers/outbound";
import { recordingQueue, testEnv } from "../helpers/worker";

const NOW = Date.parse("2026-11-28T12:00:00.000Z");
let store: ReturnType<typeof createWorkOrderStore>;
let outbound: ReturnType<typeof createOutbound>;
let api: ReturnType<typeof outbound.sink>;
let queue: ReturnType<typeof recordingQueue>;

function pollEnv(overrides: Record<string, unknown> = {}): Env {
  return testEnv({
    MAINTAINX_API_KEY: "poll-key",
    MAINTAINX_API_BASE: API_BASE,
    POLL_MODE: "always",
    POLL_PAGE_SIZE: "100",
    POLL_MAX_PAGES: "10",
    POLL_INITIAL_LOOKBACK_SECONDS: "3600",
    EVENTS_QUEUE: queue,
    ...overrides,
  });
}

async function poll(overrides: Record<string, unknown> = {}, now = NOW) {
  return pollWorkOrders(pollEnv(overrides), { fetch: outbound.fetch, now: () => now });
}

const queuedIds = () => queue.sent.map((m) => (m as EventMessage).event.id);

beforeEach(async () => {
  // KV and D1 persist across the tests of this file: start every test from no cursor and no lock.
  await env.IDEMPOTENCY.delete(POLL_CURSOR_KEY);
  await env.DB.prepare("DELETE FROM poll_state").run();
  await env.DB.prepare("DELETE FROM poll_resume").run();
  await env.DB.prepare("DELETE FROM locks").run();
  store = createWorkOrderStore();
  outbound = createOutbound();
  api = outbound.sink(API_BASE, () => new Response("unplanned", { status: 500 }));
  api.fallback = () => store.list(new URL(api.calls.at(-1)?.url ?? API_BASE));
  queue = recordingQueue();
});

describe("a polling run", () => {
  it("queues 250 work orders over three pages and moves the cursor to the newest updatedAt", async () => {
    const base = NOW - 30 * 60_000 + Math.floor(Math.random() * 1000);
    const seeded = seedWorkOrders(store, 250, base, { firstId: 100_000 });
    const state = await poll();

    expect(state).toMatchObject({ outcome: "ok", pages: 3, events: 250 });
    expect(new Set(queuedIds()).size).toBe(250);
    const message = queue.sent[0] as EventMessage;
    expect(message.event).toMatchObject({
      id: `poll:${seeded[0]?.id}:${seeded[0]?.updatedAt}`,
      type: "workorder.updated",
      source: "poll",
      workOrderId: String(seeded[0]?.id),
      occurredAt: seeded[0]?.updatedAt,
    });
    expect(await readCursor(env.IDEMPOTENCY)).toBe(seeded[249]?.updatedAt);

    const first = new URL(api.calls[0]?.url ?? "");
    expect(first.pathname).toBe("/v1/workorders");
    expect(first.searchParams.get("updatedAt[gte]")).toBe(new Date(NOW - 3600_000).toISOString());
    expect(first.searchParams.get("sort")).toBe("updatedAt");
    expect(first.searchParams.get("limit")).toBe("100");
    expect(api.calls[0]?.headers.authorization).toBe("Bearer poll-key");
    expect(new URL(api.calls[1]?.url ?? "").searchParams.get("cursor")).toBe("100");
  });

  it("queues nothing new on a second run with no changes, then exactly the 3 that changed", async () => {
    const base = NOW - 10 * 60_000;
    const seeded = seedWorkOrders(store, 40, base, { firstId: 200_000 });
    await poll();
    expect(queue.sent).toHaveLength(40);

    queue.sent.length = 0;
    const again = await poll({}, NOW + 60_000);
    expect(again.events).toBe(0);
    expect(queue.sent).toHaveLength(0);
    // The run asked from exactly the stored cursor.
    expect(new URL(api.calls.at(-1)?.url ?? "").searchParams.get("updatedAt[gte]")).toBe(seeded[39]?.updatedAt);

    for (const [i, id] of [200_003, 200_017, 200_031].entries()) {
      const wo = store.workOrders.get(id);
      if (wo) store.put({ ...wo, status: "IN_PROGRESS", updatedAt: new Date(NOW + 90_000 + i).toISOString() });
    }
    const third = await poll({}, NOW + 120_000);
    expect(third.events).toBe(3);
    expect(
      queuedIds()
        .map((id) => id.split(":")[1])
        .sort(),
    ).toEqual(["200003", "200017", "200031"]);
  });

  it("never queues a version it read again, once its dedupe keys have expired", async () => {
    // Two work orders share the newest updatedAt, which the cursor then stands on: every later
    // query reads them again (updatedAt[gte]), long after their dedupe keys (24 h) and event rows
    // (RETENTION_DAYS) are gone.
    const base = NOW - 10 * 60_000;
    const seeded = seedWorkOrders(store, 3, base, { firstId: 250_000 });
    const last = seeded[2];
    const tied = store.workOrders.get(250_001);
    if (!last || !tied) throw new Error("seeding failed");
    store.put({ ...tied, updatedAt: last.updatedAt });
    await poll();
    expect(new Set(queuedIds().map((id) => id.split(":")[1]))).toEqual(new Set(["250000", "250001", "250002"]));
    await Promise.all(queuedIds().map((id) => env.IDEMPOTENCY.delete(dedupeKey(id))));

    queue.sent.length = 0;
    const later = await poll({}, NOW + 40 * 86_400_000);
    expect(later).toMatchObject({ outcome: "ok", events: 0 });
    expect(queue.sent).toEqual([]);

    // A work order updated again at that very instant is a version not read before.
    const other = store.workOrders.get(250_000);
    if (other) store.put({ ...other, title: "edited", updatedAt: last.updatedAt });
    const third = await poll({}, NOW + 41 * 86_400_000);
    expect(third.events).toBe(1);
    expect(queuedIds()).toEqual([`poll:250000:${last.updatedAt}`]);
  });

  it("loses and repeats nothing when equal updatedAt values straddle a page boundary", async () => {
    // 30 work orders, 3 per instant; pages of 10 split instants across pages.
    seedWorkOrders(store, 30, NOW - 5 * 60_000, { firstId: 300_000, sameInstantEvery: 7 });
    const state = await poll({ POLL_PAGE_SIZE: "10" });
    expect(state.pages).toBe(3);
    expect(queue.sent).toHaveLength(30);
    expect(new Set(queuedIds()).size).toBe(30);
    // The next run sees the newest instant again (gte) and dedupes it.
    queue.sent.length = 0;
    await poll({ POLL_PAGE_SIZE: "10" }, NOW + 60_000);
    expect(queue.sent).toHaveLength(0);
  });

  it("filters client-side when the API ignores updatedAt[gte]", async () => {
    store = createWorkOrderStore({ ignoreDateFilter: true });
    api.fallback = () => store.list(new URL(api.calls.at(-1)?.url ?? API_BASE));
    seedWorkOrders(store, 5, NOW - 5 * 3600_000, { firstId: 400_000 });
    seedWorkOrders(store, 4, NOW - 10 * 60_000, { firstId: 400_100 });
    const state = await poll();
    expect(state.events).toBe(4);
    expect(queuedIds().every((id) => id.startsWith("poll:4001"))).toBe(true);
  });

  it("leaves the cursor alone when nothing is found", async () => {
    const state = await poll();
    expect(state.outcome).toBe("empty");
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();
  });

  it("keeps the cursor when page 2 answers 500, and the next run completes", async () => {
    seedWorkOrders(store, 25, NOW - 20 * 60_000, { firstId: 500_000 });
    api.plan(() => store.list(new URL(api.calls.at(-1)?.url ?? API_BASE)), reply(500, "upstream down"));
    const failed = await poll({ POLL_PAGE_SIZE: "10" });
    expect(failed).toMatchObject({ outcome: "failed", pages: 1 });
    expect(failed.error).toMatch(/HTTP 500/);
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();

    const next = await poll({ POLL_PAGE_SIZE: "10" }, NOW + 60_000);
    expect(next.outcome).toBe("ok");
    expect(new Set(queuedIds()).size).toBe(25);
    expect(queue.sent).toHaveLength(25); // the 10 from the failed run were deduped, not resent
  });

  it("stops on 429, keeps the cursor, makes no calls until Retry-After passes, then succeeds", async () => {
    seedWorkOrders(store, 5, NOW - 60_000, { firstId: 600_000 });
    api.plan(
      reply(429, "Too many requests. Please retry in 10 seconds", { "retry-after": "120", "x-rate-limit-reset": "30" }),
    );
    const limited = await poll();
    expect(limited.outcome).toBe("rate_limited");
    expect(limited.skippedUntil).toBeTruthy();
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();

    const callsBefore = api.calls.length;
    const skipped = await poll({}, NOW + 60_000);
    expect(skipped.outcome).toBe("skipped_rate_limited");
    expect(api.calls.length).toBe(callsBefore);

    const after = await poll({}, NOW + 121_000);
    expect(after.outcome).toBe("ok");
    expect(after.events).toBe(5);
  });

  it("waits for the later of Retry-After and X-Rate-Limit-Reset", async () => {
    api.plan(reply(429, "", { "retry-after": "5", "x-rate-limit-reset": "90" }));
    const limited = await poll();
    const waitSeconds = (Date.parse(limited.skippedUntil ?? "") - NOW) / 1000;
    expect(waitSeconds).toBe(90);
  });

  it("times out a hanging MaintainX and keeps the cursor", async () => {
    api.plan("hang");
    const state = await poll({ OUTBOUND_TIMEOUT_SECONDS: "1" });
    expect(state.outcome).toBe("failed");
    expect(state.error).toMatch(/no answer within 1 s/);
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();
  });

  it("treats a malformed answer as a failed run", async () => {
    api.plan(reply(200, '{"items":[]}'), reply(200, "not json"));
    expect((await poll()).outcome).toBe("failed");
    expect((await poll({}, NOW + 1)).outcome).toBe("failed");
  });

  it("stops after POLL_MAX_PAGES, saves its place, and the next run goes on from there to the end", async () => {
    const seeded = seedWorkOrders(store, 50, NOW - 30 * 60_000, { firstId: 700_000 });
    const state = await poll({ POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "2" });
    expect(state).toMatchObject({ outcome: "partial", pages: 2, events: 20 });
    // The cursor moves only once the query was read to its end.
    expect(await readCursor(env.IDEMPOTENCY)).toBeNull();
    const calls = api.calls.length;
    const next = await poll({ POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "10" }, NOW + 60_000);
    expect(next).toMatchObject({ outcome: "ok", pages: 3, events: 30 });
    // Same query, from the saved place: page 3 first, not page 1 again.
    const resumedAt = new URL(api.calls[calls]?.url ?? "");
    expect(resumedAt.searchParams.get("cursor")).toBe("20");
    expect(resumedAt.searchParams.get("updatedAt[gte]")).toBe(
      new URL(api.calls[0]?.url ?? "").searchParams.get("updatedAt[gte]"),
    );
    expect(new Set(queuedIds()).size).toBe(50);
    expect(queue.sent).toHaveLength(50);
    expect(await readCursor(env.IDEMPOTENCY)).toBe(seeded[49]?.updatedAt);
  });
});

describe("a backlog longer than one run", () => {
  it("reads an organisation larger than one run to its end when the API ignores updatedAt[gte]", async () => {
    store = createWorkOrderStore({ ignoreDateFilter: true });
    const seeded = seedWorkOrders(store, 55, NOW - 30 * 60_000, { firstId: 710_000 });
    const limits = { POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "2" };
    const outcomes: string[] = [];
    for (let run = 0; run < 3; run++) outcomes.push((await poll(limits, NOW + run * 60_000)).outcome);
    expect(outcomes).toEqual(["partial", "partial", "ok"]);
    expect(new Set(queuedIds()).size).toBe(55);
    expect(await readCursor(env.IDEMPOTENCY)).toBe(seeded[54]?.updatedAt);
  });

  it("fetches the whole tail of a bulk edit: more work orders at one updatedAt than one run reads", async () => {
    const at = NOW - 10 * 60_000;
    const bulk = seedWorkOrders(store, 35, at, { firstId: 720_000, sameInstantEvery: 35 });
    const limits = { POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "2" };
    expect((await poll(limits)).outcome).toBe("partial");
    // Something newer arrives before the next run: the tail at the old instant is still read.
    seedWorkOrders(store, 1, at + 5000, { firstId: 729_000 });
    expect((await poll(limits, NOW + 60_000)).outcome).toBe("ok");
    const ids = new Set(queuedIds());
    for (const wo of bulk) expect(ids.has(`poll:${wo.id}:${wo.updatedAt}`), String(wo.id)).toBe(true);
    expect(ids.size).toBe(36);
  });

  it("starts the query again from the cursor when MaintainX refuses the saved place", async () => {
    seedWorkOrders(store, 30, NOW - 20 * 60_000, { firstId: 730_000 });
    expect((await poll({ POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "1" })).outcome).toBe("partial");
    api.plan(reply(400, '{"errors":[{"error":"Invalid cursor","fieldPath":"cursor"}]}'));
    const next = await poll({ POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "10" }, NOW + 60_000);
    expect(next.outcome).toBe("ok");
    expect(new URL(api.calls.at(-3)?.url ?? "").searchParams.get("cursor")).toBeNull();
    expect(new Set(queuedIds()).size).toBe(30);
  });

  it("never moves the cursor past the run's start for a work order updated in the future", async () => {
    seedWorkOrders(store, 1, NOW + 24 * 3600_000, { firstId: 740_000 });
    expect((await poll()).outcome).toBe("ok");
    expect(await readCursor(env.IDEMPOTENCY)).toBe(new Date(NOW).toISOString());
    // A change made just after the run started is still read by the next run.
    const later = seedWorkOrders(store, 1, NOW + 30_000, { firstId: 741_000 });
    await poll({}, NOW + 60_000);
    expect(queuedIds()).toContain(`poll:${later[0]?.id}:${later[0]?.updatedAt}`);
  });

  it("saves its place when a later page fails, so the next run goes on after what it read", async () => {
    seedWorkOrders(store, 40, NOW - 20 * 60_000, { firstId: 742_000 });
    const list = () => store.list(new URL(api.calls.at(-1)?.url ?? API_BASE));
    api.plan(list, list, reply(429, "", { "retry-after": "30" }));
    expect((await poll({ POLL_PAGE_SIZE: "10" })).outcome).toBe("rate_limited");
    const calls = api.calls.length;
    expect((await poll({ POLL_PAGE_SIZE: "10" }, NOW + 31_000)).outcome).toBe("ok");
    expect(new URL(api.calls[calls]?.url ?? "").searchParams.get("cursor")).toBe("20");
    expect(queue.sent).toHaveLength(40);
  });

  it("drops a saved place that has not moved for over an hour and reads the query again", async () => {
    seedWorkOrders(store, 30, NOW - 20 * 60_000, { firstId: 744_000 });
    expect((await poll({ POLL_PAGE_SIZE: "10", POLL_MAX_PAGES: "1" })).outcome).toBe("partial");
    // The saved place keeps failing in a way that looks temporary (5xx), run after run.
    api.plan(reply(500, "cursor expired"));
    expect((await poll({ POLL_PAGE_SIZE: "10" }, NOW + 60_000)).outcome).toBe("failed");
    await env.DB.prepare("UPDATE poll_resume SET saved_at = ?1")
      .bind(new Date(NOW - 2 * 3600_000).toISOString())
      .run();
    const calls = api.calls.length;
    expect((await poll({ POLL_PAGE_SIZE: "10" }, NOW + 120_000)).outcome).toBe("ok");
    expect(new URL(api.calls[calls]?.url ?? "").searchParams.get("cursor")).toBeNull();
    expect(new Set(queuedIds()).size).toBe(30);
  });
});

describe("what a run sends", () => {
  it("sizes sendBatch in UTF-8 bytes: a page of long CJK titles is queued, and the cursor moves", async () => {
    const title = "保守点検作業".repeat(2000); // 12,000 characters, 36,000 bytes in UTF-8
    const seeded = seedWorkOrders(store, 20, NOW - 5 * 60_000, { firstId: 750_000 });
    for (const wo of seeded) store.put({ ...wo, title });
    const limited = recordingQueue();
    const checked = {
      ...limited,
      async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
        const list = [...messages];
        const bytes = new TextEncoder().encode(JSON.stringify(list.map((m) => m.body))).byteLength;
        if (bytes > 256_000) throw new Error(`sendBatch of ${bytes} bytes is over the 256 KB limit`);
        return limited.sendBatch(list, options);
      },
    } as Queue & { sent: unknown[] };
    const state = await pollWorkOrders(pollEnv({ EVENTS_QUEUE: checked }), { fetch: outbound.fetch, now: () => NOW });
    expect(state).toMatchObject({ outcome: "ok", events: 20 });
    expect(limited.sent).toHaveLength(20);
    expect(await readCursor(env.IDEMPOTENCY)).toBe(seeded[19]?.updatedAt);
  });

  it("marks each sent chunk seen at once: after a later chunk fails, the next run sends only the rest", async () => {
    const title = "点検".repeat(15_000); // 90,000 bytes in UTF-8: two messages per sendBatch at most
    const seeded = seedWorkOrders(store, 6, NOW - 5 * 60_000, { firstId: 760_000 });
    for (const wo of seeded) store.put({ ...wo, title: `${title}${wo.id}` });
    let batches = 0;
    const flaky = {
      ...queue,
      async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
        batches += 1;
        if (batches === 2) throw new Error("Queue send failed: service unavailable");
        return queue.sendBatch(messages, options);
      },
    } as Queue & { sent: unknown[] };
    expect(
      (await pollWorkOrders(pollEnv({ EVENTS_QUEUE: flaky }), { fetch: outbound.fetch, now: () => NOW })).outcome,
    ).toBe("failed");
    const sentFirst = queue.sent.length;
    expect(sentFirst).toBeGreaterThan(0);
    expect((await poll({}, NOW + 60_000)).outcome).toBe("ok");
    // Nothing the first run had sent is sent again.
    expect(queue.sent).toHaveLength(6);
    expect(new Set(queuedIds()).size).toBe(6);
  });
});

describe("rate limits", () => {
  it("caps an epoch-valued X-Rate-Limit-Reset at one hour, and logs the capped value", async () => {
    const warn = vi.spyOn(console, "warn");
    api.plan(reply(429, "", { "x-rate-limit-reset": String(Math.floor(NOW / 1000) + 30) }));
    const limited = await poll();
    expect(limited.outcome).toBe("rate_limited");
    expect((Date.parse(limited.skippedUntil ?? "") - NOW) / 1000).toBe(3600);
    const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: "MaintainX rate-limit wait capped",
        usedSeconds: 3600,
        header: "X-Rate-Limit-Reset",
      }),
    );
    warn.mockRestore();
  });

  it("caps a huge Retry-After at one hour too", async () => {
    api.plan(reply(429, "", { "retry-after": "999999999" }));
    const limited = await poll();
    expect((Date.parse(limited.skippedUntil ?? "") - NOW) / 1000).toBe(3600);
  });
});

describe("when not to poll", () => {
  it("does nothing but log once when MAINTAINX_API_KEY is unset", async () => {
    const logs = vi.spyOn(console, "log");
    const state = await poll({ MAINTAINX_API_KEY: undefined });
    expect(state.outcome).toBe("skipped_no_api_key");
    expect(api.calls).toHaveLength(0);
    expect(logs.mock.calls.flat().filter((l) => String(l).includes("MAINTAINX_API_KEY is not set"))).toHaveLength(1);
  });

  it("does nothing when POLL_MODE is off", async () => {
    expect((await poll({ POLL_MODE: "off" })).outcome).toBe("off");
    expect(api.calls).toHaveLength(0);
  });

  it("never overlaps a run that is still holding the lock", async () => {
    seedWorkOrders(store, 3, NOW - 60_000, { firstId: 800_000 });
    let release: () => void = () => {};
    api.plan(
      () =>
        new Promise<Response>((resolve) => {
          release = () => resolve(store.list(new URL(api.calls.at(-1)?.url ?? API_BASE)));
        }),
    );
    const first = poll();
    await vi.waitFor(() => expect(api.calls).toHaveLength(1));
    const second = await poll();
    expect(second.outcome).toBe("skipped_overlap");
    release();
    expect((await first).outcome).toBe("ok");
  });

  it("in fallback mode skips while webhooks flow and polls once they stop", async () => {
    const receivedAt = new Date(Date.now() - 60_000).toISOString();
    await env.DB.prepare(
      `INSERT INTO events (id, type, source_type, source, received_at, status, attempts, data, updated_at)
       VALUES (?1, 'workorder.created', 'NEW_WORK_ORDER', 'webhook', ?2, 'processed', 1, '{}', ?2)`,
    )
      .bind(`fallback-${Math.random()}`, receivedAt)
      .run();
    seedWorkOrders(store, 2, Date.now() - 30_000, { firstId: 900_000 });
    const flowing = await poll({ POLL_MODE: "fallback", POLL_FALLBACK_AFTER_SECONDS: "300" }, Date.now());
    expect(flowing.outcome).toBe("skipped_webhooks_flowing");
    expect(api.calls).toHaveLength(0);

    const quiet = await poll({ POLL_MODE: "fallback", POLL_FALLBACK_AFTER_SECONDS: "30" }, Date.now());
    expect(quiet.outcome).toBe("ok");
    expect(quiet.events).toBe(2);
  });

  it("records the last run for /admin/status", async () => {
    seedWorkOrders(store, 2, NOW - 60_000, { firstId: 950_000 });
    await poll();
    expect(await readPollState(env.DB)).toMatchObject({
      lastRunAt: new Date(NOW).toISOString(),
      outcome: "ok",
      pages: 1,
      events: 2,
      skippedUntil: null,
    });
  });
});
