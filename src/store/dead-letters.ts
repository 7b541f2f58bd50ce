// The D1 dead letters: every message that exhausted its retries, kept whole for replay.

import type { CanonicalEvent } from "../events/canonical";
import { insertStatement } from "./event-log";

/**
 * Keeps the message and marks its event `dead` (logging the event first if it never was), unless
 * another copy of the event has settled it meanwhile: status follows the outcomes, never back.
 */
export async function recordDeadLetter(
  db: D1Database,
  letter: { eventId: string; body: unknown; attempts: number; event?: CanonicalEvent },
): Promise<void> {
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
        .prepare("UPDATE events SET status = 'dead', updated_at = ?2 WHERE id = ?1 AND status = 'accepted'")
        .bind(letter.eventId, now),
    );
  }
  await db.batch(statements);
}

/** The message a dead event last carried (its claim check, if any), for replay. */
export async function lastDeadLetter(db: D1Database, eventId: string): Promise<unknown | undefined> {
  const row = await db
    .prepare("SELECT message FROM dead_letters WHERE event_id = ?1 ORDER BY seq DESC LIMIT 1")
    .bind(eventId)
    .first<{ message: string }>();
  return row ? JSON.parse(row.message) : undefined;
}
