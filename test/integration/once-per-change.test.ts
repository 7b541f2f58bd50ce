// Once per real change, whichever path saw it (docs/polling.md; ARCHITECTURE.md, "Once
// per real change"): webhooks and the poller's REST reads of the same creation or completion,
// in either order, concurrently or repeated, cause one Slack post, one ERP POST and one report.
// The consumer and the poller run directly with recording sinks and a fake MaintainX REST API.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/events/canonical";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { createDelivery } from "../../src/ingest/delivery";
import { normaliseDelivery } from "../../src/ingest/normalise";
import { utf8 } from "../../src/lib/bytes";
import { pollWorkOrders } from "../../src/polling/poller";
import { consumeEvents } from "../../src/routing/consumer";
import { POLL_CURSOR_KEY } from "../../src/store/keys";
import { listSideEffects } from "../../src/store/side-effects";
import { getMirroredWorkOrder } from "../../src/store/work-orders";
import { statusChangeBody } from "../helpers/deliveries";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { createWorkOrderStore, type FakeWorkOrder } from "../helpers/fake-work-orders";
import { API_BASE, createOutbound, ERP_URL, reply, SLACK_URL } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

const NOW = Date.parse("2026-11-28T16:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
/** MaintainX dates a webhook a few hundred ms after REST's updatedAt / completedAt of the change. */
const WEBHOOK_LAG_MS = 350;

let outbound: ReturnType<typeof createOutbound>;
let slack: ReturnType<typeof outbound.sink>;
let erp: ReturnType<typeof outbound.sink>;
let api: ReturnType<typeof outbound.sink>;
let store: ReturnType<typeof createWorkOrderStore>;
let reportPuts: string[];

/** A queue that only records: the test hands what the poller sent to the consumer itself. */
function sendOnlyQueue(): Queue & { sent: EventMessage[] } {
  const sent: EventMessage[] = [];
  return {
    sent,
    async send(body: EventMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<EventMessage>>) {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue & { sent: EventMessage[] };
}

function consumerEnv(overrides: Record<string, unknown> = {}): Env {
  const reports = {
    put(key: string, ...rest: unknown[]) {
      reportPuts.push(key);
      return (env.REPORTS.put as (...args: unknown[]) => Promise<unknown>)(key, ...rest);
    },
  };
  return testEnv({
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: "api-key-123",
    MAINTAINX_API_BASE: API_BASE,
    REPORTS: reports,
    POLL_MODE: "always",
    POLL_INITIAL_LOOKBACK_SECONDS: "3600",
    ...overrides,
  });
}

let woSeq = 0;
function uniqueWorkOrderId(): number {
  woSeq += 1;
  return 81_000_000 + woSeq * 17 + Math.floor(Math.random() * 1000) * 100_000;
}

function newWorkOrderBody(id: number, atMs: number, priority = "HIGH") {
  return {
    workOrderId: id,
    orgId: 99411,
    occurredAt: iso(atMs),
    userId: 551201,
    newWorkOrder: { sequentialId: 1043, title: `Belt ${id}`, priority, description: "Line 3 stopped." },
  };
}

const webhookDone = (id: number, restMs: number) =>
  maintainXEvent("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, restMs + WEBHOOK_LAG_MS, "DONE"));

/** The REST record MaintainX holds for a work order. */
function rest(id: number, fields: Partial<FakeWorkOrder> & { updatedAt: string }): FakeWorkOrder {
  const wo: FakeWorkOrder = { id, title: `Pump ${id}`, status: "OPEN", priority: "MEDIUM", ...fields };
  store.put(wo);
  return wo;
}

/** Runs the messages through the consumer until each is acked (a claim held elsewhere retries). */
async function consume(messages: EventMessage[], environment = consumerEnv()): Promise<void> {
  let pending = messages;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 6) throw new Error(`${pending.length} messages still retrying`);
    const results = await Promise.all(
      pending.map(async (message) => ({
        message,
        result: await settle(batchOf([message], attempt), (batch) =>
          consumeEvents(batch, environment, { registry, fetch: outbound.fetch, random: () => 0 }),
        ),
      })),
    );
    pending = results.filter((r) => r.result.retryMessages.length > 0).map((r) => r.message);
  }
}

const consumeEvent = (event: CanonicalEvent, environment?: Env) => consume([messageFor(event)], environment);

/** One poller run at `nowMs`; its messages are consumed unless told otherwise. */
async function pollAt(nowMs: number, options: { consume?: boolean; env?: Env } = {}): Promise<EventMessage[]> {
  const queue = sendOnlyQueue();
  await pollWorkOrders({ ...(options.env ?? consumerEnv()), EVENTS_QUEUE: queue } as Env, {
    fetch: outbound.fetch,
    now: () => nowMs,
  });
  if (options.consume !== false) await consume(queue.sent, options.env);
  return queue.sent;
}

const erpPostsFor = (id: number) =>
  erp.calls.filter((c) => (c.json as { workOrder?: { id?: string } } | undefined)?.workOrder?.id === String(id));
const slackPostsFor = (id: number) =>
  slack.calls.filter((c) => (c.json as { text?: string } | undefined)?.text?.includes(`#${id}:`));
const reportsFor = (id: number) => reportPuts.filter((key) => key === `reports/${id}.json`);

async function eventStatus(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
  return row?.status;
}

beforeEach(async () => {
  await env.IDEMPOTENCY.delete(POLL_CURSOR_KEY);
  await env.DB.prepare("DELETE FROM poll_state").run();
  await env.DB.prepare("DELETE FROM poll_resume").run();
  await env.DB.prepare("DELETE FROM locks").run();
  reportPuts = [];
  store = createWorkOrderStore();
  outbound = createOutbound();
  slack = outbound.sink(SLACK_URL);
  erp = outbound.sink(ERP_URL);
  api = outbound.sink(API_BASE);
  api.fallback = () => {
    const url = new URL(api.calls.at(-1)?.url ?? API_BASE);
    const one = /\/workorders\/(\d+)$/.exec(url.pathname);
    if (!one) return store.list(url);
    const wo = store.workOrders.get(Number(one[1]));
    return wo ? Response.json({ workOrder: wo }) : Response.json({ error: "not found" }, { status: 404 });
  };
});

describe("a completion seen by a webhook and by the poller", () => {
  it("webhook DONE then poll DONE: one ERP POST, one report, both events processed", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 120_000;
    const hook = await webhookDone(id, doneAt);
    await consumeEvent(hook);
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const polled = await pollAt(NOW);

    const completion = polled.find((m) => m.event.type === "workorder.completed");
    expect(completion?.event.id).toBe(`poll:${id}:DONE:${iso(doneAt)}`);
    expect(erpPostsFor(id)).toHaveLength(1);
    expect(erpPostsFor(id)[0]?.headers["idempotency-key"]).toBe(hook.id);
    expect(reportsFor(id)).toHaveLength(1);
    expect(await eventStatus(hook.id)).toBe("processed");
    expect(await eventStatus(completion?.event.id ?? "")).toBe("processed");
    // The poll's completion shows the shared outcome of the webhook's ERP sync.
    const outcomes = await listSideEffects(env.DB, completion?.event.id ?? "");
    expect(outcomes.find((o) => o.handler === "erp-sync")).toMatchObject({ status: "done", attempts: 1 });
  });

  it("poll DONE then the late webhook: one ERP POST, one report", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 30_000;
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await pollAt(NOW);
    expect(erpPostsFor(id)).toHaveLength(1);
    const hook = await webhookDone(id, doneAt);
    await consumeEvent(hook);
    expect(erpPostsFor(id)).toHaveLength(1);
    expect(reportsFor(id)).toHaveLength(1);
    expect(await eventStatus(hook.id)).toBe("processed");
  });

  it("20 concurrent copies mixing the webhook and poll events of one completion: one ERP POST", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const polled = await pollAt(NOW, { consume: false });
    const completion = polled.find((m) => m.event.type === "workorder.completed");
    if (!completion) throw new Error("the poll derived no completion");
    const hook = messageFor(await webhookDone(id, doneAt));
    await consume(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? hook : completion)));
    expect(erpPostsFor(id)).toHaveLength(1);
    expect(reportsFor(id)).toHaveLength(1);
    expect(await eventStatus(hook.event.id)).toBe("processed");
    expect(await eventStatus(completion.event.id)).toBe("processed");
  });

  it("repeated polls and a retried webhook delivery of one completion: still one ERP POST", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const hook = await webhookDone(id, doneAt);
    await consumeEvent(hook);
    await pollAt(NOW);
    await consumeEvent(hook);
    // A later run from the same cursor reads the work order again (updatedAt ≥ cursor).
    await pollAt(NOW + 60_000);
    await pollAt(NOW + 120_000);
    expect(erpPostsFor(id)).toHaveLength(1);
    expect(reportsFor(id)).toHaveLength(1);
  });
});

