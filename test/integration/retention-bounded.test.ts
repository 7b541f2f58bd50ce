// Storage stays bounded (docs/storage.md, "Retention"): every D1 table has a rule, and
// over a long history written day after day, with retention run each day with a moving clock,
// nothing kept per event or per change grows without end; what grows grows per work order, like
// the mirror. What must stay does: events still retrying, waiting for a held handler or not yet
// consumed, failed and dead events within their period, and the changes they resolved to. And a
// delivery repeated within RETENTION_DAYS, by the same event id or by the other path, repeats no
// effect through the real consumer after retention ran.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { HandlerRegistry } from "../../src/contract/registry";
import type { CanonicalEvent } from "../../src/events/canonical";
import { erpSync } from "../../src/handlers/erp";
import { completionReport } from "../../src/handlers/report";
import { slackAlert } from "../../src/handlers/slack";
import { pollEvents } from "../../src/ingest/accept-polled";
import { applyRetention } from "../../src/polling/scheduled";
import { consumeEvents } from "../../src/routing/consumer";
import {
  CHANGE_CLAIMS,
  DELETABLE_CHANGES,
  DELETABLE_REOPENS,
  DELETED_WORK_ORDERS,
  LINKS_OF_GONE_EVENTS,
  OLD_PROCESSED,
  SWEEP_MAXIMA,
  sweepRange,
  WITH_EVENT,
} from "../../src/store/retention";
import { interceptD1 } from "../helpers/d1-round-trips";
import { statusChangeBody } from "../helpers/deliveries";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { API_BASE, createOutbound, ERP_URL, SLACK_URL } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Slices of the sweep per pass in these tests: four runs a simulated day sweep every id once. */
const SLICES = 4;

/** Every table of the schema, but `d1_migrations` and SQLite's own. */
const TABLES = [
  "events",
  "side_effects",
  "dead_letters",
  "handler_attempts",
  "held_events",
  "event_changes",
  "changes",
  "work_order_reopens",
  "work_orders",
  "handlers",
  "locks",
  "poll_state",
  "poll_resume",
  "alert_state",
  "webhook_type_silences",
] as const;
type Table = (typeof TABLES)[number];

beforeEach(async () => {
  await env.DB.batch(
    [
      "side_effects",
      "dead_letters",
      "handler_attempts",
      "held_events",
      "event_changes",
      "changes",
      "work_order_reopens",
      "work_orders",
      "events",
    ].map((t) => env.DB.prepare(`DELETE FROM ${t}`)),
  );
});

const count = async (sql: string, ...bindings: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...bindings)
      .first<{ n: number }>()
  )?.n ?? -1;

async function counts(): Promise<Record<Table, number>> {
  const rows = await env.DB.batch<{ n: number }>(TABLES.map((t) => env.DB.prepare(`SELECT COUNT(*) AS n FROM ${t}`)));
  return Object.fromEntries(TABLES.map((t, i) => [t, rows[i]?.results[0]?.n ?? -1])) as Record<Table, number>;
}

/** Inserts rows given as objects through one statement (`json_each`): a day of history per call. */
function insertRows(table: string, rows: Array<Record<string, unknown>>): D1PreparedStatement[] {
  const first = rows[0];
  if (!first) return [];
  const columns = Object.keys(first);
  return [
    env.DB.prepare(
      `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${columns.map((c) => `value ->> '${c}'`).join(", ")} FROM json_each(?1)`,
    ).bind(JSON.stringify(rows)),
  ];
}

/**
 * The history of one day, as the consumer leaves it: six work orders a day (`k` 0–5), each created
 * by webhook, polled open five times (five reopens), completed by webhook and by poll (one
 * ending, two events), every event with its own claim (`warehouse`) and attempt log, each change
 * with its claims. Work order 3 is reopened and done again (a second ending); 4 has no mirror row
 * (its `warehouse` was skipped); 5 is deleted the same day. Some events do not end processed: the
 * completion webhook of 0 fails and of 1 goes dead (a dead letter); of 2 on days ≡ 0 (mod 10) it
 * is retrying, and on days ≡ 5 (mod 20) it waits for a held ERP handler; of 4 on days ≡ 0 (mod 7)
 * it fails. On day 3 a poll completion of work order 3 is logged and never consumed.
 */
interface History {
  start: number;
  nextChangeId: number;
}

