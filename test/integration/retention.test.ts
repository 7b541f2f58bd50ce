// RETENTION_DAYS and FAILED_RETENTION_DAYS (docs/storage.md): the scheduled run deletes processed
// events, their outcomes, dead letters and links to their change older than the cutoff, in bounded
// batches; failed and dead events only a longer period after their last change, and a week after
// a final operator notice that named them; it keeps the reports, the mirror of work orders not
// deleted, and each such work order's latest ending with its claims. The long history, the sweep
// of changes and reopens, and repeated deliveries: retention-bounded.test.ts.

import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import type { CanonicalEvent } from "../../src/events/canonical";
import worker from "../../src/index";
import { applyRetention } from "../../src/polling/scheduled";
import { recordAccepted, statusStatement } from "../../src/store/event-log";
import { dedupeKey } from "../../src/store/keys";
import { EXPIRED_UNFINISHED, NOTICE_DUE, OLD_PROCESSED } from "../../src/store/retention";
import statusDone from "../fixtures/status-change-done.json";
import { maintainXDelivery } from "../helpers/deliveries";
import { settled } from "../helpers/event-status";
import { world, worldErp } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const DAY = 86_400_000;

const ALERT_URL = "https://alerts.slack.test/services/T111/B222/retention-alert-token";
const alertSink = world.sink(ALERT_URL);
const texts = () => alertSink.calls.map((c) => String((c.json as { text?: string } | undefined)?.text));

let run = 0;
beforeEach(async () => {
  run += 1;
  alertSink.calls.length = 0;
  // Storage is shared by the tests of this file: start each from empty tables.
  await env.DB.batch(
    [
      "events",
      "side_effects",
      "dead_letters",
      "event_changes",
      "changes",
      "work_orders",
      "handler_attempts",
      "held_events",
      "work_order_reopens",
    ].map((t) => env.DB.prepare(`DELETE FROM ${t}`)),
  );
});

type Status = "accepted" | "processed" | "failed" | "dead";

/**
 * An event received `ageDays` ago, settled as `status` (`accepted`: still in flight), its row last
 * changed `changedDaysAgo` ago (by default when it was received).
 */
async function logEvent(
  ageDays: number,
  n: number,
  status: Status = "processed",
  changedDaysAgo = ageDays,
  lastError: string | null = status === "failed" ? "erp-sync: ERP: HTTP 400" : null,
): Promise<string> {
  const id = `retention-${run}-${ageDays}d-${n}`;
  const event: CanonicalEvent = {
    id,
    type: "workorder.updated",
    sourceType: "WORK_ORDER_CHANGE",
    source: "webhook",
    receivedAt: new Date(NOW - ageDays * DAY - n * 1000).toISOString(),
    workOrderId: String(1000 + n),
    data: { workOrderId: 1000 + n },
  };
  await recordAccepted(env.DB, event);
  if (status !== "accepted") await statusStatement(env.DB, id, status, lastError).run();
  await changedAt(id, changedDaysAgo);
  await env.DB.prepare(
    "INSERT INTO side_effects (event_id, handler, status, attempts, updated_at) VALUES (?1, 'warehouse', 'done', 1, ?2)",
  )
    .bind(id, event.receivedAt)
    .run();
  // The ending it reported: kept, so the same event id seen again resolves to the same ending.
  await env.DB.batch([
    env.DB.prepare("INSERT INTO changes (work_order_id, kind, created_at) VALUES (?1, 'DONE', ?2)").bind(
      event.workOrderId,
      event.receivedAt,
    ),
    env.DB.prepare(
      `INSERT INTO event_changes (event_id, change_id, work_order_id, kind)
       SELECT ?1, max(id), ?2, 'DONE' FROM changes WHERE work_order_id = ?2`,
    ).bind(id, event.workOrderId),
  ]);
  return id;
}

/** The row's last change (`updated_at`), `daysAgo` before NOW: a replay, a retry, its settling. */
async function changedAt(id: string, daysAgo: number): Promise<void> {
  await env.DB.prepare("UPDATE events SET updated_at = ?2 WHERE id = ?1")
    .bind(id, new Date(NOW - daysAgo * DAY).toISOString())
    .run();
}

async function deadLetter(ageDays: number, eventId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO dead_letters (event_id, message, attempts, dead_at) VALUES (?1, '{}', 5, ?2)")
    .bind(eventId, new Date(NOW - ageDays * DAY).toISOString())
    .run();
}