describe("a work order done more than once", () => {
  it("DONE, reopened, DONE again: two ERP POSTs, the second found by the poll when its webhook is lost", async () => {
    const id = uniqueWorkOrderId();
    const firstDone = NOW - 240_000;
    await consumeEvent(await webhookDone(id, firstDone));
    rest(id, { status: "DONE", updatedAt: iso(firstDone), completedAt: iso(firstDone) });
    await pollAt(NOW - 200_000);
    // Reopened 20 s later (by webhook), done again 20 s after that: that webhook is lost.
    await consumeEvent(
      await maintainXEvent(
        "WORK_ORDER_STATUS_CHANGE",
        statusChangeBody(id, firstDone + 20_000 + WEBHOOK_LAG_MS, "OPEN"),
      ),
    );
    const secondDone = firstDone + 40_000;
    rest(id, { status: "DONE", updatedAt: iso(secondDone), completedAt: iso(secondDone) });
    await pollAt(NOW);
    expect(erpPostsFor(id)).toHaveLength(2);
    expect(reportsFor(id)).toHaveLength(2);
    // Its webhook, arriving late after all, adds nothing.
    await consumeEvent(await webhookDone(id, secondDone));
    expect(erpPostsFor(id)).toHaveLength(2);
  });

  it("DONE, reopened, DONE again, all by webhook and all polled: two ERP POSTs", async () => {
    const id = uniqueWorkOrderId();
    const firstDone = NOW - 300_000;
    const secondDone = NOW - 100_000;
    await consumeEvent(await webhookDone(id, firstDone));
    rest(id, { status: "DONE", updatedAt: iso(firstDone), completedAt: iso(firstDone) });
    await pollAt(NOW - 280_000);
    await consumeEvent(
      await maintainXEvent(
        "WORK_ORDER_STATUS_CHANGE",
        statusChangeBody(id, NOW - 200_000 + WEBHOOK_LAG_MS, "IN_PROGRESS"),
      ),
    );
    rest(id, { status: "IN_PROGRESS", updatedAt: iso(NOW - 200_000) });
    await pollAt(NOW - 150_000);
    await consumeEvent(await webhookDone(id, secondDone));
    rest(id, { status: "DONE", updatedAt: iso(secondDone), completedAt: iso(secondDone) });
    await pollAt(NOW);
    expect(erpPostsFor(id)).toHaveLength(2);
  });

  it("an edit of a work order that stays done is no new completion", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 600_000;
    await consumeEvent(await webhookDone(id, doneAt));
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await pollAt(NOW - 590_000);
    // Renamed five minutes later: a WORK_ORDER_CHANGE webhook and a new REST updatedAt.
    await consumeEvent(
      await maintainXEvent("WORK_ORDER_CHANGE", {
        workOrderId: id,
        orgId: 99411,
        occurredAt: iso(NOW - 300_000 + WEBHOOK_LAG_MS),
        userId: 551877,
        newWorkOrder: { title: `Pump ${id} (renamed)` },
      }),
    );
    rest(id, {
      status: "DONE",
      title: `Pump ${id} (renamed)`,
      updatedAt: iso(NOW - 300_000),
      completedAt: iso(doneAt),
    });
    const polled = await pollAt(NOW);
    expect(polled.map((m) => m.event.type)).toEqual(["workorder.updated"]);
    expect(erpPostsFor(id)).toHaveLength(1);
    expect((await getMirroredWorkOrder(env.DB, String(id)))?.title).toBe(`Pump ${id} (renamed)`);
  });

  it("an edit of a done work order is no new completion when REST gives no completedAt", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 600_000;
    await consumeEvent(await webhookDone(id, doneAt));
    rest(id, { status: "DONE", updatedAt: iso(doneAt) });
    await pollAt(NOW - 590_000);
    rest(id, { status: "DONE", title: "renamed", updatedAt: iso(NOW - 300_000) });
    const polled = await pollAt(NOW);
    // Without completedAt the poll cannot tell an edit from a completion: its ending resolves to
    // the one already seen, because no reopen was seen since.
    expect(polled.map((m) => m.event.type)).toContain("workorder.completed");
    expect(erpPostsFor(id)).toHaveLength(1);
  });
});

