// A short run of the soak (`npm run soak`) in CI: a few seconds of real changes sent as signed
// deliveries with duplicates, concurrent copies and replays into `wrangler dev`, against sinks that
// fail a quarter of their requests, with a share of the webhooks dropped so that only the poller
// finds them; no change may be lost and no side effect may happen twice, whichever path saw it.

import { describe, expect, it } from "vitest";
import { runSoak } from "../../scripts/soak";

describe("soak, short", () => {
  it("loses no change and repeats no side effect while sinks fail a quarter of requests and webhooks are dropped", async () => {
    const result = await runSoak({
      seconds: 4,
      rate: 6,
      failShare: 0.25,
      dropShare: 0.3,
      pollEverySeconds: 1,
      // Generous: retries back off for tens of seconds, and CI runs other wrangler dev tests alongside.
      drainSeconds: 150,
      progress: () => {},
    });
    // One assertion for the three, so a failure shows whether the queue drained and whether
    // wrangler dev reloaded (which drops its local queue) beside the counts.
    expect({ line: result.line, drained: result.drained, reloaded: result.reloaded }).toEqual({
      line: expect.stringMatching(
        /^soak: changes \d+, sent \d+, accepted \d+, dropped \d+, delivered \d+, lost 0, duplicates 0$/,
      ),
      drained: true,
      reloaded: false,
    });
    expect(result.changes).toBeGreaterThanOrEqual(20);
    expect(result.accepted).toBeGreaterThanOrEqual(10);
    // The retry schedule (nine retries) outlasts a quarter of failing calls: nothing ends dead.
    expect(result.dead).toBe(0);
    expect(result.delivered).toBe(result.changes);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.polls).toBeGreaterThan(0);
    expect(result.sinkFailures).toBeGreaterThan(0);
  }, 240_000);
});
