// The consumer of `maintainx-events-dlq`: a message lands here after max_retries. It is kept in
// D1 with its whole body (ready for `/admin/events/:id/replay`) and its event is marked `dead`.

import { readConfig } from "../config";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { recordDeadLetter } from "../store/dead-letters";
import { deadLetterRetryDelaySeconds } from "./retry-policy";

/** Keeps each dead letter; resolves with how many were recorded (an operator alert is due). */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<number> {
  let recorded = 0;
  for (const message of batch.messages) {
    try {
      await keepDeadLetter(env.DB, message);
      recorded += 1;
      message.ack();
    } catch (error) {
      // With backoff long enough to outlast an hour of D1 outage: this queue has nothing behind it.
      const delaySeconds = deadLetterRetryDelaySeconds(message.attempts, readConfig(env).retryBaseSeconds);
      log.error("Dead letter could not be recorded; retrying", {
        messageId: message.id,
        eventId: isEventMessage(message.body) ? message.body.event.id : undefined,
        attempt: message.attempts,
        delaySeconds,
        error: describeError(error),
      });
      message.retry({ delaySeconds });
    }
  }
  return recorded;
}

async function keepDeadLetter(db: D1Database, message: Message<unknown>): Promise<void> {
  const body = message.body;
  const event = isEventMessage(body) ? body.event : undefined;
  const eventId = event?.id ?? `unknown:${message.id}`;
  await recordDeadLetter(db, { eventId, body, attempts: message.attempts, ...(event ? { event } : {}) });
  log.error("Event dead-lettered", { eventId, attempts: message.attempts });
}
