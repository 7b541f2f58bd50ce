// The webhook-silence alert of one MaintainX type (docs/operations.md, "Silence"): a subscription
// MaintainX disabled while the others keep delivering is alerted once, naming the type, since
// when, what the poller found meanwhile and what to do; a webhook of that type ends it and says
// so. Only types this Worker has logged and whose changes the poller sees count; a silence of
// every webhook stays the one alert of every webhook. The last webhook of each type is read with
// one index seek per type.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { checkWebhookSilence } from "../../src/alerts/silence";
import type { CanonicalEvent } from "../../src/events/canonical";
import { pollEvents } from "../../src/ingest/accept-polled";
import { LAST_WEBHOOK_OF_TYPES, POLLED_CHANGES_SINCE } from "../../src/store/alerts";
import { recordAccepted } from "../../src/store/event-log";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { maintainXDelivery, uniqueNewWorkOrder } from "../helpers/deliveries";
import { maintainXEvent } from "../helpers/events";
import { world } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

const ALERT_URL = "https://alerts.slack.test/services/T111/B333/type-silence-token";
const alertSink = world.sink(ALERT_URL);
const withAlerts = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL });

const texts = () => alertSink.calls.map((c) => String((c.json as { text?: string } | undefined)?.text));

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const at = (minutesAgo: number, from = NOW) => new Date(from - minutesAgo * 60_000).toISOString();