function dayOfHistory(h: History, d: number): D1PreparedStatement[] {
  const events: Array<Record<string, unknown>> = [];
  const claims: Array<Record<string, unknown>> = [];
  const attempts: Array<Record<string, unknown>> = [];
  const changes: Array<Record<string, unknown>> = [];
  const links: Array<Record<string, unknown>> = [];
  const reopens: Array<Record<string, unknown>> = [];
  const mirror: Array<Record<string, unknown>> = [];
  const letters: Array<Record<string, unknown>> = [];
  const held: Array<Record<string, unknown>> = [];
  const day = h.start + d * DAY;

  const event = (
    id: string,
    wo: string,
    type: string,
    source: "webhook" | "poll",
    at: number,
    status: string,
    extra: Record<string, unknown> = {},
    consumed = true,
  ) => {
    events.push({
      id,
      type,
      source_type: source === "poll" ? "WORK_ORDER_POLL" : "WORK_ORDER_STATUS_CHANGE",
      source,
      work_order_id: wo,
      occurred_at: iso(at),
      received_at: iso(at),
      status,
      attempts: 1,
      last_error: status === "processed" ? null : "erp-sync: ERP: HTTP 400",
      data: JSON.stringify({ workOrderId: Number(wo) }),
      updated_at: iso(at),
      subject: `workorder:${wo}`,
      routed_type: null,
      next_attempt_at: null,
      retrying_since: null,
      ...extra,
    });
    if (!consumed) return;
    claims.push({ event_id: id, change_id: null, handler: "warehouse", status: "done", updated_at: iso(at) });
    attempts.push({ event_id: id, attempt: 1, handler: "warehouse", at: iso(at), duration_ms: 3, outcome: "ok" });
  };
  const change = (wo: string, kind: string, at: number, webhookMs: number | null, pollMs: number | null) => {
    h.nextChangeId += 1;
    changes.push({
      id: h.nextChangeId,
      work_order_id: wo,
      kind,
      webhook_ms: webhookMs,
      poll_ms: pollMs,
      poll_exact: pollMs === null ? null : 1,
      created_at: iso(at),
    });
    return h.nextChangeId;
  };
  const link = (eventId: string, changeId: number, wo: string, kind: string) =>
    links.push({ event_id: eventId, change_id: changeId, work_order_id: wo, kind });
  const changeClaim = (changeId: number, handler: string, status: string, firstEventId: string, at: number) => {
    claims.push({
      event_id: null,
      change_id: changeId,
      handler,
      status,
      updated_at: iso(at),
      first_event_id: firstEventId,
    });
    attempts.push({
      event_id: firstEventId,
      attempt: 1,
      handler,
      at: iso(at),
      duration_ms: 40,
      outcome: status === "done" ? "ok" : status,
    });
  };

  for (let k = 0; k < 6; k++) {
    const wo = String(500_000 + d * 10 + k);
    const base = day + 8 * HOUR + k * 10 * MINUTE;
    const created = `wh-${wo}-new`;
    event(created, wo, "workorder.created", "webhook", base, "processed");
    const c1 = change(wo, "created", base, null, null);
    link(created, c1, wo, "created");
    changeClaim(c1, "slack-alert", "done", created, base);
    for (let j = 1; j <= 5; j++) {
      const at = base + j * 5 * MINUTE;
      event(`poll:${wo}:${iso(at)}`, wo, "workorder.updated", "poll", at, "processed");
      reopens.push({ work_order_id: wo, at_ms: at });
    }
    const doneMs = base + 59 * MINUTE;
    const hook = `wh-${wo}-done`;
    let hookStatus = "processed";
    let erp = "done";
    let hookExtra: Record<string, unknown> = { routed_type: "workorder.completed" };
    if (k === 0 || (k === 4 && d % 7 === 0)) [hookStatus, erp] = ["failed", "failed"];
    if (k === 1) [hookStatus, erp] = ["dead", "retry"];
    if (k === 2 && d % 10 === 0) {
      [hookStatus, erp] = ["retrying", "retry"];
      hookExtra = { ...hookExtra, next_attempt_at: iso(doneMs + HOUR), retrying_since: iso(doneMs + MINUTE) };
    }
    const heldHere = k === 2 && d % 20 === 5;
    if (heldHere) {
      hookStatus = "retrying";
      hookExtra = { ...hookExtra, retrying_since: iso(doneMs + MINUTE) };
      held.push({ handler: "erp-sync", event_id: hook, since: iso(doneMs + MINUTE) });
    }
    event(hook, wo, "workorder.status_changed", "webhook", doneMs + MINUTE, hookStatus, hookExtra);
    if (hookStatus === "dead")
      letters.push({ event_id: hook, message: "{}", attempts: 9, dead_at: iso(doneMs + HOUR) });
    const c2 = change(wo, "DONE", doneMs + MINUTE, doneMs + 350, doneMs);
    link(hook, c2, wo, "DONE");
    if (!heldHere) changeClaim(c2, "erp-sync", erp, hook, doneMs + MINUTE);
    changeClaim(c2, "completion-report", "done", hook, doneMs + MINUTE);
    const polled = `poll:${wo}:DONE:${iso(doneMs)}`;
    event(polled, wo, "workorder.completed", "poll", doneMs + 2 * MINUTE, "processed");
    link(polled, c2, wo, "DONE");
    if (k === 3) {
      reopens.push({ work_order_id: wo, at_ms: doneMs + 10 * MINUTE });
      const again = `wh-${wo}-done2`;
      event(again, wo, "workorder.status_changed", "webhook", doneMs + 21 * MINUTE, "processed", {
        routed_type: "workorder.completed",
      });
      const c3 = change(wo, "DONE", doneMs + 21 * MINUTE, doneMs + 20 * MINUTE, null);
      link(again, c3, wo, "DONE");
      changeClaim(c3, "erp-sync", "done", again, doneMs + 21 * MINUTE);
      changeClaim(c3, "completion-report", "done", again, doneMs + 21 * MINUTE);
      // Logged, never consumed: no attempt, no claim, no change resolved.
      if (d === 3) {
        event(`poll:${wo}:stuck`, wo, "workorder.completed", "poll", doneMs + 30 * MINUTE, "accepted", {}, false);
      }
    }
    if (k === 5) event(`wh-${wo}-deleted`, wo, "workorder.deleted", "webhook", base + 2 * HOUR, "processed");
    if (k !== 4) {
      mirror.push({
        id: wo,
        title: `Pump ${wo}`,
        status: "DONE",
        priority: "MEDIUM",
        updated_at: iso(doneMs),
        version_ms: k === 5 ? base + 2 * HOUR : doneMs,
        deleted: k === 5 ? 1 : 0,
        deleted_at: k === 5 ? iso(base + 2 * HOUR) : null,
        data: "{}",
        synced_at: iso(doneMs),
      });
    }
  }
  return [
    ...insertRows("events", events),
    ...insertRows("changes", changes),
    ...insertRows("event_changes", links),
    ...insertRows("side_effects", claims),
    ...insertRows("handler_attempts", attempts),
    ...insertRows("work_order_reopens", reopens),
    ...insertRows("work_orders", mirror),
    ...insertRows("dead_letters", letters),
    ...insertRows("held_events", held),
  ];
}

