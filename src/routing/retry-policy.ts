// Retry delays for a message whose handler failed transiently: exponential from
// RETRY_BASE_SECONDS (doubling per attempt), with up to +25 % jitter so a burst of failures does
// not come back at once, capped at 43,200 s (the Queues maximum); a longer Retry-After from the
// sink wins.

const MAX_RETRY_DELAY_SECONDS = 43_200;

export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const backoff = baseSeconds * 2 ** Math.min(exponent, 30);
  const jittered = backoff * (1 + 0.25 * random());
  const wanted = Math.max(jittered, retryAfterSeconds ?? 0);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(wanted));
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
