// The one path every event takes into the queue, from a webhook, the poller or a replay:
// dedupe check → claim check for large data → queue send → dedupe mark (only after the send).

import type { CanonicalEvent } from "../events/canonical";
import type { EventMessage } from "../events/message";
import { utf8 } from "../lib/bytes";
import { describeError, log } from "../lib/log";
import { markSeen, wasSeen } from "../store/dedupe";
import { PAYLOAD_TTL_SECONDS, payloadKey } from "../store/keys";

/** Queues cap a message at 128 KB; data above this travels by claim check (envelope headroom). */
export const CLAIM_CHECK_THRESHOLD_BYTES = 96 * 1024;

export type IngestStatus = "accepted" | "already_processed";

/** The queue (or the claim-check store) refused the event; nothing was marked as seen. */
export class EnqueueError extends Error {
  override readonly name = "EnqueueError";
}

export interface IngestOptions {
  dedupeTtlSeconds: number;
  /** Raw JSON bytes whose parse is `event.data` (or whose `dataField` is), to avoid re-serialising. */
  rawData?: { bytes: Uint8Array; field?: string };
  /** Replays skip the edge filter and ask the consumer to re-run failed handlers. */
  replay?: boolean;
  /** The caller has just read this event's dedupe key and found it unset: no second KV read. */
  seenChecked?: boolean;
}

export async function ingestEvent(
  env: Pick<Env, "IDEMPOTENCY" | "EVENTS_QUEUE">,
  event: CanonicalEvent,
  options: IngestOptions,
): Promise<IngestStatus> {
  if (!options.replay && !options.seenChecked && (await wasSeen(env.IDEMPOTENCY, event.id))) {
    return "already_processed";
  }

  const message = await buildMessage(env.IDEMPOTENCY, event, options);
  try {
    await env.EVENTS_QUEUE.send(message, { contentType: "json" });
  } catch (error) {
    log.error("Queue send failed", { eventId: event.id, error: describeError(error) });
    throw new EnqueueError("Queue send failed");
  }
  if (!options.replay) await markSeen(env.IDEMPOTENCY, event.id, options.dedupeTtlSeconds);
  return "accepted";
}

async function buildMessage(kv: KVNamespace, event: CanonicalEvent, options: IngestOptions): Promise<EventMessage> {
  const message: EventMessage = { v: 1, event };
  if (options.replay) message.replay = true;

  let stored: Uint8Array | string | undefined;
  let field: string | undefined;
  if (options.rawData && options.rawData.bytes.byteLength > CLAIM_CHECK_THRESHOLD_BYTES) {
    stored = options.rawData.bytes;
    field = options.rawData.field;
  } else if (!options.rawData) {
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

/** Queues accept at most 100 messages and 256 KB per sendBatch. */
const BATCH_MAX_MESSAGES = 100;
const BATCH_MAX_BYTES = 200 * 1024;

/**
 * The batched form of ingestEvent, for the poller: dedupe lookups in parallel, unseen events sent
 * with sendBatch, then marked seen. Returns how many were newly queued.
 */
export async function ingestEvents(
  env: Pick<Env, "IDEMPOTENCY" | "EVENTS_QUEUE">,
  events: CanonicalEvent[],
  options: { dedupeTtlSeconds: number },
): Promise<number> {
  const seen = await Promise.all(events.map((event) => wasSeen(env.IDEMPOTENCY, event.id)));
  const unseen = events.filter((_, i) => !seen[i]);
  const messages = await Promise.all(unseen.map((event) => buildMessage(env.IDEMPOTENCY, event, options)));

  let chunk: MessageSendRequest<EventMessage>[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    try {
      await env.EVENTS_QUEUE.sendBatch(chunk);
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
  await Promise.all(unseen.map((event) => markSeen(env.IDEMPOTENCY, event.id, options.dedupeTtlSeconds)));
  return unseen.length;
}