/** Retention's runs of one day with the clock at its first minutes: every slice of the sweep once. */
async function retentionDay(dayStart: number, environment: Env = testEnv({ RETENTION_DAYS: "30" })) {
  for (let slice = 0; slice < SLICES; slice++) {
    await applyRetention(environment, dayStart + slice * MINUTE, 500, SLICES);
  }
}

/** Rows of each table that no rule keeps, at a run with RETENTION_DAYS cut-off `before`. */
async function unexplained(before: number) {
  const b = iso(before);
  return {
    processedEvents: await count("SELECT COUNT(*) AS n FROM events WHERE status = 'processed' AND received_at < ?1", b),
    eventClaims: await count(
      "SELECT COUNT(*) AS n FROM side_effects s WHERE event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.event_id)",
    ),
    attempts: await count(
      "SELECT COUNT(*) AS n FROM handler_attempts a WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = a.event_id)",
    ),
    held: await count(
      "SELECT COUNT(*) AS n FROM held_events h WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = h.event_id)",
    ),
    links: await count(
      "SELECT COUNT(*) AS n FROM event_changes l WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = l.event_id)",
    ),
    letters: await count(
      "SELECT COUNT(*) AS n FROM dead_letters l WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = l.event_id)",
    ),
    // A change kept by none of: an event resolved to it, its age, the mirror, an event of its work
    // order not yet consumed, being the largest id.
    changes: await count(
      `SELECT COUNT(*) AS n FROM changes c
       WHERE c.created_at < ?1 AND c.id < (SELECT max(id) FROM changes)
         AND NOT EXISTS (SELECT 1 FROM event_changes l WHERE l.change_id = c.id)
         AND NOT (EXISTS (SELECT 1 FROM work_orders w WHERE w.id = c.work_order_id)
                  AND (c.kind = 'created' OR c.id = (SELECT max(n.id) FROM changes n
                       WHERE n.work_order_id = c.work_order_id AND n.kind <> 'created')))
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.work_order_id = c.work_order_id AND e.status = 'accepted')`,
      b,
    ),
    changeClaims: await count(
      "SELECT COUNT(*) AS n FROM side_effects s WHERE change_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.id = s.change_id)",
    ),
    deletedWorkOrders: await count(
      `SELECT COUNT(*) AS n FROM work_orders w WHERE deleted = 1 AND deleted_at < ?1
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.work_order_id = w.id)`,
      b,
    ),
    // A reopen older than the cut-off that is neither the first after a kept ending began nor the
    // last before it ended, computed here in JavaScript rather than by the statement under test.
    reopens: await unexplainedReopens(before),
  };
}

