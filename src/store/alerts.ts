// What the operator alerts remember (docs/operations.md): which events were alerted in
// which status, and which webhook silence was.

export interface EndedEvent {
  id: string;
  type: string;
  status: "failed" | "dead";
  lastError: string | null;
}

/** Events that ended failed or dead and were not alerted in that status at that attempt. */
export const UNALERTED = "status IN ('failed', 'dead') AND alerted IS NOT (status || ':' || attempts)";

/**
 * Takes up to `limit` unalerted events, oldest first, and marks them alerted, in one statement:
 * two runs at once never take the same event. `remaining` counts those left for the next run.
 * Both read the partial index `events_unalerted` (migrations/0006), which holds only these rows;
 * `INDEXED BY` holds SQLite to it (without statistics it would pick the status index and sort).
 */
export async function takeUnalertedEndings(
  db: D1Database,
  limit: number,
): Promise<{ events: EndedEvent[]; remaining: number }> {
  const [taken, left] = await db.batch<{
    id: string;
    type: string;
    status: EndedEvent["status"];
    last_error: string | null;
    n: number;
  }>([
    db
      .prepare(
        `UPDATE events SET alerted = status || ':' || attempts
         WHERE id IN (SELECT id FROM events INDEXED BY events_unalerted WHERE ${UNALERTED} ORDER BY updated_at LIMIT ?1)
         RETURNING id, type, status, last_error`,
      )
      .bind(limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events INDEXED BY events_unalerted WHERE ${UNALERTED}`),
  ]);
  const events = (taken?.results ?? []).map((r) => ({
    id: r.id,
    type: r.type,
    status: r.status,
    lastError: r.last_error,
  }));
  return { events, remaining: left?.results[0]?.n ?? 0 };
}

/**
 * Takes the next slot for an alert of ended events: true for the one caller that finds the last
 * one at least `windowMs` old, and the slot is stamped `nowMs` for it; false for everyone else.
 */
export async function claimEndedAlertSlot(db: D1Database, nowMs: number, windowMs: number): Promise<boolean> {
  const [, claimed] = await db.batch([
    db.prepare("INSERT OR IGNORE INTO alert_state (id, silence_for, ended_sent_ms) VALUES (1, NULL, 0)"),
    db
      .prepare("UPDATE alert_state SET ended_sent_ms = ?1 WHERE id = 1 AND ended_sent_ms <= ?2")
      .bind(nowMs, nowMs - windowMs),
  ]);
  return (claimed?.meta.changes ?? 0) === 1;
}

/** The last webhook's time the silence alert was sent for, if any. */
export async function readSilenceAlertedFor(db: D1Database): Promise<string | undefined> {
  const row = await db
    .prepare("SELECT silence_for FROM alert_state WHERE id = 1")
    .first<{ silence_for: string | null }>();
  return row?.silence_for ?? undefined;
}

/**
 * Moves the silence state from `expected` to `next` (a webhook time, or null) if nobody moved it
 * first: true for the one run that did, so overlapping runs send each alert once.
 */
export async function swapSilenceAlertedFor(
  db: D1Database,
  expected: string | undefined,
  next: string | null,
): Promise<boolean> {
  const [, swapped] = await db.batch([
    db.prepare("INSERT OR IGNORE INTO alert_state (id, silence_for) VALUES (1, NULL)"),
    db
      .prepare("UPDATE alert_state SET silence_for = ?2 WHERE id = 1 AND silence_for IS ?1")
      .bind(expected ?? null, next),
  ]);
  return (swapped?.meta.changes ?? 0) === 1;
}

/**
 * When the changes the poller found after `sinceIso` happened (REST's `createdAt` of a new work
 * order, `completedAt` of an ending), newest logged first: only those a webhook subscription this
 * Worker has received before would also have delivered (a work order created, where
 * NEW_WORK_ORDER webhooks have come; an ending, where WORK_ORDER_STATUS_CHANGE ones have). Plain
 * updates are left out: not every edit that moves `updatedAt` makes MaintainX send a webhook.
 */
export async function missedChangesSince(db: D1Database, sinceIso: string, limit = 200): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT p.occurred_at FROM events AS p
       WHERE p.source = 'poll' AND p.received_at > ?1 AND p.occurred_at IS NOT NULL
         AND p.type IN ('workorder.created', 'workorder.completed', 'workorder.canceled', 'workorder.skipped')
         AND EXISTS (
           SELECT 1 FROM events AS w
           WHERE w.source = 'webhook'
             AND w.type = CASE p.type WHEN 'workorder.created' THEN 'workorder.created' ELSE 'workorder.status_changed' END
         )
       ORDER BY p.received_at DESC LIMIT ?2`,
    )
    .bind(sinceIso, limit)
    .all<{ occurred_at: string }>();
  return results.map((r) => r.occurred_at);
}
