// Outbound HTTP with a deadline, and the one rule for what a failed call means:
// network errors, timeouts, 408, 429 and 5xx are transient (retry later); other 4xx are permanent.

/** Worth retrying later; `retryAfterSeconds` carries the peer's Retry-After when it sent one. */
export class TransientError extends Error {
  override readonly name = "TransientError";
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Retrying cannot help (bad request, auth, not found): recorded as failed. */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/**
 * fetch() aborted after `timeoutMs`. Errors are rethrown as TransientError naming only the
 * destination (`label`): URLs such as Slack's carry their secret in the path, so they never go
 * into an error message or a log line.
 */
export async function fetchWithDeadline(
  label: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  fetchImpl: FetchLike = fetch,
): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new TransientError(
      timedOut ? `${label}: no answer within ${Math.round(timeoutMs / 1000)} s` : `${label}: network error`,
    );
  }
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date); undefined when absent or bad. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** Throws the right error for a non-2xx answer (draining a short excerpt of its body). */
export async function ensureOk(label: string, response: Response): Promise<Response> {
  if (response.ok) return response;
  const excerpt = (await response.text().catch(() => "")).replace(/\s+/g, " ").slice(0, 200);
  const message = `${label}: HTTP ${response.status}${excerpt ? ` ${excerpt}` : ""}`;
  const status = response.status;
  if (status === 408 || status === 429 || status >= 500) {
    throw new TransientError(message, parseRetryAfter(response.headers.get("retry-after")));
  }
  throw new PermanentError(message, status);
}

/** Reads and discards a successful answer's body so the connection can be reused. */
export async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
