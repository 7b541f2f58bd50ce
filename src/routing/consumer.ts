// The queue consumer for `maintainx-events`: each message is resolved to its canonical event,
// routed to its handlers under D1 claims, and then acked, or retried alone with backoff. An attempt
// costs two D1 round trips (store/attempt.ts): one opens it and takes every handler's claim, one
// records every outcome and the event's status; the handlers run concurrently in between.
// Outcomes: every handler done/skipped → `processed`; a permanent failure → `failed` (acked);
// a transient failure → retried; after max_retries the queue moves it to the dead-letter queue.

import { readConfig } from "../config";
import type { HandlerContext, HandlerResult } from "../contract/handler";
import type { HandlerRegistry } from "../contract/registry";
import type { CanonicalEvent } from "../events/canonical";
import type { DataJson } from "../events/data-json";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { type FetchLike, PermanentError, TransientError } from "../lib/outbound";
import { type Finish, openAttempt, type Settlement, settleAttempt, settleUnhandled } from "../store/attempt";
import { readEffectMarker, writeEffectMarker } from "../store/effect-markers";
import { loadStoredEvent } from "../store/event-log";
import type { ClaimResult } from "../store/side-effects";
import { type PlannedClaim, planClaims } from "./claim-keys";
import { createHandlerContext } from "./context";
import { MalformedMessageError, PayloadUnavailableError, resolveMessage } from "./resolve";
import { retryDelaySeconds } from "./retry-policy";

interface ConsumerDeps {
  /** Which handlers run for which type; the Worker's wiring hands over the default one. */
  registry: HandlerRegistry;
  fetch?: FetchLike;
  now?: () => number;
  random?: () => number;
}

/** `ended: true` when the event settled as `failed` (an operator alert is due). */
type Verdict = { ack: true; ended?: boolean } | { ack: false; delaySeconds: number; reason: string };

/** Processes the batch; resolves with how many of its events settled as `failed`. */
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
        const delaySeconds = retryDelaySeconds(
          first.attempts,
          readConfig(env).retryBaseSeconds,
          undefined,
          deps.random,
        );
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
  const backoff = (reason: string, retryAfter?: number): Verdict => ({
    ack: false,
    delaySeconds: retryDelaySeconds(message.attempts, config.retryBaseSeconds, retryAfter, deps.random),
    reason,
  });

  const resolved = await resolveEvent(message, env);
  if ("drop" in resolved) return { ack: true };
  if ("wait" in resolved) return backoff(resolved.wait);
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
    ending: plan.ending,
    claims: plan.claims.map((claim) => ({ handler: claim.handler.name, ref: claim.ref })),
    nowMs: (deps.now ?? Date.now)(),
  });
  const claims = plan.claims.map((claim, i) => {
    const { key, result } = opened[i] as (typeof opened)[number];
    return { ...claim, key, result };
  });
  const run = await runClaims(createHandlerContext(event, env, deps.fetch), claims, replay);

  const pending = run.pending.join("; ");
  const failed = run.failed.join("; ");
  const end: Settlement["event"] = pending
    ? { pendingError: pending }
    : failed
      ? { status: "failed", lastError: failed }
      : { status: "processed", lastError: null };
  await recordSettlement(env, { eventId: event.id, finishes: run.finishes, event: end, healKeys: run.healKeys });
  if (pending) return backoff(pending, run.retryAfter);
  return { ack: true, ended: failed !== "" };
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

interface ClaimedRoute extends PlannedClaim {
  key: string;
  result: ClaimResult;
}

interface ClaimsRun {
  /** The outcome of every handler that ran (or was found done by its fallback marker). */
  finishes: Finish[];
  /** One line per handler still to finish: it failed transiently, or another delivery holds it. */
  pending: string[];
  /** One line per handler whose claim ended failed, now or before. */
  failed: string[];
  /** The longest Retry-After a sink asked for. */
  retryAfter: number | undefined;
  /** Change-keyed claims a replay finished well (their other events that failed are healed). */
  healKeys: string[];
}

