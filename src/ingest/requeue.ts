// Entry point 3 of 3 into the queue: an operator's replay of recorded events, one
// (`POST /admin/events/:id/replay`) or many (`POST /admin/events/replay`), and the events that
// waited for a held handler, once it is released. A replay skips the edge filter and asks the
// consumer to run failed and skipped handlers again (done ones stay done); a released event goes
// as an ordinary message (the handlers it has not run yet run). All go through replayRound: one
// event is a round of one. A bulk replay holds a D1 lock from its listing to its last send, so two
// never queue the same events; the single replay takes no lock.

import type { CanonicalEvent } from "../events/canonical";
import { type EventMessage, isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { charged, Subrequests } from "../lib/subrequests";
import { lastDeadLetters } from "../store/dead-letters";
import {
  loadStoredEvents,
  MAX_IDS_PER_QUERY,
  reopenEvents,
  restoreEventStatuses,
  type StoredEvent,
} from "../store/event-log";
import { forgetWaits, releasedWaits } from "../store/handlers";
import { replayPayloadKey } from "../store/keys";
import { acquireLock, releaseLock } from "../store/locks";
import { type BuiltMessage, buildMessage, EnqueueError, sendMessage, sendMessages } from "./send";

/**
 * Re-queues the event; "not_found" when the log has no such event. Throws EnqueueError when the
 * claim check, the dead letter's read or the queue refused (the event is then as it was); a
 * failed read or reopen of its log row throws as it is.
 */
export async function replayEvent(env: Env, id: string): Promise<"queued" | "not_found"> {
  const replayed: string[] = [];
  await replayRound(env, [id], new Subrequests(), replayed);
  if (replayed.length === 0) return "not_found";
  log.info("Event replay queued", { eventId: id });
  return "queued";
}

/**
 * The subrequests (D1, KV and Queue calls) a bulk replay may make in one request. Workers on the
 * Paid plan allow at least 1,000 per request, and KV 1,000 operations per invocation; the rest is
 * left for the request's own calls (listing the events). docs/console.md, "Bulk replay".
 */
const REPLAY_SUBREQUEST_BUDGET = 900;
/** Events per round of D1 calls (each round reads, reopens and, if need be, restores them together). */
const EVENTS_PER_ROUND = 50;
/** The most calls a round makes whatever its size: read, dead letters, reopen, restore. */
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
   * subrequests; "time": its lock's lease was nearly over (`stopAtMs`).
   */
  stopped?: "unavailable" | "budget" | "time";
}

/** The D1 lock (store/locks.ts) a bulk replay holds while it lists and replays. */
const BULK_REPLAY_LOCK = "bulk-replay";
/**
 * How long the lock is held at most: far longer than a replay of 1,000 events takes, and all a
 * replay cut off before it could release the lock (its request cancelled) keeps the next one out.
 */
export const BULK_REPLAY_LEASE_MINUTES = 5;
const BULK_REPLAY_LEASE_MS = BULK_REPLAY_LEASE_MINUTES * 60_000;
/**
 * No round starts this close to the end of the lease, so a replay is done before its lock could
 * expire and let another list the events it has not reached yet.
 */
const LAST_ROUND_MS = 60_000;

/**
 * Runs `run` holding the bulk replay lock; "busy" when another bulk replay holds it, "unavailable"
 * when D1 could not say. `run` is handed the time after which it must start no round (the
 * `stopAtMs` of replayEvents). The lock is released when `run` ends, however it ends.
 */
export async function withBulkReplayLock<T>(
  env: Env,
  run: (stopAtMs: number) => Promise<T>,
): Promise<{ ran: T } | "busy" | "unavailable"> {
  const holder = crypto.randomUUID();
  const started = Date.now();
  let acquired: boolean;
  try {
    acquired = await acquireLock(env.DB, BULK_REPLAY_LOCK, holder, BULK_REPLAY_LEASE_MS, started);
  } catch (error) {
    log.error("Bulk replay lock could not be taken", { error: describeError(error) });
    return "unavailable";
  }
  if (!acquired) {
    log.info("Bulk replay refused: another is running");
    return "busy";
  }
  try {
    return { ran: await run(started + BULK_REPLAY_LEASE_MS - LAST_ROUND_MS) };
  } finally {
    await releaseLock(env.DB, BULK_REPLAY_LOCK, holder).catch((error: unknown) =>
      log.warn("Bulk replay lock release failed; it expires by itself", { error: describeError(error) }),
    );
  }
}