async function unexplainedReopens(before: number): Promise<number> {
  const { results: reopens } = await env.DB.prepare(
    "SELECT work_order_id AS wo, at_ms AS at FROM work_order_reopens",
  ).all<{ wo: string; at: number }>();
  const { results: endings } = await env.DB.prepare(
    "SELECT work_order_id AS wo, webhook_ms AS w, poll_ms AS p FROM changes WHERE kind <> 'created'",
  ).all<{ wo: string; w: number | null; p: number | null }>();
  const byWorkOrder = new Map<string, number[]>();
  for (const r of reopens) byWorkOrder.set(r.wo, [...(byWorkOrder.get(r.wo) ?? []), r.at]);
  const needed = new Set<string>();
  for (const e of endings) {
    const times = [e.w, e.p].filter((t): t is number => t !== null);
    if (times.length === 0) continue;
    const ats = (byWorkOrder.get(e.wo) ?? []).sort((x, y) => x - y);
    const after = ats.find((at) => at > Math.min(...times));
    const beforeEnd = ats.filter((at) => at < Math.max(...times)).at(-1);
    if (after !== undefined) needed.add(`${e.wo}@${after}`);
    if (beforeEnd !== undefined) needed.add(`${e.wo}@${beforeEnd}`);
  }
  return reopens.filter((r) => r.at < before && !needed.has(`${r.wo}@${r.at}`)).length;
}

