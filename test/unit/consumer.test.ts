// The queue consumer (docs/events.md): which messages are acked or retried, with what delay, and what
// each sink received. Outbound HTTP goes to recording sinks; KV, D1 and R2 are Miniflare's.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { CanonicalEvent } from "../../src/events/canonical";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { consumeDeadLetters } from "../../src/routing/dead-letter";
import { listSideEffects } from "../../src/store/side-effects";
import { getMirroredWorkOrder } from "../../src/store/work-orders";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import workOrderDelete from "../fixtures/work-order-delete.json";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { API_BASE, consumerSinks, ERP_URL, SLACK_URL, workOrderAnswer } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

let { outbound, slack, erp, api } = consumerSinks();

const configured = testEnv({
  SLACK_WEBHOOK_URL: SLACK_URL,
  ERP_WEBHOOK_URL: ERP_URL,
  MAINTAINX_API_KEY: "api-key-123",
  MAINTAINX_ORGANIZATION_ID: "99411",
  MAINTAINX_API_BASE: API_BASE,
  // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
  RETRY_SCHEDULE: "",
  RETRY_BASE_SECONDS: "10",
});

let woSeq = 0;
function uniqueWorkOrderId(): number {
  woSeq += 1;
  return 70_000_000 + woSeq * 13 + Math.floor(Math.random() * 1000) * 100_000;
}

function highPriorityCreated(id = uniqueWorkOrderId(), priority = "HIGH") {
  return { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id, priority } };
}

