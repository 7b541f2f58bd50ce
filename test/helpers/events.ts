// Canonical events and queue messages built the way the receiver builds them.

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { CanonicalEvent } from "../../src/events/canonical";
import type { EventMessage } from "../../src/events/message";
import { createDelivery } from "../../src/ingest/delivery";
import { normaliseDelivery } from "../../src/ingest/normalise";
import { utf8 } from "../../src/lib/bytes";
import { consumeDeadLetters } from "../../src/routing/dead-letter";

let sequence = 0;

/** A canonical event from a MaintainX-format body, with a unique id unless one is given. */
export async function maintainXEvent(
  sourceType: string,
  body: Record<string, unknown>,
  id?: string,
): Promise<CanonicalEvent> {
  // Taken before the first await, so events built concurrently get different ids.
  sequence += 1;
  const n = sequence;
  const delivery = await createDelivery({
    body: utf8.encode(JSON.stringify(body)),
    pathType: sourceType,
    scheme: "maintainx",
    headers: new Headers(),
    receivedAt: new Date(),
  });
  const { event } = await normaliseDelivery(delivery);
  return { ...event, id: id ?? `test-${sourceType}-${Date.now()}-${n}` };
}

export function messageFor(event: CanonicalEvent, extra: Partial<EventMessage> = {}): EventMessage {
  return { v: 1, event, ...extra };
}

let messageSeq = 0;
/** A batch as the queue would deliver it; `attempts` is the delivery number (1 = first). */
export function batchOf(bodies: unknown[], attempts = 1, queue = "maintainx-events"): MessageBatch<unknown> {
  return createMessageBatch(
    queue,
    bodies.map((body) => {
      messageSeq += 1;
      return { id: `msg-${messageSeq}`, timestamp: new Date(), attempts, body };
    }),
  );
}

export interface Settled {
  /** Ids of messages acked, as the queue runtime recorded them. */
  explicitAcks: string[];
  /** Every retried message with the delay it asked for. */
  retryMessages: Array<{ msgId: string; delaySeconds: number | undefined }>;
}

/**
 * Runs `consume` on the batch and reports which messages were acked and which retried with what
 * delay: acks come from the runtime's own record (getQueueResult); delays from the retry calls.
 */
export async function settle(
  batch: MessageBatch<unknown>,
  consume: (batch: MessageBatch<unknown>) => Promise<unknown>,
): Promise<Settled> {
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  await consume(batch);
  const result = (await getQueueResult(batch, createExecutionContext())) as {
    explicitAcks: string[];
    retryMessages: Array<{ msgId: string }>;
  };
  return {
    explicitAcks: result.explicitAcks,
    retryMessages: result.retryMessages.map(({ msgId }) => ({ msgId, delaySeconds: delays.get(msgId) })),
  };
}

export { createExecutionContext, getQueueResult };

/**
 * A NEW_WORK_ORDER event whose only record is a dead letter carrying a claim check: its data is
 * in KV under the message's `payloadKey`, never in the event log. Returns the event's id.
 */
export async function deadLetterWithClaimCheck(body: Record<string, unknown>, eventId: string): Promise<string> {
  await env.IDEMPOTENCY.put(`payload:${eventId}`, JSON.stringify(body));
  const message: EventMessage = {
    v: 1,
    event: {
      id: eventId,
      type: "workorder.created",
      sourceType: "NEW_WORK_ORDER",
      source: "webhook",
      receivedAt: new Date().toISOString(),
      data: {},
      subject: { kind: "workorder", id: String(body.workOrderId) },
      workOrderId: String(body.workOrderId),
    },
    payloadKey: `payload:${eventId}`,
  };
  await settle(batchOf([message], 6, "maintainx-events-dlq"), (batch) => consumeDeadLetters(batch, env));
  return eventId;
}
