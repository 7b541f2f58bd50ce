// Entry point 2 of 3 into the queue: work orders the poller read from MaintainX's REST API.
// Each version of a work order becomes one `workorder.updated` event, deduped exactly like a
// webhook. What webhooks would have reported and may have been lost becomes an event of its own
// (docs/polling.md): the creation of a work order created inside the polled window, and
// the ending of one whose REST status is DONE, CANCELED or SKIPPED. Their handlers run once per
// real change, whichever path saw it first (ARCHITECTURE.md, "Once per real change").

import { readConfig } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import { ENDING_TYPE, isEndingStatus } from "../events/work-order";
import { epochMs } from "../lib/time";
import type { WorkOrder } from "../maintainx/schemas";
import { markSeen, wasSeen } from "../store/dedupe";
import { buildMessage, sendMessages } from "./send";

const POLL_SOURCE_TYPE = "WORK_ORDER_POLL";

export type PolledWorkOrder = WorkOrder & { updatedAt: string };

function atOrAfter(value: string | null | undefined, sinceMs: number): value is string {
  const ms = epochMs(value);
  return ms !== undefined && ms >= sinceMs;
}

/**
 * The events of one polled work order: its version, plus its creation when `createdAt` is at or
 * after `since` (the cursor the query started from), plus its ending when its status is terminal
 * and it ended (`completedAt`, else `updatedAt`) at or after `since`, so neither an edit of a work
 * order done long ago nor a first run's look back recovers anything older than the window.
 * Their ids are deterministic, so a later run that sees the same change again is deduped.
 */
export function pollEvents(wo: PolledWorkOrder, receivedAt: string, sinceMs: number): CanonicalEvent[] {
  const version: CanonicalEvent = {
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
  const events = [version];
  if (atOrAfter(wo.createdAt, sinceMs)) {
    events.push({ ...version, id: `poll:${wo.id}:created`, type: "workorder.created", occurredAt: wo.createdAt });
  }
  const status = wo.status?.toUpperCase();
  const endedAt = wo.completedAt ?? wo.updatedAt;
  if (isEndingStatus(status) && atOrAfter(endedAt, sinceMs)) {
    events.push({
      ...version,
      id: `poll:${wo.id}:${status}:${endedAt}`,
      type: ENDING_TYPE[status],
      occurredAt: endedAt,
    });
  }
  return events;
}

/**
 * Queues the events not seen before: dedupe lookups in parallel, one `sendBatch` per chunk, each
 * chunk marked seen as soon as it was sent. Returns how many were newly queued; throws EnqueueError
 * when a send fails (the chunks sent before it stay marked, so the next run does not send them again).
 */
export async function acceptPolledWorkOrders(
  env: Env,
  workOrders: PolledWorkOrder[],
  receivedAt: string,
  since: string,
): Promise<number> {
  const sinceMs = Date.parse(since);
  const events = workOrders.flatMap((wo) => pollEvents(wo, receivedAt, sinceMs));
  const seen = await Promise.all(events.map((event) => wasSeen(env.IDEMPOTENCY, event.id)));
  const unseen = events.filter((_, i) => !seen[i]);
  const messages = await Promise.all(unseen.map((event) => buildMessage(env.IDEMPOTENCY, event)));
  const ttl = readConfig(env).dedupeTtlSeconds;
  await sendMessages(env.EVENTS_QUEUE, messages, async (chunk) => {
    await Promise.all(chunk.map((message) => markSeen(env.IDEMPOTENCY, message.event.id, ttl)));
  });
  return unseen.length;
}