function doneChange(id = uniqueWorkOrderId()) {
  return { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
}

async function run(bodies: unknown[], attempts = 1, environment: Env = configured) {
  return settle(batchOf(bodies, attempts), (batch) =>
    consumeEvents(batch, environment, { registry, fetch: outbound.fetch, random: () => 0 }),
  );
}

async function eventRow(id: string) {
  return env.DB.prepare("SELECT status, attempts, last_error, next_attempt_at FROM events WHERE id = ?1")
    .bind(id)
    .first<{ status: string; attempts: number; last_error: string | null; next_attempt_at: string | null }>();
}

beforeEach(() => {
  ({ outbound, slack, erp, api } = consumerSinks());
});

describe("Slack alert for HIGH priority work orders", () => {
  it("posts one Slack message naming the id and escaped title, mirrors the work order, and acks", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor(event)]);

    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    expect(slack.calls).toHaveLength(1);
    const call = slack.calls[0];
    expect(call?.method).toBe("POST");
    expect(call?.headers["content-type"]).toBe("application/json");
    const text = (call?.json as { text: string } | undefined)?.text;
    expect(text).toContain(`#${event.workOrderId}`);
    expect(text).toContain("Replace conveyor belt &lt;B7&gt; &amp; check rollers");
    expect(api.calls).toHaveLength(0);

    expect(await eventRow(event.id)).toMatchObject({ status: "processed", attempts: 1 });
    const mirror = await getMirroredWorkOrder(env.DB, event.workOrderId as string);
    // MaintainX's newWorkOrder carries no status: the mirror has none until an event or a poll says it.
    expect(mirror).toMatchObject({ title: newWorkOrder.newWorkOrder.title, priority: "HIGH", status: null });
  });

  it("skips a LOW priority work order without calling Slack", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated(undefined, "LOW"));
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(0);
    const outcomes = await listSideEffects(env.DB, event.id);
    expect(outcomes.find((o) => o.handler === "slack-alert")).toMatchObject({ status: "skipped" });
  });

  it("skips with a log line when SLACK_WEBHOOK_URL is unset", async () => {
    const logs = vi.spyOn(console, "log");
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor(event)], 1, testEnv({ ...configured, SLACK_WEBHOOK_URL: undefined }));
    expect(result.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(0);
    expect(logs.mock.calls.flat().join("\n")).toMatch(/SLACK_WEBHOOK_URL is not set/);
    expect(await eventRow(event.id)).toMatchObject({ status: "processed" });
  });

  it("retries a Slack 500 with exponential backoff and posts exactly once when Slack recovers", async () => {
    slack.plan(new Response("oops", { status: 500 }), new Response("oops", { status: 503 }));
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());

    const before = Date.now();
    const first = await run([messageFor(event)], 1);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 10 }]);
    const retrying = await eventRow(event.id);
    expect(retrying).toMatchObject({ status: "retrying", last_error: expect.stringContaining("HTTP 500") });
    // The next attempt is due when the queue brings the message back, 10 s on.
    const due = Date.parse(retrying?.next_attempt_at ?? "");
    expect(due).toBeGreaterThanOrEqual(before + 10_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 10_000);

    const second = await run([messageFor(event)], 2);
    expect(second.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 20 }]);

    const third = await run([messageFor(event)], 3);
    expect(third.explicitAcks).toHaveLength(1);
    expect(third.retryMessages).toHaveLength(0);

    expect(slack.calls).toHaveLength(3);
    const outcomes = await listSideEffects(env.DB, event.id);
    expect(outcomes.find((o) => o.handler === "slack-alert")).toMatchObject({ status: "done", attempts: 3 });
    // The mirror write succeeded on the first delivery and was not repeated.
    expect(outcomes.find((o) => o.handler === "warehouse")).toMatchObject({ status: "done", attempts: 1 });
    expect(await eventRow(event.id)).toMatchObject({ status: "processed", attempts: 3 });
  });

  it("adds up to 25% jitter and caps the delay at 43,200 s", async () => {
    slack.plan(new Response("", { status: 500 }), new Response("", { status: 500 }));
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const jittered = await settle(batchOf([messageFor(event)], 1), (batch) =>
      consumeEvents(batch, configured, { registry, fetch: outbound.fetch, random: () => 0.999 }),
    );
    expect(jittered.retryMessages[0]?.delaySeconds).toBe(13);

    const twelveHours = testEnv({ ...configured, RETRY_SCHEDULE: "1m,12h" });
    const late = await settle(batchOf([messageFor(event)], 2), (batch) =>
      consumeEvents(batch, twelveHours, { registry, fetch: outbound.fetch, random: () => 0.999 }),
    );
    expect(late.retryMessages[0]?.delaySeconds).toBe(43_200);
  });

  it("honours a longer Retry-After from a 429", async () => {
    slack.plan(new Response("rate limited", { status: 429, headers: { "retry-after": "120" } }));
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor(event)], 1);
    expect(result.retryMessages[0]?.delaySeconds).toBe(120);
  });

  it("retries a network error and a timeout as transient failures", async () => {
    slack.plan("network-error", "hang");
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const fast = testEnv({ ...configured, OUTBOUND_TIMEOUT_SECONDS: "1" });
    expect((await run([messageFor(event)], 1, fast)).retryMessages).toHaveLength(1);
    expect((await run([messageFor(event)], 2, fast)).retryMessages).toHaveLength(1);
    const outcomes = await listSideEffects(env.DB, event.id);
    const slackOutcome = outcomes.find((o) => o.handler === "slack-alert");
    expect(slackOutcome?.lastError).toMatch(/Slack: no answer within 1 s/);
    expect(slackOutcome?.lastError).not.toContain("secret-slack-token");
  });

  it("records a Slack 404 as a permanent failure and acks without retrying", async () => {
    slack.plan(new Response("no_service", { status: 404 }));
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor(event)], 1);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    expect(await eventRow(event.id)).toMatchObject({ status: "failed" });
    expect((await eventRow(event.id))?.last_error).toMatch(/slack-alert: .*HTTP 404 no_service/);
  });
});

