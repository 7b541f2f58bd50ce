// Outbound HTTP with a deadline, and the one rule for what a failed call means:
// network errors, timeouts, 408, 429 and 5xx are transient (retry later); other 4xx are permanent.

/**
 * Worth retrying later; `retryAfterSeconds` carries the peer's Retry-After when it sent one, and
 * `status` its HTTP status when it answered.
 */
export class TransientError extends Error {
  override readonly name = "TransientError";
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    readonly status?: number,
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

/**
 * Throws the right error for a non-2xx answer (draining a short excerpt of its body). Pass the
 * URL called when it carries a secret: servers echo it in error pages ("Cannot POST /services/
 * T0/B0/<token>"), and the excerpt is logged and stored, so its path and query are redacted.
 */
export async function ensureOk(label: string, response: Response, requestUrl?: string): Promise<Response> {
  if (response.ok) return response;
  const text = await response.text().catch(() => "");
  const excerpt = redactUrlParts(text, [requestUrl, response.url]).replace(/\s+/g, " ").slice(0, 200);
  const message = `${label}: HTTP ${response.status}${excerpt ? ` ${excerpt}` : ""}`;
  const status = response.status;
  if (status === 408 || status === 429 || status >= 500) {
    throw new TransientError(message, parseRetryAfter(response.headers.get("retry-after")), status);
  }
  throw new PermanentError(message, status);
}

/** Shorter path segments and query values stay readable (`api`, `hooks`, `v1`): tokens are longer. */
const MIN_REDACTED_LENGTH = 8;

function redactUrlParts(text: string, urls: Array<string | undefined>): string {
  const parts = new Set<string>();
  for (const url of urls) {
    if (!url || !URL.canParse(url)) continue;
    const { pathname, search, searchParams, username, password } = new URL(url);
    const pieces = [`${pathname}${search}`, pathname, search, username, password, ...searchParams.values()];
    for (const segment of pathname.split("/")) {
      pieces.push(segment);
      try {
        pieces.push(decodeURIComponent(segment));
      } catch {
        // Not percent-encoded text: the raw segment is enough.
      }
    }
    for (const piece of pieces) if (piece.length >= MIN_REDACTED_LENGTH) parts.add(piece);
  }
  let out = text;
  // Longest first, so a whole path goes before the segments inside it.
  for (const part of [...parts].sort((a, b) => b.length - a.length)) out = out.split(part).join("[redacted]");
  return out;
}

/** Cancels a successful answer's body, which nothing needs, so it does not hold the connection open. */
async function discardResponseBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

interface PostOptions {
  timeoutMs: number;
  fetch?: FetchLike | undefined;
  /** Sent besides `content-type: application/json`. */
  headers?: Record<string, string>;
}

/**
 * POSTs a JSON text to `url` under the deadline; resolves with the status once the peer answered 2xx, and throws
 * as `ensureOk` does otherwise (transient or permanent, the URL's secret parts redacted). A
 * redirect is not followed: fetch would turn a 301/302 into a GET without the body, and a 2xx
 * page behind it would count as delivered. It is a permanent failure naming what to fix.
 */
export async function postJson(label: string, url: string, json: string, options: PostOptions): Promise<number> {
  const response = await fetchWithDeadline(
    label,
    url,
    {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: json,
      redirect: "manual",
    },
    options.timeoutMs,
    options.fetch,
  );
  if (response.status >= 300 && response.status < 400) {
    await discardResponseBody(response);
    throw new PermanentError(
      `${label}: HTTP ${response.status} redirect, not followed: configure the URL it redirects to`,
      response.status,
    );
  }
  await discardResponseBody(await ensureOk(label, response, url));
  return response.status;
}
