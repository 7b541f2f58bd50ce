// The steps every way into the queue shares: building the message (large data travels by claim
// check), sending it, and the error that means "nothing was queued". Only ingest/ sends to the queue.

import type { CanonicalEvent } from "../events/canonical";
import type { DataJson } from "../events/data-json";
import type { EventMessage } from "../events/message";
import { utf8 } from "../lib/bytes";
import { describeError, log } from "../lib/log";
import { PAYLOAD_TTL_SECONDS, payloadKey } from "../store/keys";

/** Queues cap a message at 128 KB (UTF-8, as serialised); what is over this goes by claim check. */
const MESSAGE_BUDGET_BYTES = 120 * 1000;
/** Raw JSON over this always goes by claim check: it would not fit a message even as it came. */
const CLAIM_CHECK_RAW_BYTES = 96 * 1024;
/**
 * Raw JSON up to this size fits a message however it re-serialises: parsing and writing JSON again
 * grows it at most 5.25 times (`1e20` → `100000000000000000000`), so it is never measured.
 */
const ALWAYS_FITS_RAW_BYTES = 20 * 1024;

/** The queue (or the claim-check store) refused the event; nothing was marked as seen. */
export class EnqueueError extends Error {
  override readonly name = "EnqueueError";
}

export interface BuiltMessage {
  message: EventMessage;
  /** What the claim check stored, when the data travels by claim check. */
  claimChecked?: DataJson;
  /** The message's UTF-8 size as serialised, when building it had to measure it. */
  bytes?: number;
}

/**
 * The queue message for an event. Data that would make the message too large is written to KV
 * first and the message carries its key. `source`, when given, is the data's JSON as it came (the
 * raw body), stored as is instead of re-serialising the data; `key` names a claim check of its
 * own (a replay must never overwrite the key an earlier message of the same event still reads).
 */
export async function buildMessage(
  kv: KVNamespace,
  event: CanonicalEvent,
  options: { source?: DataJson | undefined; replay?: boolean; key?: string } = {},
): Promise<BuiltMessage> {
  const message: EventMessage = { v: 1, event };
  if (options.replay) message.replay = true;
  const size = claimCheckSize(message, options.source);
  if (size !== "too large") return size === "fits" ? { message } : { message, bytes: size };

  const stored: DataJson = options.source ?? { json: JSON.stringify(event.data) };
  const key = options.key ?? payloadKey(event.id);
  try {
    await kv.put(key, stored.json, { expirationTtl: PAYLOAD_TTL_SECONDS });
  } catch (error) {
    log.error("Claim-check write failed", { eventId: event.id, error: describeError(error) });
    throw new EnqueueError("Claim-check write failed");
  }
  message.event = { ...event, data: {} };
  message.payloadKey = key;
  if (stored.field !== undefined) message.dataField = stored.field;
  return { message, claimChecked: stored };
}

/**
 * Sized on what is actually sent: the message as serialised, in UTF-8 bytes. "fits" when the raw
 * source is small enough to need no measuring, the measured size when it fits, else "too large".
 */
function claimCheckSize(message: EventMessage, source: DataJson | undefined): "fits" | "too large" | number {
  const sourceBytes = source === undefined ? undefined : byteLength(source.json);
  if (sourceBytes !== undefined && sourceBytes <= ALWAYS_FITS_RAW_BYTES) return "fits";
  if (sourceBytes !== undefined && sourceBytes > CLAIM_CHECK_RAW_BYTES) return "too large";
  const bytes = messageBytes(message);
  return bytes > MESSAGE_BUDGET_BYTES ? "too large" : bytes;
}

function byteLength(json: Uint8Array | string): number {
  return typeof json === "string" ? utf8.encode(json).byteLength : json.byteLength;
}

/** The UTF-8 size of a message as the queue serialises it. */
function messageBytes(message: EventMessage): number {
  return utf8.encode(JSON.stringify(message)).byteLength;
}

export async function sendMessage(queue: Queue, message: EventMessage): Promise<void> {
  try {
    await queue.send(message, { contentType: "json" });
  } catch (error) {
    log.error("Queue send failed", { eventId: message.event.id, error: describeError(error) });
    throw new EnqueueError("Queue send failed");
  }
}

/** Queues accept at most 100 messages and 256 KB (UTF-8, as serialised) per sendBatch. */
const BATCH_MAX_MESSAGES = 100;
const BATCH_MAX_BYTES = 200 * 1000;

/**
 * Sends the messages in as few `sendBatch` calls as the limits allow, sized in UTF-8 bytes of what
 * is sent, and calls `sent` with each chunk as soon as the queue took it, so that a later chunk's
 * failure does not make the earlier ones count as unsent.
 */
export async function sendMessages(
  queue: Queue,
  built: BuiltMessage[],
  sent: (chunk: EventMessage[]) => Promise<void>,
): Promise<void> {
  let chunk: EventMessage[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    try {
      await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
    } catch (error) {
      log.error("Queue batch send failed", { count: chunk.length, error: describeError(error) });
      throw new EnqueueError("Queue batch send failed");
    }
    await sent(chunk);
    chunk = [];
    chunkBytes = 0;
  };
  for (const { message, bytes: measured } of built) {
    const bytes = measured ?? messageBytes(message);
    if (chunk.length >= BATCH_MAX_MESSAGES || chunkBytes + bytes > BATCH_MAX_BYTES) await flush();
    chunk.push(message);
    chunkBytes += bytes;
  }
  await flush();
}
