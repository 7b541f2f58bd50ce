// Side-effect claims in D1 (strongly consistent, unlike KV): before a handler runs for an event it
// claims (claim key, handler). Only one consumer can hold a claim; a finished claim is never run
// again, so duplicate deliveries, concurrent duplicates and redelivered messages cause one effect.
// The claim key (kept in the `event_id` column) is the event id, except for the handlers of a real
// change (ARCHITECTURE.md, "Once per real change"): a work order's creation and each of its endings.

type SideEffectStatus = "running" | "done" | "skipped" | "retry" | "failed";

export type ClaimResult =
  | {
      claimed: true;
      attempts: number;
      /** The event that first claimed it: the effect goes out under this id on every attempt. */
      effectId: string;
    }
  | { claimed: false; status: SideEffectStatus; leaseUntilMs: number; lastError?: string };

/** The claim key of the creation handlers of a work order (its SQL twin is in listSideEffects). */
export const createdClaimKey = (workOrderId: string): string => `workorder:${workOrderId}:created`;

/** How long a claim stays exclusive if its holder dies mid-run (longer than any handler runs). */
export const CLAIM_LEASE_MS = 120_000;

/**
 * Which key a claim is taken under: one known in advance (the event id, a creation's key), or the
 * key of the ending that the same batch resolved the event to (store/endings.ts), read in SQL.
 */
export type ClaimKeyRef = { key: string } | { endingOf: { eventId: string } };

/** The claim key as SQL over `?1`, and what `?1` is bound to. */
function keyExpression(ref: ClaimKeyRef): { sql: string; arg: string } {
  if ("key" in ref) return { sql: "?1", arg: ref.key };
  // An ending's claim key, `workorder:<id>:ending:<seq>` (store/endings.ts), as listSideEffects reads it.
  return {
    sql: "(SELECT 'workorder:' || work_order_id || ':ending:' || seq FROM event_endings WHERE event_id = ?1)",
    arg: ref.endingOf.eventId,
  };
}

/**
 * Claims (claim key, handler) for this delivery: the claim is taken when there is none, when the
 * last holder released it for a retry, when its lease ran out, and on a replay when it had failed
 * or was skipped. Two statements, for a batch: the claim (a row only when it was taken), then the
 * claim as it stands; read the pair with claimResultOf.
 */
export function claimStatements(
  db: D1Database,
  ref: ClaimKeyRef,
  handler: string,
  options: { nowMs: number; replay: boolean; eventId: string },
): [D1PreparedStatement, D1PreparedStatement] {
  const key = keyExpression(ref);
  const now = new Date(options.nowMs).toISOString();
  const leaseUntil = options.nowMs + CLAIM_LEASE_MS;
  return [
    db
      .prepare(
        `INSERT INTO side_effects (event_id, handler, status, attempts, lease_until, updated_at, first_event_id)
         VALUES (${key.sql}, ?2, 'running', 1, ?3, ?4, ?7)
         ON CONFLICT (event_id, handler) DO UPDATE SET
           status = 'running', attempts = side_effects.attempts + 1,
           lease_until = excluded.lease_until, updated_at = excluded.updated_at,
           first_event_id = coalesce(side_effects.first_event_id, excluded.first_event_id)
         WHERE side_effects.status = 'retry'
            OR (side_effects.status = 'running' AND side_effects.lease_until < ?5)
            OR (?6 = 1 AND side_effects.status IN ('failed', 'skipped'))
         RETURNING attempts, first_event_id`,
      )
      .bind(key.arg, handler, leaseUntil, now, options.nowMs, options.replay ? 1 : 0, options.eventId),
    db
      .prepare(
        `SELECT event_id AS claim_key, status, lease_until, last_error FROM side_effects
         WHERE event_id = ${key.sql} AND handler = ?2`,
      )
      .bind(key.arg, handler),
  ];
}

