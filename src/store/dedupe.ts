// The KV edge filter. KV is eventually consistent (a write can take up to 60 s to be seen
// elsewhere), so this only keeps most duplicates out of the queue; the consumer's D1 claims are
// what make side effects happen once.

import { describeError, log } from "../lib/log";
import { dedupeKey } from "./keys";

/** True when the event was enqueued before. A KV failure counts as "not seen": better a
 * duplicate the consumer absorbs than a lost event. */
export async function wasSeen(kv: KVNamespace, eventId: string): Promise<boolean> {
  try {
    return (await kv.get(dedupeKey(eventId))) !== null;
  } catch (error) {
    log.warn("Dedupe lookup failed; enqueueing anyway", { eventId, error: describeError(error) });
    return false;
  }
}

/** Marks the event as enqueued. Called only after the queue accepted it. */
export async function markSeen(kv: KVNamespace, eventId: string, ttlSeconds: number): Promise<void> {
  try {
    await kv.put(dedupeKey(eventId), "1", { expirationTtl: ttlSeconds });
  } catch (error) {
    // The event is already queued; a later duplicate is absorbed by the consumer's claims.
    log.warn("Dedupe key write failed", { eventId, error: describeError(error) });
  }
}