/**
 * Step 2: every claimed handler runs, concurrently (the MaintainX lookups they share are made once
 * per delivery by the context). A finished claim is never run again; a claim held elsewhere is
 * looked at again after the backoff. The claim key is the event id, or the real change's key
 * shared with the other path's events.
 */
async function runClaims(ctx: HandlerContext, claims: ClaimedRoute[], replay: boolean): Promise<ClaimsRun> {
  const { event, env } = ctx;
  const run: ClaimsRun = { finishes: [], pending: [], failed: [], retryAfter: undefined, healKeys: [] };
  await Promise.all(
    claims.map(async ({ handler, key, result: claim }) => {
      const finish = (outcome: Finish["outcome"]) => run.finishes.push({ key, handler: handler.name, outcome });
      if (!claim.claimed) {
        // Another delivery holds the claim: by the next look it has finished, or its lease
        // (CLAIM_LEASE_MS) has run out because its consumer died.
        if (claim.status === "running") run.pending.push(`${handler.name}: in progress elsewhere`);
        else if (claim.status === "failed") run.failed.push(`${handler.name}: ${claim.lastError ?? "failed"}`);
        else if (key !== event.id && claim.status === "done") {
          log.info("Handler already done for this change", { eventId: event.id, handler: handler.name, claimKey: key });
        }
        return;
      }
      const fields = {
        eventId: event.id,
        type: event.type,
        handler: handler.name,
        attempt: claim.attempts,
        ...(key === event.id ? {} : { claimKey: key }),
      };
      if (claim.attempts > 1) {
        // A claim taken over after its lease ran out may be a success that D1 could not record.
        const marker = await readEffectMarker(env.IDEMPOTENCY, key, handler.name);
        if (marker) {
          finish(marker);
          log.info("Handler already done; outcome recorded from its fallback marker", { ...fields, ...marker });
          return;
        }
      }
      let result: HandlerResult;
      try {
        // A change-keyed effect goes out under the id of the event that first claimed it, so a retry
        // by the other path's event carries the same Idempotency-Key.
        result = await handler.run({ ...ctx, effectId: claim.effectId });
      } catch (error) {
        const reason = describeError(error);
        if (error instanceof PermanentError) {
          finish({ status: "failed", error: reason });
          run.failed.push(`${handler.name}: ${reason}`);
          log.error("Handler failed permanently", { ...fields, error: reason });
        } else {
          finish({ status: "retry", error: reason });
          log.warn("Handler failed; will retry", { ...fields, error: reason });
          run.pending.push(`${handler.name}: ${reason}`);
          if (error instanceof TransientError && error.retryAfterSeconds !== undefined) {
            run.retryAfter = Math.max(run.retryAfter ?? 0, error.retryAfterSeconds);
          }
        }
        return;
      }
      if (result.outcome === "done") {
        finish({ status: "done", ...(result.detail === undefined ? {} : { detail: result.detail }) });
        log.info("Handler done", { ...fields, detail: result.detail });
      } else {
        finish({ status: "skipped", detail: result.reason });
        log.info("Handler skipped", { ...fields, reason: result.reason });
      }
      // Only a replay can finish a shared claim that had failed (and left the change's other events failed).
      if (replay && key !== event.id) run.healKeys.push(key);
    }),
  );
  // Outcomes in registration order, whatever order the handlers finished in.
  const order = new Map(claims.map((claim, i) => [`${claim.key}\u0000${claim.handler.name}`, i]));
  run.finishes.sort(
    (a, b) => (order.get(`${a.key}\u0000${a.handler}`) ?? 0) - (order.get(`${b.key}\u0000${b.handler}`) ?? 0),
  );
  return run;
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
        successes.map(({ key, handler, outcome }) =>
          writeEffectMarker(env.IDEMPOTENCY, key, handler, {
            status: "done",
            ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
          }).then(
            () =>
              log.error("Handler outcome not recorded in D1; kept as a fallback marker", { claimKey: key, handler }),
            (markerError: unknown) =>
              log.error("Handler outcome not recorded anywhere; it may run once more", {
                claimKey: key,
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
