// The alert for events still `retrying` after ALERT_RETRYING_MINUTES (docs/operations.md, "Operator
// alerts"), through real D1 and the Worker's consumer: once per event and retrying spell, a burst
// as one digest naming ten and counting the rest, off at 0; events that wait only for a held
// handler are not alerted, and one with a failing handler besides is; no secret in the text.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { alertRetryingEvents } from "../../src/alerts/retrying-events";
import type { CanonicalEvent } from "../../src/events/canonical";
import { registry } from "../../src/handlers";
import worker from "../../src/index";
import { handleQueue } from "../../src/routing/queues";
import { LONG_RETRYING } from "../../src/store/alerts";
import { recordAccepted } from "../../src/store/event-log";
import { holdHandler } from "../../src/store/handlers";
import statusDone from "../fixtures/status-change-done.json";
import { batchOf, maintainXEvent, messageFor } from "../helpers/events";
import { ERP_URL, reply, world, worldErp } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

const ALERT_URL = "https://alerts.slack.test/services/T111/B222/alert-channel-token";
const alertSink = world.sink(ALERT_URL);
const withAlerts = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL });
const MINUTE = 60_000;

const texts = () => alertSink.calls.map((c) => String((c.json as { text?: string } | undefined)?.text));

beforeEach(async () => {
  alertSink.calls.length = 0;
  alertSink.fallback = () => new Response("ok");
  worldErp.fallback = () => new Response("ok");
  await env.DB.batch(
    ["events", "handler_attempts", "held_events", "handlers", "side_effects", "alert_state"].map((t) =>
      env.DB.prepare(`DELETE FROM ${t}`),
    ),
  );
});

function completionEvent(): Promise<CanonicalEvent> {
  const workOrderId = 7_000_000 + Math.floor(Math.random() * 1_000_000);
  return maintainXEvent("WORK_ORDER_STATUS_CHANGE", {
    ...statusDone,
    workOrderId,
    occurredAt: new Date().toISOString(),
  });
}

/**
 * The completion run through the Worker's queue handler as delivery `attempts`, the ERP answering
 * 503 with a text that echoes its own URL (unless `erp` is "ok"); resolves with its row.
 */
async function consume(
  event: CanonicalEvent,
  options: { attempts?: number; erp?: "ok" | "down"; replay?: boolean } = {},
): Promise<Row> {
  worldErp.fallback = options.erp === "ok" ? () => new Response("ok") : reply(503, `Down for maintenance: ${ERP_URL}`);
  const ctx = createExecutionContext();
  const message = messageFor(event, options.replay ? { replay: true } : {});
  await handleQueue(batchOf([message], options.attempts ?? 1), withAlerts, registry, ctx);
  await waitOnExecutionContext(ctx);
  worldErp.fallback = () => new Response("ok");
  return row(event.id);
}

interface Row {
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  retrying_since: string | null;
  last_error: string | null;
  alerted: string | null;
}

async function row(id: string): Promise<Row> {
  const found = await env.DB.prepare(
    "SELECT status, attempts, next_attempt_at, retrying_since, last_error, alerted FROM events WHERE id = ?1",
  )
    .bind(id)
    .first<Row>();
  if (!found) throw new Error(`no row for ${id}`);
  return found;
}

let n = 0;
/** A row `retrying` since `minutesAgo` before `now`, its next attempt in 10 min. */
async function retryingRow(minutesAgo: number, now: number, lastError = "erp-sync: ERP: HTTP 503"): Promise<string> {
  n += 1;
  const id = `retrying-${now}-${n}`;
  await recordAccepted(env.DB, {
    id,
    type: "workorder.completed",
    sourceType: "WORK_ORDER_STATUS_CHANGE",
    source: "webhook",
    receivedAt: new Date(now - minutesAgo * MINUTE).toISOString(),
    data: {},
  });
  await env.DB.prepare(
    `UPDATE events SET status = 'retrying', attempts = 2, last_error = ?2, retrying_since = ?3, next_attempt_at = ?4
     WHERE id = ?1`,
  )
    .bind(id, lastError, new Date(now - minutesAgo * MINUTE).toISOString(), new Date(now + 10 * MINUTE).toISOString())
    .run();
  return id;
}

