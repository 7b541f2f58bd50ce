// Entry point 2 of 3 into the queue: work orders the poller read from MaintainX's REST API.
// Each version of a work order becomes one event, deduped exactly like a webhook.

import { readConfig } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import type { WorkOrder } from "../maintainx/schemas";
import { markSeen, wasSeen } from "../store/dedupe";
import { buildMessage, sendMessages } from "./send";

const POLL_SOURCE_TYPE = "WORK_ORDER_POLL";

export type PolledWorkOrder = WorkOrder & { updatedAt: string };

function pollEvent(wo: PolledWorkOrder, receivedAt: string): CanonicalEvent {
  return {
    // `updatedAt` verbatim, so the same version of a work order always has the same id.
    id: `poll:${wo.id}:${wo.updatedAt}`,
    type: "workorder.updated",
    sourceType: POLL_SOURCE_TYPE,
    source: "poll",
    subject: { kind: "workorder", id: wo.id },
    workOrderId: wo.id,
    occurredAt: wo.updatedAt,
    receivedAt,
    data: { ...wo },
  };
}

/**
 * Queues the versions not seen before: dedupe lookups in parallel, one `sendBatch` per chunk, each
 * chunk marked seen as soon as it was sent. Returns how many were newly queued; throws EnqueueError
 * when a send fails (the chunks sent before it stay marked, so the next run does not send them again).
 */
export async function acceptPolledWorkOrders(
  env: Env,
  workOrders: PolledWorkOrder[],
  receivedAt: string,
): Promise<number> {
  const events = workOrders.map((wo) => pollEvent(wo, receivedAt));
  const seen = await Promise.all(events.map((event) => wasSeen(env.IDEMPOTENCY, event.id)));
  const unseen = events.filter((_, i) => !seen[i]);
  const messages = await Promise.all(unseen.map((event) => buildMessage(env.IDEMPOTENCY, event)));
  const ttl = readConfig(env).dedupeTtlSeconds;
  await sendMessages(env.EVENTS_QUEUE, messages, async (chunk) => {
    await Promise.all(chunk.map((message) => markSeen(env.IDEMPOTENCY, message.event.id, ttl)));
  });
  return unseen.length;
}