/**
 * Replays the events as replayEvent does each, in rounds of 50 that share their D1 calls, with
 * `sendBatch` for the messages: a read, a reopen and a send per 50 small events, so 1,000 fit well
 * within REPLAY_SUBREQUEST_BUDGET. Every call is charged as it is made; each round is sized, and
 * the replay stopped, so that the round's worst case (an event over 16 K characters costs up to 3
 * calls more) fits what is left of `budget`. No round starts at or after `stopAtMs`.
 */
export async function replayEvents(
  env: Env,
  ids: readonly string[],
  options: { budget?: number; perRound?: number; stopAtMs?: number; now?: () => number } = {},
): Promise<BulkReplay> {
  const calls = new Subrequests(options.budget ?? REPLAY_SUBREQUEST_BUDGET);
  const perRound = Math.min(options.perRound ?? EVENTS_PER_ROUND, MAX_IDS_PER_QUERY);
  const now = options.now ?? Date.now;
  const replayed: string[] = [];
  let next = 0;
  while (next < ids.length) {
    if (options.stopAtMs !== undefined && now() >= options.stopAtMs) return stop(replayed, "time", ids.length);
    const fits = Math.floor((calls.left - ROUND_CALLS) / MOST_CALLS_PER_EVENT);
    if (fits < 1) return stop(replayed, "budget", ids.length);
    const round = ids.slice(next, next + Math.min(perRound, fits));
    next += round.length;
    try {
      await replayRound(env, round, calls, replayed);
    } catch (error) {
      log.error("Bulk replay could not be queued", { replayed: replayed.length, error: describeError(error) });
      return stop(replayed, "unavailable", ids.length);
    }
  }
  log.info("Bulk replay queued", { replayed: replayed.length, calls: calls.used });
  return { replayed };
}

/**
 * One round (at most MAX_IDS_PER_QUERY events): read them, build their messages, reopen them, send
 * them. Each id the queue took is appended to `replayed` as soon as it took it; throws when it
 * cannot go on, having restored what was reopened and not sent. Every D1, KV and Queue call it
 * makes is charged to `calls`.
 */
async function replayRound(
  env: Env,
  ids: readonly string[],
  calls: Subrequests,
  replayed: string[],
  replay = true,
): Promise<void> {
  // The batch read; a row too large to come with it is read alone, as a batch of one.
  const { found, large } = await loadStoredEvents(env.DB, ids, calls);
  const alone = await mapConcurrently(large, async (id) => (await loadStoredEvents(env.DB, [id], calls)).found);
  for (const rows of alone) for (const [id, event] of rows) found.set(id, event);
  const events = ids.flatMap((id) => found.get(id) ?? []);
  if (events.length === 0) return;

  let built: BuiltMessage[];
  try {
    built = await replayMessages(env, events, calls, replay);
  } catch (error) {
    log.error("Replay could not be queued", { eventIds: ids, error: describeError(error) });
    throw error instanceof EnqueueError ? error : new EnqueueError("Replay could not be queued");
  }

  // Reopened before the send: the consumer may finish a replay before this request could write
  // `accepted` after it, and that would leave a processed event looking pending. A released event
  // stays `retrying` until the consumer settles it.
  const previous = replay
    ? await reopenEvents(
        env.DB,
        events.map(({ event }) => event.id),
        calls,
      )
    : new Map();
  try {
    await send(charged(env.EVENTS_QUEUE, calls), built, (sent) => {
      for (const message of sent) {
        replayed.push(message.event.id);
        previous.delete(message.event.id);
      }
    });
  } catch (error) {
    // What the queue did not take is put back as it was, unless it moved on since.
    await restoreEventStatuses(env.DB, previous, calls).catch((restoreError: unknown) =>
      log.warn("Event statuses not restored after a failed replay", {
        eventIds: [...previous.keys()],
        error: describeError(restoreError),
      }),
    );
    throw error;
  }
}

