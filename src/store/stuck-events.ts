// Events left `accepted` for longer than any queue could still be trying them (docs/operations.md,
// "Operator alerts"): a dead-letter consumer that gave up during a long D1 outage, or a replay
// whose send and whose restore both failed. Nothing will settle them; the scheduled run alerts
// each once (`alerted` = `accepted:<updated_at>`: again only after the event changed) and
// `/admin/status` lists them for the console.

import { STUCK_AFTER_HOURS, STUCK_AFTER_MS } from "./stuck-window";

export { STUCK_AFTER_HOURS, STUCK_AFTER_MS };

export interface StuckEvent {
  id: string;
  type: string;
  attempts: number;
  lastError: string | null;
  /** Its last change: nothing has touched it since. */
  updatedAt: string;
}

interface StuckRow {
  id: string;
  type: string;
  attempts: number;
  last_error: string | null;
  updated_at: string;
}

/** Accepted events whose last change is before ?1. `events_by_status` reads the accepted rows only. */
const STUCK = "status = 'accepted' AND updated_at < ?1";
/** What `alerted` holds once the event was alerted as stuck at its current state. */
const ALERTED_STUCK = "'accepted:' || updated_at";

const stuckEvent = (r: StuckRow): StuckEvent => ({
  id: r.id,
  type: r.type,
  attempts: r.attempts,
  lastError: r.last_error,
  updatedAt: r.updated_at,
});

const byLastChange = (a: StuckEvent, b: StuckEvent) =>
  a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : a.id < b.id ? -1 : 1;

/**
 * Takes up to `limit` events stuck since before `changedBefore` and not alerted since their last
 * change, oldest first, and marks them alerted, in one statement: two runs at once never take the
 * same event. `remaining` counts those left for the next run.
 */
export async function takeUnalertedStuck(
  db: D1Database,
  changedBefore: string,
  limit: number,
): Promise<{ events: StuckEvent[]; remaining: number }> {
  const due = `${STUCK} AND alerted IS NOT (${ALERTED_STUCK})`;
  const [taken, left] = await db.batch<StuckRow & { n: number }>([
    db
      .prepare(
        `UPDATE events SET alerted = ${ALERTED_STUCK}
         WHERE id IN (SELECT id FROM events WHERE ${due} ORDER BY updated_at LIMIT ?2)
         RETURNING id, type, attempts, last_error, updated_at`,
      )
      .bind(changedBefore, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${due}`).bind(changedBefore),
  ]);
  return { events: (taken?.results ?? []).map(stuckEvent).sort(byLastChange), remaining: left?.results[0]?.n ?? 0 };
}

/** How many events are stuck since before `changedBefore`, alerted or not, and the `limit` oldest. */
export async function listStuckEvents(
  db: D1Database,
  changedBefore: string,
  limit: number,
): Promise<{ count: number; events: StuckEvent[] }> {
  const [oldest, all] = await db.batch<StuckRow & { n: number }>([
    db
      .prepare(
        `SELECT id, type, attempts, last_error, updated_at FROM events WHERE ${STUCK}
         ORDER BY updated_at, id LIMIT ?2`,
      )
      .bind(changedBefore, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${STUCK}`).bind(changedBefore),
  ]);
  return { count: all?.results[0]?.n ?? 0, events: (oldest?.results ?? []).map(stuckEvent) };
}
