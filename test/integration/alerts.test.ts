// Operator alerts (docs/operations.md): events that end failed or dead are alerted once per
// event and status (again after a replay that ends so again), a burst as one digest, with no
// secret, signature or sink URL path in the text; a failing or hanging alert channel changes
// nothing; events that will not settle by themselves (accepted past the retry window, retrying
// long overdue) are alerted once per state; the webhook-silence alert is sent once per silence.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { alertEndedEvents, DIGEST_WINDOW_MS } from "../../src/alerts/ended-events";
import { alertRetryingEvents } from "../../src/alerts/retrying-events";
import { checkWebhookSilence } from "../../src/alerts/silence";
import { alertStuckEvents } from "../../src/alerts/stuck-events";
import type { CanonicalEvent } from "../../src/events/canonical";
import { registry } from "../../src/handlers";
import worker from "../../src/index";
import { handleQueue } from "../../src/routing/queues";
import { recordDeadLetter } from "../../src/store/dead-letters";
import { recordAccepted, statusStatement } from "../../src/store/event-log";
import { STUCK_AFTER_HOURS } from "../../src/store/stuck-window";
import statusDone from "../fixtures/status-change-done.json";
import { batchOf, maintainXEvent, messageFor } from "../helpers/events";
import { ERP_URL, reply, SLACK_URL, world, worldErp } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

const ALERT_URL = "https://alerts.slack.test/services/T111/B222/alert-channel-token";
const alertSink = world.sink(ALERT_URL);
const withAlerts = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL });

const texts = () => alertSink.calls.map((c) => String((c.json as { text?: string } | undefined)?.text));

let n = 0;
function unique(prefix: string): string {
  n += 1;
  return `${prefix}-${Date.now()}-${n}`;
}