describe("effectively once", () => {
  it("posts once for two copies of an event in one batch and acks both", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor(event), messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(slack.calls).toHaveLength(1);
  });

  it("does not post again when a copy arrives in a later batch", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    await run([messageFor(event)]);
    const later = await run([messageFor(event)]);
    expect(later.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);
  });

  it("posts once when batches with the same event are consumed concurrently", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    slack.plan(async () => {
      await new Promise((r) => setTimeout(r, 50));
      return new Response("ok");
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => run([messageFor(event)])));
    expect(slack.calls).toHaveLength(1);
    // Copies that found the claim held are retried, never acked before the effect is known.
    const acked = results.reduce((n, r) => n + r.explicitAcks.length, 0);
    const retried = results.reduce((n, r) => n + r.retryMessages.length, 0);
    expect(acked + retried).toBe(5);
    // Their retry finds the work done and acks without posting again.
    const again = await run([messageFor(event)], 2);
    expect(again.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);
  });

  it("does not re-run a handler that succeeded when a sibling failed and the message is retried", async () => {
    erp.plan(new Response("busy", { status: 503 }));
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", doneChange());
    const first = await run([messageFor(event)], 1);
    expect(first.retryMessages).toHaveLength(1);
    const second = await run([messageFor(event)], 2);
    expect(second.explicitAcks).toHaveLength(1);

    expect(erp.calls).toHaveLength(2);
    const outcomes = await listSideEffects(env.DB, event.id);
    expect(outcomes.find((o) => o.handler === "erp-sync")).toMatchObject({ status: "done", attempts: 2 });
    expect(outcomes.find((o) => o.handler === "completion-report")).toMatchObject({ status: "done", attempts: 1 });
    expect(outcomes.find((o) => o.handler === "warehouse")).toMatchObject({ status: "done", attempts: 1 });
  });
});

describe("completion: ERP sync and report", () => {
  it("sends one ERP POST with Idempotency-Key and writes the HTML and JSON report", async () => {
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", doneChange());
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);

    expect(erp.calls).toHaveLength(1);
    const call = erp.calls[0];
    expect(call?.method).toBe("POST");
    expect(call?.headers["idempotency-key"]).toBe(event.id);
    expect(call?.json).toMatchObject({
      eventId: event.id,
      workOrder: { id: event.workOrderId, status: "DONE", title: statusDone.newWorkOrder.title },
    });
    expect(slack.calls).toHaveLength(0);

    const json = await env.REPORTS.get(`reports/${event.workOrderId}.json`);
    expect(JSON.parse((await json?.text()) ?? "{}")).toMatchObject({
      workOrderId: event.workOrderId,
      status: "DONE",
      // A delivery carries no completedAt (REST does): the report dates the completion by the event.
      completedAt: statusDone.occurredAt,
      eventId: event.id,
    });
    const html = await env.REPORTS.get(`reports/${event.workOrderId}.html`);
    expect(html?.httpMetadata?.contentType).toMatch(/text\/html/);
    const page = (await html?.text()) ?? "";
    expect(page).toContain("Replace conveyor belt &#60;B7&#62; &#38; check rollers");
    expect(page).not.toContain("<B7>");

    expect(await getMirroredWorkOrder(env.DB, event.workOrderId as string)).toMatchObject({ status: "DONE" });
  });

  it("records an ERP 400 as failed, acks, and does not retry", async () => {
    erp.plan(new Response('{"error":"unknown work order"}', { status: 400 }));
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", doneChange());
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    expect(erp.calls).toHaveLength(1);
    const row = await eventRow(event.id);
    expect(row?.status).toBe("failed");
    expect(row?.last_error).toMatch(/erp-sync: .*HTTP 400/);
    // A redelivered copy does not hammer the ERP again.
    await run([messageFor(event)], 2);
    expect(erp.calls).toHaveLength(1);
  });

  it("does not treat a status change to IN_PROGRESS as a completion", async () => {
    const body = { ...doneChange(), newStatus: "IN_PROGRESS", newWorkOrder: undefined };
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", body);
    await run([messageFor(event)]);
    expect(erp.calls).toHaveLength(0);
    expect(await env.REPORTS.head(`reports/${event.workOrderId}.json`)).toBeNull();
  });

  it("routes the seed format's COMPLETED status as a completion", async () => {
    const id = `WO-${uniqueWorkOrderId()}`;
    const event: CanonicalEvent = {
      id: `seed-${id}`,
      type: "workorder.status_changed",
      sourceType: "workorder.status_changed",
      source: "webhook",
      workOrderId: id,
      receivedAt: new Date().toISOString(),
      data: { id, title: "Boiler", status: "COMPLETED", updatedAt: "2026-11-28T10:00:00Z" },
    };
    await run([messageFor(event)]);
    expect(erp.calls).toHaveLength(1);
    expect((erp.calls[0]?.json as { workOrder: { status: string } } | undefined)?.workOrder.status).toBe("DONE");
  });
});

