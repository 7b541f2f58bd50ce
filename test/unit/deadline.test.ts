// withDeadline (src/lib/deadline.ts): a storage call inside a handler settles as it does, or fails
// transiently at the deadline so the consumer retries it and releases the claim.

import { afterEach, describe, expect, it, vi } from "vitest";
import { withDeadline } from "../../src/lib/deadline";
import { TransientError } from "../../src/lib/outbound";

afterEach(() => {
  vi.useRealTimers();
});

describe("withDeadline", () => {
  it("answers what the call answered, and passes on its own failure unchanged", async () => {
    expect(await withDeadline(Promise.resolve(42), 1_000, "R2: write")).toBe(42);
    const refused = new Error("D1_ERROR: simulated outage");
    await expect(withDeadline(Promise.reject(refused), 1_000, "D1: write")).rejects.toBe(refused);
  });

  it("fails transiently at the deadline, naming the call, when the call never answers", async () => {
    vi.useFakeTimers();
    const outcome = withDeadline(new Promise<never>(() => {}), 10_000, "R2: report write").catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(9_999);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).message).toBe("R2: report write: no answer within 10 s");
  });

  it("leaves no timer behind once the call answered", async () => {
    vi.useFakeTimers();
    await withDeadline(Promise.resolve("ok"), 10_000, "D1: write");
    expect(vi.getTimerCount()).toBe(0);
  });
});
