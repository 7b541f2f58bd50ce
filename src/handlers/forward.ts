// Forwarding: every canonical event matching FORWARD_TYPES is POSTed to FORWARD_URL as a Standard
// Webhooks delivery (`webhook-id`, `webhook-timestamp`, `webhook-signature`), so any service with
// a Standard Webhooks library can check it. Once per event, and a work order's creation and each
// of its endings once per real change (handlers/index.ts registers it under those types too), so
// the webhook and the poller's reading of one completion reach the receiver once. `webhook-id` is
// the id that effect goes out under: the event's own, or for a change the id of the event that
// first took it up, the same on every attempt. Retried and dead-lettered like every handler; a new
// timestamp and signature on each attempt, so a retry hours later is inside the receiver's
// tolerance. Without FORWARD_URL the handler is not routed at all; with a malformed one, or
// without a valid FORWARD_SIGNING_SECRET, it is skipped with a log line: nothing goes out unsigned.

import { forwardsEvent } from "../config";
import { done, type EventHandler, skipped } from "../contract/handler";
import type { CanonicalEvent } from "../events/canonical";
import { postJson } from "../lib/outbound";
import { signStandardWebhook } from "../lib/standard-webhooks";

/** The body a receiver gets: the canonical event, with `subject: null` when the payload names none. */
function forwardedBody(event: CanonicalEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    sourceType: event.sourceType,
    source: event.source,
    subject: event.subject ?? null,
    ...(event.workOrderId === undefined ? {} : { workOrderId: event.workOrderId }),
    ...(event.occurredAt === undefined ? {} : { occurredAt: event.occurredAt }),
    receivedAt: event.receivedAt,
    data: event.data,
  });
}

export const forward: EventHandler = {
  name: "forward",
  appliesTo: (event, config, types) => forwardsEvent(config, [...types, event.sourceType]),
  async run(ctx) {
    const { config, event } = ctx;
    // appliesTo routes this handler only while forwarding is enabled.
    if (!config.forwarding.enabled) return skipped("FORWARD_URL is not set");
    const { target } = config.forwarding;
    if (!target.usable) return skipped(target.skipReason);

    const body = forwardedBody(event);
    const headers = await signStandardWebhook(target.signingKey, ctx.effectId, Date.now() / 1000, body);
    const answered = await postJson("Forward", target.url, body, {
      timeoutMs: config.outboundTimeoutMs,
      fetch: ctx.fetch,
      headers: { ...headers },
    });
    return done(`forwarded as ${event.type}`, answered);
  },
};
