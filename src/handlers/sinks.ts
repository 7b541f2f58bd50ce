// How handlers talk to their destinations: one POST each, under OUTBOUND_TIMEOUT_SECONDS. A network
// error, timeout, 408, 429 or 5xx throws TransientError (the queue retries the event); any other
// 4xx throws PermanentError (recorded as failed). See lib/outbound.ts.

import type { HandlerContext } from "../contract/handler";
import { postJson } from "../lib/outbound";

/** A Slack incoming-webhook message: `text` always (it is what notifications show), `blocks` optional. */
export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

/** Resolves with Slack's HTTP status (2xx). */
export async function postToSlack(ctx: HandlerContext, url: string, message: SlackMessage): Promise<number> {
  return postJson("Slack", url, JSON.stringify(message), { timeoutMs: ctx.config.outboundTimeoutMs, fetch: ctx.fetch });
}

/**
 * POSTs `{eventId, ...body}` to the ERP with `Idempotency-Key: <effect id>`: the id this side
 * effect goes out under, the same on every attempt, so the ERP can drop a repeat should a retry
 * ever cross a success it did not see. Resolves with the ERP's HTTP status (2xx).
 */
export async function postToErp(ctx: HandlerContext, url: string, body: Record<string, unknown>): Promise<number> {
  return postJson("ERP", url, JSON.stringify({ eventId: ctx.effectId, ...body }), {
    timeoutMs: ctx.config.outboundTimeoutMs,
    fetch: ctx.fetch,
    headers: { "idempotency-key": ctx.effectId },
  });
}
