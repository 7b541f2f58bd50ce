// RETENTION_DAYS and FAILED_RETENTION_DAYS (docs/storage.md, "Retention"): the scheduled run
// deletes events, their per-event outcomes and their dead letters, a bounded batch per run.
// - `processed` events once they were received more than RETENTION_DAYS ago;
// - `failed` and `dead` events (unfinished work: they wait for a fix and a replay) only once their
//   last change (`updated_at`) is older than the longer failed period, and a final operator notice
//   named them at least NOTICE_LEAD_MS before (migrations/0010: `expiry_notice_at`);
// - `accepted` events never: they are being retried or replayed, or stuck (alerted on their own).
// Kept for ever: the mirror, the reports, and everything that makes an effect happen once per real
// change (claims keyed by the change, the changes, the reopens of work orders, and which change
// each event id resolved to): a change, or an event id, seen again later must still not be sent twice.

/** A failed or dead event is deleted no sooner than this after the notice that named it. */
export const NOTICE_LEAD_MS = 7 * 86_400_000;

/**
 * The oldest processed events first, so each run takes the next slice and a backlog drains over
 * runs. `events_by_status (status, received_at)` gives them in this order.
 */
export const OLD_PROCESSED =
  "SELECT id FROM events WHERE status = 'processed' AND received_at < ?1 ORDER BY received_at, rowid LIMIT ?2";

/**
 * The term of the partial index `events_unfinished` (migrations/0010), word for word: SQLite uses
 * a partial index only for a query that has its condition, and `INDEXED BY` holds it to that one.
 */
const UNFINISHED = "status IN ('failed', 'dead')";

/** A notice concerns the event as it was when it went: it counts until the event changes again. */
const NOTICED = "expiry_notice_at IS NOT NULL AND expiry_notice_at >= updated_at";

/**
 * Failed and dead events whose last change is before ?1 and whose notice went before ?3, the
 * oldest change first.
 */
export const EXPIRED_UNFINISHED = `SELECT id FROM events INDEXED BY events_unfinished
  WHERE ${UNFINISHED} AND updated_at < ?1 AND ${NOTICED} AND expiry_notice_at < ?3
  ORDER BY updated_at, rowid LIMIT ?2`;

/** When an event goes: what retention deletes in one run, as cut-offs in stored ISO text. */
export interface RetentionCutoffs {
  /** Processed events received before this go. */
  processedBefore: string;
  /** Failed and dead events: absent keeps them all (FAILED_RETENTION_DAYS=0). */
  unfinished?: {
    /** Their last change must be before this… */
    changedBefore: string;
    /** …and the notice naming them must have gone before this. */
    noticedBefore: string;
  };
}

interface RetentionRun {
  events: number;
  deadLetters: number;
}

/**
 * Deletes at most `batch` processed events and at most `batch` failed or dead events that are
 * past `cutoffs`, with their per-event outcomes and dead letters, and at most `batch` other dead
 * letters from before `processedBefore` whose event is gone, in one transaction.
 */
export async function deleteExpired(db: D1Database, cutoffs: RetentionCutoffs, batch: number): Promise<RetentionRun> {
  const groups: D1PreparedStatement[][] = [
    [OLD_PROCESSED, [cutoffs.processedBefore, batch]] as const,
    ...(cutoffs.unfinished
      ? [[EXPIRED_UNFINISHED, [cutoffs.unfinished.changedBefore, batch, cutoffs.unfinished.noticedBefore]] as const]
      : []),
  ].map(([select, bindings]) => [
    // Per-event outcomes only: a claim keyed by a change (`change_id`) outlives its events.
    db.prepare(`DELETE FROM side_effects WHERE event_id IN (${select})`).bind(...bindings),
    db.prepare(`DELETE FROM dead_letters WHERE event_id IN (${select})`).bind(...bindings),
    db.prepare(`DELETE FROM events WHERE id IN (${select})`).bind(...bindings),
  ]);
  const results = await db.batch([
    ...groups.flat(),
    // Dead letters whose event is gone already (or was never logged): nothing can replay them.
    db
      .prepare(
        `DELETE FROM dead_letters WHERE seq IN (
           SELECT seq FROM dead_letters WHERE dead_at < ?1
             AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = dead_letters.event_id)
           ORDER BY seq LIMIT ?2)`,
      )
      .bind(cutoffs.processedBefore, batch),
  ]);
  const changes = (i: number) => results[i]?.meta.changes ?? 0;
  let events = 0;
  let deadLetters = changes(results.length - 1);
  for (let g = 0; g < groups.length; g++) {
    deadLetters += changes(g * 3 + 1);
    events += changes(g * 3 + 2);
  }
  return { events, deadLetters };
}

/** Failed and dead events changed last before ?1 that no notice has named since. */
export const NOTICE_DUE = `${UNFINISHED} AND updated_at < ?1 AND NOT (${NOTICED})`;

/** A failed or dead event named by a final notice before retention deletes it. */
export interface ExpiringEvent {
  id: string;
  type: string;
  status: "failed" | "dead";
  lastError: string | null;
  /** Its last change: the time the failed period is counted from. */
  updatedAt: string;
}

/**
 * Takes up to `limit` failed or dead events changed last before `changedBefore` that no notice
 * has named since their last change, oldest change first, and stamps them noticed at `nowIso`, in
 * one statement: two runs at once never take the same event. `remaining` counts those left.
 */
export async function takeExpiryNotices(
  db: D1Database,
  changedBefore: string,
  nowIso: string,
  limit: number,
): Promise<{ events: ExpiringEvent[]; remaining: number }> {
  const [taken, left] = await db.batch<{
    id: string;
    type: string;
    status: ExpiringEvent["status"];
    last_error: string | null;
    updated_at: string;
    n: number;
  }>([
    db
      .prepare(
        `UPDATE events SET expiry_notice_at = ?2
         WHERE id IN (SELECT id FROM events INDEXED BY events_unfinished WHERE ${NOTICE_DUE} ORDER BY updated_at LIMIT ?3)
         RETURNING id, type, status, last_error, updated_at`,
      )
      .bind(changedBefore, nowIso, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events INDEXED BY events_unfinished WHERE ${NOTICE_DUE}`).bind(changedBefore),
  ]);
  const events = (taken?.results ?? [])
    .map((r) => ({ id: r.id, type: r.type, status: r.status, lastError: r.last_error, updatedAt: r.updated_at }))
    .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  return { events, remaining: left?.results[0]?.n ?? 0 };
}