describe("every table stays bounded over a long history", () => {
  it("240 days of history with retention each day: per-event rows plateau, per-change rows grow only per work order, and what must stay stays", async () => {
    const START = Date.parse("2026-01-01T00:00:00.000Z");
    const DAYS = 240;
    const h: History = { start: START, nextChangeId: 0 };
    const written: Partial<Record<Table, number>> = {};
    const snapshots = new Map<number, Record<Table, number>>();
    let readsPerRun = 0;
    const reads: number[] = [];
    const measuring = interceptD1(env.DB, async (kind, _statements, call) => {
      const result = await call();
      if (kind === "batch") {
        for (const r of result as D1Result[]) readsPerRun += r.meta.rows_read ?? 0;
      }
      return result;
    });

    for (let d = 0; d < DAYS; d++) {
      const before = await counts();
      await env.DB.batch(dayOfHistory(h, d));
      const after = await counts();
      for (const t of TABLES) written[t] = (written[t] ?? 0) + after[t] - before[t];
      const next = START + (d + 1) * DAY;
      for (let slice = 0; slice < SLICES; slice++) {
        readsPerRun = 0;
        await applyRetention(testEnv({ RETENTION_DAYS: "30", DB: measuring }), next + slice * MINUTE, 500, SLICES);
        reads.push(readsPerRun);
      }
      snapshots.set(d, await counts());
    }
    const end = START + DAYS * DAY + (SLICES - 1) * MINUTE;
    const final = await counts();

    // Thousands of rows were written; far fewer are left.
    expect(written.events).toBeGreaterThan(8000);
    expect(written.handler_attempts).toBeGreaterThan(10_000);
    expect(written.work_order_reopens).toBe(DAYS * (6 * 5 + 1));
    for (const t of ["events", "handler_attempts", "event_changes"] as const) {
      expect(final[t], t).toBeLessThan((written[t] ?? 0) * 0.35);
    }

    // No row is left that a rule would delete.
    expect(await unexplained(end - 30 * DAY)).toEqual({
      processedEvents: 0,
      eventClaims: 0,
      attempts: 0,
      held: 0,
      links: 0,
      letters: 0,
      changes: 0,
      changeClaims: 0,
      deletedWorkOrders: 0,
      reopens: 0,
    });

    // Per event: the last 140 days (a whole period of the history's pattern) end as the 140
    // before them did, but for the events that never settle: retrying from days ≡ 0 (mod 10),
    // waiting for a held handler from days ≡ 5 (mod 20).
    const GAP = 140;
    const a = snapshots.get(DAYS - 1 - GAP) as Record<Table, number>;
    const z = snapshots.get(DAYS - 1) as Record<Table, number>;
    const since = iso(START + (DAYS - GAP) * DAY);
    const ofUnsettled = (table: string) =>
      count(
        `SELECT COUNT(*) AS n FROM ${table} WHERE event_id IN (SELECT id FROM events WHERE status = 'retrying' AND received_at >= ?1)`,
        since,
      );
    const unsettled = await count(
      "SELECT COUNT(*) AS n FROM events WHERE status = 'retrying' AND received_at >= ?1",
      since,
    );
    expect(unsettled).toBe(GAP / 10 + GAP / 20);
    expect(z.events - a.events).toBe(unsettled);
    expect(z.handler_attempts - a.handler_attempts).toBe(await ofUnsettled("handler_attempts"));
    expect(z.event_changes - a.event_changes).toBe(unsettled);
    expect(z.held_events - a.held_events).toBe(GAP / 20);
    expect(z.dead_letters - a.dead_letters).toBe(0);
    // Per work order that stays in the mirror (4 a day): its creation and latest ending, their
    // claims (3, but 2 for an ending whose ERP handler was held), and the one reopen that
    // separates the latest ending from what came before it.
    const mirrored = z.work_orders - a.work_orders;
    expect(mirrored).toBe(GAP * 4);
    expect(z.changes - a.changes).toBe(2 * mirrored);
    expect(z.work_order_reopens - a.work_order_reopens).toBe(mirrored);
    expect(z.side_effects - a.side_effects).toBe(3 * mirrored - GAP / 20 + (await ofUnsettled("side_effects")));
    // Bounded by construction: one row per name or none at all.
    for (const t of ["handlers", "locks", "poll_state", "poll_resume", "alert_state"] as const) {
      expect(final[t], t).toBeLessThanOrEqual(3);
    }
    expect(final.webhook_type_silences).toBe(0);

    // Kept: the events that never settled, with their changes, links, claims, attempts, holds.
    const retrying = "wh-500002-done"; // day 0, work order 2
    const heldEvent = "wh-500052-done"; // day 5, work order 2
    for (const id of [retrying, heldEvent]) {
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = ?1 AND status = 'retrying'", id)).toBe(1);
      expect(await count("SELECT COUNT(*) AS n FROM handler_attempts WHERE event_id = ?1", id)).toBeGreaterThan(0);
      expect(
        await count(
          "SELECT COUNT(*) AS n FROM event_changes l JOIN changes c ON c.id = l.change_id WHERE l.event_id = ?1",
          id,
        ),
      ).toBe(1);
    }
    expect(await count("SELECT COUNT(*) AS n FROM held_events WHERE event_id = ?1", heldEvent)).toBe(1);
    expect(
      await count(
        `SELECT COUNT(*) AS n FROM side_effects WHERE change_id = (SELECT change_id FROM event_changes WHERE event_id = ?1)`,
        retrying,
      ),
    ).toBe(2);
    // The event of day 3 never consumed keeps every change of its work order, the first ending too.
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'poll:500033:stuck'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '500033'")).toBe(3);
    // A failed event keeps its change past RETENTION_DAYS: work order 4 has no mirror row, so
    // only the failed event of day 196 (44 days old) keeps its ending; day 195's went.
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'wh-501964-done' AND status = 'failed'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '501964' AND kind = 'DONE'")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '501954'")).toBe(0);
    // A failed event past its 90 days and notice is gone, its change kept with the mirror.
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id = 'wh-500500-done'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '500500'")).toBe(2);
    // A deleted work order's mirror row and changes go once its events are gone.
    expect(await count("SELECT COUNT(*) AS n FROM work_orders WHERE id = '500505'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = '500505'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM work_orders WHERE id = '502305' AND deleted = 1")).toBe(1);

    // Bounded work: no run read more than a few thousand rows, whatever had piled up.
    expect(Math.max(...reads)).toBeLessThan(20_000);
    const perRun: number[] = [];
    for (let m = 0; m < 20; m++) {
      readsPerRun = 0;
      await applyRetention(testEnv({ RETENTION_DAYS: "30", DB: measuring }), end + DAY + m * MINUTE);
      perRun.push(readsPerRun);
    }
    // With the default slices (a pass a day), a run reads a few hundred rows.
    expect(Math.max(...perRun.slice(1))).toBeLessThan(1000);
  }, 240_000);
});