beforeEach(async () => {
  alertSink.calls.length = 0;
  alertSink.fallback = () => new Response("ok");
  // Storage is shared by the tests of this file: each starts from no events and no silence.
  await env.DB.batch(["events", "alert_state"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

function failingCompletionEvent(): Promise<CanonicalEvent> {
  const workOrderId = 6_000_000 + Math.floor(Math.random() * 1_000_000);
  return maintainXEvent("WORK_ORDER_STATUS_CHANGE", {
    ...statusDone,
    workOrderId,
    occurredAt: new Date().toISOString(),
  });
}

/**
 * A completion the ERP refuses (with an answer that echoes its own URL), run through the queue
 * handler with the alert channel configured, as the Worker runs it; resolves once the handler's
 * waitUntil work (the alert) is done.
 */
async function consumeFailingCompletion(options: { event?: CanonicalEvent; replayOf?: CanonicalEvent } = {}) {
  const event = options.replayOf ?? options.event ?? (await failingCompletionEvent());
  worldErp.plan(reply(400, `Cannot POST ${new URL(ERP_URL).pathname}`));
  const ctx = createExecutionContext();
  const message = messageFor(event, options.replayOf ? { replay: true } : {});
  await handleQueue(batchOf([message]), withAlerts, registry, ctx);
  await waitOnExecutionContext(ctx);
  const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1")
    .bind(event.id)
    .first<{ status: string }>();
  expect(row?.status).toBe("failed");
  return event;
}

async function logged(status: "failed" | "dead", lastError: string, overrides: Partial<CanonicalEvent> = {}) {
  const event: CanonicalEvent = {
    id: unique(status),
    type: "workorder.completed",
    sourceType: "WORK_ORDER_STATUS_CHANGE",
    source: "webhook",
    receivedAt: new Date().toISOString(),
    data: {},
    ...overrides,
  };
  await recordAccepted(env.DB, event);
  await env.DB.prepare("UPDATE events SET attempts = 1 WHERE id = ?1").bind(event.id).run();
  if (status === "dead") await recordDeadLetter(env.DB, { eventId: event.id, body: {}, attempts: 5, event });
  else await statusStatement(env.DB, event.id, "failed", lastError).run();
  return event.id;
}

describe("alerts for failed and dead events", () => {
  it("alerts at once, from the consumer, for an event that ends failed, naming it, its type, the handler and its error, and no secret or sink path", async () => {
    const { id: eventId } = await consumeFailingCompletion();
    expect(alertSink.calls).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain(eventId);
    expect(text).toContain("workorder.status_changed");
    expect(text).toContain("*failed*");
    expect(text).toContain("erp-sync");
    expect(text).toContain("HTTP 400");
    for (const secret of [
      new URL(ERP_URL).pathname,
      "alert-channel-token",
      new URL(SLACK_URL).pathname,
      "test-secret-current",
      "v1=",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(alertSink.calls[0]?.method).toBe("POST");
    expect(alertSink.calls[0]?.headers["content-type"]).toMatch(/application\/json/);

    // Once: the scheduled run's sweep finds nothing left to alert.
    expect(await alertEndedEvents(withAlerts)).toBe(0);
    expect(alertSink.calls).toHaveLength(1);
  });

  it("alerts again when a replay ends the event failed again: within the digest window, when the window ends", async () => {
    const event = await consumeFailingCompletion();
    expect(alertSink.calls).toHaveLength(1);
    const started = Date.now();
    await consumeFailingCompletion({ replayOf: event });
    // The first alert went less than DIGEST_WINDOW_MS ago: the second waited for the window's end.
    expect(Date.now() - started).toBeGreaterThanOrEqual(DIGEST_WINDOW_MS - 500);
    expect(alertSink.calls).toHaveLength(2);
    expect(texts()[1]).toContain(event.id);
    expect(await alertEndedEvents(withAlerts)).toBe(0);
  }, 40_000);

  it("folds failures that end within one digest window into one alert after the first", async () => {
    const first = await consumeFailingCompletion();
    // Built one after another (each gets its own id), then consumed at once.
    const events = [await failingCompletionEvent(), await failingCompletionEvent(), await failingCompletionEvent()];
    const others = await Promise.all(events.map((event) => consumeFailingCompletion({ event })));
    expect(alertSink.calls).toHaveLength(2);
    expect(texts()[0]).toContain(first.id);
    expect(texts()[1]).toContain("3 MaintainX events ended failed");
    for (const event of others) expect(texts()[1]).toContain(event.id);
  }, 40_000);

  it("alerts at once, from the dead-letter consumer, for an event whose retries ran out", async () => {
    const event = await failingCompletionEvent();
    const ctx = createExecutionContext();
    await handleQueue(batchOf([messageFor(event)], 6, "maintainx-events-dlq"), withAlerts, registry, ctx);
    await waitOnExecutionContext(ctx);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(event.id);
    expect(texts()[0]).toContain("*dead*");
  });

  it("alerts a dead event once, as dead", async () => {
    const eventId = await logged("dead", "");
    await alertEndedEvents(withAlerts);
    await alertEndedEvents(withAlerts);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(eventId);
    expect(texts()[0]).toContain("*dead*");
  });

  it("folds a burst of 25 into one digest that lists ten and counts the rest", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await logged("failed", `erp-sync: ERP: HTTP 503 outage ${i}`));
    expect(await alertEndedEvents(withAlerts)).toBe(25);
    expect(alertSink.calls).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain("25 MaintainX events ended failed");
    expect(text).toContain("…and 15 more in this alert.");
    expect(text).not.toContain("follow");
    expect(text).toContain("events replay --status failed --dry-run");
    expect(ids.filter((id) => text?.includes(id))).toHaveLength(10);
    expect(await alertEndedEvents(withAlerts)).toBe(0);
  });

  it("counts each event in one digest only when a burst is larger than one run takes", async () => {
    for (let i = 0; i < 230; i++) await logged("failed", `erp-sync: ERP: HTTP 503 outage ${i}`);
    expect(await alertEndedEvents(withAlerts)).toBe(200);
    expect(await alertEndedEvents(withAlerts)).toBe(30);
    expect(await alertEndedEvents(withAlerts)).toBe(0);
    expect(texts()).toHaveLength(2);
    expect(texts()[0]).toContain("200 MaintainX events ended failed");
    expect(texts()[0]).toContain("30 more follow in the next alert.");
    expect(texts()[1]).toContain("30 MaintainX events ended failed");
    expect(texts()[1]).not.toContain("follow");
  });

  it("finds the events to alert through their small partial index, not by sorting every failed event", async () => {
    const { UNALERTED } = await import("../../src/store/alerts");
    const plan = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT id FROM events INDEXED BY events_unalerted WHERE ${UNALERTED} ORDER BY updated_at LIMIT 10`,
    ).all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join(" | ");
    expect(details).toContain("events_unalerted");
    expect(details).not.toContain("TEMP B-TREE");
  });

  it("never puts a URL from an error into the text, only its origin", async () => {
    await logged("failed", "erp-sync: ERP: HTTP 404 see https://erp.example.com/hooks/abc123-secret?key=zzz");
    await alertEndedEvents(withAlerts);
    expect(texts()[0]).toContain("https://erp.example.com/…");
    expect(texts()[0]).not.toContain("abc123-secret");
    expect(texts()[0]).not.toContain("key=zzz");
  });

  it("changes nothing when the alert channel fails or hangs: statuses stay, nothing is retried, the run goes on", async () => {
    const failing = await logged("failed", "erp-sync: ERP: HTTP 400");
    alertSink.plan(reply(500, "slack down"));
    await expect(alertEndedEvents(withAlerts)).resolves.toBe(1);
    const hanging = await logged("dead", "");
    alertSink.plan("hang");
    const hangEnv = testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, OUTBOUND_TIMEOUT_SECONDS: "1", POLL_MODE: "off" });
    // Through the Cron Trigger: the run ends, and its other steps (retention) still run.
    const ancient = unique("processed");
    await recordAccepted(env.DB, {
      id: ancient,
      type: "workorder.completed",
      sourceType: "WORK_ORDER_STATUS_CHANGE",
      source: "webhook",
      receivedAt: new Date(Date.now() - 400 * 86_400_000).toISOString(),
      data: {},
    });
    await statusStatement(env.DB, ancient, "processed", null).run();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), hangEnv);
    expect(alertSink.calls).toHaveLength(2);
    expect(await env.DB.prepare("SELECT id FROM events WHERE id = ?1").bind(ancient).first()).toBeNull();

    const statuses = await env.DB.prepare("SELECT id, status FROM events ORDER BY id").all<{
      id: string;
      status: string;
    }>();
    expect(Object.fromEntries(statuses.results.map((r) => [r.id, r.status]))).toEqual({
      [failing]: "failed",
      [hanging]: "dead",
    });
    // At most once per event: a failed delivery of the alert is logged, not repeated every minute.
    await alertEndedEvents(withAlerts);
    expect(alertSink.calls).toHaveLength(2);
  });

  it("writes the alert as a log line, and sends nothing, without ALERT_WEBHOOK_URL", async () => {
    const warn = vi.spyOn(console, "warn");
    const eventId = await logged("failed", "slack-alert: Slack: HTTP 404");
    expect(await alertEndedEvents(testEnv({ ALERT_WEBHOOK_URL: "" }))).toBe(1);
    expect(alertSink.calls).toHaveLength(0);
    const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"Operator alert"'));
    expect(lines.some((l) => l.includes(eventId) && l.includes("log only"))).toBe(true);
    warn.mockRestore();
  });
});

describe("alerts for stuck events: accepted past the retry window, retrying long overdue", () => {
  const HOUR = 3_600_000;
  const NOW = Date.now();
  const W = STUCK_AFTER_HOURS;

  /** An event still `accepted`, its row last changed `hoursAgo` before NOW, after 3 attempts. */
  async function acceptedSince(hoursAgo: number, status: "accepted" | "processed" = "accepted"): Promise<string> {
    const id = unique(status);
    await recordAccepted(env.DB, {
      id,
      type: "workorder.completed",
      sourceType: "WORK_ORDER_STATUS_CHANGE",
      source: "webhook",
      receivedAt: new Date(NOW - hoursAgo * HOUR - 60_000).toISOString(),
      data: {},
    });
    await env.DB.prepare("UPDATE events SET status = ?2, attempts = 3, last_error = ?3, updated_at = ?4 WHERE id = ?1")
      .bind(
        id,
        status,
        "erp-sync: ERP: HTTP 503 from https://erp.example.com/hooks/stuck-secret-path",
        new Date(NOW - hoursAgo * HOUR).toISOString(),
      )
      .run();
    return id;
  }

  /** An event `retrying` for a day, its next attempt due `hoursAgo` before NOW (null: waiting for a hold). */
  async function retryingDue(hoursAgo: number | null): Promise<string> {
    const id = unique("retrying");
    await recordAccepted(env.DB, {
      id,
      type: "workorder.completed",
      sourceType: "WORK_ORDER_STATUS_CHANGE",
      source: "webhook",
      receivedAt: new Date(NOW - 24 * HOUR).toISOString(),
      data: {},
    });
    await env.DB.prepare(
      `UPDATE events SET status = 'retrying', attempts = 4, last_error = 'erp-sync: ERP: HTTP 503',
         retrying_since = ?2, next_attempt_at = ?3, updated_at = ?2 WHERE id = ?1`,
    )
      .bind(
        id,
        new Date(NOW - 24 * HOUR).toISOString(),
        hoursAgo === null ? null : new Date(NOW - hoursAgo * HOUR).toISOString(),
      )
      .run();
    return id;
  }

  it("the window is the constant of src/store/stuck-window.ts", () => {
    expect(W).toBe(35);
  });

  it(`alerts an event whose last change is older than the window once, naming it and how to replay it; a younger one later`, async () => {
    const stuck = await acceptedSince(W + 1);
    const younger = await acceptedSince(W - 1);
    await acceptedSince(W + 40, "processed");

    expect(await alertStuckEvents(withAlerts, NOW)).toBe(1);
    const [text] = texts();
    expect(text).toContain(stuck);
    expect(text).toContain(`has stayed \`accepted\` with no change for more than ${W} h`);
    expect(text).toContain("3 attempt(s)");
    expect(text).toContain(`npm run cli -- events replay ${stuck}`);
    expect(text).toContain("https://erp.example.com/…");
    expect(text).not.toContain("stuck-secret-path");
    expect(text).not.toContain(younger);

    // Once per event: the next runs send nothing more, until the younger one passes the window too.
    expect(await alertStuckEvents(withAlerts, NOW + 60_000)).toBe(0);
    expect(await alertStuckEvents(withAlerts, NOW + 2 * HOUR)).toBe(1);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain(younger);
    expect(texts()[1]).not.toContain(stuck);
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(stuck).first<{ status: string }>();
    expect(row?.status).toBe("accepted");
  });

  it("alerts it again only after it changed and stuck again, and as dead once it ends so", async () => {
    const stuck = await acceptedSince(W + 8);
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(1);
    // A replay whose send and restore both failed: its row changed, and nothing settles it.
    await env.DB.prepare("UPDATE events SET updated_at = ?2 WHERE id = ?1")
      .bind(stuck, new Date(NOW - (W + 3) * HOUR).toISOString())
      .run();
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(1);
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(0);
    expect(texts()).toHaveLength(2);
    await statusStatement(env.DB, stuck, "dead", null).run();
    expect(await alertEndedEvents(withAlerts)).toBe(1);
    expect(texts()[2]).toContain("*dead*");
    expect(texts()[2]).toContain(stuck);
  });

  it("folds many into one digest with the bulk replay's preview, from the Cron Trigger", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await acceptedSince(W + 1 + i));
    await worker.scheduled(
      createScheduledController({ scheduledTime: NOW, cron: "* * * * *" }),
      testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, POLL_MODE: "off" }),
    );
    const digests = texts().filter((t) => t.includes(":hourglass:"));
    expect(digests).toHaveLength(1);
    const [text] = digests;
    expect(text).toContain("12 MaintainX events have stayed `accepted`");
    expect(text).toContain("…and 2 more in this alert.");
    expect(ids.filter((id) => text?.includes(id))).toHaveLength(10);
    expect(text).toContain(
      `events replay --status accepted --until ${new Date(NOW - W * HOUR).toISOString()} --dry-run`,
    );
  });

  it("alerts a retrying event whose next attempt is more than an hour overdue once per next attempt, never one waiting for a hold", async () => {
    const overdue = await retryingDue(2);
    const due = await retryingDue(0.5);
    const held = await retryingDue(null);

    expect(await alertStuckEvents(withAlerts, NOW)).toBe(1);
    const [text] = texts();
    expect(text).toContain(overdue);
    expect(text).toContain("is `retrying` with its next attempt more than 1 h overdue");
    expect(text).toContain(`(4 attempt(s), next attempt was due ${new Date(NOW - 2 * HOUR).toISOString()})`);
    expect(text).toContain("If D1 was unavailable meanwhile");
    expect(text).toContain(`npm run cli -- events replay ${overdue}`);
    expect(text).not.toContain(due);

    // Once per next attempt; named again once a later next attempt is overdue too.
    expect(await alertStuckEvents(withAlerts, NOW + 60_000)).toBe(0);
    // Nor named again as long-retrying in the same spell.
    expect(texts().some((t) => t.includes(":hourglass_flowing_sand:"))).toBe(false);
    await env.DB.prepare("UPDATE events SET next_attempt_at = ?2 WHERE id = ?1")
      .bind(overdue, new Date(NOW - 1.5 * HOUR).toISOString())
      .run();
    expect(await alertStuckEvents(withAlerts, NOW + 60_000)).toBe(1);
    expect(texts()[1]).toContain(overdue);

    // The held one waits on purpose: never stuck, however long.
    expect(await alertStuckEvents(withAlerts, NOW + 1000 * HOUR)).toBe(1);
    expect(texts()[2]).toContain(due);
    expect(texts().some((t) => t.includes(held))).toBe(false);
  });

  it("names accepted and overdue events in one digest, each with what to do", async () => {
    const accepted = await acceptedSince(W + 2);
    const overdue = await retryingDue(3);
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(2);
    const [text] = texts();
    expect(text).toContain("2 MaintainX events may not settle by themselves: 1 stayed `accepted`");
    expect(text).toContain("1 is `retrying` with the next attempt more than 1 h overdue");
    // Longest stuck first: the accepted one's last change is days older than the overdue attempt.
    expect(text?.indexOf(accepted)).toBeLessThan(text?.indexOf(overdue) ?? -1);
    expect(text).toContain("*accepted*");
    expect(text).toContain("*retrying*");
    expect(text).toContain("--status accepted --until");
    expect(text).toContain("replay each overdue one: `npm run cli -- events replay <id>`");
  });

  it("a retry alerted as long-retrying is still alerted when it becomes overdue, once", async () => {
    const overdue = await retryingDue(2);
    expect(await alertRetryingEvents(withAlerts, NOW)).toBe(1);
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(1);
    expect(await alertStuckEvents(withAlerts, NOW)).toBe(0);
    expect(await alertRetryingEvents(withAlerts, NOW)).toBe(0);
    expect(texts().filter((t) => t.includes(overdue))).toHaveLength(2);
  });
});