const ids = async (sql: string) => (await env.DB.prepare(sql).all<{ id: string }>()).results.map((r) => r.id);
const count = async (sql: string) => (await env.DB.prepare(sql).first<{ n: number }>())?.n ?? -1;

describe("retention of the event log", () => {
  it("deletes exactly the processed events received before RETENTION_DAYS, with their per-event outcomes", async () => {
    const old = [await logEvent(31, 1), await logEvent(45, 2), await logEvent(400, 3)];
    const kept = [await logEvent(29, 4), await logEvent(0, 5), await logEvent(29.99, 6)];

    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);

    expect((await ids("SELECT id FROM events")).sort()).toEqual([...kept].sort());
    expect(await count("SELECT COUNT(*) AS n FROM side_effects")).toBe(kept.length);
    for (const id of old) {
      expect(await count(`SELECT COUNT(*) AS n FROM side_effects WHERE event_id = '${id}'`)).toBe(0);
    }
    // Which ending each event id resolved to goes with the event: within RETENTION_DAYS the same id
    // resolves the same way.
    expect(await count("SELECT COUNT(*) AS n FROM event_changes")).toBe(kept.length);
  });

  it("keeps an old event that is still accepted (being retried, replayed or stuck) until it is processed", async () => {
    const pending = await logEvent(60, 1, "accepted", 200);
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([pending]);
    await statusStatement(env.DB, pending, "processed", null).run();
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([]);
  });

  it("works through a backlog in batches, oldest first, one batch per run", async () => {
    const old: string[] = [];
    for (let n = 0; n < 7; n++) old.push(await logEvent(60 + n, n));
    const recent = await logEvent(1, 99);

    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW, 3);
    // The three oldest (66, 65 and 64 days) went first.
    expect((await ids("SELECT id FROM events")).sort()).toEqual([...old.slice(0, 4), recent].sort());
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW, 3);
    expect((await ids("SELECT id FROM events")).sort()).toEqual([old[0] as string, recent].sort());
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW, 3);
    expect(await ids("SELECT id FROM events")).toEqual([recent]);
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW, 3);
    expect(await ids("SELECT id FROM events")).toEqual([recent]);
  });

  it("deletes an old event's dead letters with it, and old dead letters of events already gone", async () => {
    const oldEvent = await logEvent(40, 1);
    await deadLetter(29, oldEvent); // died after the cutoff, but its event goes: so does the letter
    const recentEvent = await logEvent(2, 2);
    await deadLetter(2, recentEvent);
    await deadLetter(90, "never-logged-1");
    await deadLetter(31, "never-logged-2");
    await deadLetter(2, "never-logged-recent");
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);
    const left = await env.DB.prepare("SELECT event_id FROM dead_letters ORDER BY event_id").all<{
      event_id: string;
    }>();
    expect(left.results.map((r) => r.event_id)).toEqual(["never-logged-recent", recentEvent].sort());
  });

  it("keeps the reports, the mirror, and a mirrored work order's latest ending with its claims; the rest of an old change goes", async () => {
    const mirrored = await logEvent(90, 1);
    const unmirrored = await logEvent(90, 2);
    await logEvent(1, 3);
    const mirror = (id: string, deletedDaysAgo?: number) =>
      env.DB.prepare(
        `INSERT INTO work_orders (id, title, status, version_ms, deleted, deleted_at, synced_at)
         VALUES (?1, 'Old pump', 'DONE', 1, ?2, ?3, ?4)`,
      )
        .bind(
          id,
          deletedDaysAgo === undefined ? 0 : 1,
          deletedDaysAgo === undefined ? null : new Date(NOW - deletedDaysAgo * DAY).toISOString(),
          new Date(NOW - 90 * DAY).toISOString(),
        )
        .run();
    await mirror("1001");
    // Deleted 31 days ago with no event left, and 31 days ago with one still logged (1003).
    await mirror("1009", 31);
    await mirror("1003", 31);
    for (const id of [mirrored, unmirrored]) {
      await env.DB.prepare(
        `INSERT INTO side_effects (change_id, handler, status, attempts, updated_at)
         VALUES ((SELECT change_id FROM event_changes WHERE event_id = ?1), 'erp-sync', 'done', 1, ?2)`,
      )
        .bind(id, new Date(NOW - 90 * DAY).toISOString())
        .run();
    }
    await env.REPORTS.put("reports/1001.json", "{}");

    // One slice: the whole sweep in this run.
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW, 500, 1);

    expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(1);
    expect(await ids("SELECT id FROM work_orders ORDER BY id")).toEqual(["1001", "1003"]);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '1001'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '1002'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM side_effects WHERE change_id IS NOT NULL")).toBe(1);
    expect(await env.REPORTS.head("reports/1001.json")).not.toBeNull();
  });

  it("runs from the Cron Trigger, also when polling is off or has no API key", async () => {
    const old = await logEvent(31, 1);
    const kept = await logEvent(29, 2);
    for (const overrides of [{ POLL_MODE: "off" }, { MAINTAINX_API_KEY: "" }]) {
      await worker.scheduled(
        createScheduledController({ scheduledTime: NOW, cron: "* * * * *" }),
        testEnv({ RETENTION_DAYS: "30", ...overrides }),
      );
    }
    expect(await ids("SELECT id FROM events")).toEqual([kept]);
    expect(old).not.toBe(kept);
  });

  /** A completion delivered once and sent to the ERP; `deliver` sends the same delivery again. */
  async function completedOnce() {
    const workOrderId = 7_700_000 + Math.floor(Math.random() * 200_000);
    const body = { ...statusDone, workOrderId, occurredAt: new Date().toISOString() };
    const deliver = async () => {
      const response = await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body));
      return ((await response.json()) as { eventId: string }).eventId;
    };
    const eventId = await deliver();
    const erpPosts = () => worldErp.calls.filter((c) => (c.json as { eventId?: string })?.eventId === eventId);
    expect(await settled(eventId)).toBe("processed");
    expect(erpPosts()).toHaveLength(1);
    return { eventId, deliver, erpPosts };
  }

  it("repeats no ERP post for a completion delivered again within RETENTION_DAYS, after retention ran", async () => {
    const { eventId, deliver, erpPosts } = await completedOnce();

    // Twenty-nine days on: retention runs its whole sweep and deletes what is older (here `old`);
    // the completion's KV dedupe key has long expired.
    const old = await logEvent(40, 1);
    await env.DB.prepare("UPDATE events SET received_at = ?2 WHERE id = ?1")
      .bind(eventId, new Date(Date.now() - 29 * DAY).toISOString())
      .run();
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), Date.now(), 500, 1);
    expect(await count(`SELECT COUNT(*) AS n FROM events WHERE id = '${old}'`)).toBe(0);
    await env.IDEMPOTENCY.delete(dedupeKey(eventId));

    expect(await deliver()).toBe(eventId);
    expect(await settled(eventId)).toBe("processed");
    expect(erpPosts()).toHaveLength(1);
  });

  it("repeats no ERP post for the same completion delivered again after retention deleted its event", async () => {
    const { eventId, deliver, erpPosts } = await completedOnce();

    // Forty days on, the event and its link to the ending are gone; the ending, its work order's
    // latest, stays with the mirror row, and knows the webhook's own time.
    await env.DB.prepare("UPDATE events SET received_at = ?2 WHERE id = ?1")
      .bind(eventId, new Date(Date.now() - 40 * DAY).toISOString())
      .run();
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), Date.now(), 500, 1);
    expect(await count(`SELECT COUNT(*) AS n FROM events WHERE id = '${eventId}'`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM event_changes WHERE event_id = '${eventId}'`)).toBe(0);
    await env.IDEMPOTENCY.delete(dedupeKey(eventId));

    expect(await deliver()).toBe(eventId);
    expect(await settled(eventId)).toBe("processed");
    await new Promise((r) => setTimeout(r, 500));
    expect(erpPosts()).toHaveLength(1);
  });

  it("keeps everything, and sends no notice, with RETENTION_DAYS=0", async () => {
    await logEvent(4000, 1);
    await logEvent(4000, 2, "dead");
    await deadLetter(4000, "dead-ancient");
    await applyRetention(testEnv({ RETENTION_DAYS: "0", ALERT_WEBHOOK_URL: ALERT_URL }), NOW);
    expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(2);
    expect(await count("SELECT COUNT(*) AS n FROM dead_letters")).toBe(1);
    expect(texts()).toEqual([]);
  });

  it("defaults to 30 days, and a malformed value keeps the default", async () => {
    const old = await logEvent(31, 1);
    const kept = await logEvent(29, 2);
    await applyRetention(testEnv({ RETENTION_DAYS: "thirty" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([kept]);
    expect(old).not.toBe(kept);
  });
});

describe("retention of failed and dead events (FAILED_RETENTION_DAYS)", () => {
  const withAlerts = (overrides: Record<string, string> = {}) =>
    testEnv({ RETENTION_DAYS: "30", ALERT_WEBHOOK_URL: ALERT_URL, ...overrides });
  const letters = async (eventId: string) =>
    count(`SELECT COUNT(*) AS n FROM dead_letters WHERE event_id = '${eventId}'`);

  it("keeps a failed or dead event received long ago but changed recently (a replay that ended so again), with its outcomes and dead letter", async () => {
    // Received 31 and 400 days ago; replayed, and dead-lettered or failed again, today.
    const dead = await logEvent(31, 1, "dead", 0);
    await deadLetter(31, dead);
    await deadLetter(0, dead);
    const failed = await logEvent(400, 2, "failed", 0);
    await applyRetention(withAlerts(), NOW);
    expect((await ids("SELECT id FROM events")).sort()).toEqual([dead, failed].sort());
    expect(await letters(dead)).toBe(2);
    expect(await count("SELECT COUNT(*) AS n FROM side_effects")).toBe(2);
    expect(texts()).toEqual([]);
  });

  it("keeps a failed or dead event whose last change is older than RETENTION_DAYS but within FAILED_RETENTION_DAYS, without a notice", async () => {
    const dead = await logEvent(60, 1, "dead");
    await deadLetter(60, dead);
    const failed = await logEvent(82, 2, "failed");
    await applyRetention(withAlerts(), NOW);
    expect((await ids("SELECT id FROM events")).sort()).toEqual([dead, failed].sort());
    expect(await letters(dead)).toBe(1);
    expect(texts()).toEqual([]);
  });

  it("names it in one final notice a week before, then deletes it with its outcomes, dead letter and link to its change, and then the change nothing keeps", async () => {
    const dead = await logEvent(
      84,
      1,
      "dead",
      84,
      "erp-sync: ERP: HTTP 503 at https://erp.example.com/hooks/secret-path",
    );
    await deadLetter(84, dead);
    await env.DB.prepare(
      `INSERT INTO side_effects (change_id, handler, status, attempts, updated_at)
       VALUES ((SELECT change_id FROM event_changes WHERE event_id = ?1), 'erp-sync', 'failed', 1, ?2)`,
    )
      .bind(dead, new Date(NOW - 84 * DAY).toISOString())
      .run();
    const recent = await logEvent(75, 2, "failed");

    await applyRetention(withAlerts(), NOW);
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain(dead);
    expect(text).toContain("*dead*");
    expect(text).toContain("deleted on or after 2026-12-08 12:00 UTC");
    expect(text).toContain("90 days after their last change (FAILED_RETENTION_DAYS)");
    expect(text).toContain(`npm run cli -- events replay ${dead}`);
    expect(text).toContain(`npm run cli -- events show ${dead} --json`);
    expect(text).toContain("https://erp.example.com/…");
    expect(text).not.toContain("secret-path");
    expect(text).not.toContain(recent);
    expect((await ids("SELECT id FROM events")).sort()).toEqual([dead, recent].sort());

    // Once per event: the next runs of the week send nothing more and delete nothing.
    await applyRetention(withAlerts(), NOW + 60_000);
    await applyRetention(withAlerts(), NOW + 7 * DAY - 60_000);
    expect(texts()).toHaveLength(1);
    expect(await letters(dead)).toBe(1);
    expect((await ids("SELECT id FROM events")).sort()).toEqual([dead, recent].sort());

    // A week after the notice, and over 90 days after its last change: it goes, and only it.
    await applyRetention(withAlerts(), NOW + 7 * DAY + 60_000, 500, 1);
    expect(await ids("SELECT id FROM events")).toEqual([recent]);
    expect(await letters(dead)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM side_effects WHERE event_id = '${dead}'`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM event_changes WHERE event_id = '${dead}'`)).toBe(0);
    // Its change, made 91 days ago, with no event, no mirror row and a later change: it goes, with
    // the claim keyed by it (the sweep of this run covers every id: one slice).
    expect(await count("SELECT COUNT(*) AS n FROM side_effects WHERE change_id IS NOT NULL")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM changes")).toBe(1);
    // `recent`, 82 days unchanged by now, is not named yet.
    expect(texts()).toHaveLength(1);
  });

  it("gives an event already past the period its notice and a full week before it goes (the first run after upgrading)", async () => {
    const ancient = await logEvent(400, 1, "failed");
    await applyRetention(withAlerts(), NOW);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(ancient);
    await applyRetention(withAlerts(), NOW + 6 * DAY);
    expect(await ids("SELECT id FROM events")).toEqual([ancient]);
    await applyRetention(withAlerts(), NOW + 7 * DAY + 60_000);
    expect(await ids("SELECT id FROM events")).toEqual([]);
    expect(texts()).toHaveLength(1);
  });

  it("voids a notice when the event changes after it: replayed and dead again, it is kept a whole period more", async () => {
    const dead = await logEvent(85, 1, "dead");
    await applyRetention(withAlerts(), NOW);
    expect(texts()).toHaveLength(1);
    // Replayed a day later; it died again.
    await changedAt(dead, -1);
    await applyRetention(withAlerts(), NOW + 8 * DAY);
    await applyRetention(withAlerts(), NOW + 60 * DAY);
    expect(await ids("SELECT id FROM events")).toEqual([dead]);
    expect(texts()).toHaveLength(1);
    // Its new period: a new notice 83 days after the new change, deletion a week later.
    await applyRetention(withAlerts(), NOW + 85 * DAY);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain(dead);
    await applyRetention(withAlerts(), NOW + 91 * DAY);
    expect(await ids("SELECT id FROM events")).toEqual([dead]);
    await applyRetention(withAlerts(), NOW + 92 * DAY + 60_000);
    expect(await ids("SELECT id FROM events")).toEqual([]);
  });

  it("folds many notices into one digest that lists ten, counts the rest, and says how to keep them", async () => {
    const all: string[] = [];
    for (let n = 0; n < 12; n++) all.push(await logEvent(100 + n, n, n % 2 === 0 ? "failed" : "dead"));
    await applyRetention(withAlerts(), NOW);
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain("These 12 failed or dead MaintainX events are deleted on or after 2026-12-08 12:00 UTC");
    expect(text).toContain("…and 2 more in this alert.");
    expect(all.filter((id) => text?.includes(id))).toHaveLength(10);
    const until = new Date(NOW - 83 * DAY).toISOString();
    expect(text).toContain(`events replay --status failed --until ${until} --dry-run`);
    expect(text).toContain(`events replay --status dead --until ${until} --dry-run`);
    expect(text).toContain("events show <id> --json");
  });

  it("keeps failed and dead events for ever with FAILED_RETENTION_DAYS=0, and still deletes processed ones", async () => {
    const dead = await logEvent(4000, 1, "dead");
    await logEvent(4000, 2);
    await applyRetention(withAlerts({ FAILED_RETENTION_DAYS: "0" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([dead]);
    expect(texts()).toEqual([]);
  });

  it("keeps them at least RETENTION_DAYS when FAILED_RETENTION_DAYS is shorter", async () => {
    const within = await logEvent(22, 1, "failed");
    await applyRetention(withAlerts({ RETENTION_DAYS: "30", FAILED_RETENTION_DAYS: "10" }), NOW);
    expect(texts()).toEqual([]);
    const noticed = await logEvent(24, 2, "failed");
    await applyRetention(withAlerts({ RETENTION_DAYS: "30", FAILED_RETENTION_DAYS: "10" }), NOW);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(noticed);
    expect(texts()[0]).not.toContain(within);
    expect(texts()[0]).toContain("kept 30 days after their last change");
  });

  it("defaults to 90 days; a malformed value keeps the default and is reported", async () => {
    const config = readConfig(testEnv({ FAILED_RETENTION_DAYS: "ninety" }));
    expect(config.failedRetentionDays).toBe(90);
    expect(config.problems).toContainEqual({ name: "FAILED_RETENTION_DAYS", value: "ninety", used: "90" });
    const kept = await logEvent(82, 1, "dead");
    const noticed = await logEvent(84, 2, "dead");
    await applyRetention(withAlerts({ FAILED_RETENTION_DAYS: "ninety" }), NOW);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain(noticed);
    expect(texts()[0]).not.toContain(kept);
  });

  it("finds what to delete and what to name through an index, with no sort", async () => {
    const plan = async (select: string, ...bindings: unknown[]) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${select}`)
          .bind(...bindings)
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join(" | ");
    const iso = new Date(NOW).toISOString();
    const processed = await plan(OLD_PROCESSED, iso, 500);
    expect(processed).toContain("USING INDEX events_by_status (status=? AND received_at<?)");
    const unfinished = await plan(EXPIRED_UNFINISHED, iso, 500, iso);
    expect(unfinished).toContain("USING INDEX events_unfinished (updated_at<?)");
    const notices = await plan(
      `SELECT id FROM events INDEXED BY events_unfinished WHERE ${NOTICE_DUE} ORDER BY updated_at LIMIT 200`,
      iso,
    );
    expect(notices).toContain("USING INDEX events_unfinished (updated_at<?)");
    for (const detail of [processed, unfinished, notices]) expect(detail).not.toContain("TEMP B-TREE");
  });
});
