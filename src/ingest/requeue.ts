// Entry point 3 of 3 into the queue: an operator's replay of recorded events, one
// (`POST /admin/events/:id/replay`) or many (`POST /admin/events/replay`). A replay skips the edge
// filter and asks the consumer to run failed and skipped handlers again (done ones stay done).

import type { CanonicalEvent } from "../events/canonical";
import type { DataJson } from "../events/data-json";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { lastDeadLetter, lastDeadLetters } from "../store/dead-letters";
import {
  loadStoredEvent,
  loadStoredEvents,
  MAX_IDS_PER_QUERY,
  reopenEvent,
  reopenEvents,
  restoreEventStatus,
  restoreEventStatuses,
} from "../store/event-log";
import { replayPayloadKey } from "../store/keys";
import { type BuiltMessage, buildMessage, EnqueueError, sendMessage, sendMessages } from "./send";

interface StoredEvent {
  event: CanonicalEvent;
  stored: DataJson;
}

/** Re-queues the event; "not_found" when the log has no such event. Throws EnqueueError. */
export async function replayEvent(env: Env, id: string): Promise<"queued" | "not_found"> {
  const found = await loadStoredEvent(env.DB, id);
  if (!found) return "not_found";

  let built: BuiltMessage;
  try {
    const dead = needsDeadLetter(found.event) ? await lastDeadLetter(env.DB, id) : undefined;
    built = await replayMessage(env, found, dead);
  } catch (error) {
    log.error("Replay could not be queued", { eventId: id, error: describeError(error) });
    throw error instanceof EnqueueError ? error : new EnqueueError("Replay could not be queued");
  }

  // Reopened before the send: the consumer may finish the replay before this request could write
  // `accepted` after it, and that would leave a processed event looking pending.
  const previous = await reopenEvent(env.DB, id);
  try {
    await sendMessage(env.EVENTS_QUEUE, built.message);
  } catch (error) {
    await restoreEventStatus(env.DB, id, previous).catch((restoreError: unknown) =>
      log.warn("Event status not restored after a failed replay", { eventId: id, error: describeError(restoreError) }),
    );
    throw error;
  }
  log.info("Event replay queued", { eventId: id });
  return "queued";
}

/** Only an event whose log row has no data may be replayed from its dead letter's claim check. */
function needsDeadLetter(event: CanonicalEvent): boolean {
  return Object.keys(event.data).length === 0;
}

/** The replay's message; throws EnqueueError when its claim check cannot be written. */
async function replayMessage(env: Env, found: StoredEvent, dead: unknown): Promise<BuiltMessage> {
  const { event, stored } = found;
  // The event log never saw its data (its claim check was never read): replay the dead message.
  if (needsDeadLetter(event) && isEventMessage(dead) && dead.payloadKey) {
    return { message: { ...dead, replay: true } };
  }
  // A claim check of its own: an earlier message of this event may still be retrying on its key.
  const key = replayPayloadKey(event.id, crypto.randomUUID());
  return buildMessage(env.IDEMPOTENCY, event, { source: stored, replay: true, key });
}

/**
 * The subrequests (D1, KV and Queue calls) a bulk replay may make in one request. Workers on the
 * Paid plan allow at least 1,000 per request, and KV 1,000 operations per invocation; the rest is
 * left for the request's own calls (listing the events). docs/console.md, "Subrequests".
 */
export const REPLAY_SUBREQUEST_BUDGET = 900;
/** Events per round of D1 calls (each round reads, reopens and, if need be, restores them together). */
const EVENTS_PER_ROUND = 50;
/** Calls of a round whatever its size: read, dead letters, reopen, restore. */
const ROUND_CALLS = 4;
/** The most calls one event can add to its round: its large data read alone, its claim check, a send of its own. */
const MOST_CALLS_PER_EVENT = 3;
/** Large rows read and claim checks written at once. */
const CONCURRENCY = 4;

export interface BulkReplay {
  /** The ids queued, in the order given (events no longer in the log are left out). */
  replayed: string[];
  /**
   * Set when it stopped before the end; the events after the last one replayed are as they were.
   * "unavailable": the queue, KV or D1 refused; "budget": the rest would not fit the request's
   * subrequests.
   */
  stopped?: "unavailable" | "budget";
}