describe("cancel and skip by both paths", () => {
  it("cancelled by webhook, then polled CANCELED: no ERP POST, no report, the mirror CANCELED", async () => {
    const id = uniqueWorkOrderId();
    const at = NOW - 60_000;
    const hook = await maintainXEvent(
      "WORK_ORDER_STATUS_CHANGE",
      statusChangeBody(id, at + WEBHOOK_LAG_MS, "DONE", "CANCELED"),
    );
    await consumeEvent(hook);
    rest(id, { status: "CANCELED", updatedAt: iso(at), completedAt: iso(at) });
    const polled = await pollAt(NOW);
    expect(polled.map((m) => m.event.type).sort()).toEqual(["workorder.canceled", "workorder.updated"]);
    expect(erpPostsFor(id)).toHaveLength(0);
    expect(reportsFor(id)).toHaveLength(0);
    expect((await getMirroredWorkOrder(env.DB, String(id)))?.status).toBe("CANCELED");
    for (const m of polled) expect(await eventStatus(m.event.id)).toBe("processed");
  });
});

describe("a creation seen by a webhook and by the poller", () => {
  it("a HIGH work order whose NEW_WORK_ORDER was lost is alerted once from the poll; the late webhook adds none", async () => {
    const id = uniqueWorkOrderId();
    const createdAt = NOW - 90_000;
    rest(id, { title: `Belt ${id}`, priority: "HIGH", createdAt: iso(createdAt), updatedAt: iso(createdAt) });
    const polled = await pollAt(NOW);
    expect(polled.map((m) => m.event.id)).toContain(`poll:${id}:created`);
    expect(slackPostsFor(id)).toHaveLength(1);

    const late = await maintainXEvent("NEW_WORK_ORDER", newWorkOrderBody(id, createdAt + WEBHOOK_LAG_MS));
    await consumeEvent(late);
    expect(slackPostsFor(id)).toHaveLength(1);
    expect(await eventStatus(late.id)).toBe("processed");
    const outcomes = await listSideEffects(env.DB, late.id);
    expect(outcomes.map((o) => `${o.handler}:${o.status}`).sort()).toEqual(["slack-alert:done", "warehouse:done"]);
  });

  it("NEW_WORK_ORDER by webhook, then the poll of the new work order: one Slack post", async () => {
    const id = uniqueWorkOrderId();
    const createdAt = NOW - 90_000;
    await consumeEvent(await maintainXEvent("NEW_WORK_ORDER", newWorkOrderBody(id, createdAt + WEBHOOK_LAG_MS)));
    rest(id, { title: `Belt ${id}`, priority: "HIGH", createdAt: iso(createdAt), updatedAt: iso(createdAt) });
    await pollAt(NOW);
    await pollAt(NOW + 60_000);
    expect(slackPostsFor(id)).toHaveLength(1);
  });
});

