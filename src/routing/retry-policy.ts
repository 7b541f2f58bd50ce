// Retry delays for a message whose handler failed transiently: exponential from
// RETRY_BASE_SECONDS (doubling per attempt), with up to +25 % jitter so a burst of failures does
// not come back at once, capped at 43,200 s (the Queues maximum); a longer Retry-After from the
// sink wins.

const MAX_RETRY_DELAY_SECONDS = 43_200;

export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const backoff = baseSeconds * 2 ** Math.min(exponent, 30);
  const jittered = backoff * (1 + 0.25 * random());
  const wanted = Math.max(jittered, retryAfterSeconds ?? 0);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(wanted));
}