describe("MaintainX enrichment", () => {
  const bare = (id: number) => ({ workOrderId: id, orgId: 99411, occurredAt: "2026-11-28T09:15:02.417Z" });

  it("fetches GET /workorders/{id} with Bearer auth when the payload carries only the id", async () => {
    const id = uniqueWorkOrderId();
    api.plan(
      workOrderAnswer({
        id,
        title: "Fix <valve>",
        priority: "HIGH",
        status: "OPEN",
        updatedAt: "2026-11-28T09:15:03Z",
      }),
    );
    const event = await maintainXEvent("NEW_WORK_ORDER", bare(id));
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]?.url).toBe(`${API_BASE}/workorders/${id}`);
    expect(api.calls[0]?.headers.authorization).toBe("Bearer api-key-123");
    expect(api.calls[0]?.headers["x-organization-id"]).toBe("99411");
    expect(slack.calls).toHaveLength(1);
    expect((slack.calls[0]?.json as { text: string } | undefined)?.text).toContain("Fix &lt;valve&gt;");
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ title: "Fix <valve>" });
  });

  it.each([
    [401, "failed"],
    [404, "failed"],
  ])("records a MaintainX %i as a permanent failure", async (status, expected) => {
    api.plan(new Response("{}", { status }));
    const event = await maintainXEvent("NEW_WORK_ORDER", bare(uniqueWorkOrderId()));
    const result = await run([messageFor(event)]);
    expect(result.retryMessages).toHaveLength(0);
    expect((await eventRow(event.id))?.status).toBe(expected);
    if (status === 401) expect((await eventRow(event.id))?.last_error).toMatch(/MAINTAINX_API_KEY/);
    expect(slack.calls).toHaveLength(0);
  });

  it("retries a MaintainX 500 and an unreadable answer", async () => {
    api.plan(new Response("down", { status: 500 }), new Response("<html>", { status: 200 }));
    const event = await maintainXEvent("NEW_WORK_ORDER", bare(uniqueWorkOrderId()));
    expect((await run([messageFor(event)], 1)).retryMessages).toHaveLength(1);
    expect((await run([messageFor(event)], 2)).retryMessages).toHaveLength(1);
    expect(api.calls).toHaveLength(2);
    expect(slack.calls).toHaveLength(0);
  });

  it("skips enrichment-dependent work with a log line when no API key is configured", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", bare(uniqueWorkOrderId()));
    const result = await run([messageFor(event)], 1, testEnv({ ...configured, MAINTAINX_API_KEY: undefined }));
    expect(result.explicitAcks).toHaveLength(1);
    expect(api.calls).toHaveLength(0);
    const outcomes = await listSideEffects(env.DB, event.id);
    expect(outcomes.map((o) => o.status)).toEqual(["skipped", "skipped"]);
    expect(await eventRow(event.id)).toMatchObject({ status: "processed" });
  });
});