describe("a first run", () => {
  it("recovers the window's creations and completions and nothing older", async () => {
    const fresh = uniqueWorkOrderId();
    const oldDoneEdited = uniqueWorkOrderId();
    const doneInWindow = uniqueWorkOrderId();
    rest(fresh, { priority: "HIGH", createdAt: iso(NOW - 600_000), updatedAt: iso(NOW - 600_000) });
    rest(oldDoneEdited, {
      status: "DONE",
      createdAt: iso(NOW - 3 * 3600_000),
      completedAt: iso(NOW - 2 * 3600_000),
      updatedAt: iso(NOW - 300_000),
    });
    rest(doneInWindow, {
      status: "DONE",
      createdAt: iso(NOW - 5 * 3600_000),
      completedAt: iso(NOW - 1200_000),
      updatedAt: iso(NOW - 1200_000),
    });
    const polled = await pollAt(NOW);
    expect(polled.map((m) => `${m.event.workOrderId}:${m.event.type}`).sort()).toEqual(
      [
        `${fresh}:workorder.updated`,
        `${fresh}:workorder.created`,
        `${oldDoneEdited}:workorder.updated`,
        `${doneInWindow}:workorder.updated`,
        `${doneInWindow}:workorder.completed`,
      ].sort(),
    );
    expect(slackPostsFor(fresh)).toHaveLength(1);
    expect(erpPostsFor(oldDoneEdited)).toHaveLength(0);
    expect(erpPostsFor(doneInWindow)).toHaveLength(1);
    // The ERP gets the REST work order as it is.
    expect(erpPostsFor(doneInWindow)[0]?.json).toMatchObject({
      workOrder: { id: String(doneInWindow), status: "DONE", completedAt: iso(NOW - 1200_000) },
    });
  });
});

