// RETENTION_DAYS (docs/storage.md): the scheduled run deletes events, their outcomes and dead
// letters older than the cutoff, in bounded batches, and keeps the mirror, the reports and the
// claims that make an effect happen once per real change.

import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/events/canonical";
import worker from "../../src/index";
import { applyRetention } from "../../src/polling/scheduled";
import { recordAccepted, statusStatement } from "../../src/store/event-log";
import { dedupeKey } from "../../src/store/keys";
import statusDone from "../fixtures/status-change-done.json";
import { maintainXDelivery } from "../helpers/deliveries";
import { settled } from "../helpers/event-status";
import { worldErp } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const DAY = 86_400_000;

let run = 0;
beforeEach(async () => {
  run += 1;
  // Storage is shared by the tests of this file: start each from empty tables.
  await env.DB.batch(
    ["events", "side_effects", "dead_letters", "event_changes", "changes", "work_orders"].map((t) =>
      env.DB.prepare(`DELETE FROM ${t}`),
    ),
  );
});

/** An event received `ageDays` ago, settled as `status` (`accepted`: still in flight). */
async function logEvent(ageDays: number, n: number, status: "accepted" | "processed" = "processed"): Promise<string> {
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
  if (status !== "accepted") await statusStatement(env.DB, id, status, null).run();
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

async function deadLetter(ageDays: number, eventId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO dead_letters (event_id, message, attempts, dead_at) VALUES (?1, '{}', 5, ?2)")
    .bind(eventId, new Date(NOW - ageDays * DAY).toISOString())
    .run();
}

const ids = async (sql: string) => (await env.DB.prepare(sql).all<{ id: string }>()).results.map((r) => r.id);
const count = async (sql: string) => (await env.DB.prepare(sql).first<{ n: number }>())?.n ?? -1;

describe("retention of the event log", () => {
  it("deletes exactly the settled events older than RETENTION_DAYS, with their per-event outcomes", async () => {
    const old = [await logEvent(31, 1), await logEvent(45, 2), await logEvent(400, 3)];
    const kept = [await logEvent(29, 4), await logEvent(0, 5), await logEvent(29.99, 6)];

    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);

    expect((await ids("SELECT id FROM events")).sort()).toEqual([...kept].sort());
    expect(await count("SELECT COUNT(*) AS n FROM side_effects")).toBe(kept.length);
    for (const id of old) {
      expect(await count(`SELECT COUNT(*) AS n FROM side_effects WHERE event_id = '${id}'`)).toBe(0);
    }
    // Which ending each event id resolved to stays: the same id seen again resolves the same way.
    expect(await count("SELECT COUNT(*) AS n FROM event_changes")).toBe(old.length + kept.length);
  });

  it("keeps an old event that is still accepted (being retried or replayed) until it settles", async () => {
    const pending = await logEvent(60, 1, "accepted");
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([pending]);
    await statusStatement(env.DB, pending, "failed", "erp-sync: ERP: HTTP 400").run();
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

  it("keeps the mirror, the reports and the claims keyed by a real change", async () => {
    const old = await logEvent(90, 1);
    await env.DB.prepare(
      "INSERT INTO work_orders (id, title, status, version_ms, synced_at) VALUES ('1001', 'Old pump', 'DONE', 1, ?1)",
    )
      .bind(new Date(NOW - 90 * DAY).toISOString())
      .run();
    await env.DB.prepare(
      `INSERT INTO side_effects (change_id, handler, status, attempts, updated_at)
       VALUES ((SELECT change_id FROM event_changes WHERE event_id = ?1), 'erp-sync', 'done', 1, ?2)`,
    )
      .bind(old, new Date(NOW - 90 * DAY).toISOString())
      .run();
    await env.REPORTS.put("reports/1001.json", "{}");

    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), NOW);

    expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM work_orders WHERE id = '1001'")).toBe(1);
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

  it("repeats no ERP post for a completion delivered again after retention deleted its event", async () => {
    const workOrderId = 7_700_000 + Math.floor(Math.random() * 100_000);
    const body = { ...statusDone, workOrderId, occurredAt: new Date().toISOString() };
    const deliver = async () => {
      const response = await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body));
      return ((await response.json()) as { eventId: string }).eventId;
    };
    const erpPosts = () => worldErp.calls.filter((c) => (c.json as { eventId?: string })?.eventId === eventId);

    const eventId = await deliver();
    expect(await settled(eventId)).toBe("processed");
    expect(erpPosts()).toHaveLength(1);

    // Forty days on: retention deletes the event, and its KV dedupe key has long expired.
    await env.DB.prepare("UPDATE events SET received_at = ?2 WHERE id = ?1")
      .bind(eventId, new Date(Date.now() - 40 * DAY).toISOString())
      .run();
    await applyRetention(testEnv({ RETENTION_DAYS: "30" }), Date.now());
    expect(await count(`SELECT COUNT(*) AS n FROM events WHERE id = '${eventId}'`)).toBe(0);
    await env.IDEMPOTENCY.delete(dedupeKey(eventId));

    expect(await deliver()).toBe(eventId);
    expect(await settled(eventId)).toBe("processed");
    expect(erpPosts()).toHaveLength(1);
  });

  it("keeps everything with RETENTION_DAYS=0", async () => {
    await logEvent(4000, 1);
    await deadLetter(4000, "dead-ancient");
    await applyRetention(testEnv({ RETENTION_DAYS: "0" }), NOW);
    expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM dead_letters")).toBe(1);
  });

  it("defaults to 30 days, and a malformed value keeps the default", async () => {
    const old = await logEvent(31, 1);
    const kept = await logEvent(29, 2);
    await applyRetention(testEnv({ RETENTION_DAYS: "thirty" }), NOW);
    expect(await ids("SELECT id FROM events")).toEqual([kept]);
    expect(old).not.toBe(kept);
  });
});
