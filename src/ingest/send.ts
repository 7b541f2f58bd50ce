// The steps every way into the queue shares: building the message (large data travels by claim
// check), sending it, and the error that means "nothing was queued". Only ingest/ sends to the queue.

import type { CanonicalEvent } from "../events/canonical";
import type { EventMessage } from "../events/message";
import { utf8 } from "../lib/bytes";
import { describeError, log } from "../lib/log";
import { PAYLOAD_TTL_SECONDS, payloadKey } from "../store/keys";
import type { RawData } from "./normalise";

/** Queues cap a message at 128 KB; data above this travels by claim check (envelope headroom). */
const CLAIM_CHECK_THRESHOLD_BYTES = 96 * 1024;

/** The queue (or the claim-check store) refused the event; nothing was marked as seen. */
export class EnqueueError extends Error {
  override readonly name = "EnqueueError";
}

/**
 * The queue message for an event. Data over the threshold is written to KV first and the message
 * carries its key; `raw`, when given, is stored as it came instead of re-serialising the data.
 */
export async function buildMessage(
  kv: KVNamespace,
  event: CanonicalEvent,
  options: { raw?: RawData; replay?: boolean } = {},
): Promise<EventMessage> {
  const message: EventMessage = { v: 1, event };
  if (options.replay) message.replay = true;

  let stored: Uint8Array | string | undefined;
  let field: string | undefined;
  if (options.raw) {
    if (options.raw.bytes.byteLength > CLAIM_CHECK_THRESHOLD_BYTES) {
      stored = options.raw.bytes;
      field = options.raw.field;
    }
  } else {
    const json = JSON.stringify(event.data);
    if (json.length * 3 > CLAIM_CHECK_THRESHOLD_BYTES && utf8.encode(json).byteLength > CLAIM_CHECK_THRESHOLD_BYTES) {
      stored = json;
    }
  }
  if (stored === undefined) return message;

  const key = payloadKey(event.id);
  try {
    await kv.put(key, stored, { expirationTtl: PAYLOAD_TTL_SECONDS });
  } catch (error) {
    log.error("Claim-check write failed", { eventId: event.id, error: describeError(error) });
    throw new EnqueueError("Claim-check write failed");
  }
  message.event = { ...event, data: {} };
  message.payloadKey = key;
  if (field !== undefined) message.dataField = field;
  return message;
}

export async function sendMessage(queue: Queue, message: EventMessage): Promise<void> {
  try {
    await queue.send(message, { contentType: "json" });
  } catch (error) {
    log.error("Queue send failed", { eventId: message.event.id, error: describeError(error) });
    throw new EnqueueError("Queue send failed");
  }
}

/** Queues accept at most 100 messages and 256 KB per sendBatch. */
const BATCH_MAX_MESSAGES = 100;
const BATCH_MAX_BYTES = 200 * 1024;

/** Sends the messages in as few `sendBatch` calls as the limits allow. */
export async function sendMessages(queue: Queue, messages: EventMessage[]): Promise<void> {
  let chunk: MessageSendRequest<EventMessage>[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    try {
      await queue.sendBatch(chunk);
    } catch (error) {
      log.error("Queue batch send failed", { count: chunk.length, error: describeError(error) });
      throw new EnqueueError("Queue batch send failed");
    }
    chunk = [];
    chunkBytes = 0;
  };
  for (const message of messages) {
    const bytes = JSON.stringify(message).length;
    if (chunk.length >= BATCH_MAX_MESSAGES || chunkBytes + bytes > BATCH_MAX_BYTES) await flush();
    chunk.push({ body: message, contentType: "json" });
    chunkBytes += bytes;
  }
  await flush();
}