describe("events still retrying", () => {
  it("alerts one once, after 15 min, naming its type, the failing handler, its error, attempts and next attempt, and no secret", async () => {
    const event = await completionEvent();
    const retrying = await consume(event);
    expect(retrying).toMatchObject({ status: "retrying", attempts: 1 });
    const since = Date.parse(retrying.retrying_since ?? "");

    expect(await alertRetryingEvents(withAlerts, since + 14 * MINUTE)).toBe(0);
    expect(await alertRetryingEvents(withAlerts, since + 16 * MINUTE)).toBe(1);
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain("A MaintainX event has been `retrying` for more than 15 min.");
    expect(text).toContain("Failing: erp-sync (1 event).");
    expect(text).toContain(`\`${event.id}\` workorder.status_changed *retrying*: erp-sync:`);
    expect(text).toContain("HTTP 503");
    expect(text).toContain(`(1 attempt(s); next attempt ${retrying.next_attempt_at})`);
    expect(text).toContain("npm run cli -- handlers hold erp-sync");
    expect(text).toContain("events list --status retrying");
    for (const secret of [new URL(ERP_URL).pathname, "alert-channel-token", "test-secret-current"]) {
      expect(text).not.toContain(secret);
    }
    expect((await row(event.id)).alerted).toBe(`retrying:${retrying.retrying_since}`);

    // Once per spell: a later attempt that fails again, and later runs, send nothing more.
    await consume(event, { attempts: 2 });
    expect((await row(event.id)).retrying_since).toBe(retrying.retrying_since);
    expect(await alertRetryingEvents(withAlerts, since + 60 * MINUTE)).toBe(0);
    expect(texts()).toHaveLength(1);
  });

  it("alerts a new retrying spell again: a replay that fails again", async () => {
    const event = await completionEvent();
    const first = await consume(event);
    expect(await alertRetryingEvents(withAlerts, Date.parse(first.retrying_since ?? "") + 16 * MINUTE)).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    const again = await consume(event, { replay: true });
    expect(again.status).toBe("retrying");
    expect(again.retrying_since).not.toBe(first.retrying_since);
    expect(await alertRetryingEvents(withAlerts, Date.parse(again.retrying_since ?? "") + 16 * MINUTE)).toBe(1);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain(event.id);
  });

  it("folds a burst into one digest naming ten and counting the rest; a larger one into 200 now and the rest next run", async () => {
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await retryingRow(20 + i, now, `erp-sync: ERP: HTTP 503 (${i})`));
    await retryingRow(10, now);
    expect(await alertRetryingEvents(withAlerts, now)).toBe(25);
    const [text] = texts();
    expect(text).toContain("25 MaintainX events have been `retrying` for more than 15 min.");
    expect(text).toContain("Failing: erp-sync (25 events).");
    expect(text).toContain("…and 15 more in this alert.");
    expect(text).not.toContain("follow");
    // Longest retrying first.
    expect(ids.filter((id) => text?.includes(`\`${id}\``))).toEqual(ids.slice(15));
    expect(await alertRetryingEvents(withAlerts, now)).toBe(0);

    for (let i = 0; i < 205; i++) await retryingRow(30, now + 5 * MINUTE);
    expect(await alertRetryingEvents(withAlerts, now + 5 * MINUTE)).toBe(200);
    expect(texts()[1]).toContain("6 more follow in the next alert.");
    // The one retrying 10 min before `now`, now 15 min and more, comes with the rest.
    expect(await alertRetryingEvents(withAlerts, now + 6 * MINUTE)).toBe(6);
    expect(await alertRetryingEvents(withAlerts, now + 6 * MINUTE)).toBe(0);
    expect(texts()).toHaveLength(3);
  });

  it("never gives one event to two runs at once", async () => {
    const now = Date.now();
    const ids: string[] = [];
    // Fewer than an alert lists, so every event taken is named.
    for (let i = 0; i < 8; i++) ids.push(await retryingRow(20, now));
    const taken = await Promise.all([alertRetryingEvents(withAlerts, now), alertRetryingEvents(withAlerts, now)]);
    expect(taken[0] + taken[1]).toBe(8);
    for (const id of ids) expect(texts().filter((t) => t.includes(`\`${id}\``))).toHaveLength(1);
  });

  it("is off at ALERT_RETRYING_MINUTES=0, and waits as long as it says otherwise", async () => {
    const now = Date.now();
    const id = await retryingRow(30, now);
    expect(await alertRetryingEvents(testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, ALERT_RETRYING_MINUTES: "0" }), now)).toBe(
      0,
    );
    // Nothing was marked: turned on, the event is alerted.
    expect((await row(id)).alerted).toBeNull();
    const hourly = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, ALERT_RETRYING_MINUTES: "60" });
    expect(await alertRetryingEvents(hourly, now)).toBe(0);
    expect(await alertRetryingEvents(hourly, now + 31 * MINUTE)).toBe(1);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain("for more than 60 min");
  });

  it("runs from the Cron Trigger", async () => {
    const now = Date.now();
    const id = await retryingRow(20, now);
    await worker.scheduled(
      createScheduledController({ scheduledTime: now, cron: "* * * * *" }),
      testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, POLL_MODE: "off" }),
    );
    const alerts = texts().filter((t) => t.includes(":hourglass_flowing_sand:"));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(id);
  });

  it("reads the retrying events through their partial index, in its order", async () => {
    const plan = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT id FROM events INDEXED BY events_retrying WHERE ${LONG_RETRYING} ORDER BY retrying_since LIMIT 10`,
    )
      .bind(new Date().toISOString())
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join(" | ");
    expect(details).toContain("events_retrying");
    expect(details).not.toContain("TEMP B-TREE");
  });
});

describe("events waiting for a held handler", () => {
  it("does not alert an event that waits only for a hold, before or after the release queued it again; it alerts it once a handler fails for it", async () => {
    await holdHandler(env.DB, "erp-sync", "ERP maintenance");
    const event = await completionEvent();
    const parked = await consume(event);
    expect(parked).toMatchObject({ status: "retrying", next_attempt_at: null });
    const since = Date.parse(parked.retrying_since ?? "");
    expect(await alertRetryingEvents(withAlerts, since + 600 * MINUTE)).toBe(0);

    // Released and queued again (its waits forgotten), not yet run: still no alert.
    await env.DB.prepare("UPDATE handlers SET held_since = NULL WHERE name = 'erp-sync'").run();
    await env.DB.prepare("DELETE FROM held_events WHERE event_id = ?1").bind(event.id).run();
    expect(await alertRetryingEvents(withAlerts, since + 600 * MINUTE)).toBe(0);
    expect(texts()).toEqual([]);
    expect((await row(event.id)).alerted).toBeNull();

    // Run again, the ERP down: now a handler fails for it.
    const failing = await consume(event, { attempts: 1 });
    expect(failing.next_attempt_at).not.toBeNull();
    expect(await alertRetryingEvents(withAlerts, since + 600 * MINUTE)).toBe(1);
    expect(texts()[0]).toContain(event.id);
    expect(texts()[0]).toContain("Failing: erp-sync (1 event).");
  });

  it("alerts an event with a failing handler besides its hold, naming the hold it waits for", async () => {
    await holdHandler(env.DB, "completion-report", null);
    // On the schedule: the ERP's failure is retried.
    const scheduled = await completionEvent();
    const onSchedule = await consume(scheduled);
    expect(onSchedule.next_attempt_at).not.toBeNull();
    // Past the schedule's end (five retries here) with a hold: it waits for the release.
    const parked = await completionEvent();
    const waiting = await consume(parked, { attempts: 6 });
    expect(waiting).toMatchObject({ status: "retrying", next_attempt_at: null });

    const latest = Math.max(Date.parse(onSchedule.retrying_since ?? ""), Date.parse(waiting.retrying_since ?? ""));
    expect(await alertRetryingEvents(withAlerts, latest + 16 * MINUTE)).toBe(2);
    const [text] = texts();
    expect(text).toContain("Failing: erp-sync (2 events).");
    expect(text).not.toContain("completion-report (");
    expect(text).toContain(`(1 attempt(s); next attempt ${onSchedule.next_attempt_at})`);
    expect(text).toContain("(1 attempt(s); waiting for held handler completion-report)");
  });
});
