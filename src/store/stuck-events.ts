// Events nothing will settle by themselves (docs/operations.md, "Operator alerts"):
// - `accepted` with no change for longer than any queue could still be trying them
//   (STUCK_AFTER_HOURS): a dead-letter consumer that gave up during a long D1 outage, or a replay
//   whose send and whose restore both failed;
// - `retrying` with a next attempt more than RETRY_OVERDUE_HOURS in the past: its message is gone
//   (or D1 failed at every attempt since). One waiting for a held handler has no next attempt and
//   is never stuck.
// The scheduled run alerts each once (`alerted` = `accepted:<updated_at>`, or for a retry
// `retrying:<retrying_since>;overdue:<next_attempt_at>`: again only after it changed) and
// `/admin/status` lists them for the console.

import { RETRYING_SPELL_MARK } from "./alerts";
import { RETRY_OVERDUE_HOURS, RETRY_OVERDUE_MS, STUCK_AFTER_HOURS, STUCK_AFTER_MS } from "./stuck-window";

export { RETRY_OVERDUE_HOURS, RETRY_OVERDUE_MS, STUCK_AFTER_HOURS, STUCK_AFTER_MS };

export interface StuckEvent {
  id: string;
  type: string;
  status: "accepted" | "retrying";
  attempts: number;
  lastError: string | null;
  /** Its last change. */
  updatedAt: string;
  /** A `retrying` event's next attempt, overdue. */
  nextAttemptAt?: string;
}

interface StuckRow {
  id: string;
  type: string;
  status: StuckEvent["status"];
  attempts: number;
  last_error: string | null;
  updated_at: string;
  next_attempt_at: string | null;
}

/** The cutoffs at `nowMs`: accepted rows changed before `changedBefore`, retries due before `overdueBefore`. */
export interface StuckCutoffs {
  changedBefore: string;
  overdueBefore: string;
}

export function stuckCutoffs(nowMs: number): StuckCutoffs {
  return {
    changedBefore: new Date(nowMs - STUCK_AFTER_MS).toISOString(),
    overdueBefore: new Date(nowMs - RETRY_OVERDUE_MS).toISOString(),
  };
}

/**
 * Accepted events whose last change is before ?1, retrying ones whose next attempt is before ?2
 * (`next_attempt_at < ?2` is never true of NULL: a held event is never stuck). `events_by_status`
 * reads the rows of those two statuses only.
 */
const STUCK =
  "((status = 'accepted' AND updated_at < ?1) OR (status = 'retrying' AND next_attempt_at IS NOT NULL AND next_attempt_at < ?2))";
/** What `alerted` holds once the event was alerted as stuck in its current state. */
const ALERTED_STUCK = `CASE WHEN status = 'accepted' THEN 'accepted:' || updated_at
  ELSE ${RETRYING_SPELL_MARK} || ';overdue:' || next_attempt_at END`;
/** Since when it is stuck, as ordered: its last change, or the next attempt that did not come. */
const STUCK_AT = "CASE WHEN status = 'accepted' THEN updated_at ELSE next_attempt_at END";

const stuckEvent = (r: StuckRow): StuckEvent => ({
  id: r.id,
  type: r.type,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  updatedAt: r.updated_at,
  ...(r.status === "retrying" && r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
});

const stuckAt = (e: StuckEvent) => e.nextAttemptAt ?? e.updatedAt;
const byStuckAt = (a: StuckEvent, b: StuckEvent) =>
  stuckAt(a) < stuckAt(b) ? -1 : stuckAt(a) > stuckAt(b) ? 1 : a.id < b.id ? -1 : 1;

/**
 * Takes up to `limit` stuck events not alerted in their current state, longest stuck first, and
 * marks them alerted, in one statement: two runs at once never take the same event. `remaining`
 * counts those left for the next run.
 */
export async function takeUnalertedStuck(
  db: D1Database,
  cutoffs: StuckCutoffs,
  limit: number,
): Promise<{ events: StuckEvent[]; remaining: number }> {
  const due = `${STUCK} AND alerted IS NOT (${ALERTED_STUCK})`;
  const [taken, left] = await db.batch<StuckRow & { n: number }>([
    db
      .prepare(
        `UPDATE events SET alerted = ${ALERTED_STUCK}
         WHERE id IN (SELECT id FROM events WHERE ${due} ORDER BY ${STUCK_AT} LIMIT ?3)
         RETURNING id, type, status, attempts, last_error, updated_at, next_attempt_at`,
      )
      .bind(cutoffs.changedBefore, cutoffs.overdueBefore, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${due}`).bind(cutoffs.changedBefore, cutoffs.overdueBefore),
  ]);
  return { events: (taken?.results ?? []).map(stuckEvent).sort(byStuckAt), remaining: left?.results[0]?.n ?? 0 };
}

/**
 * How many events are stuck, alerted or not, how many of them are overdue retries, and the `limit`
 * longest stuck. `overdueBefore` defaults to RETRY_OVERDUE_MS before now.
 */
export async function listStuckEvents(
  db: D1Database,
  changedBefore: string,
  limit: number,
  overdueBefore: string = new Date(Date.now() - RETRY_OVERDUE_MS).toISOString(),
): Promise<{ count: number; retrying: number; events: StuckEvent[] }> {
  const [oldest, all] = await db.batch<StuckRow & { n: number; retrying: number }>([
    db
      .prepare(
        `SELECT id, type, status, attempts, last_error, updated_at, next_attempt_at FROM events WHERE ${STUCK}
         ORDER BY ${STUCK_AT}, id LIMIT ?3`,
      )
      .bind(changedBefore, overdueBefore, limit),
    db
      .prepare(
        `SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE status = 'retrying') AS retrying FROM events WHERE ${STUCK}`,
      )
      .bind(changedBefore, overdueBefore),
  ]);
  const counts = all?.results[0];
  return {
    count: counts?.n ?? 0,
    retrying: counts?.retrying ?? 0,
    events: (oldest?.results ?? []).map(stuckEvent),
  };
}
