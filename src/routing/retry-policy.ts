// Retry delays for a message whose handler failed transiently: retry n waits the n-th delay of
// the schedule in force (RETRY_SCHEDULE; config.ts), with up to +25 % jitter so a burst of
// failures does not come back at once; a longer Retry-After from the sink wins, capped at
// 43,200 s (the Queues maximum). After the last delay there is no retry: the event is dead-lettered.

import { MAX_DELAY_SECONDS } from "../lib/retry-schedule";

/** The delay before retry `attempt` (the attempt that just failed), or undefined when the schedule is used up. */
export function retryDelaySeconds(
  attempt: number,
  schedule: readonly number[],
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number | undefined {
  const delay = schedule[Math.max(0, attempt - 1)];
  if (delay === undefined) return undefined;
  const wanted = Math.max(delay * (1 + 0.25 * random()), retryAfterSeconds ?? 0);
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(wanted));
}

/**
 * The delay after a delivery that failed before its handlers could settle (D1 unavailable, data
 * not readable yet): the schedule's, and past its end five minutes, so the queue reaches
 * max_retries and hands the message to the dead-letter queue within the hour.
 */
export function retryDelayAfterErrorSeconds(
  attempt: number,
  schedule: readonly number[],
  random: () => number = Math.random,
): number {
  return retryDelaySeconds(attempt, schedule, undefined, random) ?? DEAD_LETTER_MAX_DELAY_SECONDS;
}

/** The dead-letter queue's own schedule never waits longer than this between two tries. */
const DEAD_LETTER_MAX_DELAY_SECONDS = 300;
/** Nor sooner than this: retried at once, a D1 blip would use up its retries in seconds. */
const DEAD_LETTER_MIN_BASE_SECONDS = 10;

/**
 * The delay before the dead-letter consumer tries again to record a message (D1 unavailable).
 * Nothing stands behind that queue, so its schedule, over the `max_retries` of its consumer in
 * wrangler.toml, must outlast an hour of D1 outage: 10, 20, 40, 80, 160, then every 300 s.
 */
export function deadLetterRetryDelaySeconds(attempt: number, baseSeconds: number): number {
  const base = Math.max(baseSeconds, DEAD_LETTER_MIN_BASE_SECONDS);
  return Math.min(DEAD_LETTER_MAX_DELAY_SECONDS, base * 2 ** Math.min(Math.max(0, attempt - 1), 30));
}