describe("the mirror after a poll", () => {
  it("holds the REST version though the webhook of the same change came first", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    await consumeEvent(await webhookDone(id, doneAt));
    // REST: the same change, a few hundred ms earlier than the webhook's occurredAt.
    rest(id, {
      status: "DONE",
      title: "Pump (REST title)",
      priority: "HIGH",
      updatedAt: iso(doneAt),
      completedAt: iso(doneAt),
    });
    await pollAt(NOW);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({
      status: "DONE",
      title: "Pump (REST title)",
      priority: "HIGH",
      updatedAt: iso(doneAt),
    });
  });

  it("is never set back by a stale poll of an older version", async () => {
    const id = uniqueWorkOrderId();
    rest(id, { status: "IN_PROGRESS", title: "old", updatedAt: iso(NOW - 600_000) });
    const stale = await pollAt(NOW - 590_000, { consume: false });
    await consumeEvent(await webhookDone(id, NOW - 60_000));
    await consume(stale);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ status: "DONE", title: `Pump ${id}` });
  });
});

describe("webhooks only (no MAINTAINX_API_KEY)", () => {
  it("posts once per completion delivery, and not again for a retried delivery", async () => {
    const webhookOnly = consumerEnv({ MAINTAINX_API_KEY: undefined });
    const id = uniqueWorkOrderId();
    const first = await webhookDone(id, NOW - 300_000);
    await consumeEvent(first, webhookOnly);
    await consumeEvent(first, webhookOnly);
    await consumeEvent(
      await maintainXEvent("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, NOW - 200_000, "OPEN")),
      webhookOnly,
    );
    await consumeEvent(await webhookDone(id, NOW - 100_000), webhookOnly);
    expect(erpPostsFor(id)).toHaveLength(2);
    expect(reportsFor(id)).toHaveLength(2);
    expect(api.calls).toHaveLength(0);
    // The poller does nothing without a key.
    await pollAt(NOW, { env: webhookOnly });
    expect(api.calls).toHaveLength(0);
  });
});

describe("replays", () => {
  it("re-run a failed ERP sync once, and no replay of either path posts a completion twice", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    erp.plan(reply(400, '{"error":"rejected"}'));
    const hook = await webhookDone(id, doneAt);
    await consumeEvent(hook);
    expect(await eventStatus(hook.id)).toBe("failed");

    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const polled = await pollAt(NOW);
    const completion = polled.find((m) => m.event.type === "workorder.completed");
    if (!completion) throw new Error("the poll derived no completion");
    // The same completion failed already: the poll's event shares that outcome, it does not retry it.
    expect(erpPostsFor(id)).toHaveLength(1);
    expect(await eventStatus(completion.event.id)).toBe("failed");

    await consume([{ ...messageFor(hook), replay: true }]);
    expect(erpPostsFor(id)).toHaveLength(2);
    expect(await eventStatus(hook.id)).toBe("processed");

    await consume([{ ...completion, replay: true }]);
    await consume([{ ...messageFor(hook), replay: true }]);
    expect(erpPostsFor(id)).toHaveLength(2);
    expect(reportsFor(id)).toHaveLength(1);
    expect(await eventStatus(completion.event.id)).toBe("processed");
  });
});

