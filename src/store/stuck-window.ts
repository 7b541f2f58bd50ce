// How long an `accepted` event's row may stay unchanged before it counts as stuck; no Workers
// types here, so the Node tests can read it.

/**
 * The longest an event's message can still be in the queues while its row does not change: the
 * consumer's 5 retries (wrangler.toml `max_retries`) each after at most 43,200 s (the cap in
 * routing/retry-policy.ts, whatever RETRY_BASE_SECONDS or a sink's Retry-After asks), then the
 * dead-letter consumer's 20 tries at most 300 s apart: 222,000 s, rounded up to whole hours.
 * Every attempt that reaches D1 moves `updated_at`, so only attempts that all fail on D1 (or a
 * message lost on the way) leave a row this old. test/node/stuck-window.test.ts derives it again
 * from wrangler.toml and the retry policy.
 */
export const STUCK_AFTER_HOURS = 62;
export const STUCK_AFTER_MS = STUCK_AFTER_HOURS * 3_600_000;
