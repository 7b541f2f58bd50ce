// The queue consumer for `maintainx-events`: each message is resolved to its canonical event,
// routed to its handlers under D1 claims, and then acked, or retried alone on the retry schedule.
// An attempt costs two D1 round trips (store/attempt.ts): one opens it and takes every handler's
// claim, one records every outcome, the attempt log and the event's status; the handlers run
// concurrently in between (docs/operations.md, "Retries and holds").
// Outcomes: every handler done/skipped → `processed`; a permanent failure → `failed` (acked);
// a transient failure → `retrying`, retried after the schedule's next delay; after its last delay
// → `dead` with a dead letter (acked). A held handler is not called: the event is parked as
// `retrying` (acked, so a hold uses no retry) until the handler's release queues it again.

import { readConfig } from "../config";
import type { HandlerContext, HandlerResult } from "../contract/handler";
import type { HandlerRegistry } from "../contract/registry";
import type { CanonicalEvent } from "../events/canonical";
import type { DataJson } from "../events/data-json";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { type FetchLike, PermanentError, TransientError } from "../lib/outbound";
import {
  type EventEnd,
  type Finish,
  type OpenedClaim,
  openAttempt,
  type Settlement,
  settleAttempt,
  settleUnhandled,
} from "../store/attempt";
import { readEffectMarker, writeEffectMarker } from "../store/effect-markers";
import { loadStoredEvent } from "../store/event-log";
import type { AttemptRecord } from "../store/handlers";
import { type PlannedClaim, planClaims } from "./claims";
import { createHandlerContext } from "./context";
import { MalformedMessageError, PayloadUnavailableError, resolveMessage } from "./resolve";
import { retryDelayAfterErrorSeconds, retryDelaySeconds } from "./retry-policy";

interface ConsumerDeps {
  /** Which handlers run for which type; the Worker's wiring hands over the default one. */
  registry: HandlerRegistry;
  fetch?: FetchLike;
  now?: () => number;
  random?: () => number;
}

/** `ended: true` when the event settled as `failed` or `dead` (an operator alert is due). */
type Verdict = { ack: true; ended?: boolean } | { ack: false; delaySeconds: number; reason: string };

/** Processes the batch; resolves with how many of its events settled as `failed` or `dead`. */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, deps: ConsumerDeps): Promise<number> {
  // Copies of one event in the same batch ride on the first copy: whatever its verdict (done,
  // or retried), that copy carries the event forward, so the others are acked after it.
  // A replay leads its group: it may re-run handlers that an ordinary copy would leave as they are.
  const groups = new Map<string, Array<Message<unknown>>>();
  for (const message of batch.messages) {
    const key = isEventMessage(message.body) ? message.body.event.id : `message:${message.id}`;
    const group = groups.get(key);
    if (!group) groups.set(key, [message]);
    else if (isEventMessage(message.body) && message.body.replay === true) group.unshift(message);
    else group.push(message);
  }

  // Events are independent: one slow or failing event must not hold up the others.
  let failed = 0;
  await Promise.all(
    [...groups.values()].map(async ([first, ...copies]) => {
      if (!first) return;
      const verdict = await processMessage(first, env, deps).catch((error: unknown): Verdict => {
        // Anything unexpected (D1 down, a bug) retries the message: never lost, dead-lettered at worst.
        // Past the schedule's end the queue dead-letters it at max_retries.
        const delaySeconds = retryDelayAfterErrorSeconds(first.attempts, readConfig(env).retry.schedule, deps.random);
        return { ack: false, delaySeconds, reason: describeError(error) };
      });
      if (verdict.ack) {
        if (verdict.ended) failed += 1;
        first.ack();
      } else {
        log.warn("Event retry scheduled", {
          messageId: first.id,
          attempt: first.attempts,
          delaySeconds: verdict.delaySeconds,
          reason: verdict.reason,
        });
        first.retry({ delaySeconds: verdict.delaySeconds });
      }
      for (const copy of copies) copy.ack();
    }),
  );
  return failed;
}