/**
 * The real consumer with the real handlers claimed once per change, but not the mirror (so that
 * nothing but the events that resolved to them keeps this work order's changes), recording sinks,
 * and a clock the test moves.
 */
function consumerHarness(start: number) {
  const id = 9_100_000 + Math.floor(Math.random() * 90_000);
  const wo = String(id);
  const outbound = createOutbound();
  const slack = outbound.sink(SLACK_URL);
  const erp = outbound.sink(ERP_URL);
  outbound.sink(API_BASE, () => Response.json({ error: "not found" }, { status: 404 }));
  const registry = new HandlerRegistry()
    .on("workorder.created", slackAlert, { once: "per-change" })
    .on("workorder.completed", erpSync, { once: "per-change" })
    .on("workorder.completed", completionReport, { once: "per-change" });
  const environment = testEnv({
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: "api-key-123",
    MAINTAINX_API_BASE: API_BASE,
    RETENTION_DAYS: "30",
  });
  const harness = {
    id,
    wo,
    clock: start,
    async consume(event: CanonicalEvent) {
      const result = await settle(batchOf([messageFor(event)]), (batch) =>
        consumeEvents(batch, environment, {
          registry,
          fetch: outbound.fetch,
          now: () => harness.clock,
          random: () => 0,
        }),
      );
      expect(result.retryMessages).toEqual([]);
    },
    slackPosts: () => slack.calls.filter((c) => JSON.stringify(c.json).includes(`#${id}`)),
    erpPosts: () => erp.calls.filter((c) => JSON.stringify(c.json).includes(`"id":"${wo}"`)),
    async ofWorkOrder() {
      return {
        changes: await count("SELECT COUNT(*) AS n FROM changes WHERE work_order_id = ?1", wo),
        links: await count("SELECT COUNT(*) AS n FROM event_changes WHERE work_order_id = ?1", wo),
        claims: await count(
          "SELECT COUNT(*) AS n FROM side_effects WHERE change_id IN (SELECT id FROM changes WHERE work_order_id = ?1)",
          wo,
        ),
        events: await count("SELECT COUNT(*) AS n FROM events WHERE work_order_id = ?1", wo),
      };
    },
    /** A completion webhook of this work order, received at the clock. */
    async completion(doneAt: number): Promise<CanonicalEvent> {
      const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + 350, "DONE"));
      return { ...event, receivedAt: iso(harness.clock) };
    },
    /** What the poller makes of this work order, done at `doneAt`, read at the clock. */
    polled(createdAt: number, doneAt: number, since: number): CanonicalEvent[] {
      return pollEvents(
        {
          id: wo,
          title: `Belt ${id}`,
          status: "DONE",
          priority: "HIGH",
          createdAt: iso(createdAt),
          updatedAt: iso(doneAt),
          completedAt: iso(doneAt),
        },
        iso(harness.clock),
        since,
      );
    },
  };
  return harness;
}

