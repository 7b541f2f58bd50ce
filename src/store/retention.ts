// RETENTION_DAYS (docs/storage.md): the scheduled run deletes events, their per-event outcomes
// and their dead letters once they are older than the cutoff, a bounded batch per run. Kept: the
// mirror, the reports, and everything that makes an effect happen once per real change (claims
// keyed by the change, the endings and reopens of work orders, and which ending each event id
// resolved to): a change, or an event id, seen again after the cutoff must still not be sent twice.

/**
 * The oldest settled events first, so each run takes the next slice and a backlog drains over
 * runs. An event still `accepted` is being retried or replayed: it stays until it settles.
 */
const OLD_EVENTS =
  "SELECT id FROM events WHERE received_at < ?1 AND status <> 'accepted' ORDER BY received_at, rowid LIMIT ?2";

interface RetentionRun {
  events: number;
  deadLetters: number;
}

/**
 * Deletes at most `batch` settled events received before `cutoffIso`, with their per-event
 * outcomes and dead letters, and at most `batch` other dead letters from before it, in one
 * transaction.
 */
export async function deleteExpired(db: D1Database, cutoffIso: string, batch: number): Promise<RetentionRun> {
  const [, lettersOfEvents, events, olderLetters] = await db.batch([
    // Per-event outcomes only: a claim keyed by a change (`workorder:<id>:…`) outlives its events.
    db.prepare(`DELETE FROM side_effects WHERE event_id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    db.prepare(`DELETE FROM dead_letters WHERE event_id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    db.prepare(`DELETE FROM events WHERE id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    // Dead letters whose event is gone already (or was never logged).
    db
      .prepare(
        `DELETE FROM dead_letters WHERE seq IN (
           SELECT seq FROM dead_letters WHERE dead_at < ?1
             AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = dead_letters.event_id)
           ORDER BY seq LIMIT ?2)`,
      )
      .bind(cutoffIso, batch),
  ]);
  return {
    events: events?.meta.changes ?? 0,
    deadLetters: (lettersOfEvents?.meta.changes ?? 0) + (olderLetters?.meta.changes ?? 0),
  };
}
