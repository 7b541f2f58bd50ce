// The queue consumer for `maintainx-events`: resolves each message to its canonical event and
// acknowledges it. Routing to handlers plugs in here.

import { describeError, log } from "../lib/log";
import { MalformedMessageError, resolveMessage } from "./resolve";

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      const { event } = await resolveMessage(env.IDEMPOTENCY, message.body);
      log.info("Event received", {
        eventId: event.id,
        type: event.type,
        sourceType: event.sourceType,
        source: event.source,
        workOrderId: event.workOrderId,
        attempt: message.attempts,
      });
      message.ack();
    } catch (error) {
      if (error instanceof MalformedMessageError) {
        log.error("Dropping malformed queue message", { messageId: message.id, error: describeError(error) });
        message.ack();
      } else {
        log.warn("Event will be retried", { messageId: message.id, error: describeError(error) });
        message.retry();
      }
    }
  }
}
