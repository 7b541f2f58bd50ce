// The queue consumer for `maintainx-events`: each message is resolved to its canonical event,
// routed to its handlers under D1 claims, and then acked, or retried alone with backoff.
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
import { type EffectMarker, readEffectMarker, writeEffectMarker } from "../store/effect-markers";
import { beginAttempt, loadStoredEvent, setEventError, setEventStatus } from "../store/event-log";
import { claimSideEffect, finishSideEffect, listSideEffects, settleSharersOf } from "../store/side-effects";
import { type Claim, claimsFor } from "./claim-keys";
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

/** resolve → run the handlers under claims → settle the event's status. */
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
  await beginAttempt(env.DB, event, replay, stored);
  const routes = deps.registry.routesFor(event, config);
  if (routes.length === 0) {
    log.info(`Unhandled event type: ${event.type}`, { eventId: event.id, sourceType: event.sourceType });
    await setEventStatus(env.DB, event.id, "processed", null);
    return { ack: true };
  }

  const claims = await claimsFor(env.DB, event, routes);
  const ctx = createHandlerContext(event, env, deps.fetch);
  const run = await runUnderClaims(ctx, claims, { replay, now: deps.now ?? Date.now });
  if (run.pending.length > 0) {
    const reason = run.pending.join("; ");
    await setEventError(env.DB, event.id, reason);
    return backoff(reason, run.retryAfter);
  }
  const status = await settleStatus(env.DB, event, claims);
  return { ack: true, ended: status === "failed" };
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

interface ClaimsRun {
  /** One line per handler still to finish: it failed transiently, or another delivery holds it. */
  pending: string[];
  /** The longest Retry-After a sink asked for. */
  retryAfter: number | undefined;
}

/**
 * Step 2: each handler under its D1 claim, in turn, so the MaintainX lookup they share happens once.
 * A finished claim is never run again; a claim held elsewhere is looked at again after the backoff.
 * The claim key is the event id, or the real change's key shared with the other path's events.
 */
async function runUnderClaims(
  ctx: HandlerContext,
  claims: Claim[],
  options: { replay: boolean; now: () => number },
): Promise<ClaimsRun> {
  const { event, env } = ctx;
  const run: ClaimsRun = { pending: [], retryAfter: undefined };
  const healedKeys = new Set<string>();
  for (const { handler, key } of claims) {
    const claim = await claimSideEffect(env.DB, key, handler.name, {
      nowMs: options.now(),
      replay: options.replay,
      eventId: event.id,
    });
    if (!claim.claimed) {
      // Another delivery holds the claim: by the next look it has finished, or its lease
      // (CLAIM_LEASE_MS) has run out because its consumer died.
      if (claim.status === "running") run.pending.push(`${handler.name}: in progress elsewhere`);
      else if (key !== event.id && claim.status === "done") {
        log.info("Handler already done for this change", { eventId: event.id, handler: handler.name, claimKey: key });
      }
      continue;
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
        await recordFinished(env, key, handler.name, marker);
        log.info("Handler already done; outcome recorded from its fallback marker", { ...fields, ...marker });
        continue;
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
        await finishSideEffect(env.DB, key, handler.name, { status: "failed", error: reason });
        log.error("Handler failed permanently", { ...fields, error: reason });
      } else {
        await finishSideEffect(env.DB, key, handler.name, { status: "retry", error: reason });
        log.warn("Handler failed; will retry", { ...fields, error: reason });
        run.pending.push(`${handler.name}: ${reason}`);
        if (error instanceof TransientError && error.retryAfterSeconds !== undefined) {
          run.retryAfter = Math.max(run.retryAfter ?? 0, error.retryAfterSeconds);
        }
      }
      continue;
    }
    const finished: FinishedOutcome =
      result.outcome === "done"
        ? { status: "done", ...(result.detail === undefined ? {} : { detail: result.detail }) }
        : { status: "skipped", detail: result.reason };
    await recordFinished(env, key, handler.name, finished);
    if (result.outcome === "done") log.info("Handler done", { ...fields, detail: result.detail });
    else log.info("Handler skipped", { ...fields, reason: result.reason });
    // Only a replay can finish a shared claim that had failed (and left the change's other events failed).
    if (options.replay && key !== event.id) healedKeys.add(key);
  }
  for (const key of healedKeys) await settleSharers(env.DB, key, event.id);
  return run;
}

/** Other events of a change left `failed` by its shared claim are `processed` once it finished well. */
async function settleSharers(db: D1Database, claimKey: string, eventId: string): Promise<void> {
  try {
    const healed = await settleSharersOf(db, claimKey);
    if (healed > 0) log.info("Events of the same change settled as processed", { eventId, claimKey, events: healed });
  } catch (error) {
    // Only their status is behind; a replay of any of them settles it too.
    log.warn("Could not settle the other events of this change", { eventId, claimKey, error: describeError(error) });
  }
}

/** Step 3: the event's status from its handlers' outcomes: `failed` if any failed, else `processed`. */
async function settleStatus(db: D1Database, event: CanonicalEvent, claims: Claim[]): Promise<"failed" | "processed"> {
  const outcomes = await listSideEffects(db, event.id);
  const failed = outcomes.filter((o) => o.status === "failed" && claims.some((c) => c.handler.name === o.handler));
  if (failed.length > 0) {
    const reason = failed.map((o) => `${o.handler}: ${o.lastError ?? "failed"}`).join("; ");
    await setEventStatus(db, event.id, "failed", reason);
    return "failed";
  }
  await setEventStatus(db, event.id, "processed", null);
  return "processed";
}

/** How a handler that ran to its end is recorded. */
type FinishedOutcome = EffectMarker | { status: "skipped"; detail: string };

/** Attempts at recording a finished side effect, ever longer apart (D1 errors are often brief). */
const RECORD_ATTEMPTS = 5;
const RECORD_FIRST_PAUSE_MS = 100;

/**
 * The effect has happened: its claim must not be released as `retry`, or the next delivery would
 * repeat it. The write is tried 5 times over about 1.5 s; if D1 still refuses, a marker goes to KV
 * (read before an expired claim is taken over) and the delivery fails with the claim held.
 */
async function recordFinished(env: Env, claimKey: string, handler: string, finished: FinishedOutcome): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await finishSideEffect(env.DB, claimKey, handler, finished);
    } catch (error) {
      if (attempt < RECORD_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, RECORD_FIRST_PAUSE_MS * 2 ** (attempt - 1)));
        continue;
      }
      // A later replay of a skipped handler, with its destination configured by then, must run it.
      if (finished.status !== "done") throw error;
      await writeEffectMarker(env.IDEMPOTENCY, claimKey, handler, finished).then(
        () => log.error("Handler outcome not recorded in D1; kept as a fallback marker", { claimKey, handler }),
        (markerError: unknown) =>
          log.error("Handler outcome not recorded anywhere; it may run once more", {
            claimKey,
            handler,
            error: describeError(markerError),
          }),
      );
      throw error;
    }
  }
}