describe("an effect taken over by the other path's event", () => {
  const once = (message: EventMessage, attempt = 1) =>
    settle(batchOf([message], attempt), (batch) =>
      consumeEvents(batch, consumerEnv(), { registry, fetch: outbound.fetch, random: () => 0 }),
    );

  it("a timed-out ERP POST whose claim the poll's event takes over is sent again under the same Idempotency-Key", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    // The webhook's POST may have reached the ERP: the connection drops before the answer.
    erp.plan("network-error");
    const hook = await webhookDone(id, doneAt);
    expect((await once(messageFor(hook))).retryMessages).toHaveLength(1);
    // Before the webhook's retry, the poller reports the same completion and its event runs it.
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await pollAt(NOW);
    await consumeEvent(hook);

    const posts = erpPostsFor(id);
    expect(posts.map((c) => c.headers["idempotency-key"])).toEqual([hook.id, hook.id]);
    expect(posts.map((c) => (c.json as { eventId: string }).eventId)).toEqual([hook.id, hook.id]);
  });
});

describe("an ending event without occurredAt", () => {
  async function seedEvent(body: Record<string, unknown>, receivedAt: Date): Promise<CanonicalEvent> {
    const delivery = await createDelivery({
      body: utf8.encode(JSON.stringify(body)),
      pathType: undefined,
      scheme: "seed",
      headers: new Headers(),
      receivedAt,
    });
    return (await normaliseDelivery(delivery)).event;
  }

  it("a seed completion without a timestamp, arriving 5 minutes after the poll saw it, is timed by its completedAt: one ERP POST", async () => {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await pollAt(NOW);
    expect(erpPostsFor(id)).toHaveLength(1);
    const late = await seedEvent(
      {
        event: "workorder.completed",
        data: { id, title: `Pump ${id}`, status: "COMPLETED", updatedAt: iso(doneAt), completedAt: iso(doneAt) },
      },
      new Date(doneAt + 300_000),
    );
    expect(late.occurredAt).toBeUndefined();
    await consumeEvent(late);
    expect(erpPostsFor(id)).toHaveLength(1);
  });
});

describe("the status of every event of a change", () => {
  /** A completion whose ERP sync failed for good under the webhook's event, then polled. */
  async function failedCompletionSeenByBothPaths() {
    const id = uniqueWorkOrderId();
    const doneAt = NOW - 60_000;
    erp.plan(reply(400, '{"error":"rejected"}'));
    const hook = await webhookDone(id, doneAt);
    await consumeEvent(hook);
    rest(id, { status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const completion = (await pollAt(NOW)).find((m) => m.event.type === "workorder.completed");
    if (!completion) throw new Error("the poll derived no completion");
    return { id, hook, completion };
  }

  it("a replay that re-ran a failed ERP sync settles the poll's event of the same completion as processed too", async () => {
    const { id, hook, completion } = await failedCompletionSeenByBothPaths();
    // The poll's event shares the failed claim, so it is failed too.
    expect(await eventStatus(completion.event.id)).toBe("failed");

    await consume([{ ...messageFor(hook), replay: true }]);
    expect(erpPostsFor(id)).toHaveLength(2);
    expect(await eventStatus(hook.id)).toBe("processed");
    expect(await eventStatus(completion.event.id)).toBe("processed");
  });

  it("leaves failed an event of the change whose own handler failed", async () => {
    const { hook, completion } = await failedCompletionSeenByBothPaths();
    // Its own (per-event) warehouse claim failed as well.
    await env.DB.prepare("UPDATE side_effects SET status = 'failed' WHERE event_id = ?1 AND handler = 'warehouse'")
      .bind(completion.event.id)
      .run();

    await consume([{ ...messageFor(hook), replay: true }]);
    expect(await eventStatus(hook.id)).toBe("processed");
    expect(await eventStatus(completion.event.id)).toBe("failed");
  });
});