describe("a delivery repeated within RETENTION_DAYS repeats no effect, retention included", () => {
  /** Background history from `start`, with retention at the start of each next day. */
  function background(start: number) {
    const h: History = { start, nextChangeId: 0 };
    let day = 0;
    return async (last: number) => {
      for (; day <= last; day++) {
        // The consumer numbers the changes it makes itself: the history's come after them.
        h.nextChangeId = Math.max(h.nextChangeId, await count("SELECT coalesce(max(id), 0) AS n FROM changes"));
        await env.DB.batch(dayOfHistory(h, day));
        await retentionDay(start + (day + 1) * DAY);
      }
    };
  }

  it("the same event ids and the other path's events of a creation and a completion, through the real consumer, while retention runs every day", async () => {
    const T0 = Date.parse("2027-03-01T00:00:00.000Z");
    const c = consumerHarness(T0);
    const liveUntil = background(T0);

    // Day 0: created and completed, both by webhook.
    c.clock = T0 + 6 * HOUR;
    const createdAt = c.clock - 5 * MINUTE;
    const created = {
      ...(await maintainXEvent("NEW_WORK_ORDER", {
        workOrderId: c.id,
        orgId: 99411,
        occurredAt: iso(createdAt),
        userId: 551201,
        newWorkOrder: { sequentialId: 1043, title: `Belt ${c.id}`, priority: "HIGH", description: "Line 3 stopped." },
      })),
      receivedAt: iso(c.clock),
    };
    await c.consume(created);
    c.clock = T0 + 7 * HOUR;
    const doneAt = c.clock - 2 * MINUTE;
    const completed = await c.completion(doneAt);
    await c.consume(completed);
    expect(c.slackPosts()).toHaveLength(1);
    expect(c.erpPosts()).toHaveLength(1);
    expect(await c.ofWorkOrder()).toMatchObject({ changes: 2, links: 2 });

    // 29 days of history and retention later (a day's worth of it deleted each day by now): the
    // same deliveries again, then the poll's of the same creation and completion.
    await liveUntil(28);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE received_at < ?1", iso(T0 + 28 * DAY))).toBeLessThan(
      28 * 51,
    );
    c.clock = T0 + 29 * DAY + 6 * HOUR;
    await c.consume({ ...created, receivedAt: iso(c.clock) });
    await c.consume({ ...completed, receivedAt: iso(c.clock) });
    const polled = c.polled(createdAt, doneAt, createdAt);
    expect(polled.map((e) => e.type).sort()).toEqual(["workorder.completed", "workorder.created", "workorder.updated"]);
    for (const event of polled) await c.consume(event);
    expect(c.slackPosts()).toHaveLength(1);
    expect(c.erpPosts()).toHaveLength(1);
    expect(await c.ofWorkOrder()).toEqual({ changes: 2, links: 4, claims: 3, events: 5 });

    // Day 45: the webhooks' events went with RETENTION_DAYS (received on day 0); the poll's,
    // received on day 29, keep the changes they resolved to. Delivered again: nothing repeats.
    await liveUntil(44);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE id IN (?1, ?2)", created.id, completed.id)).toBe(0);
    expect(await c.ofWorkOrder()).toEqual({ changes: 2, links: 2, claims: 3, events: 3 });
    c.clock = T0 + 45 * DAY + 6 * HOUR;
    for (const event of polled) await c.consume({ ...event, receivedAt: iso(c.clock) });
    expect(c.slackPosts()).toHaveLength(1);
    expect(c.erpPosts()).toHaveLength(1);

    // Once every event of it is older than RETENTION_DAYS, the work order leaves nothing behind
    // (it has no mirror row to keep its creation and latest ending).
    await liveUntil(62);
    expect(await c.ofWorkOrder()).toEqual({ changes: 0, links: 0, claims: 0, events: 0 });
  }, 120_000);

  it("a change made by an old event consumed late stays RETENTION_DAYS from then, though its event goes at once", async () => {
    const T0 = Date.parse("2027-06-01T00:00:00.000Z");
    const c = consumerHarness(T0);
    const liveUntil = background(T0);
    // Received 40 days ago and logged, never consumed (its message lost); replayed today.
    const doneAt = T0 - 40 * DAY;
    c.clock = doneAt;
    const late = await c.completion(doneAt);
    c.clock = T0 + HOUR;
    await c.consume(late);
    expect(c.erpPosts()).toHaveLength(1);
    // The next runs delete the event (received 40 days ago); its change, made today, stays.
    await liveUntil(6);
    expect(await c.ofWorkOrder()).toEqual({ changes: 1, links: 0, claims: 2, events: 0 });
    // A week later the poller reads the same completion: the ERP hears of it once.
    c.clock = T0 + 7 * DAY;
    for (const event of c.polled(doneAt - HOUR, doneAt, doneAt)) await c.consume(event);
    expect(c.erpPosts()).toHaveLength(1);
  }, 60_000);
});

