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

/** What the silence checks read, in one D1 call (readSilenceState). */
export interface SilenceState {
  /** The last webhook's time the silence alert of every webhook was sent for, while that silence lasts. */
  alertedFor: string | undefined;
  /** The newest webhook's time when the last silence of every webhook ended (its resumed note). */
  endedAt: string | undefined;
  /** The newest webhook of each type asked for that the log holds; a type never logged is absent. */
  lastByType: Map<string, string>;
  /** Each type whose own silence was alerted and has not ended → its last webhook's time then. */
  typeSilences: Map<string, string>;
}

/**
 * The newest webhook of each type in the JSON array `?1`: one seek per type in the partial index
 * `events_webhook_last` (migrations/0009), whatever the size of the log (the plan is checked by
 * test/integration/silence.test.ts). The types are the caller's constants, never a list the log
 * itself could grow.
 */
export const LAST_WEBHOOK_OF_TYPES = `SELECT t.value AS source_type,
    (SELECT MAX(received_at) FROM events WHERE source = 'webhook' AND source_type = t.value) AS last_at
  FROM json_each(?1) AS t`;

export async function readSilenceState(db: D1Database, types: readonly string[]): Promise<SilenceState> {
  const [alertRows, typeRows, silenceRows] = await db.batch<Record<string, string | null>>([
    db.prepare("SELECT silence_for, silence_ended_at FROM alert_state WHERE id = 1"),
    db.prepare(LAST_WEBHOOK_OF_TYPES).bind(JSON.stringify(types)),
    db.prepare("SELECT source_type, silent_since FROM webhook_type_silences"),
  ]);
  const alert = alertRows?.results[0];
  const lastByType = new Map<string, string>();
  for (const row of typeRows?.results ?? []) {
    if (row.source_type && row.last_at) lastByType.set(row.source_type, row.last_at);
  }
  const typeSilences = new Map<string, string>();
  for (const row of silenceRows?.results ?? []) {
    if (row.source_type && row.silent_since) typeSilences.set(row.source_type, row.silent_since);
  }
  return {
    alertedFor: alert?.silence_for ?? undefined,
    endedAt: alert?.silence_ended_at ?? undefined,
    lastByType,
    typeSilences,
  };
}

/**
 * Moves the silence state of every webhook from `expected` to `next` (a webhook time, or null) if
 * nobody moved it first: true for the one run that did, so overlapping runs send each alert once.
 * `endedAt`, given when a silence ends, is kept as the time it ended.
 */
export async function swapSilenceAlertedFor(
  db: D1Database,
  expected: string | undefined,
  next: string | null,
  endedAt?: string,
): Promise<boolean> {
  const [, swapped] = await db.batch([
    db.prepare("INSERT OR IGNORE INTO alert_state (id, silence_for) VALUES (1, NULL)"),
    db
      .prepare(
        "UPDATE alert_state SET silence_for = ?2, silence_ended_at = coalesce(?3, silence_ended_at) WHERE id = 1 AND silence_for IS ?1",
      )
      .bind(expected ?? null, next, endedAt ?? null),
  ]);
  return (swapped?.meta.changes ?? 0) === 1;
}

/**
 * Records that the silence of one webhook type, whose last webhook came at `since`, was alerted:
 * true for the one run that recorded it. A type keeps one such row until its silence ends.
 */
export async function claimTypeSilence(db: D1Database, sourceType: string, since: string): Promise<boolean> {
  const result = await db
    .prepare(
      "INSERT INTO webhook_type_silences (source_type, silent_since) VALUES (?1, ?2) ON CONFLICT (source_type) DO NOTHING",
    )
    .bind(sourceType, since)
    .run();
  return result.meta.changes === 1;
}

/** Ends the alerted silence of a type (its webhooks arrive again): true for the one run that ended it. */
export async function endTypeSilence(db: D1Database, sourceType: string, since: string): Promise<boolean> {
  const result = await db
    .prepare("DELETE FROM webhook_type_silences WHERE source_type = ?1 AND silent_since = ?2")
    .bind(sourceType, since)
    .run();
  return result.meta.changes === 1;
}

/** A creation or an ending the poller logged (src/ingest/accept-polled.ts). */
export interface PolledChange {
  /** `workorder.created`, `.completed`, `.canceled` or `.skipped`. */
  type: string;
  workOrderId: string | null;
  /** REST's `createdAt` of a new work order, `completedAt` (else `updatedAt`) of an ending. */
  occurredAt: string;
}

/**
 * The poller's events of the types in the JSON array `?1` logged after `?2`, newest first. Read
 * through `events_by_type`, so only events of those types are read (without `INDEXED BY`, SQLite
 * picks `events_by_source` and reads every polled version since).
 */
export const POLLED_CHANGES_SINCE = `SELECT type, work_order_id, occurred_at FROM events INDEXED BY events_by_type
  WHERE type IN (SELECT value FROM json_each(?1)) AND received_at > ?2 AND source = 'poll' AND occurred_at IS NOT NULL
  ORDER BY received_at DESC LIMIT ?3`;

/**
 * The changes of these types (creations, endings) the poller logged after `sinceIso`, newest
 * logged first, at most `limit`. The caller names the types a webhook subscription would also have
 * delivered; plain updates are never among them, since not every edit that moves `updatedAt`
 * makes MaintainX send a webhook.
 */
export async function missedChangesSince(
  db: D1Database,
  sinceIso: string,
  types: readonly string[],
  limit = 200,
): Promise<PolledChange[]> {
  if (types.length === 0) return [];
  const { results } = await db
    .prepare(POLLED_CHANGES_SINCE)
    .bind(JSON.stringify(types), sinceIso, limit)
    .all<{ type: string; work_order_id: string | null; occurred_at: string }>();
  return results.map((r) => ({ type: r.type, workOrderId: r.work_order_id, occurredAt: r.occurred_at }));
}
