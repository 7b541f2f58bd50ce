// Handlers as operators see them (docs/operations.md, "Retries and holds"): held or not, when
// each last succeeded and failed, the events waiting for a held one, and every attempt of a
// handler at an event (the attempt log). The consumer's writes here are statements that travel in
// its settling batch (store/attempt.ts): no round trip of their own.

/** One handler call (or one turn it waited for a hold), as the attempt log keeps it. */
export interface AttemptRecord {
  handler: string;
  outcome: "ok" | "skipped" | "retry" | "failed" | "held";
  durationMs: number;
  /** The sink's HTTP status, when there was one. */
  status?: number;
  /** A sentence with no secret (lib/outbound.ts redacts URLs from a sink's answer). */
  error?: string;
  /** What a handler that was done or skipped said. */
  detail?: string;
}

/** The attempt log keeps at most this many characters of an error or a detail. */
const TEXT_LIMIT = 500;

/** The attempts of one event's attempt `attempt`, as one statement (the rows go as one JSON array). */
export function attemptLogStatement(
  db: D1Database,
  eventId: string,
  attempt: number,
  atIso: string,
  records: readonly AttemptRecord[],
): D1PreparedStatement {
  const rows = records.map((r) => ({
    handler: r.handler,
    outcome: r.outcome,
    duration: Math.max(0, Math.round(r.durationMs)),
    status: r.status ?? null,
    error: r.error?.slice(0, TEXT_LIMIT) ?? null,
    detail: r.detail?.slice(0, TEXT_LIMIT) ?? null,
  }));
  return db
    .prepare(
      `INSERT OR IGNORE INTO handler_attempts (event_id, handler, attempt, at, duration_ms, outcome, status, error, detail)
       SELECT ?1, value ->> 'handler', ?2, ?3, value ->> 'duration', value ->> 'outcome', value ->> 'status',
              value ->> 'error', value ->> 'detail'
       FROM json_each(?4)`,
    )
    .bind(eventId, attempt, atIso, JSON.stringify(rows));
}

/** The attempt log of an event as `GET /admin/events/:id` gives it. */
export interface LoggedAttempt {
  handler: string;
  attempt: number;
  at: string;
  durationMs: number;
  outcome: AttemptRecord["outcome"];
  status?: number;
  error?: string;
  detail?: string;
}

/** The latest `limit` attempts of the event, oldest first (an attempt's calls by handler name). */
export async function listAttempts(db: D1Database, eventId: string, limit = 50): Promise<LoggedAttempt[]> {
  const { results } = await db
    .prepare(
      `SELECT handler, attempt, at, duration_ms, outcome, status, error, detail FROM (
         SELECT * FROM handler_attempts WHERE event_id = ?1 ORDER BY attempt DESC, handler DESC LIMIT ?2)
       ORDER BY attempt, handler`,
    )
    .bind(eventId, limit)
    .all<{
      handler: string;
      attempt: number;
      at: string;
      duration_ms: number;
      outcome: LoggedAttempt["outcome"];
      status: number | null;
      error: string | null;
      detail: string | null;
    }>();
  return results.map((r) => ({
    handler: r.handler,
    attempt: r.attempt,
    at: r.at,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    ...(r.status === null ? {} : { status: r.status }),
    ...(r.error === null ? {} : { error: r.error }),
    ...(r.detail === null ? {} : { detail: r.detail }),
  }));
}

/** Success and failure times are written at most this often per handler (a burst costs no write per event). */
const STATE_WRITE_MS = 60_000;

/**
 * Each handler's success or failure at this attempt. A failure starts an episode (`failing_since`)
 * unless one is on; a success ends it (`recovered_at`, `recovered_after`: a "recovered" note is
 * due). Otherwise a row is rewritten only when its time is a minute old.
 */
export function handlerStateStatement(
  db: D1Database,
  results: ReadonlyArray<{ handler: string; ok: boolean }>,
  nowMs: number,
): D1PreparedStatement {
  const now = new Date(nowMs).toISOString();
  const stale = new Date(nowMs - STATE_WRITE_MS).toISOString();
  return db
    .prepare(
      `INSERT INTO handlers (name, last_success_at, last_failure_at, failing_since)
       SELECT value ->> 'handler',
              CASE WHEN value ->> 'ok' THEN ?1 END,
              CASE WHEN value ->> 'ok' THEN NULL ELSE ?1 END,
              CASE WHEN value ->> 'ok' THEN NULL ELSE ?1 END
       FROM json_each(?3) WHERE true
       ON CONFLICT (name) DO UPDATE SET
         last_success_at = coalesce(excluded.last_success_at, handlers.last_success_at),
         last_failure_at = coalesce(excluded.last_failure_at, handlers.last_failure_at),
         recovered_after = CASE WHEN excluded.last_success_at IS NOT NULL AND handlers.failing_since IS NOT NULL
                                THEN handlers.failing_since ELSE handlers.recovered_after END,
         recovered_at = CASE WHEN excluded.last_success_at IS NOT NULL AND handlers.failing_since IS NOT NULL
                             THEN excluded.last_success_at ELSE handlers.recovered_at END,
         failing_since = CASE WHEN excluded.last_success_at IS NOT NULL THEN NULL
                              ELSE coalesce(handlers.failing_since, excluded.failing_since) END
       WHERE (excluded.last_success_at IS NOT NULL
              AND (handlers.failing_since IS NOT NULL OR handlers.last_success_at IS NULL OR handlers.last_success_at < ?2))
          OR (excluded.last_failure_at IS NOT NULL
              AND (handlers.failing_since IS NULL OR handlers.last_failure_at IS NULL OR handlers.last_failure_at < ?2))`,
    )
    .bind(now, stale, JSON.stringify(results));
}

