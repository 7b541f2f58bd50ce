// A short run of the soak (`npm run soak`) in CI: a few seconds of signed deliveries with
// duplicates, concurrent copies and replays into `wrangler dev`, against sinks that fail a
// quarter of their requests; nothing may be lost and no side effect may happen twice.

import { describe, expect, it } from "vitest";
import { runSoak } from "../../scripts/soak";

describe("soak, short", () => {
  it("loses nothing and repeats no side effect while the sinks fail a quarter of their requests", async () => {
    const result = await runSoak({ seconds: 4, rate: 6, failShare: 0.25, drainSeconds: 60, progress: () => {} });
    expect(result.line).toMatch(/^soak: sent \d+, accepted \d+, delivered \d+, duplicates 0, lost 0$/);
    expect(result.reloaded).toBe(false);
    expect(result.drained).toBe(true);
    expect(result.accepted).toBeGreaterThanOrEqual(20);
    expect(result.delivered + result.dead).toBe(result.accepted);
    expect(result.sinkFailures).toBeGreaterThan(0);
  }, 120_000);
});