beforeEach(async () => {
  alertSink.calls.length = 0;
  alertSink.fallback = () => new Response("ok");
  // Storage is shared by the tests of this file: each starts from no events and no silence.
  await env.DB.batch(["events", "alert_state", "webhook_type_silences"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

let n = 0;

/** A webhook of this MaintainX type (or seed name), logged as the receiver logs it. */
async function webhook(sourceType: string, minutesAgo: number, from = NOW): Promise<void> {
  n += 1;
  const body = sourceType === "WORK_ORDER_STATUS_CHANGE" ? { ...statusDone, workOrderId: 900 + n } : newWorkOrder;
  const event = await maintainXEvent(sourceType, { ...body, workOrderId: 900 + n });
  await recordAccepted(env.DB, { ...event, receivedAt: at(minutesAgo, from) });
}

/**
 * A work order the poller read `loggedMinutesAgo` (before `from`), with the events it derives:
 * its creation when `createdMinutesAgo` is given, its ending when `ended` is.
 */
async function polled(
  workOrderId: string,
  loggedMinutesAgo: number,
  change: { createdMinutesAgo?: number; ended?: { status: "DONE" | "CANCELED" | "SKIPPED"; minutesAgo: number } },
  from = NOW,
): Promise<void> {
  const changedAt = at(change.ended?.minutesAgo ?? change.createdMinutesAgo ?? loggedMinutesAgo, from);
  const wo = {
    id: workOrderId,
    title: `Work order ${workOrderId}`,
    status: change.ended?.status ?? "OPEN",
    createdAt: at(change.createdMinutesAgo ?? 24 * 60, from),
    updatedAt: changedAt,
    ...(change.ended ? { completedAt: changedAt } : {}),
  };
  // As a run whose query started six hours back: every creation and ending above is in its window.
  const events: CanonicalEvent[] = pollEvents(wo, at(loggedMinutesAgo, from), from - 6 * 60 * 60_000);
  for (const event of events) await recordAccepted(env.DB, event);
}

async function typeSilences(): Promise<Record<string, string>> {
  const { results } = await env.DB.prepare("SELECT source_type, silent_since FROM webhook_type_silences").all<{
    source_type: string;
    silent_since: string;
  }>();
  return Object.fromEntries(results.map((r) => [r.source_type, r.silent_since]));
}

describe("the silence of one webhook type", () => {
  it("alerts once when NEW_WORK_ORDER deliveries stop while status changes keep arriving, and says when they resume", async () => {
    // Two hours ago the last new work order was delivered; status changes still come, and the
    // poller found two work orders created since.
    const now = Date.now();
    const createdAt = at(120, now);
    await webhook("NEW_WORK_ORDER", 120, now);
    await webhook("WORK_ORDER_STATUS_CHANGE", 5, now);
    await polled("7001", 89, { createdMinutesAgo: 90 }, now);
    await polled("7002", 29, { createdMinutesAgo: 30 }, now);

    expect(await checkWebhookSilence(withAlerts, now)).toBe("flowing");
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain(
      `:warning: No MaintainX NEW_WORK_ORDER webhook for 120 min (the last at ${createdAt}), while other webhooks keep arriving (the last at ${at(5, now)}).`,
    );
    expect(text).toContain(
      "the poller found 2 new work order(s) that NEW_WORK_ORDER webhooks would have delivered: #7002, #7001.",
    );
    expect(text).toContain("check this Worker's NEW_WORK_ORDER subscription and re-enable it");
    expect(text).toContain("npm run cli -- subscriptions list");
    expect(text).not.toContain("WORK_ORDER_STATUS_CHANGE webhook for");
    expect(await typeSilences()).toEqual({ NEW_WORK_ORDER: createdAt });

    // Once per silence: later runs, even with another work order found, send nothing.
    await polled("7003", 0, { createdMinutesAgo: 1 }, now + 60_000);
    expect(await checkWebhookSilence(withAlerts, now + 60_000)).toBe("flowing");
    expect(texts()).toHaveLength(1);

    // A NEW_WORK_ORDER delivery through the receiver (its type is the one in the path) ends it,
    // and of two overlapping runs one says so.
    const delivered = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder()), {
      ALERT_WEBHOOK_URL: ALERT_URL,
    });
    expect(delivered.status).toBe(200);
    const resumedAt = await env.DB.prepare(
      "SELECT MAX(received_at) AS at FROM events WHERE source = 'webhook' AND source_type = 'NEW_WORK_ORDER'",
    ).first<string>("at");
    expect(resumedAt).not.toBe(createdAt);
    const after = Date.now() + 60_000;
    const resumed = await Promise.all([checkWebhookSilence(withAlerts, after), checkWebhookSilence(withAlerts, after)]);
    expect(resumed).toEqual(["flowing", "flowing"]);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toBe(
      `:white_check_mark: MaintainX NEW_WORK_ORDER webhooks are arriving again (the last at ${resumedAt}; silent since ${createdAt}).`,
    );
    expect(await typeSilences()).toEqual({});
    expect(await checkWebhookSilence(withAlerts, after + 60_000)).toBe("flowing");
    expect(texts()).toHaveLength(2);
  });

  it("alerts for WORK_ORDER_STATUS_CHANGE when the poller finds endings while new work orders keep arriving, counting each kind", async () => {
    await webhook("WORK_ORDER_STATUS_CHANGE", 200);
    await webhook("NEW_WORK_ORDER", 2);
    await polled("8001", 149, { ended: { status: "DONE", minutesAgo: 150 } });
    await polled("8002", 99, { ended: { status: "DONE", minutesAgo: 100 } });
    await polled("8003", 59, { ended: { status: "CANCELED", minutesAgo: 60 } });
    // Before the last status change (and within a minute of it): delivered, not missed.
    await polled("8004", 199, { ended: { status: "DONE", minutesAgo: 200.5 } });
    // Plain updates never count.
    await polled("8005", 10, {});

    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("flowing");
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(`No MaintainX WORK_ORDER_STATUS_CHANGE webhook for 200 min (the last at ${at(200)})`);
    expect(texts()[0]).toContain(
      "found 2 completed, 1 canceled work order(s) that WORK_ORDER_STATUS_CHANGE webhooks would have delivered: #8003, #8002, #8001.",
    );
    expect(await typeSilences()).toEqual({ WORK_ORDER_STATUS_CHANGE: at(200) });
  });

  it("alerts each silent type once, also when two scheduled runs overlap", async () => {
    await webhook("NEW_WORK_ORDER", 180);
    await webhook("WORK_ORDER_STATUS_CHANGE", 170);
    await webhook("WORK_ORDER_CHANGE", 3);
    await polled("8101", 100, { createdMinutesAgo: 101 });
    await polled("8102", 90, { ended: { status: "SKIPPED", minutesAgo: 91 } });
    const outcomes = await Promise.all([checkWebhookSilence(withAlerts, NOW), checkWebhookSilence(withAlerts, NOW)]);
    expect(outcomes).toEqual(["flowing", "flowing"]);
    expect(texts()).toHaveLength(2);
    expect(texts().filter((t) => t.includes("No MaintainX NEW_WORK_ORDER webhook for 180 min"))).toHaveLength(1);
    expect(texts().filter((t) => t.includes("No MaintainX WORK_ORDER_STATUS_CHANGE webhook for 170 min"))).toHaveLength(
      1,
    );
    expect(await typeSilences()).toEqual({ NEW_WORK_ORDER: at(180), WORK_ORDER_STATUS_CHANGE: at(170) });
    await checkWebhookSilence(withAlerts, NOW + 60_000);
    expect(texts()).toHaveLength(2);
  });

  it("never alerts for a subscription never made, a seed name, or a type whose changes the poller cannot see", async () => {
    // Only status changes were ever received here: new work orders found by the poller are no
    // sign of a NEW_WORK_ORDER subscription gone quiet.
    await webhook("WORK_ORDER_STATUS_CHANGE", 1);
    await webhook("ASSET_STATUS_CHANGE", 600);
    // A seed delivery of a creation, long ago (the seed format is no MaintainX subscription).
    await recordAccepted(env.DB, {
      id: "seed-created-long-ago",
      type: "workorder.created",
      sourceType: "workorder.created",
      source: "webhook",
      workOrderId: "8200",
      receivedAt: at(500),
      data: { id: 8200 },
    });
    await polled("8201", 100, { createdMinutesAgo: 101 });
    await polled("8202", 50, { createdMinutesAgo: 51 });
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("flowing");
    expect(texts()).toEqual([]);
    expect(await typeSilences()).toEqual({});
  });

  it("stays quiet while the type is within ALERT_SILENCE_MINUTES, with nothing missed since its last webhook, and when turned off", async () => {
    await webhook("NEW_WORK_ORDER", 50);
    await webhook("WORK_ORDER_STATUS_CHANGE", 1);
    await polled("8301", 20, { createdMinutesAgo: 21 });
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("flowing");
    // 70 minutes on, NEW_WORK_ORDER silent for two hours, but no work order created since its last webhook.
    const later = NOW + 70 * 60_000;
    await env.DB.prepare("DELETE FROM events WHERE source = 'poll'").run();
    await polled("8302", 30, { createdMinutesAgo: 50.5 });
    await webhook("WORK_ORDER_STATUS_CHANGE", 1, later);
    expect(await checkWebhookSilence(withAlerts, later)).toBe("flowing");
    await polled("8303", 5, { createdMinutesAgo: 6 });
    const off = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, ALERT_SILENCE_MINUTES: "0" });
    expect(await checkWebhookSilence(off, later)).toBe("off");
    expect(texts()).toEqual([]);
    expect(await typeSilences()).toEqual({});
    // The same state with the check on: the creation found 6 minutes ago is missed.
    expect(await checkWebhookSilence(withAlerts, later)).toBe("flowing");
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain("No MaintainX NEW_WORK_ORDER webhook for 120 min");
  });

  it("leaves a silence of every webhook to its own alert, then gives each type ALERT_SILENCE_MINUTES from the end of it", async () => {
    await webhook("NEW_WORK_ORDER", 125);
    await webhook("WORK_ORDER_STATUS_CHANGE", 121);
    await polled("8401", 100, { createdMinutesAgo: 101 });
    await polled("8402", 90, { ended: { status: "DONE", minutesAgo: 91 } });
    // Every webhook silent: one alert, of every webhook.
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("alerted");
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain("No MaintainX webhook for 121 min");

    // Status changes come back; NEW_WORK_ORDER has had no work order to deliver since.
    await webhook("WORK_ORDER_STATUS_CHANGE", -1);
    expect(await checkWebhookSilence(withAlerts, NOW + 2 * 60_000)).toBe("resumed");
    expect(await checkWebhookSilence(withAlerts, NOW + 3 * 60_000)).toBe("flowing");
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain("MaintainX webhooks are arriving again");
    const ended = await env.DB.prepare("SELECT silence_for, silence_ended_at FROM alert_state").first();
    expect(ended).toEqual({ silence_for: null, silence_ended_at: at(-1) });

    // A work order created 30 minutes after the others came back, and NEW_WORK_ORDER still silent
    // 60 minutes after they did: now it is alerted, as silent since its own last webhook.
    await polled("8403", -31, { createdMinutesAgo: -30 });
    await webhook("WORK_ORDER_STATUS_CHANGE", -58);
    expect(await checkWebhookSilence(withAlerts, NOW + 59 * 60_000)).toBe("flowing");
    expect(texts()).toHaveLength(2);
    expect(await checkWebhookSilence(withAlerts, NOW + 61 * 60_000)).toBe("flowing");
    expect(texts()).toHaveLength(3);
    expect(texts()[2]).toContain(`No MaintainX NEW_WORK_ORDER webhook for 186 min (the last at ${at(125)})`);
    expect(texts()[2]).toContain("found 1 new work order(s) that NEW_WORK_ORDER webhooks would have delivered: #8403.");
  });
});