/** resolve → claim every handler (one D1 batch) → run them → record outcomes and status (one batch). */
async function processMessage(message: Message<unknown>, env: Env, deps: ConsumerDeps): Promise<Verdict> {
  const config = readConfig(env);
  const now = deps.now ?? Date.now;

  const resolved = await resolveEvent(message, env);
  if ("drop" in resolved) return { ack: true };
  if ("wait" in resolved) {
    // Its data is not readable yet: nothing ran, so the schedule's end is the queue's to enforce.
    return {
      ack: false,
      delaySeconds: retryDelayAfterErrorSeconds(message.attempts, config.retry.schedule, deps.random),
      reason: resolved.wait,
    };
  }
  const { event, replay, stored } = resolved;

  log.info("Event received", {
    eventId: event.id,
    type: event.type,
    sourceType: event.sourceType,
    source: event.source,
    workOrderId: event.workOrderId,
    attempt: message.attempts,
    replay,
  });
  const routes = deps.registry.routesFor(event, config);
  if (routes.length === 0) {
    log.info(`Unhandled event type: ${event.type}`, { eventId: event.id, sourceType: event.sourceType });
    await settleUnhandled(env.DB, event, replay, stored);
    return { ack: true };
  }

  const plan = planClaims(event, routes);
  const opened = await openAttempt(env.DB, {
    event,
    replay,
    stored,
    reopen: plan.reopen,
    change: plan.change,
    claims: plan.claims.map((claim) => ({ handler: claim.handler.name, perChange: claim.perChange })),
    nowMs: now(),
  });
  const ctx = createHandlerContext(event, env, deps.fetch);
  const runs = await Promise.all(
    plan.claims.map((claim, i) => runClaim(ctx, claim, opened.claims[i] as OpenedClaim, replay)),
  );

  const held = runs.flatMap((run) => run.held ?? []);
  const pending = runs.flatMap((run) => run.pending ?? []).join("; ");
  const failed = runs.flatMap((run) => run.failed ?? []).join("; ");
  // The longest Retry-After a sink asked for, if any did.
  const waits = runs.flatMap((run) => run.retryAfter ?? []);
  // A claim held elsewhere is no failure of this event: past the schedule's end it is looked at
  // again when the holder's lease ends, not made dead (the queue's max_retries still bounds it).
  const onlyHeldElsewhere = runs.every((run) => !run.pending || run.leaseEndsMs !== undefined);
  const leaseWait = Math.max(0, ...runs.map((run) => Math.ceil(((run.leaseEndsMs ?? 0) - now()) / 1000)));
  const scheduled = retryDelaySeconds(
    message.attempts,
    config.retry.schedule,
    waits.length > 0 ? Math.max(...waits) : undefined,
    deps.random,
  );
  const delaySeconds = pending ? (scheduled ?? (onlyHeldElsewhere ? leaseWait + 1 : undefined)) : undefined;
  const heldError = held.map((name) => `${name}: held, waiting for its release`);

  let end: EventEnd;
  let verdict: Verdict;
  if (held.length > 0 && (!pending || delaySeconds === undefined)) {
    // Waiting for a release uses no retry and never makes the event dead.
    end = { parkedFor: held, lastError: [pending, ...heldError].filter(Boolean).join("; ") };
    verdict = { ack: true };
  } else if (pending && delaySeconds !== undefined) {
    end = { retryAt: new Date(now() + delaySeconds * 1000).toISOString(), lastError: pending };
    verdict = { ack: false, delaySeconds, reason: pending };
  } else if (pending) {
    end = {
      dead: { body: message.body, attempts: message.attempts, event },
      lastError: `${pending}; the retry schedule (${config.retry.schedule.length} retries) ran out`,
    };
    verdict = { ack: true, ended: true };
  } else if (failed) {
    end = { status: "failed", lastError: failed };
    verdict = { ack: true, ended: true };
  } else {
    end = { status: "processed", lastError: null };
    verdict = { ack: true };
  }
  await recordSettlement(env, {
    eventId: event.id,
    finishes: runs.flatMap((run) => run.finish ?? []),
    event: end,
    log: { attempt: opened.attempt, records: runs.flatMap((run) => run.record ?? []) },
    healChanges: runs.flatMap((run) => run.heal ?? []),
  });
  if ("dead" in end) log.error("Event dead-lettered: its retry schedule ran out", { eventId: event.id });
  if ("parkedFor" in end) log.warn("Event waits for held handlers", { eventId: event.id, handlers: end.parkedFor });
  return verdict;
}

