// The retry schedule against wrangler.toml (docs/operations.md, "Retries and holds"): the default
// spans more than a day, and `max_retries` of the events queue lets every schedule the Worker
// accepts run in full, within the Queues limit of 100.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE,
  DEFAULT_RETRY_SCHEDULE_TEXT,
  formatDelay,
  parseRetrySchedule,
  QUEUE_MAX_RETRIES,
} from "../../src/lib/retry-schedule";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

function eventsQueueMaxRetries(): number {
  const block = toml
    .split("[[queues.consumers]]")
    .slice(1)
    .find((b) => /^queue\s*=\s*"maintainx-events"/m.test(b));
  const match = block && /^max_retries\s*=\s*(\d+)/m.exec(block);
  if (!match?.[1]) throw new Error("wrangler.toml has no max_retries for the consumer of maintainx-events");
  return Number(match[1]);
}

function wranglerVar(name: string): string | undefined {
  const vars = toml.split(/^\[vars\]\s*$/m)[1] ?? "";
  return new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(vars)?.[1];
}

describe("the retry schedule and wrangler.toml", () => {
  const maxRetries = eventsQueueMaxRetries();

  it("gives the events queue max_retries the Worker counts on: at least 8, the default's length, at most 100", () => {
    expect(maxRetries).toBe(QUEUE_MAX_RETRIES);
    expect(maxRetries).toBeGreaterThanOrEqual(8);
    expect(maxRetries).toBeGreaterThanOrEqual(DEFAULT_RETRY_SCHEDULE.length);
    expect(maxRetries).toBeLessThanOrEqual(100);
  });

  it("ships the default schedule in [vars], spanning at least a day in all", () => {
    expect(wranglerVar("RETRY_SCHEDULE")).toBe(DEFAULT_RETRY_SCHEDULE_TEXT);
    const parsed = parseRetrySchedule(wranglerVar("RETRY_SCHEDULE") ?? "");
    expect(parsed).toEqual({ delays: [...DEFAULT_RETRY_SCHEDULE] });
    const total = DEFAULT_RETRY_SCHEDULE.reduce((sum, delay) => sum + delay, 0);
    expect(total).toBeGreaterThanOrEqual(86_400);
    // Each delay within the Queues limit of 12 hours.
    expect(Math.max(...DEFAULT_RETRY_SCHEDULE)).toBeLessThanOrEqual(43_200);
  });
});

describe("parseRetrySchedule", () => {
  it("reads whole numbers with s, m or h, spaces allowed around entries", () => {
    expect(parseRetrySchedule("30s, 2m,1h ,12h")).toEqual({ delays: [30, 120, 3600, 43_200] });
    expect(parseRetrySchedule("0s")).toEqual({ delays: [0] });
  });

  it("names the first entry that does not parse, or exceeds 12 h", () => {
    for (const [text, bad] of [
      ["30s,2x", "2x"],
      ["30", "30"],
      ["1.5h", "1.5h"],
      ["13h", "13h"],
      ["721m", "721m"],
      ["30s,,1m", ""],
      ["-5s", "-5s"],
    ]) {
      expect(parseRetrySchedule(text as string), text).toEqual({ bad });
    }
  });

  it("writes delays back as the schedule does", () => {
    expect([30, 120, 600, 3600, 5400, 43_200, 90].map(formatDelay)).toEqual([
      "30s",
      "2m",
      "10m",
      "1h",
      "1h30m",
      "12h",
      "90s",
    ]);
  });
});
