// One consumer attempt at an event in two D1 round trips (D1 runs a batch as one transaction):
// - openAttempt, before any handler runs: the event's row and attempt count, a reopen of its work
//   order, the real change it reports, and the claim of every handler (none of a held one), with
//   each claim's state;
// - settleAttempt, after the handlers ran: every handler's outcome, the attempt log, the handlers'
//   success and failure times, the event's status (`retrying` with its next attempt, parked for a
//   held handler, settled, or dead with its dead letter), and the other events of a change a
//   replay healed.
// A side effect is claimed before it runs and recorded after it succeeds, as with one call each.

import type { CanonicalEvent } from "../events/canonical";
import type { ChangeObservation } from "../events/changes";
import type { DataJson } from "../events/data-json";
import { reopenStatement, resolveChangeStatements } from "./changes";
import { deadLetterStatements } from "./dead-letters";
import { beginAttemptStatements, type EventStatus, retryingStatement, statusStatement } from "./event-log";
import { type AttemptRecord, attemptLogStatement, handlerStateStatement, parkStatement } from "./handlers";
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
  /** Absent only for a held handler's claim that was never taken. */
  row: ClaimRow | undefined;
  result: ClaimResult;
}

/** Round trip 1. The claims come back in the order asked, with the event's attempt number. */
export async function openAttempt(
  db: D1Database,
  plan: AttemptPlan,
): Promise<{ attempt: number; claims: OpenedClaim[] }> {
  const { event } = plan;
  const statements = beginAttemptStatements(db, event, plan.replay, plan.stored);
  if (plan.reopen) statements.push(reopenStatement(db, plan.reopen.workOrderId, plan.reopen.atMs));
  if (plan.change) statements.push(...resolveChangeStatements(db, plan.change, plan.nowMs));
  const firstClaim = statements.length;
  for (const claim of plan.claims) {
    statements.push(...claimStatements(db, { eventId: event.id, ...claim }, plan));
  }
  const results = await db.batch(statements);
  const attempt = (results[1]?.results[0] as { attempts: number } | undefined)?.attempts ?? 1;
  const claims = plan.claims.map((claim, i) => ({
    handler: claim.handler,
    ...claimResultOf(results[firstClaim + 2 * i], results[firstClaim + 2 * i + 1], event.id),
  }));
  return { attempt, claims };
}

export interface Finish {
  claim: ClaimRow;
  handler: string;
  outcome: { status: FinishedStatus; detail?: string; error?: string };
}

/** How the event ends this attempt. */
export type EventEnd =
  /** Settled: `processed` or `failed`. */
  | { status: EventStatus; lastError: string | null }
  /** `retrying`: the queue brings it back at `nextAttemptAt`. */
  | { retryAt: string; lastError: string }
  /** `retrying`, its message acked: it waits for these held handlers' release. */
  | { parkedFor: string[]; lastError: string }
  /** `dead`: its retry schedule ran out; the dead letter keeps its message for replay. */
  | { dead: { body: unknown; attempts: number; event: CanonicalEvent }; lastError: string };

export interface Settlement {
  eventId: string;
  finishes: Finish[];
  event: EventEnd;
  /** The attempt log's rows of this attempt (`attempt`: the event's attempt number). */
  log?: { attempt: number; records: AttemptRecord[] };
  /** Changes whose claims a replay finished well: their other events that failed are healed. */
  healChanges?: number[];
}

/** Round trip 2. Resolves with how many other events of a change it healed. */
export async function settleAttempt(db: D1Database, settlement: Settlement, nowMs = Date.now()): Promise<number> {
  const { eventId, event } = settlement;
  const nowIso = new Date(nowMs).toISOString();
  const statements = settlement.finishes.map((f) => finishStatement(db, f.claim.id, f.outcome));
  const records = settlement.log?.records ?? [];
  if (settlement.log && records.length > 0) {
    statements.push(attemptLogStatement(db, eventId, settlement.log.attempt, nowIso, records));
  }
  const ran = records.flatMap((r) =>
    r.outcome === "ok" || r.outcome === "retry" || r.outcome === "failed"
      ? [{ handler: r.handler, ok: r.outcome === "ok" }]
      : [],
  );
  if (ran.length > 0) statements.push(handlerStateStatement(db, ran, nowMs));
  if ("retryAt" in event) statements.push(retryingStatement(db, eventId, event.lastError, event.retryAt));
  else if ("parkedFor" in event) {
    statements.push(
      retryingStatement(db, eventId, event.lastError, null),
      parkStatement(db, eventId, event.parkedFor, nowIso),
    );
  } else if ("dead" in event) {
    statements.push(...deadLetterStatements(db, { eventId, ...event.dead, lastError: event.lastError }));
  } else statements.push(statusStatement(db, eventId, event.status, event.lastError));
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
