// Entry point 1 of 3 into the queue: a verified webhook delivery.
// Early duplicate check → parse and normalise → dedupe → claim check → send → mark seen → event log.

import { readConfig } from "../config";
import { describeError, log } from "../lib/log";
import { markSeen, wasSeen } from "../store/dedupe";
import { recordAccepted } from "../store/event-log";
import type { Delivery } from "./delivery";
import { normaliseDelivery } from "./normalise";
import { buildMessage, sendMessage } from "./send";

type AcceptStatus = "accepted" | "already_processed";

/**
 * Queues the delivery's event unless it was queued before. Throws InvalidDeliveryError for a
 * signed body that cannot become an event, EnqueueError when nothing could be queued (the dedupe
 * key is then not written, so the sender's retry is accepted). `defer` keeps the event-log write
 * off the answer's path.
 */
export async function acceptDelivery(
  env: Env,
  delivery: Delivery,
  defer: (work: Promise<unknown>) => void,
): Promise<{ status: AcceptStatus; eventId: string }> {
  // A duplicate is answered before the body is parsed: parsing a body costs several times what
  // hashing it does, and a duplicate needs none of it.
  // A stored id for the path's type can only have come from this same body under this same type,
  // which parses to this same id: the answer is the one the full path would give.
  if (delivery.contentId !== undefined && (await wasSeen(env.IDEMPOTENCY, delivery.contentId))) {
    return { status: "already_processed", eventId: delivery.contentId };
  }

  const { event, raw, rawText } = await normaliseDelivery(delivery);
  // An id other than the one just looked up (a seed body's own type, an event-id header) is looked up now.
  if (event.id !== delivery.contentId && (await wasSeen(env.IDEMPOTENCY, event.id))) {
    return { status: "already_processed", eventId: event.id };
  }

  const { message, claimChecked } = await buildMessage(env.IDEMPOTENCY, event, { source: raw });
  await sendMessage(env.EVENTS_QUEUE, message);
  await markSeen(env.IDEMPOTENCY, event.id, readConfig(env).dedupeTtlSeconds);
  // The event log row is for operators; the consumer writes it too, so this may fail quietly.
  // A MaintainX body is stored as the text it came as (decoded once, for the parse): no second
  // serialisation of the data, and a claim-checked body is not decoded again.
  defer(
    recordAccepted(env.DB, event, rawText ?? claimChecked).catch((error: unknown) =>
      log.warn("Event log write deferred to the consumer", { eventId: event.id, error: describeError(error) }),
    ),
  );
  return { status: "accepted", eventId: event.id };
}
