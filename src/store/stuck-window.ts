// When an event counts as stuck (nothing will settle it by itself); no Workers types here, so the
// Node tests can read it.

/**
 * How long an `accepted` event's row may stay unchanged before it counts as stuck: the longest
 * its message can still be in the queues meanwhile. Every attempt that reaches D1 changes the
 * row, so it stays unchanged only while every attempt fails on D1, and those wait the retry
 * schedule's delays (no sink's Retry-After applies when nothing ran): with the default schedule
 * (src/lib/retry-schedule.ts) each delay at its +25 % jitter, capped at 43,200 s, and 300 s for
 * the retries past its end, over the consumer's 20 retries (wrangler.toml `max_retries`;
 * routing/retry-policy.ts retryDelayAfterErrorSeconds) = 117,188 s; then the dead-letter
 * consumer's 20 tries at most 300 s apart = 6,000 s; 123,188 s in all, rounded up to whole hours.
 * test/node/stuck-window.test.ts derives it again from wrangler.toml and those modules.
 *
 * A configured RETRY_SCHEDULE with longer delays than the default's could keep a message in the
 * queues longer; an event alerted then has failed on D1 at every attempt for a week while D1
 * served the scheduled run, which will not settle by itself either.
 */
export const STUCK_AFTER_HOURS = 35;
export const STUCK_AFTER_MS = STUCK_AFTER_HOURS * 3_600_000;

/**
 * A `retrying` event whose next attempt is this far in the past counts as stuck: the queue should
 * have brought it back by then (an attempt that reaches D1 moves `next_attempt_at` or settles the
 * event). One waiting for a held handler has no next attempt and never counts.
 */
export const RETRY_OVERDUE_HOURS = 1;
export const RETRY_OVERDUE_MS = RETRY_OVERDUE_HOURS * 3_600_000;
