// RETENTION_DAYS (README, "Storage"): the scheduled run deletes events, their outcomes and dead
// letters older than the cutoff, a bounded batch per run. The mirror, the reports and what makes
// an effect happen once per real change (claims keyed by the change, the endings and reopens of
// work orders) are kept: a change seen again after the cutoff must still not be sent twice.

/** The oldest events first, so each run takes the next slice and a backlog drains over runs. */
const OLD_EVENTS = "SELECT id FROM events WHERE received_at < ?1 ORDER BY received_at, rowid LIMIT ?2";

export interface RetentionRun {
  events: number;
  deadLetters: number;
}

/**
 * Deletes at most `batch` events received before `cutoffIso` (with their per-event outcomes and
 * resolved endings) and at most `batch` dead letters from before it, in one transaction.
 */
export async function deleteExpired(db: D1Database, cutoffIso: string, batch: number): Promise<RetentionRun> {
  const [, , events, deadLetters] = await db.batch([
    // Per-event outcomes only: a claim keyed by a change (`workorder:<id>:…`) outlives its events.
    db.prepare(`DELETE FROM side_effects WHERE event_id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    db.prepare(`DELETE FROM event_endings WHERE event_id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    db.prepare(`DELETE FROM events WHERE id IN (${OLD_EVENTS})`).bind(cutoffIso, batch),
    db
      .prepare(
        "DELETE FROM dead_letters WHERE seq IN (SELECT seq FROM dead_letters WHERE dead_at < ?1 ORDER BY seq LIMIT ?2)",
      )
      .bind(cutoffIso, batch),
  ]);
  return { events: events?.meta.changes ?? 0, deadLetters: deadLetters?.meta.changes ?? 0 };
}