describe("reading the silence state on a large log", () => {
  it("finds each type's last webhook with one index seek per type, and the polled changes through their type", async () => {
    // 3,000 status changes after the last NEW_WORK_ORDER webhook.
    await webhook("NEW_WORK_ORDER", 600);
    const rows = Array.from({ length: 3_000 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO events (id, type, source_type, source, received_at, status, attempts, data, updated_at)
         VALUES (?1, 'workorder.status_changed', 'WORK_ORDER_STATUS_CHANGE', 'webhook', ?2, 'processed', 1, '{}', ?2)`,
      ).bind(`bulk-${i}`, at(500 - i / 10)),
    );
    for (let i = 0; i < rows.length; i += 500) await env.DB.batch(rows.slice(i, i + 500));

    const types = JSON.stringify(["NEW_WORK_ORDER", "WORK_ORDER_STATUS_CHANGE", "WORK_ORDER_DELETE"]);
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${LAST_WEBHOOK_OF_TYPES}`)
      .bind(types)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail);
    expect(details).toContain("SEARCH events USING COVERING INDEX events_webhook_last (source_type=?)");
    expect(details.filter((d) => /\bevents\b/.test(d) && !d.startsWith("SEARCH"))).toEqual([]);

    const read = await env.DB.prepare(LAST_WEBHOOK_OF_TYPES)
      .bind(types)
      .all<{ source_type: string; last_at: string | null }>();
    expect(read.results).toEqual([
      { source_type: "NEW_WORK_ORDER", last_at: at(600) },
      { source_type: "WORK_ORDER_STATUS_CHANGE", last_at: at(500 - 2_999 / 10) },
      { source_type: "WORK_ORDER_DELETE", last_at: null },
    ]);
    // A seek per type, not a walk through the 3,000 rows.
    expect(read.meta.rows_read).toBeLessThan(20);

    const changes = await env.DB.prepare(`EXPLAIN QUERY PLAN ${POLLED_CHANGES_SINCE}`)
      .bind(JSON.stringify(["workorder.created"]), at(600), 200)
      .all<{ detail: string }>();
    expect(changes.results.map((r) => r.detail)).toContain(
      "SEARCH events USING INDEX events_by_type (type=? AND received_at>?)",
    );
  });
});
