// One consumer attempt at an event in two D1 round trips (D1 runs a batch as one transaction):
// - openAttempt, before any handler runs: the event's row and attempt count, a reopen of its work
//   order, the real change it reports, and the claim of every handler, with each claim's state;
// - settleAttempt, after the handlers ran: every handler's outcome, the event's status or last
//   error, and the other events of a change a replay healed.
// A side effect is claimed before it runs and recorded after it succeeds, as with one call each.

import type { CanonicalEvent } from "../events/canonical";
import type { ChangeObservation } from "../events/changes";
import type { DataJson } from "../events/data-json";
import { reopenStatement, resolveChangeStatements } from "./changes";
import { beginAttemptStatements, type EventStatus, errorStatement, statusStatement } from "./event-log";
import {
  type ClaimResult,
  type ClaimRow,
  claimResultOf,
  claimStatements,
  type FinishedStatus,
  finishStatement,
  settleSharersStatement,
} from "./side-effects";

export interface AttemptPlan {
  event: CanonicalEvent;
  replay: boolean;
  /** The data's JSON as the receiver logged it, when the event came back from the log. */
  stored?: DataJson | undefined;
  /** The event shows its work order open again at this time. */
  reopen?: { workOrderId: string; atMs: number } | undefined;
  /** The change the event reports, resolved in the batch, when a claim is per change. */
  change?: ChangeObservation | undefined;
  claims: Array<{ handler: string; perChange: boolean }>;
  nowMs: number;
}

export interface OpenedClaim {
  handler: string;
  row: ClaimRow;
  result: ClaimResult;
}

/** Round trip 1. The claims come back in the order asked. */
export async function openAttempt(db: D1Database, plan: AttemptPlan): Promise<OpenedClaim[]> {
  const { event } = plan;
  const statements = beginAttemptStatements(db, event, plan.replay, plan.stored);
  if (plan.reopen) statements.push(reopenStatement(db, plan.reopen.workOrderId, plan.reopen.atMs));
  if (plan.change) statements.push(...resolveChangeStatements(db, plan.change, plan.nowMs));
  const firstClaim = statements.length;
  for (const claim of plan.claims) {
    statements.push(...claimStatements(db, { eventId: event.id, ...claim }, plan));
  }
  const results = await db.batch(statements);
  return plan.claims.map((claim, i) => ({
    handler: claim.handler,
    ...claimResultOf(results[firstClaim + 2 * i], results[firstClaim + 2 * i + 1], event.id),
  }));
}

export interface Finish {
  claim: ClaimRow;
  handler: string;
  outcome: { status: FinishedStatus; detail?: string; error?: string };
}

export interface Settlement {
  eventId: string;
  finishes: Finish[];
  /** The event's end (`processed`, `failed`), or, while a retry is pending, only its last error. */
  event: { status: EventStatus; lastError: string | null } | { pendingError: string };
  /** Changes whose claims a replay finished well: their other events that failed are healed. */
  healChanges?: number[];
}

/** Round trip 2. Resolves with how many other events of a change it healed. */
export async function settleAttempt(db: D1Database, settlement: Settlement): Promise<number> {
  const { eventId, event } = settlement;
  const statements = settlement.finishes.map((f) => finishStatement(db, f.claim.id, f.outcome));
  statements.push(
    "pendingError" in event
      ? errorStatement(db, eventId, event.pendingError)
      : statusStatement(db, eventId, event.status, event.lastError),
  );
  const firstHeal = statements.length;
  for (const changeId of new Set(settlement.healChanges)) statements.push(settleSharersStatement(db, changeId));
  const results = await db.batch(statements);
  return results.slice(firstHeal).reduce((sum, result) => sum + (result.meta.changes ?? 0), 0);
}

/** An event no handler takes: its attempt and `processed`, in one round trip. */
export async function settleUnhandled(
  db: D1Database,
  event: CanonicalEvent,
  replay: boolean,
  stored?: DataJson,
): Promise<void> {
  await db.batch([
    ...beginAttemptStatements(db, event, replay, stored),
    statusStatement(db, event.id, "processed", null),
  ]);
}