/** The claim key and result from the two results of claimStatements. */
export function claimResultOf(
  taken: D1Result | undefined,
  current: D1Result | undefined,
  eventId: string,
): { key: string; result: ClaimResult } {
  const row = taken?.results[0] as { attempts: number; first_event_id: string | null } | undefined;
  const now = current?.results[0] as
    | { claim_key: string; status: SideEffectStatus; lease_until: number; last_error: string | null }
    | undefined;
  if (!now) throw new Error(`Claim of event ${eventId} not recorded`);
  if (row) {
    return {
      key: now.claim_key,
      result: { claimed: true, attempts: row.attempts, effectId: row.first_event_id ?? eventId },
    };
  }
  const result: ClaimResult = { claimed: false, status: now.status, leaseUntilMs: now.lease_until };
  if (now.last_error !== null) result.lastError = now.last_error;
  return { key: now.claim_key, result };
}

export type FinishedStatus = Exclude<SideEffectStatus, "running">;

/** Ends a claim with its outcome; `retry` releases it for the next delivery. */
export function finishStatement(
  db: D1Database,
  claimKey: string,
  handler: string,
  outcome: { status: FinishedStatus; detail?: string; error?: string },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE side_effects SET status = ?3, detail = ?4, last_error = ?5, lease_until = 0, updated_at = ?6
       WHERE event_id = ?1 AND handler = ?2`,
    )
    .bind(claimKey, handler, outcome.status, outcome.detail ?? null, outcome.error ?? null, new Date().toISOString());
}

interface SideEffectOutcome {
  handler: string;
  status: SideEffectStatus;
  attempts: number;
  lastError?: string;
  detail?: string;
}

/**
 * The outcomes of an event's handlers, under every key they were claimed by: the event id, its
 * work order's creation key when it is a `workorder.created` event, and its ending's key when it
 * was resolved to one. A shared claim shows the outcome of whichever event ran it.
 */
export async function listSideEffects(db: D1Database, eventId: string): Promise<SideEffectOutcome[]> {
  const { results } = await db
    .prepare(
      `SELECT handler, status, attempts, last_error, detail FROM side_effects
       WHERE event_id = ?1
          OR event_id = (SELECT 'workorder:' || work_order_id || ':created' FROM events
                         WHERE id = ?1 AND type = 'workorder.created' AND work_order_id IS NOT NULL)
          OR event_id = (SELECT 'workorder:' || work_order_id || ':ending:' || seq FROM event_endings WHERE event_id = ?1)
       ORDER BY rowid`,
    )
    .bind(eventId)
    .all<{
      handler: string;
      status: SideEffectStatus;
      attempts: number;
      last_error: string | null;
      detail: string | null;
    }>();
  return results.map((r) => {
    const out: SideEffectOutcome = { handler: r.handler, status: r.status, attempts: r.attempts };
    if (r.last_error !== null) out.lastError = r.last_error;
    if (r.detail !== null) out.detail = r.detail;
    return out;
  });
}

/**
 * After a shared claim (a creation's or an ending's) finished well, the other events of that
 * change that were marked `failed` because of it become `processed`, unless a claim of theirs is
 * still failed: a replay of one event of a change heals them all.
 */
export function settleSharersStatement(db: D1Database, claimKey: string): D1PreparedStatement | undefined {
  const created = /^workorder:(.+):created$/.exec(claimKey);
  const ending = /^workorder:(.+):ending:(\d+)$/.exec(claimKey);
  const sharers = created
    ? { sql: "SELECT id FROM events WHERE work_order_id = ?2 AND type = 'workorder.created'", args: [created[1]] }
    : ending
      ? {
          sql: "SELECT event_id FROM event_endings WHERE work_order_id = ?2 AND seq = ?3",
          args: [ending[1], Number(ending[2])],
        }
      : undefined;
  if (!sharers) return undefined;
  return db
    .prepare(
      `UPDATE events SET status = 'processed', last_error = NULL, updated_at = ?1
       WHERE status = 'failed' AND id IN (${sharers.sql})
         AND NOT EXISTS (
           SELECT 1 FROM side_effects s WHERE s.status = 'failed' AND (
             s.event_id = events.id
             OR (events.type = 'workorder.created' AND s.event_id = 'workorder:' || events.work_order_id || ':created')
             OR s.event_id = (SELECT 'workorder:' || x.work_order_id || ':ending:' || x.seq
                              FROM event_endings x WHERE x.event_id = events.id)))`,
    )
    .bind(new Date().toISOString(), ...sharers.args);
}
