// Endings of work orders (completed, cancelled, skipped), whichever path saw them: each ending
// observation (a webhook's status change, or a polled REST record) resolves to one ending, and the
// handlers of that ending are claimed under its key, so a webhook and a poll of the same change
// cause one effect. ARCHITECTURE.md, "Once per real change", has the rules and the edge cases.

import type { EndingObservation } from "../events/changes";

/**
 * How far apart a webhook's occurredAt and REST's completedAt (or updatedAt) of the same ending
 * may be. MaintainX dates the webhook a few hundred ms after REST; a wider window also covers a
 * delayed clock. The cost of a wide window: a reopen and a second completion inside it, both of
 * whose webhooks are lost and whose reopen the poller never saw, count as one ending.
 */
export const ENDING_MATCH_TOLERANCE_MS = 120_000;

/**
 * The statements that resolve the ending an observation belongs to (its `seq` per work order),
 * created when none matches. They travel in one D1 batch (the attempt's first, `store/attempt.ts`),
 * which D1 runs as one transaction: concurrent observations of one ending, from either path,
 * resolve to the same ending. The same event always resolves to the same ending. After them, in
 * the same batch, `event_endings` holds the event's ending; the last one reads its `seq`
 * (see endingSeqOf).
 *
 * An observation matches an ending of the same work order and status that
 * - webhook: has no webhook yet, and a poll time within the tolerance (two webhooks never match:
 *   MaintainX sends one delivery per transition, and a retried delivery has the same event id);
 * - poll: has this very poll time (the same completedAt read again), or no poll time yet and a
 *   webhook time within the tolerance, or, when REST gave no completedAt, is the work order's
 *   latest ending (an edit of a done work order is not a new ending);
 * and, unless it is the same completedAt read again, the work order was not seen open between
 * the ending and the observation (`work_order_reopens`, whatever order those were processed in).
 * The closest in time wins.
 */
export function resolveEndingStatements(
  db: D1Database,
  o: EndingObservation,
  nowMs = Date.now(),
): D1PreparedStatement[] {
  const args = [o.eventId, o.workOrderId, o.status, o.source, o.atMs, o.exact ? 1 : 0, ENDING_MATCH_TOLERANCE_MS];
  return [
    db
      .prepare(
        `INSERT OR IGNORE INTO event_endings (event_id, work_order_id, seq)
         SELECT ?1, ?2, e.seq FROM work_order_endings e
         WHERE e.work_order_id = ?2 AND e.status = ?3
           AND NOT EXISTS (SELECT 1 FROM event_endings WHERE event_id = ?1)
           AND (
             (?4 = 'webhook' AND e.webhook_ms IS NULL AND abs(e.poll_ms - ?5) <= ?7)
             OR (?4 = 'poll' AND ?6 = 1 AND e.poll_ms = ?5)
             OR (?4 = 'poll' AND e.poll_ms IS NULL AND abs(e.webhook_ms - ?5) <= ?7)
             OR (?4 = 'poll' AND ?6 = 0
               AND e.seq = (SELECT max(seq) FROM work_order_endings WHERE work_order_id = ?2))
           )
           -- Not if the work order was seen open between the ending and this observation.
           AND ((?4 = 'poll' AND ?6 = 1 AND e.poll_ms = ?5) OR NOT EXISTS (
             SELECT 1 FROM work_order_reopens r
             WHERE r.work_order_id = ?2
               AND r.at_ms > min(coalesce(e.webhook_ms, e.poll_ms), coalesce(e.poll_ms, e.webhook_ms), ?5)
               AND r.at_ms < max(coalesce(e.webhook_ms, e.poll_ms), coalesce(e.poll_ms, e.webhook_ms), ?5)
           ))
         ORDER BY (?4 = 'poll' AND e.poll_ms = ?5) DESC, abs(coalesce(e.poll_ms, e.webhook_ms) - ?5), e.seq DESC
         LIMIT 1`,
      )
      .bind(...args),
    db
      .prepare(
        `INSERT INTO work_order_endings (work_order_id, seq, status, webhook_ms, poll_ms, created_at)
         SELECT ?2, coalesce((SELECT max(seq) FROM work_order_endings WHERE work_order_id = ?2), 0) + 1, ?3,
                CASE WHEN ?4 = 'webhook' THEN ?5 END, CASE WHEN ?4 = 'poll' THEN ?5 END, ?8
         WHERE NOT EXISTS (SELECT 1 FROM event_endings WHERE event_id = ?1)`,
      )
      .bind(...args, new Date(nowMs).toISOString()),
    db
      .prepare(
        `INSERT OR IGNORE INTO event_endings (event_id, work_order_id, seq)
         SELECT ?1, ?2, max(seq) FROM work_order_endings WHERE work_order_id = ?2`,
      )
      .bind(o.eventId, o.workOrderId),
    // The matched ending now knows this path's time too (the first of each path stays).
    db
      .prepare(
        `UPDATE work_order_endings SET
           webhook_ms = CASE WHEN ?2 = 'webhook' THEN coalesce(webhook_ms, ?3) ELSE webhook_ms END,
           poll_ms = CASE WHEN ?2 = 'poll' THEN coalesce(poll_ms, ?3) ELSE poll_ms END
         WHERE (work_order_id, seq) = (SELECT work_order_id, seq FROM event_endings WHERE event_id = ?1)`,
      )
      .bind(o.eventId, o.source, o.atMs),
    db.prepare("SELECT seq FROM event_endings WHERE event_id = ?1").bind(o.eventId),
  ];
}

/** The `seq` the last of resolveEndingStatements read. */
export function endingSeqOf(result: D1Result | undefined, eventId: string): number {
  const row = result?.results[0] as { seq: number } | undefined;
  if (!row) throw new Error(`Ending of event ${eventId} not resolved`);
  return row.seq;
}

/**
 * Records that the work order was seen open again at `atMs`. Kept whatever order events are
 * processed in: an ending and a later observation with a reopen between them are two endings, even
 * when the reopen was processed first.
 */
export function reopenStatement(db: D1Database, workOrderId: string, atMs: number): D1PreparedStatement {
  return db
    .prepare("INSERT OR IGNORE INTO work_order_reopens (work_order_id, at_ms) VALUES (?1, ?2)")
    .bind(workOrderId, atMs);
}
