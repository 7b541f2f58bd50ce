// The D1 dead letters: every message that exhausted its retries, kept whole for replay.

import type { CanonicalEvent } from "../events/canonical";
import { insertStatement, MAX_IDS_PER_QUERY } from "./event-log";

/**
 * Keeps the message and marks its event `dead` (logging the event first if it never was), unless
 * another copy of the event has settled it meanwhile: status follows the outcomes, never back.
 */
export async function recordDeadLetter(db: D1Database, letter: DeadLetter): Promise<void> {
  await db.batch(deadLetterStatements(db, letter));
}

interface DeadLetter {
  eventId: string;
  body: unknown;
  attempts: number;
  event?: CanonicalEvent;
  /** Why it died, when the caller knows (the event keeps its last error otherwise). */
  lastError?: string;
}

/** recordDeadLetter's statements, for a batch of the caller's. */
export function deadLetterStatements(db: D1Database, letter: DeadLetter): D1PreparedStatement[] {
  const now = new Date().toISOString();
  const statements: D1PreparedStatement[] = [
    db
      .prepare("INSERT INTO dead_letters (event_id, message, attempts, dead_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(letter.eventId, JSON.stringify(letter.body ?? null), letter.attempts, now),
  ];
  if (letter.event) {
    statements.push(
      insertStatement(db, letter.event),
      db
        .prepare(
          `UPDATE events SET status = 'dead', updated_at = ?2, next_attempt_at = NULL, retrying_since = NULL,
             last_error = coalesce(?3, last_error)
           WHERE id = ?1 AND status IN ('accepted', 'retrying')`,
        )
        .bind(letter.eventId, now, letter.lastError ?? null),
    );
  }
  return statements;
}

/** The last dead letter of each of several events (at most MAX_IDS_PER_QUERY) in one D1 call; events without one are left out. */
export async function lastDeadLetters(db: D1Database, eventIds: readonly string[]): Promise<Map<string, unknown>> {
  const letters = new Map<string, unknown>();
  if (eventIds.length === 0) return letters;
  if (eventIds.length > MAX_IDS_PER_QUERY) throw new RangeError(`At most ${MAX_IDS_PER_QUERY} ids per query`);
  const { results } = await db
    .prepare(
      `SELECT d.event_id, d.message FROM dead_letters AS d
       JOIN (SELECT max(seq) AS seq FROM dead_letters WHERE event_id IN (${eventIds.map((_, i) => `?${i + 1}`).join(", ")})
             GROUP BY event_id) AS last ON d.seq = last.seq`,
    )
    .bind(...eventIds)
    .all<{ event_id: string; message: string }>();
  for (const row of results) letters.set(row.event_id, JSON.parse(row.message));
  return letters;
}