describe("work-order mirror", () => {
  it("never overwrites newer data with an older update that arrives later", async () => {
    const id = uniqueWorkOrderId();
    const at = (updatedAt: string, title: string, status: string) => ({
      workOrderId: id,
      orgId: 1,
      occurredAt: updatedAt,
      newWorkOrder: { id, title, status, priority: "LOW", updatedAt },
    });
    const newer = await maintainXEvent("WORK_ORDER_CHANGE", at("2026-11-28T12:00:00Z", "Newer title", "IN_PROGRESS"));
    const older = await maintainXEvent("WORK_ORDER_CHANGE", at("2026-11-28T11:00:00Z", "Older title", "OPEN"));
    await run([messageFor(newer)]);
    await run([messageFor(older)]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({
      title: "Newer title",
      status: "IN_PROGRESS",
      updatedAt: "2026-11-28T12:00:00Z",
      lastEventId: newer.id,
    });
  });

  it("applies a status-only change without losing the title, and marks a deletion", async () => {
    const id = uniqueWorkOrderId();
    await run([messageFor(await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated(id, "LOW")))]);
    const change = {
      workOrderId: id,
      orgId: 1,
      occurredAt: "2026-11-28T12:30:00Z",
      oldStatus: "OPEN",
      newStatus: "ON_HOLD",
    };
    await run([messageFor(await maintainXEvent("WORK_ORDER_STATUS_CHANGE", change))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({
      status: "ON_HOLD",
      title: newWorkOrder.newWorkOrder.title,
      deleted: false,
    });

    const deletion = { ...workOrderDelete, workOrderId: id, occurredAt: "2026-11-28T13:00:00Z" };
    await run([messageFor(await maintainXEvent("WORK_ORDER_DELETE", deletion))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ deleted: true, status: "ON_HOLD" });
  });
});

describe("deletions in the mirror", () => {
  /** A polled REST record, as the poller queues it. */
  const polled = (id: number, wo: Record<string, unknown> & { updatedAt: string }): CanonicalEvent => ({
    id: `poll:${id}:${wo.updatedAt}`,
    type: "workorder.updated",
    sourceType: "WORK_ORDER_POLL",
    source: "poll",
    workOrderId: String(id),
    occurredAt: wo.updatedAt,
    receivedAt: new Date().toISOString(),
    data: { id, title: "Polled", status: "OPEN", priority: "LOW", ...wo },
  });

  async function deleted(id: number, at: string) {
    await run([messageFor(await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated(id, "LOW")))]);
    const deletion = { ...workOrderDelete, workOrderId: id, occurredAt: at };
    await run([messageFor(await maintainXEvent("WORK_ORDER_DELETE", deletion))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ deleted: true });
  }

  it("keeps a work order deleted when a poll snapshot of the same version arrives after the deletion", async () => {
    const id = uniqueWorkOrderId();
    await deleted(id, "2026-11-28T13:00:00.000Z");
    await run([messageFor(polled(id, { updatedAt: "2026-11-28T13:00:00.000Z" }))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ deleted: true });
  });

  it("marks a work order deleted when its REST record carries deletedAt", async () => {
    const id = uniqueWorkOrderId();
    const at = "2026-11-28T14:00:00.000Z";
    await run([messageFor(polled(id, { updatedAt: at, deletedAt: at }))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ deleted: true });
  });

  it("undeletes only on a strictly newer version that says it is not deleted", async () => {
    const id = uniqueWorkOrderId();
    await deleted(id, "2026-11-28T13:00:00.000Z");
    await run([messageFor(polled(id, { updatedAt: "2026-11-28T13:00:01.000Z", title: "Restored" }))]);
    expect(await getMirroredWorkOrder(env.DB, String(id))).toMatchObject({ deleted: false, title: "Restored" });
  });
});

describe("unknown types, malformed messages and dead letters", () => {
  it("logs 'Unhandled event type' and acks an event nobody handles", async () => {
    const logs = vi.spyOn(console, "log");
    const event = await maintainXEvent("NEW_LOCATION", { locationId: 5, orgId: 1 });
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(logs.mock.calls.flat().join("\n")).toContain("Unhandled event type: location.created");
    expect(await eventRow(event.id)).toMatchObject({ status: "processed" });
  });

  it("acks a message that is not an event message instead of retrying it forever", async () => {
    const result = await run([{ hello: "world" }, "text"]);
    expect(result.explicitAcks).toHaveLength(2);
  });

  it("loads claim-checked data from KV before routing", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    await env.IDEMPOTENCY.put(`payload:${event.id}`, JSON.stringify(event.data));
    const result = await run([messageFor({ ...event, data: {} }, { payloadKey: `payload:${event.id}` })]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);
  });

  it("retries when a claim check is not readable yet", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const result = await run([messageFor({ ...event, data: {} }, { payloadKey: `payload:missing-${event.id}` })]);
    expect(result.retryMessages).toHaveLength(1);
    expect(slack.calls).toHaveLength(0);
  });

  it("records a dead letter with its message and marks the event dead", async () => {
    slack.fallback = () => new Response("down", { status: 500 });
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    await run([messageFor(event)], 6);
    const result = await settle(batchOf([messageFor(event)], 6, "maintainx-events-dlq"), (batch) =>
      consumeDeadLetters(batch, configured),
    );
    expect(result.explicitAcks).toHaveLength(1);
    expect(await eventRow(event.id)).toMatchObject({ status: "dead" });
    const dead = await env.DB.prepare("SELECT message, attempts FROM dead_letters WHERE event_id = ?1")
      .bind(event.id)
      .first<{ message: string; attempts: number }>();
    expect(JSON.parse(dead?.message ?? "{}")).toMatchObject({ v: 1, event: { id: event.id } });
    expect(dead?.attempts).toBe(6);
  });
});