describe("retention's work per run", () => {
  it("covers every id exactly once per pass of the sweep's slices", () => {
    for (const slices of [1, 4, 1440]) {
      for (const maxId of [0, 1, 7, 1439, 1440, 1441, 100_000, 2 ** 31]) {
        const ranges = Array.from({ length: slices }, (_, s) => sweepRange(s, slices, maxId));
        expect(ranges[0]?.from).toBe(0);
        for (let s = 1; s < slices; s++) expect(ranges[s]?.from).toBe(ranges[s - 1]?.to);
        expect(ranges.at(-1)?.to).toBeGreaterThan(maxId);
      }
    }
    // Within a pass, a growing table keeps its slices until its ids double.
    expect(sweepRange(700, 1440, 600_000)).toEqual(sweepRange(700, 1440, 1_000_000));
  });

  it("finds every row it deletes through an index, never scanning a table or sorting", async () => {
    const plan = async (sql: string, ...bindings: unknown[]) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...bindings)
          .all<{ detail: string }>()
      ).results.map((r) => r.detail);
    const at = "2026-06-01T00:00:00.000Z";
    const plans: Array<[string, string[], string[]]> = [
      ...(await Promise.all(
        WITH_EVENT.map(
          async (del): Promise<[string, string[], string[]]> => [
            del,
            await plan(`${del} (${OLD_PROCESSED})`, at, 500),
            ["SEARCH events USING INDEX events_by_status (status=? AND received_at<?)"],
          ],
        ),
      )),
      [
        "links of events gone",
        await plan(`DELETE FROM event_changes WHERE event_id IN (${LINKS_OF_GONE_EVENTS})`, 0, 100, 500),
        [
          "SEARCH c USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
          "SEARCH l USING COVERING INDEX event_changes_by_change (change_id=?)",
          "SEARCH e USING COVERING INDEX sqlite_autoindex_events_1 (id=?)",
        ],
      ],
      [
        "claims of changes",
        await plan(`DELETE FROM side_effects WHERE id IN (${CHANGE_CLAIMS})`, 0, 100, at, 500),
        ["SEARCH side_effects USING COVERING INDEX side_effects_of_change (change_id=?)"],
      ],
      [
        "changes",
        await plan(`DELETE FROM changes WHERE id IN (${DELETABLE_CHANGES})`, 0, 100, at, 500),
        [
          "SEARCH c USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
          "SEARCH l USING COVERING INDEX event_changes_by_change (change_id=?)",
          "SEARCH n USING COVERING INDEX changes_by_work_order (work_order_id=?)",
          "SEARCH w USING COVERING INDEX sqlite_autoindex_work_orders_1 (id=?)",
          "SEARCH e USING INDEX events_by_work_order (work_order_id=?)",
        ],
      ],
      [
        "reopens",
        await plan(`DELETE FROM work_order_reopens WHERE rowid IN (${DELETABLE_REOPENS})`, 0, 100, 1, 500),
        [
          "SEARCH r USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
          "SEARCH c USING INDEX changes_by_work_order (work_order_id=?)",
          "SEARCH x USING COVERING INDEX sqlite_autoindex_work_order_reopens_1 (work_order_id=? AND at_ms>?)",
          "SEARCH x USING COVERING INDEX sqlite_autoindex_work_order_reopens_1 (work_order_id=? AND at_ms<?)",
        ],
      ],
      [
        "deleted work orders",
        await plan(`DELETE FROM work_orders WHERE id IN (${DELETED_WORK_ORDERS})`, at, 500),
        [
          "SEARCH w USING INDEX work_orders_deleted (deleted_at<?)",
          "SEARCH e USING COVERING INDEX events_by_work_order (work_order_id=?)",
        ],
      ],
      ["largest ids", await plan(SWEEP_MAXIMA), ["SEARCH changes", "SEARCH work_order_reopens"]],
    ];
    for (const [name, detail] of plans.slice(0, WITH_EVENT.length)) {
      // Each table's rows of an event through an index that starts with the event id.
      expect(
        detail.some((d) => /^SEARCH \w+ USING .*\(event_id=\?\)$/.test(d)),
        name,
      ).toBe(true);
    }
    for (const [name, detail, expected] of plans) {
      for (const line of expected) expect(detail, name).toContain(line);
      expect(
        detail.filter((d) => /\bSCAN\b/.test(d) && d !== "SCAN CONSTANT ROW"),
        name,
      ).toEqual([]);
      expect(detail.join(" | "), name).not.toContain("TEMP B-TREE");
    }
  });
});
