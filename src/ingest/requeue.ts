// Entry point 3 of 3 into the queue: an operator's replay of a recorded event. A replay skips the
// edge filter and asks the consumer to run failed and skipped handlers again (done ones stay done).

import type { EventMessage } from "../events/message";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { lastDeadLetter } from "../store/dead-letters";
import { loadStoredEvent, reopenEvent, restoreEventStatus } from "../store/event-log";
import { replayPayloadKey } from "../store/keys";
import { buildMessage, EnqueueError, sendMessage } from "./send";

/** Re-queues the event; "not_found" when the log has no such event. Throws EnqueueError. */
export async function replayEvent(env: Env, id: string): Promise<"queued" | "not_found"> {
  const found = await loadStoredEvent(env.DB, id);
  if (!found) return "not_found";
  const { event, stored } = found;

  let message: EventMessage;
  try {
    const dead = await lastDeadLetter(env.DB, id);
    // The event log never saw its data (its claim check was never read): replay the dead message.
    if (Object.keys(event.data).length === 0 && isEventMessage(dead) && dead.payloadKey) {
      message = { ...dead, replay: true };
    } else {
      // A claim check of its own: an earlier message of this event may still be retrying on its key.
      const key = replayPayloadKey(id, crypto.randomUUID());
      message = (await buildMessage(env.IDEMPOTENCY, event, { source: stored, replay: true, key })).message;
    }
  } catch (error) {
    log.error("Replay could not be queued", { eventId: id, error: describeError(error) });
    throw error instanceof EnqueueError ? error : new EnqueueError("Replay could not be queued");
  }

  // Reopened before the send: the consumer may finish the replay before this request could write
  // `accepted` after it, and that would leave a processed event looking pending.
  const previous = await reopenEvent(env.DB, id);
  try {
    await sendMessage(env.EVENTS_QUEUE, message);
  } catch (error) {
    await restoreEventStatus(env.DB, id, previous).catch((restoreError: unknown) =>
      log.warn("Event status not restored after a failed replay", { eventId: id, error: describeError(restoreError) }),
    );
    throw error;
  }
  log.info("Event replay queued", { eventId: id });
  return "queued";
}