type Resolution =
  | { event: CanonicalEvent; replay: boolean; stored?: DataJson | undefined }
  | { drop: true }
  | { wait: string };

/** Step 1: the message as its full event, with claim-checked data loaded back. */
async function resolveEvent(message: Message<unknown>, env: Env): Promise<Resolution> {
  try {
    const resolved = await resolveMessage(env.IDEMPOTENCY, message.body);
    return { event: resolved.event, replay: resolved.message.replay === true, stored: resolved.stored };
  } catch (error) {
    if (error instanceof MalformedMessageError) {
      log.error("Dropping malformed queue message", { messageId: message.id, error: describeError(error) });
      return { drop: true };
    }
    if (error instanceof PayloadUnavailableError) {
      // The receiver may have logged the full data before the claim check expired or replicated;
      // the row's own form of it goes on with the event, so re-logging it cannot outgrow the row.
      const logged = await loadStoredEvent(env.DB, error.eventId);
      return logged ? { ...logged, replay: error.replay } : { wait: error.message };
    }
    throw error;
  }
}

/** What one claim's turn came to; the attempt's outcome is read from every claim's, in order. */
interface ClaimRun {
  /** The outcome to record: the handler ran (or its fallback marker says it had). */
  finish?: Finish;
  /** The attempt log's row: the handler was called, or waited for its hold. */
  record?: AttemptRecord;
  /** Still to finish: it failed transiently, or another delivery holds it. */
  pending?: string;
  /** The claim ended failed, now or before. */
  failed?: string;
  /** The handler is held: it was not called. */
  held?: string;
  /** The Retry-After a sink asked for. */
  retryAfter?: number;
  /** Pending only because another delivery holds the claim, until then at the latest. */
  leaseEndsMs?: number;
  /** A change whose claim a replay finished well (its other events that failed are healed). */
  heal?: number;
}

/**
 * Step 2, for each claim, concurrently (the MaintainX lookups they share are made once per
 * delivery by the context). A finished claim is never run again; a claim held elsewhere is looked
 * at again after the backoff; a held handler's is not taken.
 */
