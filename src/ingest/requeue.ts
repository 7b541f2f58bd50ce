// Entry point 3 of 3 into the queue: an operator's replay of a recorded event. A replay skips the
// edge filter and asks the consumer to run failed and skipped handlers again (done ones stay done).

import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { lastDeadLetter } from "../store/dead-letters";
import { loadEvent, setEventStatus } from "../store/event-log";
import { buildMessage, EnqueueError, sendMessage } from "./send";

/** Re-queues the event; "not_found" when the log has no such event. Throws EnqueueError. */
export async function replayEvent(env: Env, id: string): Promise<"queued" | "not_found"> {
  const event = await loadEvent(env.DB, id);
  if (!event) return "not_found";
  try {
    const dead = await lastDeadLetter(env.DB, id);
    // The event log never saw its data (its claim check was never read): replay the dead message.
    const message =
      Object.keys(event.data).length === 0 && isEventMessage(dead) && dead.payloadKey
        ? { ...dead, replay: true }
        : await buildMessage(env.IDEMPOTENCY, event, { replay: true });
    await sendMessage(env.EVENTS_QUEUE, message);
  } catch (error) {
    log.error("Replay could not be queued", { eventId: id, error: describeError(error) });
    throw error instanceof EnqueueError ? error : new EnqueueError("Replay could not be queued");
  }
  await setEventStatus(env.DB, id, "accepted", null);
  log.info("Event replay queued", { eventId: id });
  return "queued";
}