/**
 * Replays the events as replayEvent does each (reopened before the send, restored when the send
 * fails, a dead letter's claim check when the log has no data), in rounds of 50 that share their
 * D1 calls, with `sendBatch` for the messages: about 4 calls per 50 small events, so 1,000 fit well
 * within REPLAY_SUBREQUEST_BUDGET. An event whose data is over 16 K characters costs up to 3 calls
 * more; a round is cut short, and the replay stops, before its worst case could exceed `budget`.
 */
export async function replayEvents(
  env: Env,
  ids: readonly string[],
  options: { budget?: number; perRound?: number } = {},
): Promise<BulkReplay> {
  const budget = options.budget ?? REPLAY_SUBREQUEST_BUDGET;
  const perRound = Math.min(options.perRound ?? EVENTS_PER_ROUND, MAX_IDS_PER_QUERY);
  const progress = { replayed: [] as string[], calls: 0 };
  let next = 0;
  while (next < ids.length) {
    const fits = Math.floor((budget - progress.calls - ROUND_CALLS) / MOST_CALLS_PER_EVENT);
    if (fits < 1) return stop(progress.replayed, "budget", ids.length);
    const round = ids.slice(next, next + Math.min(perRound, fits));
    next += round.length;
    try {
      await replayRound(env, round, progress);
    } catch (error) {
      log.error("Bulk replay could not be queued", { replayed: progress.replayed.length, error: describeError(error) });
      return stop(progress.replayed, "unavailable", ids.length);
    }
  }
  log.info("Bulk replay queued", { replayed: progress.replayed.length, calls: progress.calls });
  return { replayed: progress.replayed };
}

/** One round: read the events, build their messages, reopen them, send them; throws when it cannot go on. */
async function replayRound(env: Env, ids: readonly string[], progress: { replayed: string[]; calls: number }) {
  // The batch read, then large rows alone, then the dead letters of events logged without data.
  const { found, large } = await loadStoredEvents(env.DB, ids);
  progress.calls += 1 + large.length;
  const loaded = await mapConcurrently(large, (id) => loadStoredEvent(env.DB, id));
  large.forEach((id, i) => {
    const event = loaded[i];
    if (event) found.set(id, event);
  });
  const events = ids.flatMap((id) => found.get(id) ?? []);
  const deadIds = events.filter(({ event }) => needsDeadLetter(event)).map(({ event }) => event.id);
  const dead = new Map<string, unknown>();
  if (deadIds.length > 0) {
    progress.calls += 1;
    for (const [id, letter] of await lastDeadLetters(env.DB, deadIds)) dead.set(id, letter);
  }
  const built = await mapConcurrently(events, async (found) => {
    const message = await replayMessage(env, found, dead.get(found.event.id));
    if (message.claimChecked !== undefined) progress.calls += 1;
    return message;
  });

  // Reopened before the send, as replayEvent does; what the queue did not take is restored.
  progress.calls += 1;
  const previous = await reopenEvents(
    env.DB,
    events.map(({ event }) => event.id),
  );
  try {
    await sendMessages(env.EVENTS_QUEUE, built, async (sent) => {
      progress.calls += 1;
      for (const message of sent) {
        progress.replayed.push(message.event.id);
        previous.delete(message.event.id);
      }
    });
  } catch (error) {
    progress.calls += 1;
    await restoreEventStatuses(env.DB, previous).catch((restoreError: unknown) =>
      log.warn("Event statuses not restored after a failed bulk replay", {
        eventIds: [...previous.keys()],
        error: describeError(restoreError),
      }),
    );
    throw error;
  }
}

function stop(replayed: string[], stopped: BulkReplay["stopped"] & string, asked: number): BulkReplay {
  log.warn("Bulk replay stopped early", { replayed: replayed.length, asked, stopped });
  return { replayed, stopped };
}

/** `fn` over the items, CONCURRENCY at a time, the results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return results;
}
