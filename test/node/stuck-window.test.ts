// An event left `accepted` is alerted as stuck once its row has not changed for STUCK_AFTER_MS
// (src/store/stuck-window.ts): that must outlast the longest the queues can still be trying its
// message, the consumer's retries (wrangler.toml) at the longest backoff (routing/retry-policy.ts)
// and then the dead-letter consumer's, or an event still being retried would be alerted.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deadLetterRetryDelaySeconds, retryDelaySeconds } from "../../src/routing/retry-policy";
import { STUCK_AFTER_HOURS, STUCK_AFTER_MS } from "../../src/store/stuck-window";

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

describe("the window after which an accepted event counts as stuck", () => {
  // The longest delay either schedule can ask for, whatever the attempt, base or Retry-After.
  const longestRetry = Math.max(
    ...[1, 5, 10, 31].flatMap((attempt) =>
      [0, 10, 43_200].map((base) => retryDelaySeconds(attempt, base, 10_000_000, () => 1)),
    ),
  );
  const longestDeadLetterRetry = Math.max(
    ...[1, 5, 20, 40].flatMap((attempt) => [0, 10, 43_200].map((base) => deadLetterRetryDelaySeconds(attempt, base))),
  );
  const span =
    maxRetries("maintainx-events") * longestRetry + maxRetries("maintainx-events-dlq") * longestDeadLetterRetry;

  it("outlasts every retry of the consumer and of the dead-letter consumer, each at its longest backoff", () => {
    expect(longestRetry).toBe(43_200);
    expect(longestDeadLetterRetry).toBe(300);
    expect(STUCK_AFTER_MS / 1000).toBeGreaterThanOrEqual(span);
  });

  it("is that span rounded up to the hour, no later", () => {
    expect(STUCK_AFTER_HOURS).toBe(Math.ceil(span / 3600));
    expect(STUCK_AFTER_MS).toBe(STUCK_AFTER_HOURS * 3_600_000);
  });
});
