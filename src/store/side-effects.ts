// Side-effect claims in D1 (strongly consistent, unlike KV): before a handler runs for an event it
// claims (key, handler). Only one consumer can hold a claim; a finished claim is never run again,
// so duplicate deliveries, concurrent duplicates and redelivered messages cause one effect. The key
// is the event's id (`event_id`), or for a handler claimed once per change the id of the real
// change the event reports (`change_id`, store/changes.ts; ARCHITECTURE.md, "Once per real change").

import { isHeld } from "./handlers";

type SideEffectStatus = "running" | "done" | "skipped" | "retry" | "failed";

/** A claim's row: its id, and the change it is keyed by (undefined for a claim keyed by its event). */
export interface ClaimRow {
  id: number;
  changeId: number | undefined;
}

export type ClaimResult =
  | {
      claimed: true;
      attempts: number;
      /** The event that first claimed it: the effect goes out under this id on every attempt. */
      effectId: string;
    }
  | { claimed: false; status: SideEffectStatus; leaseUntilMs: number; lastError?: string; held?: undefined }
  | { claimed: false; held: true };

/** How long a claim stays exclusive if its holder dies mid-run (longer than any handler runs). */
export const CLAIM_LEASE_MS = 120_000;

/** The claim's key column, and its value as SQL over `?1`, the event's id. */
const KEY = {
  event: { column: "event_id", value: "?1" },
  // The change the same batch resolved the event to (store/changes.ts).
  change: { column: "change_id", value: "(SELECT change_id FROM event_changes WHERE event_id = ?1)" },
};

/**
 * Claims (key, handler) for this event: the claim is taken when there is none, when the last holder
 * released it for a retry, when its lease ran out, and on a replay when it had failed or was
 * skipped; never while the handler is held (store/handlers.ts). Two statements, for a batch: the
 * claim (a row only when it was taken), then the claim as it stands and whether the handler is
 * held; read the pair with claimResultOf.
 */
export function claimStatements(
  db: D1Database,
  claim: { eventId: string; handler: string; perChange: boolean },
  options: { nowMs: number; replay: boolean },
): [D1PreparedStatement, D1PreparedStatement] {
  const key = claim.perChange ? KEY.change : KEY.event;
  const now = new Date(options.nowMs).toISOString();
  return [
    db
      .prepare(
        `INSERT INTO side_effects (${key.column}, handler, status, attempts, lease_until, updated_at, first_event_id)
         SELECT ${key.value}, ?2, 'running', 1, ?3 + ${CLAIM_LEASE_MS}, ?4, ?1 WHERE NOT ${isHeld(2)}
         ON CONFLICT DO UPDATE SET
           status = 'running', attempts = side_effects.attempts + 1,
           lease_until = excluded.lease_until, updated_at = excluded.updated_at,
           first_event_id = coalesce(side_effects.first_event_id, excluded.first_event_id)
         WHERE ${TAKEABLE}
         RETURNING attempts, first_event_id`,
      )
      .bind(claim.eventId, claim.handler, options.nowMs, now, options.replay ? 1 : 0),
    db
      .prepare(
        `SELECT s.id, s.change_id, s.status, s.lease_until, s.last_error, held.on_hold,
           (s.id IS NULL OR ${TAKEABLE.replaceAll("side_effects.", "s.")}) AS takeable
         FROM (SELECT ${isHeld(2)} AS on_hold) AS held
         LEFT JOIN side_effects s ON s.${key.column} = ${key.value} AND s.handler = ?2`,
      )
      .bind(claim.eventId, claim.handler, options.nowMs, now, options.replay ? 1 : 0),
  ];
}

/** When a claim that exists may be taken (?3 the time in ms, ?5 1 on a replay). */
const TAKEABLE = `(side_effects.status = 'retry'
            OR (side_effects.status = 'running' AND side_effects.lease_until < ?3)
            OR (?5 AND side_effects.status IN ('failed', 'skipped')))`;

/** The claim's row (absent while a held handler never had one) and result from the two results of claimStatements. */
export function claimResultOf(
  taken: D1Result | undefined,
  current: D1Result | undefined,
  eventId: string,
): { row: ClaimRow | undefined; result: ClaimResult } {
  const won = taken?.results[0] as { attempts: number; first_event_id: string | null } | undefined;
  const now = current?.results[0] as
    | {
        id: number | null;
        change_id: number | null;
        status: SideEffectStatus | null;
        lease_until: number | null;
        last_error: string | null;
        on_hold: number;
        takeable: number;
      }
    | undefined;
  if (!now) throw new Error(`Claim of event ${eventId} not read`);
  const row = now.id === null ? undefined : { id: now.id, changeId: now.change_id ?? undefined };
  if (won && row) {
    return { row, result: { claimed: true, attempts: won.attempts, effectId: won.first_event_id ?? eventId } };
  }
  // Held, and this delivery would have taken the claim: it waits for the release.
  if (now.on_hold === 1 && now.takeable === 1) return { row, result: { claimed: false, held: true } };
  if (!row || now.status === null) throw new Error(`Claim of event ${eventId} not recorded`);
  const result: ClaimResult = { claimed: false, status: now.status, leaseUntilMs: now.lease_until ?? 0 };
  if (now.last_error !== null) result.lastError = now.last_error;
  return { row, result };
}

export type FinishedStatus = Exclude<SideEffectStatus, "running">;

/** Ends a claim with its outcome; `retry` releases it for the next delivery. */
export function finishStatement(
  db: D1Database,
  claimId: number,
  outcome: { status: FinishedStatus; detail?: string; error?: string },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE side_effects SET status = ?2, detail = ?3, last_error = ?4, lease_until = 0, updated_at = ?5
       WHERE id = ?1`,
    )
    .bind(claimId, outcome.status, outcome.detail ?? null, outcome.error ?? null, new Date().toISOString());
}

interface SideEffectOutcome {
  handler: string;
  status: SideEffectStatus;
  attempts: number;
  lastError?: string;
  detail?: string;
}

/**
 * The outcomes of an event's handlers: the claims keyed by the event, and those keyed by the
 * change it reports. A shared claim shows the outcome of whichever event ran it.
 */
export async function listSideEffects(db: D1Database, eventId: string): Promise<SideEffectOutcome[]> {
  const { results } = await db
    .prepare(
      `SELECT handler, status, attempts, last_error, detail FROM side_effects
       WHERE event_id = ?1 OR change_id = (SELECT change_id FROM event_changes WHERE event_id = ?1)
       ORDER BY id`,
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
 * After a change's claim finished well, the other events of that change that were marked `failed`
 * because of it become `processed`, unless a claim of theirs is still failed: a replay of one
 * event of a change heals them all. (`+status` keeps SQLite on the few ids of the change rather
 * than every failed event.)
 */
export function settleSharersStatement(db: D1Database, changeId: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE events SET status = 'processed', last_error = NULL, updated_at = ?2
       WHERE +status = 'failed' AND id IN (SELECT event_id FROM event_changes WHERE change_id = ?1)
         AND NOT EXISTS (
           SELECT 1 FROM side_effects s WHERE s.status = 'failed' AND (
             s.event_id = events.id
             OR s.change_id = (SELECT change_id FROM event_changes WHERE event_id = events.id)))`,
    )
    .bind(changeId, new Date().toISOString());
}
