// A deadline for a call that has no timeout of its own (an R2 or D1 binding). A handler makes such
// calls while it holds its claim: one that hung past the claim's lease would let another delivery
// take the claim over while this one still runs, so each is cut well inside the lease instead.

import { TransientError } from "./outbound";

/**
 * Settles as `work` does, or rejects with a TransientError naming `what` once `ms` have passed, so
 * the consumer retries the handler later and releases its claim as `retry`. The call itself is not
 * cancelled (bindings take no abort signal) and may still complete afterwards: use it only around
 * writes that are safe to land late or twice.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    // A rejection of `work` after the deadline is handled by the race, never left unhandled.
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