describe("the retry schedule, the attempt log and held handlers", () => {
  const scheduled = testEnv({ ...configured, RETRY_SCHEDULE: "30s,2m" });

  async function attemptRows(id: string) {
    const { results } = await env.DB.prepare(
      "SELECT handler, attempt, outcome, status, error, detail FROM handler_attempts WHERE event_id = ?1 ORDER BY attempt, handler",
    )
      .bind(id)
      .all<{
        handler: string;
        attempt: number;
        outcome: string;
        status: number | null;
        error: string | null;
        detail: string | null;
      }>();
    return results;
  }

  async function hold(name: string, held: boolean) {
    await env.DB.prepare(
      `INSERT INTO handlers (name, held_since) VALUES (?1, ?2)
       ON CONFLICT (name) DO UPDATE SET held_since = excluded.held_since`,
    )
      .bind(name, held ? new Date().toISOString() : null)
      .run();
  }

  it("waits each delay of RETRY_SCHEDULE in turn, then dead-letters the event itself", async () => {
    slack.fallback = () => new Response("down", { status: 503 });
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    const runOn = (attempt: number) =>
      settle(batchOf([messageFor(event)], attempt), (batch) =>
        consumeEvents(batch, scheduled, { registry, fetch: outbound.fetch, random: () => 0 }),
      );

    expect((await runOn(1)).retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 30 }]);
    expect((await runOn(2)).retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 120 }]);
    expect(await eventRow(event.id)).toMatchObject({ status: "retrying" });

    // The third failure is past the schedule's two delays: acked, dead, its message kept for replay.
    const last = await runOn(3);
    expect(last.retryMessages).toHaveLength(0);
    expect(last.explicitAcks).toHaveLength(1);
    expect(await eventRow(event.id)).toMatchObject({
      status: "dead",
      next_attempt_at: null,
      last_error: expect.stringContaining("the retry schedule (2 retries) ran out"),
    });
    const dead = await env.DB.prepare("SELECT message, attempts FROM dead_letters WHERE event_id = ?1")
      .bind(event.id)
      .first<{ message: string; attempts: number }>();
    expect(JSON.parse(dead?.message ?? "{}")).toMatchObject({ v: 1, event: { id: event.id } });
    expect(dead?.attempts).toBe(3);
    expect(slack.calls).toHaveLength(3);
  });

  it("past the schedule's end, waits for a claim held elsewhere to lapse instead of making the event dead", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated(undefined, "LOW"));
    await run([messageFor(event)], 1);
    // Another delivery is running the mirror write for this event, its lease a minute from now.
    const leaseUntil = Date.now() + 60_000;
    await env.DB.prepare(
      "UPDATE side_effects SET status = 'running', lease_until = ?2 WHERE event_id = ?1 AND handler = 'warehouse'",
    )
      .bind(event.id, leaseUntil)
      .run();
    const result = await settle(batchOf([messageFor(event)], 3), (batch) =>
      consumeEvents(batch, scheduled, { registry, fetch: outbound.fetch, random: () => 0 }),
    );
    expect(result.explicitAcks).toHaveLength(0);
    const delay = result.retryMessages[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(55);
    expect(delay).toBeLessThanOrEqual(62);
    expect(await eventRow(event.id)).toMatchObject({
      status: "retrying",
      last_error: "warehouse: in progress elsewhere",
    });
  });

  it("logs every handler call with its outcome, the sink's status and a skip's reason", async () => {
    slack.plan(new Response("Slack is down <b>now</b>", { status: 503 }));
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    await run([messageFor(event)], 1);
    await run([messageFor(event)], 2);
    const low = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated(undefined, "LOW"));
    await run([messageFor(low)], 1);

    expect(await attemptRows(event.id)).toEqual([
      {
        handler: "slack-alert",
        attempt: 1,
        outcome: "retry",
        status: 503,
        error: expect.stringContaining("HTTP 503 Slack is down"),
        detail: null,
      },
      expect.objectContaining({ handler: "warehouse", attempt: 1, outcome: "ok", status: null }),
      // A success carries the sink's status too.
      expect.objectContaining({ handler: "slack-alert", attempt: 2, outcome: "ok", status: 200, error: null }),
    ]);
    expect(await attemptRows(low.id)).toContainEqual(
      expect.objectContaining({
        handler: "slack-alert",
        outcome: "skipped",
        detail: "priority is LOW; SLACK_ALERT_PRIORITIES is HIGH",
      }),
    );
  });

  it("parks an event whose handler is held without using a retry, and never calls it", async () => {
    await hold("slack-alert", true);
    try {
      const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
      // Far past the schedule: a held handler still never makes the event dead.
      const result = await settle(batchOf([messageFor(event)], 7), (batch) =>
        consumeEvents(batch, scheduled, { registry, fetch: outbound.fetch, random: () => 0 }),
      );
      expect(result.explicitAcks).toHaveLength(1);
      expect(result.retryMessages).toHaveLength(0);
      expect(slack.calls).toHaveLength(0);
      expect(await eventRow(event.id)).toMatchObject({
        status: "retrying",
        next_attempt_at: null,
        last_error: "slack-alert: held, waiting for its release",
      });
      const waits = await env.DB.prepare("SELECT handler FROM held_events WHERE event_id = ?1").bind(event.id).all();
      expect(waits.results).toEqual([{ handler: "slack-alert" }]);
      // The other handler ran as usual.
      const outcomes = await listSideEffects(env.DB, event.id);
      expect(outcomes.find((o) => o.handler === "warehouse")).toMatchObject({ status: "done" });
      expect(outcomes.find((o) => o.handler === "slack-alert")).toBeUndefined();
      expect(await attemptRows(event.id)).toContainEqual(
        expect.objectContaining({ handler: "slack-alert", outcome: "held" }),
      );

      // Released, the event's next delivery runs the handler once.
      await hold("slack-alert", false);
      const again = await run([messageFor(event)], 1, scheduled);
      expect(again.explicitAcks).toHaveLength(1);
      expect(slack.calls).toHaveLength(1);
      expect(await eventRow(event.id)).toMatchObject({ status: "processed", next_attempt_at: null });
    } finally {
      await hold("slack-alert", false);
    }
  });

  it("starts a new retrying spell when an event that waited for a hold fails after the release", async () => {
    const spell = async (id: string) =>
      (
        await env.DB.prepare("SELECT retrying_since FROM events WHERE id = ?1")
          .bind(id)
          .first<{ retrying_since: string | null }>()
      )?.retrying_since;
    await hold("slack-alert", true);
    const event = await maintainXEvent("NEW_WORK_ORDER", highPriorityCreated());
    try {
      await run([messageFor(event)], 1, scheduled);
    } finally {
      await hold("slack-alert", false);
    }
    const parked = await spell(event.id);
    expect(parked).toEqual(expect.any(String));
    await new Promise((r) => setTimeout(r, 5));
    slack.plan(new Response("down", { status: 503 }));
    await run([messageFor(event)], 1, scheduled);
    const failing = await spell(event.id);
    // The hold was the operator's choice: ALERT_RETRYING_MINUTES counts from the failure.
    expect(Date.parse(failing ?? "")).toBeGreaterThan(Date.parse(parked ?? ""));
    slack.plan(new Response("still down", { status: 503 }));
    await run([messageFor(event)], 2, scheduled);
    expect(await spell(event.id)).toBe(failing);
  });

  it("records each handler's last success and failure, and a failure episode's end", async () => {
    const state = () =>
      env.DB.prepare("SELECT * FROM handlers WHERE name = 'erp-sync'").first<Record<string, string | null>>();
    await env.DB.prepare("DELETE FROM handlers WHERE name = 'erp-sync'").run();
    erp.plan(new Response("", { status: 502 }));
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", doneChange());
    await run([messageFor(event)], 1);
    const failing = await state();
    expect(failing).toMatchObject({ failing_since: expect.any(String), last_failure_at: expect.any(String) });
    expect(failing?.last_success_at).toBeNull();

    await run([messageFor(event)], 2);
    expect(await state()).toMatchObject({
      failing_since: null,
      recovered_after: failing?.failing_since,
      recovered_at: expect.any(String),
      last_success_at: expect.any(String),
    });
  });
});