describe("the webhook-silence alert", () => {
  const NOW = Date.parse("2026-12-01T12:00:00.000Z");
  const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

  async function webhookAt(minutesAgo: number, type = "workorder.created"): Promise<void> {
    await recordAccepted(env.DB, {
      id: unique("webhook"),
      type,
      sourceType: type === "workorder.created" ? "NEW_WORK_ORDER" : "WORK_ORDER_STATUS_CHANGE",
      source: "webhook",
      receivedAt: at(minutesAgo),
      data: {},
    });
  }

  async function polledChange(
    changedMinutesAgo: number,
    loggedMinutesAgo: number,
    type = "workorder.created",
  ): Promise<void> {
    await recordAccepted(env.DB, {
      id: unique("poll"),
      type,
      sourceType: "WORK_ORDER",
      source: "poll",
      receivedAt: at(loggedMinutesAgo),
      occurredAt: at(changedMinutesAgo),
      data: {},
    });
  }

  it("alerts once when webhooks stopped while the poller kept finding changes, and says when they resume", async () => {
    await webhookAt(120);
    await polledChange(90, 89);
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("alerted");
    expect(await checkWebhookSilence(withAlerts, NOW + 60_000)).toBe("already_alerted");
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain("No MaintainX webhook for 120 min");
    expect(texts()[0]).toContain("subscriptions list");

    await webhookAt(0);
    expect(await checkWebhookSilence(withAlerts, NOW + 120_000)).toBe("resumed");
    expect(texts()[1]).toContain("arriving again");
    expect(await checkWebhookSilence(withAlerts, NOW + 180_000)).toBe("flowing");

    // A second silence is a second alert.
    await polledChange(-90, -91);
    expect(await checkWebhookSilence(withAlerts, NOW + 120 * 60_000)).toBe("alerted");
    expect(texts()).toHaveLength(3);
  });

  it("sends one silence alert, and one resumed note, when two scheduled runs overlap", async () => {
    await webhookAt(120);
    await polledChange(90, 89);
    const outcomes = await Promise.all([checkWebhookSilence(withAlerts, NOW), checkWebhookSilence(withAlerts, NOW)]);
    expect(outcomes.sort()).toEqual(["alerted", "already_alerted"]);
    await webhookAt(0);
    const later = await Promise.all([
      checkWebhookSilence(withAlerts, NOW + 60_000),
      checkWebhookSilence(withAlerts, NOW + 60_000),
    ]);
    expect(later.sort()).toEqual(["already_alerted", "resumed"]);
    expect(texts()).toHaveLength(2);
  });

  it("counts only changes a subscription it has heard from would have delivered: not plain updates, not endings without status webhooks", async () => {
    await webhookAt(120, "workorder.created");
    await polledChange(90, 89, "workorder.updated");
    await polledChange(80, 79, "workorder.completed");
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("silent");
    await webhookAt(121, "workorder.status_changed");
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("alerted");
    expect(texts()[0]).toContain("found 1 new or ended work order(s)");
  });

  it("stays quiet while webhooks flow, before any webhook, without polled changes, and when turned off", async () => {
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("no_webhooks_yet");
    await webhookAt(30);
    await polledChange(10, 9);
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("flowing");
    // Quiet for two hours, but the poller found nothing newer than the last webhook: no changes were missed.
    await env.DB.prepare("DELETE FROM events").run();
    await webhookAt(120);
    await polledChange(120.5, 100);
    expect(await checkWebhookSilence(withAlerts, NOW)).toBe("silent");
    await polledChange(60, 59);
    expect(await checkWebhookSilence(testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, ALERT_SILENCE_MINUTES: "0" }), NOW)).toBe(
      "off",
    );
    expect(texts()).toEqual([]);
  });
});