async function runClaim(
  ctx: HandlerContext,
  { handler }: PlannedClaim,
  { row, result: claim }: OpenedClaim,
  replay: boolean,
): Promise<ClaimRun> {
  const { event, env } = ctx;
  if (!claim.claimed && claim.held) {
    log.info("Handler held; the event waits for its release", { eventId: event.id, handler: handler.name });
    return { held: handler.name, record: { handler: handler.name, outcome: "held", durationMs: 0 } };
  }
  if (!row) throw new Error(`Claim of ${handler.name} for event ${event.id} not recorded`);
  const finish = (outcome: Finish["outcome"]): Finish => ({ claim: row, handler: handler.name, outcome });
  if (!claim.claimed) {
    // Another delivery holds the claim: by the next look it has finished, or its lease
    // (CLAIM_LEASE_MS) has run out because its consumer died.
    if (claim.status === "running") {
      return { pending: `${handler.name}: in progress elsewhere`, leaseEndsMs: claim.leaseUntilMs };
    }
    if (claim.status === "failed") return { failed: `${handler.name}: ${claim.lastError ?? "failed"}` };
    if (row.changeId !== undefined && claim.status === "done") {
      log.info("Handler already done for this change", {
        eventId: event.id,
        handler: handler.name,
        changeId: row.changeId,
      });
    }
    return {};
  }
  const fields = {
    eventId: event.id,
    type: event.type,
    handler: handler.name,
    attempt: claim.attempts,
    ...(row.changeId === undefined ? {} : { changeId: row.changeId }),
  };
  const marked = { eventId: event.id, changeId: row.changeId };
  if (claim.attempts > 1) {
    // A claim taken over after its lease ran out may be a success that D1 could not record.
    const marker = await readEffectMarker(env.IDEMPOTENCY, marked, handler.name);
    if (marker) {
      log.info("Handler already done; outcome recorded from its fallback marker", { ...fields, ...marker });
      return { finish: finish(marker) };
    }
  }
  let result: HandlerResult;
  const started = Date.now();
  const record = (outcome: AttemptRecord["outcome"], more: Partial<AttemptRecord> = {}): AttemptRecord => ({
    handler: handler.name,
    outcome,
    durationMs: Date.now() - started,
    ...more,
  });
  try {
    // An effect of a change goes out under the id of the event that first claimed it, so a retry
    // by the other path's event carries the same Idempotency-Key.
    result = await handler.run({ ...ctx, effectId: claim.effectId });
  } catch (error) {
    const reason = describeError(error);
    const status = error instanceof TransientError || error instanceof PermanentError ? error.status : undefined;
    const failure = { error: reason, ...(status === undefined ? {} : { status }) };
    if (error instanceof PermanentError) {
      log.error("Handler failed permanently", { ...fields, error: reason });
      return {
        finish: finish({ status: "failed", error: reason }),
        record: record("failed", failure),
        failed: `${handler.name}: ${reason}`,
      };
    }
    log.warn("Handler failed; will retry", { ...fields, error: reason });
    const retryAfter = error instanceof TransientError ? error.retryAfterSeconds : undefined;
    return {
      finish: finish({ status: "retry", error: reason }),
      record: record("retry", failure),
      pending: `${handler.name}: ${reason}`,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    };
  }
  const said = result.outcome === "done" ? result.detail : result.reason;
  const answered = result.outcome === "done" ? result.status : undefined;
  const logged = record(result.outcome === "done" ? "ok" : "skipped", {
    ...(said === undefined ? {} : { detail: said }),
    ...(answered === undefined ? {} : { status: answered }),
  });
  const done =
    result.outcome === "done"
      ? finish({ status: "done", ...(result.detail === undefined ? {} : { detail: result.detail }) })
      : finish({ status: "skipped", detail: result.reason });
  if (result.outcome === "done") log.info("Handler done", { ...fields, detail: result.detail });
  else log.info("Handler skipped", { ...fields, reason: result.reason });
  // Only a replay can finish a change's claim that had failed (and left its other events failed).
  return replay && row.changeId !== undefined
    ? { finish: done, record: logged, heal: row.changeId }
    : { finish: done, record: logged };
}

/** Attempts at recording an attempt's outcomes, ever longer apart (D1 errors are often brief). */
const RECORD_ATTEMPTS = 5;
const RECORD_FIRST_PAUSE_MS = 100;

/**
 * Step 3. Effects that happened must not be released as `retry`, or the next delivery would
 * repeat them. The batch is tried 5 times over about 1.5 s; if D1 still refuses, each success
 * gets a marker in KV (read before an expired claim is taken over) and the delivery fails with
 * the claims held.
 */
async function recordSettlement(env: Env, settlement: Settlement): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const healed = await settleAttempt(env.DB, settlement);
      if (healed > 0) {
        log.info("Events of the same change settled as processed", { eventId: settlement.eventId, events: healed });
      }
      return;
    } catch (error) {
      if (attempt < RECORD_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, RECORD_FIRST_PAUSE_MS * 2 ** (attempt - 1)));
        continue;
      }
      // A later replay of a skipped handler, with its destination configured by then, must run it.
      const successes = settlement.finishes.filter((f) => f.outcome.status === "done");
      await Promise.all(
        successes.map(({ claim, handler, outcome }) =>
          writeEffectMarker(env.IDEMPOTENCY, { eventId: settlement.eventId, changeId: claim.changeId }, handler, {
            status: "done",
            ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
          }).then(
            () =>
              log.error("Handler outcome not recorded in D1; kept as a fallback marker", {
                eventId: settlement.eventId,
                changeId: claim.changeId,
                handler,
              }),
            (markerError: unknown) =>
              log.error("Handler outcome not recorded anywhere; it may run once more", {
                eventId: settlement.eventId,
                changeId: claim.changeId,
                handler,
                error: describeError(markerError),
              }),
          ),
        ),
      );
      throw error;
    }
  }
}