/** The SQL that is true while the handler bound as `?n` is held (the claims take none then). */
export const isHeld = (n: number) => `EXISTS (SELECT 1 FROM handlers WHERE name = ?${n} AND held_since IS NOT NULL)`;

/** The event waits for each of these held handlers (its message is acked: no retry is used). */
export function parkStatement(
  db: D1Database,
  eventId: string,
  handlers: readonly string[],
  nowIso: string,
): D1PreparedStatement {
  return db
    .prepare("INSERT OR IGNORE INTO held_events (handler, event_id, since) SELECT value, ?1, ?2 FROM json_each(?3)")
    .bind(eventId, nowIso, JSON.stringify(handlers));
}

/** A handler as `GET /admin/handlers` lists it (its types come from the registry). */
export interface HandlerState {
  name: string;
  held: boolean;
  heldSince?: string;
  reason?: string;
  waiting: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
}

interface HandlerRow {
  name: string;
  held_since: string | null;
  hold_reason: string | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  waiting: number;
}

const STATE_SELECT = `SELECT h.name, h.held_since, h.hold_reason, h.last_success_at, h.last_failure_at,
    (SELECT COUNT(*) FROM held_events w WHERE w.handler = h.name) AS waiting
  FROM handlers h`;

function stateOf(name: string, row: HandlerRow | undefined): HandlerState {
  const state: HandlerState = { name, held: row?.held_since != null, waiting: row?.waiting ?? 0 };
  if (row?.held_since != null) state.heldSince = row.held_since;
  if (row?.held_since != null && row.hold_reason !== null) state.reason = row.hold_reason;
  if (row?.last_success_at != null) state.lastSuccessAt = row.last_success_at;
  if (row?.last_failure_at != null) state.lastFailureAt = row.last_failure_at;
  return state;
}

/** The state of each named handler, in the order given (a handler with no row yet has none to show). */
export async function listHandlerStates(db: D1Database, names: readonly string[]): Promise<HandlerState[]> {
  const { results } = await db.prepare(STATE_SELECT).all<HandlerRow>();
  const rows = new Map(results.map((row) => [row.name, row]));
  return names.map((name) => stateOf(name, rows.get(name)));
}

/** Holds the handler (keeping the time of a hold already on) and returns its state. */
export async function holdHandler(db: D1Database, name: string, reason: string | null): Promise<HandlerState> {
  const [, state] = await db.batch<HandlerRow>([
    db
      .prepare(
        `INSERT INTO handlers (name, held_since, hold_reason) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET held_since = coalesce(handlers.held_since, excluded.held_since),
           hold_reason = excluded.hold_reason`,
      )
      .bind(name, new Date().toISOString(), reason),
    db.prepare(`${STATE_SELECT} WHERE h.name = ?1`).bind(name),
  ]);
  return stateOf(name, state?.results[0]);
}

/** Releases the handler; true when it was held. */
export async function releaseHandler(db: D1Database, name: string): Promise<boolean> {
  const released = await db
    .prepare("UPDATE handlers SET held_since = NULL, hold_reason = NULL WHERE name = ?1 AND held_since IS NOT NULL")
    .bind(name)
    .run();
  return released.meta.changes > 0;
}

/** The handlers this event waits for (they were held when it needed them). */
export async function waitingHandlersOf(db: D1Database, eventId: string): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT handler FROM held_events WHERE event_id = ?1 ORDER BY handler")
    .bind(eventId)
    .all<{ handler: string }>();
  return results.map((r) => r.handler);
}

/** The names of the handlers held now, for `/admin/status`. */
export async function heldHandlerNames(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT name FROM handlers WHERE held_since IS NOT NULL ORDER BY name")
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

/**
 * Up to `limit` events waiting for a handler that is no longer held (`handler` narrows it to one),
 * oldest wait first, each with the released handlers it waited for.
 */
export async function releasedWaits(
  db: D1Database,
  limit: number,
  handler?: string,
): Promise<Array<{ eventId: string; handlers: string[] }>> {
  const { results } = await db
    .prepare(
      `SELECT w.event_id, json_group_array(w.handler) AS handlers, min(w.since) AS since FROM held_events w
       WHERE (?2 IS NULL OR w.handler = ?2)
         AND NOT EXISTS (SELECT 1 FROM handlers h WHERE h.name = w.handler AND h.held_since IS NOT NULL)
       GROUP BY w.event_id ORDER BY since, w.event_id LIMIT ?1`,
    )
    .bind(limit, handler ?? null)
    .all<{ event_id: string; handlers: string }>();
  return results.map((r) => ({ eventId: r.event_id, handlers: JSON.parse(r.handlers) as string[] }));
}

/** Forgets these waits (their events were queued again); a handler held again since keeps its own. */
export async function forgetWaits(
  db: D1Database,
  waits: ReadonlyArray<{ eventId: string; handlers: string[] }>,
): Promise<void> {
  if (waits.length === 0) return;
  const pairs = waits.flatMap((w) => w.handlers.map((handler) => [handler, w.eventId]));
  await db
    .prepare(
      `DELETE FROM held_events WHERE (handler, event_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))
         AND NOT EXISTS (SELECT 1 FROM handlers h WHERE h.name = held_events.handler AND h.held_since IS NOT NULL)`,
    )
    .bind(JSON.stringify(pairs))
    .run();
}
