// An event left `accepted` is alerted as stuck once its row has not changed for STUCK_AFTER_MS
// (src/store/stuck-window.ts). Its row stays unchanged only while every attempt fails on D1, and
// the consumer then retries it on the retry schedule (no sink answered, so no Retry-After; past
// the schedule's end every five minutes, until the queue's max_retries hands it to the dead-letter
// queue), whose consumer tries again on its own backoff. The window must outlast all of that with
// the default schedule, or an event the queues still retry would be alerted.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_SCHEDULE } from "../../src/lib/retry-schedule";
import { deadLetterRetryDelaySeconds, retryDelayAfterErrorSeconds } from "../../src/routing/retry-policy";
import { RETRY_OVERDUE_MS, STUCK_AFTER_HOURS, STUCK_AFTER_MS } from "../../src/store/stuck-window";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

function maxRetries(queue: string): number {
  const block = toml
    .split("[[queues.consumers]]")
    .slice(1)
    .find((b) => new RegExp(`^queue\\s*=\\s*"${queue}"`, "m").test(b));
  const match = block && /^max_retries\s*=\s*(\d+)/m.exec(block);
  if (!match?.[1]) throw new Error(`wrangler.toml has no max_retries for the consumer of ${queue}`);
  return Number(match[1]);
}

/** The jitter at its largest (random() is below 1, so no delay is ever longer). */
const mostJitter = () => 1;

/** The delay after delivery `attempt` failed on D1, as routing/consumer.ts asks for it. */
function delayAfterD1Failure(attempt: number, schedule: readonly number[]): number {
  return retryDelayAfterErrorSeconds(attempt, schedule, mostJitter);
}

describe("the window after which an accepted event counts as stuck", () => {
  const consumerRetries = maxRetries("maintainx-events");
  const deadLetterRetries = maxRetries("maintainx-events-dlq");
  // A retry follows each of the first max_retries deliveries; the next failure goes to the DLQ.
  const consumerSpan = Array.from({ length: consumerRetries }, (_, i) =>
    delayAfterD1Failure(i + 1, DEFAULT_RETRY_SCHEDULE),
  ).reduce((sum, delay) => sum + delay, 0);
  // The dead-letter backoff at its longest, whatever RETRY_BASE_SECONDS is.
  const longestDeadLetterRetry = Math.max(
    ...[1, 5, 20, 40].flatMap((attempt) => [0, 10, 43_200].map((base) => deadLetterRetryDelaySeconds(attempt, base))),
  );
  const span = consumerSpan + deadLetterRetries * longestDeadLetterRetry;

  it("outlasts every retry of the consumer on the default schedule and of the dead-letter consumer", () => {
    expect(consumerRetries).toBe(20);
    expect(deadLetterRetries).toBe(20);
    // 30s … 12h with +25 % (the last capped at the Queues maximum), then 300 s for the 11 retries past the schedule's end.
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200]);
    expect(consumerSpan).toBe(113_888 + 11 * 300);
    expect(longestDeadLetterRetry).toBe(300);
    expect(STUCK_AFTER_MS / 1000).toBeGreaterThanOrEqual(span);
  });

  it("is that span rounded up to the hour, no later", () => {
    expect(STUCK_AFTER_HOURS).toBe(Math.ceil(span / 3600));
    expect(STUCK_AFTER_HOURS).toBe(35);
    expect(STUCK_AFTER_MS).toBe(STUCK_AFTER_HOURS * 3_600_000);
  });

  it("counts a retry as overdue an hour after it was due", () => {
    expect(RETRY_OVERDUE_MS).toBe(3_600_000);
  });
});