/** The events' replay messages, in their order: the dead letters they need read in one call. */
async function replayMessages(
  env: Env,
  events: StoredEvent[],
  calls: Subrequests,
  replay: boolean,
): Promise<BuiltMessage[]> {
  const deadIds = events.filter(({ event }) => needsDeadLetter(event)).map(({ event }) => event.id);
  const dead = new Map<string, unknown>();
  if (deadIds.length > 0) {
    calls.charge();
    for (const [id, letter] of await lastDeadLetters(env.DB, deadIds)) dead.set(id, letter);
  }
  const kv = charged(env.IDEMPOTENCY, calls);
  return mapConcurrently(events, (found) => replayMessage(kv, found, dead.get(found.event.id), replay));
}

/** Only an event whose log row has no data may be replayed from its dead letter's claim check. */
function needsDeadLetter(event: CanonicalEvent): boolean {
  return Object.keys(event.data).length === 0;
}

/** The replay's message; throws EnqueueError when its claim check cannot be written. */
async function replayMessage(
  kv: KVNamespace,
  found: StoredEvent,
  dead: unknown,
  replay: boolean,
): Promise<BuiltMessage> {
  const { event, stored } = found;
  // The event log never saw its data (its claim check was never read): replay the dead message.
  if (needsDeadLetter(event) && isEventMessage(dead) && dead.payloadKey) {
    const { replay: _was, ...message } = dead;
    return { message: replay ? { ...message, replay: true } : message };
  }
  // A claim check of its own: an earlier message of this event may still be retrying on its key.
  const key = replayPayloadKey(event.id, crypto.randomUUID());
  return buildMessage(kv, event, { source: stored, replay, key });
}

/**
 * Sends the messages, calling `sent` with each part the queue took. A lone message goes by `send`,
 * as the receiver sends each delivery; more go by `sendBatch`, in as few calls as its limits allow.
 */
async function send(queue: Queue, built: BuiltMessage[], sent: (messages: EventMessage[]) => void): Promise<void> {
  const [only] = built;
  if (built.length === 1 && only !== undefined) {
    await sendMessage(queue, only.message);
    sent([only.message]);
    return;
  }
  await sendMessages(queue, built, async (chunk) => sent(chunk));
}

/** Events queued again per release round (one read, one send, one delete). */
const RELEASE_ROUND = 50;

/**
 * Queues again the events that waited for a handler no longer held (`handler` narrows it to one),
 * oldest wait first, as ordinary messages, and forgets their waits; at most `limit` events, within
 * `budget` subrequests (REPLAY_SUBREQUEST_BUDGET by default: a round of 50 small events costs 4).
 * Resolves with how many were queued; what is left (or refused) is the
 * next call's: the scheduled run calls it each minute.
 */
export async function requeueReleased(
  env: Env,
  options: { handler?: string; limit: number; budget?: number },
): Promise<number> {
  const calls = new Subrequests(options.budget ?? REPLAY_SUBREQUEST_BUDGET);
  let queued = 0;
  while (queued < options.limit && calls.left > ROUND_CALLS + RELEASE_ROUND * MOST_CALLS_PER_EVENT) {
    calls.charge();
    const waits = await releasedWaits(env.DB, Math.min(RELEASE_ROUND, options.limit - queued), options.handler);
    if (waits.length === 0) break;
    const replayed: string[] = [];
    await replayRound(
      env,
      waits.map((w) => w.eventId),
      calls,
      replayed,
      false,
    );
    // Every event the log still holds was sent (a refusal throws, and its waits stay for the
    // next call); a wait whose event is gone is forgotten too: nothing could run it.
    calls.charge();
    await forgetWaits(env.DB, waits);
    queued += replayed.length;
    if (waits.length < RELEASE_ROUND) break;
  }
  if (queued > 0) log.info("Events waiting for a released handler queued again", { handler: options.handler, queued });
  return queued;
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
