// The dead-letter queue has nothing behind it: its consumer's retries (wrangler.toml) on its
// backoff (routing/retry-policy.ts) must outlast a D1 outage of an hour, or a dead letter whose
// event-log row also failed would be gone.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deadLetterRetryDelaySeconds } from "../../src/routing/retry-policy";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

function consumerSetting(queue: string, key: string): number {
  const block = toml
    .split("[[queues.consumers]]")
    .slice(1)
    .find((b) => new RegExp(`^queue\\s*=\\s*"${queue}"`, "m").test(b));
  const match = block && new RegExp(`^${key}\\s*=\\s*(\\d+)`, "m").exec(block);
  if (!match?.[1]) throw new Error(`wrangler.toml has no ${key} for the consumer of ${queue}`);
  return Number(match[1]);
}

/** Seconds between the first try and the last, when every try fails. */
function span(firstAttempt: number, tries: number, baseSeconds: number): number {
  let total = 0;
  for (let attempt = firstAttempt; attempt < firstAttempt + tries - 1; attempt++) {
    total += deadLetterRetryDelaySeconds(attempt, baseSeconds);
  }
  return total;
}

describe("the dead-letter queue's retry schedule", () => {
  const tries = consumerSetting("maintainx-events-dlq", "max_retries") + 1;

  it("spans more than an hour of failures, whatever RETRY_BASE_SECONDS is", () => {
    for (const base of [0, 1, 10, 60]) {
      expect(span(1, tries, base), `RETRY_BASE_SECONDS=${base}`).toBeGreaterThan(3600);
    }
  });

  it("spans more than an hour also when the queue counts attempts on from the main queue's", () => {
    expect(span(7, tries, 10)).toBeGreaterThan(3600);
  });

  it("waits at least 10 s and at most 5 minutes between tries", () => {
    for (let attempt = 1; attempt <= tries; attempt++) {
      const delay = deadLetterRetryDelaySeconds(attempt, 0);
      expect(delay).toBeGreaterThanOrEqual(10);
      expect(delay).toBeLessThanOrEqual(300);
    }
  });
});
