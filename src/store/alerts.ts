// What the operator alerts remember (docs/operations.md): which events were alerted in
// which status or retrying spell, and which webhook silence was.

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

/** An event still `retrying` past ALERT_RETRYING_MINUTES, as its alert names it. */
export interface RetryingEvent {
  id: string;
  type: string;
  attempts: number;
  /** `handler: error; handler: error`, as the consumer wrote it. */
  lastError: string | null;
  /** When the queue brings it back; null while it waits for a held handler (or was queued by a release). */
  nextAttemptAt: string | null;
  /** When its retrying spell began. */
  retryingSince: string;
  /** The held handlers it waits for (held_events). */
  heldFor: string[];
  /** The handlers whose last call for it failed (its latest attempt in the attempt log). */
  failing: string[];
}

/**
 * What `alerted` starts with once an event was alerted in its current retrying spell: the retrying
 * alert writes exactly this, the stuck alert of an overdue retry this and `;overdue:<next attempt>`
 * (store/stuck-events.ts), so either alert keeps the other from naming the spell again as
 * long-retrying. A new spell has a new `retrying_since`.
 */
export const RETRYING_SPELL_MARK = "'retrying:' || coalesce(retrying_since, '')";

/** The event was not alerted in its current retrying spell. */
const NOT_ALERTED_IN_SPELL = `instr(coalesce(alerted, ''), ${RETRYING_SPELL_MARK}) <> 1`;

/** The event's latest attempt that the attempt log holds (the one in flight has no rows yet). */
const LATEST_LOGGED = "(SELECT max(l.attempt) FROM handler_attempts l WHERE l.event_id = events.id)";

/** Handlers whose call failed (transiently or not) at that attempt, as a JSON array. */
const FAILING_AT_LATEST = `(SELECT json_group_array(a.handler) FROM handler_attempts a
  WHERE a.event_id = events.id AND a.attempt = ${LATEST_LOGGED} AND a.outcome IN ('retry', 'failed'))`;

/** The held handlers the event waits for, as a JSON array. */
const HELD_FOR = "(SELECT json_group_array(h.handler) FROM held_events h WHERE h.event_id = events.id)";

/**
 * The event waits for holds and nothing else: no next attempt is scheduled, no handler failed at
 * its latest attempt, and it waits for a held handler (held_events), or did until a release queued
 * it again (its latest attempt has a `held` turn). A hold is the operator's own decision, so such
 * an event is not alerted as retrying; it is once a handler fails for it again.
 */
const HELD_ONLY = `(next_attempt_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM handler_attempts a
    WHERE a.event_id = events.id AND a.attempt = ${LATEST_LOGGED} AND a.outcome IN ('retry', 'failed'))
  AND (EXISTS (SELECT 1 FROM held_events h WHERE h.event_id = events.id)
    OR EXISTS (SELECT 1 FROM handler_attempts a
      WHERE a.event_id = events.id AND a.attempt = ${LATEST_LOGGED} AND a.outcome = 'held')))`;

/** `retrying` since before ?1, not alerted in this spell, and not waiting for holds alone. */
export const LONG_RETRYING = `status = 'retrying' AND retrying_since <= ?1 AND ${NOT_ALERTED_IN_SPELL} AND NOT ${HELD_ONLY}`;

const jsonNames = (text: string | null): string[] => {
  const names = JSON.parse(text ?? "[]") as unknown;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string").sort() : [];
};

/**
 * Takes up to `limit` events `retrying` since before `since` and not alerted in that spell,
 * longest retrying first, and marks them alerted (`alerted` = `retrying:<retrying_since>`), in one
 * statement: two runs at once never take the same event. `remaining` counts those left for the
 * next run. Read through the partial index `events_retrying` (migrations/0011), which holds the
 * retrying events only.
 */
export async function takeLongRetrying(
  db: D1Database,
  since: string,
  limit: number,
): Promise<{ events: RetryingEvent[]; remaining: number }> {
  const [taken, left] = await db.batch<{
    id: string;
    type: string;
    attempts: number;
    last_error: string | null;
    next_attempt_at: string | null;
    retrying_since: string;
    held_for: string | null;
    failing: string | null;
    n: number;
  }>([
    db
      .prepare(
        `UPDATE events SET alerted = ${RETRYING_SPELL_MARK}
         WHERE id IN (SELECT id FROM events INDEXED BY events_retrying WHERE ${LONG_RETRYING}
                      ORDER BY retrying_since LIMIT ?2)
         RETURNING id, type, attempts, last_error, next_attempt_at, retrying_since,
           ${HELD_FOR} AS held_for, ${FAILING_AT_LATEST} AS failing`,
      )
      .bind(since, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events INDEXED BY events_retrying WHERE ${LONG_RETRYING}`).bind(since),
  ]);
  const events = (taken?.results ?? [])
    .map((r) => ({
      id: r.id,
      type: r.type,
      attempts: r.attempts,
      lastError: r.last_error,
      nextAttemptAt: r.next_attempt_at,
      retryingSince: r.retrying_since,
      heldFor: jsonNames(r.held_for),
      failing: jsonNames(r.failing),
    }))
    .sort((a, b) =>
      a.retryingSince < b.retryingSince ? -1 : a.retryingSince > b.retryingSince ? 1 : a.id < b.id ? -1 : 1,
    );
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
