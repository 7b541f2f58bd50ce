// Outbound HTTP for the command line: every request is aborted after a timeout, and a request
// that gets no answer becomes a sentence naming the party that could not be reached.

import { CommandFailure } from "./errors";

const OUTBOUND_TIMEOUT_MS = 15_000;

/** No HTTP answer at all: connection refused, DNS failure, TLS failure or timeout. */
export class NoAnswerError extends CommandFailure {
  override readonly name = "NoAnswerError";
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

export async function sendRequest(request: {
  /** Who is called, for messages: "MaintainX", "the Worker". */
  party: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  timeoutMs?: number;
  /** "manual" answers a redirect with the 3xx itself, so credentials are never carried elsewhere. */
  redirect?: "follow" | "manual";
}): Promise<HttpAnswer> {
  const timeoutMs = request.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
  try {
    // The signal also bounds reading the body, so a server that stalls mid-answer cannot hang us.
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: request.redirect ?? "follow",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, statusText: response.statusText, headers: response.headers, text };
  } catch (error) {
    const target = `${request.method} ${request.url}`;
    if (error instanceof Error && error.name === "TimeoutError") {
      throw new NoAnswerError(`${request.party} did not answer within ${timeoutMs / 1000} s (${target}).`);
    }
    throw new NoAnswerError(`Could not reach ${request.party} (${target}): ${networkReason(error)}.`);
  }
}

/** Node's fetch reports "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return cause.message;
  return error.message;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
