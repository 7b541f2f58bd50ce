// Real changes of work orders (a creation; an ending: completed, cancelled, skipped), whichever
// path saw them: each event that reports one resolves to one `changes` row, and the handlers
// claimed once per change are claimed under its id, so a webhook and a poll of the same change
// cause one effect. ARCHITECTURE.md, "Once per real change", has the rules and the edge cases.

import type { ChangeObservation, CreationObservation, EndingObservation } from "../events/changes";

/**
 * How far apart a webhook's occurredAt and REST's completedAt (or updatedAt) of the same ending
 * may be. MaintainX dates the webhook a few hundred ms after REST; a wider window also covers a
 * delayed clock. The cost of a wide window: a reopen and a second completion inside it, both of
 * whose webhooks are lost and whose reopen the poller never saw, count as one ending.
 */
export const ENDING_MATCH_TOLERANCE_MS = 120_000;

/**
 * An ending `c` that the observation `o` (a row of event_changes) matches, as SQL: one of the same
 * work order and status (checked beside it) that
 * - webhook: has no webhook yet, and a poll time within the tolerance, or is the work order's
 *   latest ending and was polled without a completedAt (its poll time is only the last edit, which
 *   may come long after the ending); or has this very webhook time: the same delivery again after
 *   retention deleted its event (and its link), since MaintainX sends one delivery per transition
 *   and a retried delivery has the same event id; two different webhooks never match;
 * - poll: has this very poll time (the same completedAt read again), or no poll time yet and a
 *   webhook time within the tolerance, or is the work order's latest ending when either poll gave
 *   no completedAt (an edit of a done work order is not a new ending, and a completedAt read later
 *   is the ending an earlier poll could only date by its last edit);
 * and, unless it is the same completedAt read again, the work order was not seen open between
 * the ending and the observation (`work_order_reopens`, whatever order those were processed in).
 */
const LATEST_ENDING = "(SELECT max(id) FROM changes WHERE work_order_id = o.work_order_id AND kind <> 'created')";
const MATCHING_ENDING = `
  (o.source = 'webhook' AND c.webhook_ms IS NULL AND abs(c.poll_ms - o.at_ms) <= ${ENDING_MATCH_TOLERANCE_MS})
  OR (o.source = 'webhook' AND c.webhook_ms = o.at_ms)
  OR (o.source = 'webhook' AND c.webhook_ms IS NULL AND c.poll_exact = 0 AND c.id = ${LATEST_ENDING})
  OR (o.source = 'poll' AND o.exact AND c.poll_ms = o.at_ms)
  OR (o.source = 'poll' AND c.poll_ms IS NULL AND abs(c.webhook_ms - o.at_ms) <= ${ENDING_MATCH_TOLERANCE_MS})
  OR (o.source = 'poll' AND (NOT o.exact OR c.poll_exact = 0) AND c.id = ${LATEST_ENDING})`;
const SAME_POLL_TIME = "(o.source = 'poll' AND o.exact AND c.poll_ms = o.at_ms)";
const REOPENED_BETWEEN = `EXISTS (
  SELECT 1 FROM work_order_reopens r
  WHERE r.work_order_id = o.work_order_id
    AND r.at_ms > min(coalesce(c.webhook_ms, c.poll_ms), coalesce(c.poll_ms, c.webhook_ms), o.at_ms)
    AND r.at_ms < max(coalesce(c.webhook_ms, c.poll_ms), coalesce(c.poll_ms, c.webhook_ms), o.at_ms))`;

/**
 * The statements that resolve the change an observation reports, creating it when none matches.
 * They travel in one D1 batch (the attempt's first, `store/attempt.ts`), which D1 runs as one
 * transaction: concurrent observations of one change, from either path, resolve to the same one.
 * `event_changes` keeps the change each event resolved to, so the same event always resolves to
 * the same change.
 */
export function resolveChangeStatements(
  db: D1Database,
  o: ChangeObservation,
  nowMs = Date.now(),
): D1PreparedStatement[] {
  return "creation" in o ? creationStatements(db, o, nowMs) : endingStatements(db, o, nowMs);
}

/** A creation is its work order's one creation, made by the first event that reports it. */
function creationStatements(db: D1Database, o: CreationObservation, nowMs: number): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO changes (work_order_id, kind, created_at) SELECT ?1, 'created', ?2
         WHERE NOT EXISTS (SELECT 1 FROM changes WHERE work_order_id = ?1 AND kind = 'created')`,
      )
      .bind(o.workOrderId, new Date(nowMs).toISOString()),
    db
      .prepare(
        `INSERT OR IGNORE INTO event_changes (event_id, change_id, work_order_id, kind)
         SELECT ?1, id, work_order_id, kind FROM changes WHERE work_order_id = ?2 AND kind = 'created'`,
      )
      .bind(o.eventId, o.workOrderId),
  ];
}

/**
 * An ending: the observation is written to `event_changes`, matched by its columns against the
 * work order's endings (MATCHING_ENDING; the closest in time wins), and an ending is made when
 * none matches.
 */
function endingStatements(db: D1Database, o: EndingObservation, nowMs: number): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT OR IGNORE INTO event_changes (event_id, work_order_id, kind, source, at_ms, exact)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
      )
      .bind(o.eventId, o.workOrderId, o.status, o.source, o.atMs, o.exact ? 1 : 0),
    db
      .prepare(
        `UPDATE event_changes AS o SET change_id = m.id
         FROM (SELECT c.id FROM changes c, event_changes o
               WHERE o.event_id = ?1 AND c.work_order_id = o.work_order_id AND c.kind = o.kind
                 AND (${MATCHING_ENDING}) AND (${SAME_POLL_TIME} OR NOT ${REOPENED_BETWEEN})
               ORDER BY ${SAME_POLL_TIME} DESC, abs(coalesce(c.poll_ms, c.webhook_ms) - o.at_ms), c.id DESC
               LIMIT 1) AS m
         WHERE o.event_id = ?1 AND o.change_id IS NULL`,
      )
      .bind(o.eventId),
    db
      .prepare(
        `INSERT INTO changes (work_order_id, kind, webhook_ms, poll_ms, poll_exact, created_at)
         SELECT work_order_id, kind, iif(source = 'webhook', at_ms, NULL), iif(source = 'poll', at_ms, NULL),
                iif(source = 'poll', exact, NULL), ?2
         FROM event_changes WHERE event_id = ?1 AND change_id IS NULL`,
      )
      .bind(o.eventId, new Date(nowMs).toISOString()),
    // An ending made just now has the largest id of its work order's changes.
    db
      .prepare(
        `UPDATE event_changes AS o SET change_id = (SELECT max(id) FROM changes WHERE work_order_id = o.work_order_id)
         WHERE o.event_id = ?1 AND o.change_id IS NULL`,
      )
      .bind(o.eventId),
    // The matched ending now knows this path's time too: the first of each path stays, except
    // that a completedAt replaces a poll time that was only the last edit.
    db
      .prepare(
        `UPDATE changes SET
           webhook_ms = iif(o.source = 'webhook', o.at_ms, webhook_ms),
           poll_ms = iif(o.source = 'poll', o.at_ms, poll_ms),
           poll_exact = iif(o.source = 'poll', o.exact, poll_exact)
         FROM event_changes AS o
         WHERE o.event_id = ?1 AND changes.id = o.change_id
           AND ((o.source = 'webhook' AND changes.webhook_ms IS NULL)
             OR (o.source = 'poll' AND (changes.poll_ms IS NULL OR (changes.poll_exact = 0 AND o.exact))))`,
      )
      .bind(o.eventId),
  ];
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
