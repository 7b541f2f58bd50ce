// Side-effect claims in D1 (strongly consistent, unlike KV): before a handler runs for an event it
// claims (claim key, handler). Only one consumer can hold a claim; a finished claim is never run
// again, so duplicate deliveries, concurrent duplicates and redelivered messages cause one effect.
// The claim key (kept in the `event_id` column) is the event id, except for the handlers of a real
// change (ARCHITECTURE.md, "Once per real change"): a work order's creation and each of its endings.

type SideEffectStatus = "running" | "done" | "skipped" | "retry" | "failed";

type ClaimResult =
  | {
      claimed: true;
      attempts: number;
      /** The event that first claimed it: the effect goes out under this id on every attempt. */
      effectId: string;
    }
  | { claimed: false; status: SideEffectStatus; leaseUntilMs: number };

/** The claim key of the creation handlers of a work order (its SQL twin is in listSideEffects). */
export const createdClaimKey = (workOrderId: string): string => `workorder:${workOrderId}:created`;
/** The claim key of the handlers of one ending (store/endings.ts) of a work order. */
export const endingClaimKey = (workOrderId: string, seq: number): string => `workorder:${workOrderId}:ending:${seq}`;

/** How long a claim stays exclusive if its holder dies mid-run (longer than any handler runs). */
export const CLAIM_LEASE_MS = 120_000;

export async function claimSideEffect(
  db: D1Database,
  claimKey: string,
  handler: string,
  options: { nowMs: number; replay: boolean; eventId: string },
): Promise<ClaimResult> {
  const now = new Date(options.nowMs).toISOString();
  const leaseUntil = options.nowMs + CLAIM_LEASE_MS;
  const row = await db
    .prepare(
      `INSERT INTO side_effects (event_id, handler, status, attempts, lease_until, updated_at, first_event_id)
       VALUES (?1, ?2, 'running', 1, ?3, ?4, ?7)
       ON CONFLICT (event_id, handler) DO UPDATE SET
         status = 'running', attempts = side_effects.attempts + 1,
         lease_until = excluded.lease_until, updated_at = excluded.updated_at,
         first_event_id = coalesce(side_effects.first_event_id, excluded.first_event_id)
       WHERE side_effects.status = 'retry'
          OR (side_effects.status = 'running' AND side_effects.lease_until < ?5)
          OR (?6 = 1 AND side_effects.status IN ('failed', 'skipped'))
       RETURNING attempts, first_event_id`,
    )
    .bind(claimKey, handler, leaseUntil, now, options.nowMs, options.replay ? 1 : 0, options.eventId)
    .first<{ attempts: number; first_event_id: string | null }>();
  if (row) return { claimed: true, attempts: row.attempts, effectId: row.first_event_id ?? options.eventId };

  const current = await db
    .prepare("SELECT status, lease_until FROM side_effects WHERE event_id = ?1 AND handler = ?2")
    .bind(claimKey, handler)
    .first<{ status: SideEffectStatus; lease_until: number }>();
  return { claimed: false, status: current?.status ?? "running", leaseUntilMs: current?.lease_until ?? leaseUntil };
}

/** Ends a claim with its outcome; `retry` releases it for the next delivery. */
export async function finishSideEffect(
  db: D1Database,
  eventId: string,
  handler: string,
  outcome: { status: Exclude<SideEffectStatus, "running">; detail?: string; error?: string },
): Promise<void> {
  await db
    .prepare(
      `UPDATE side_effects SET status = ?3, detail = ?4, last_error = ?5, lease_until = 0, updated_at = ?6
       WHERE event_id = ?1 AND handler = ?2`,
    )
    .bind(eventId, handler, outcome.status, outcome.detail ?? null, outcome.error ?? null, new Date().toISOString())
    .run();
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
export async function settleSharersOf(db: D1Database, claimKey: string): Promise<number> {
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
  if (!sharers) return 0;
  const result = await db
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
    .bind(new Date().toISOString(), ...sharers.args)
    .run();
  return result.meta.changes;
}
