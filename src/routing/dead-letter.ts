// The consumer of `maintainx-events-dlq`: a message lands here after max_retries. It is kept in
// D1 with its whole body (ready for `/admin/events/:id/replay`) and its event is marked `dead`.

import { readConfig } from "../config";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { recordDeadLetter } from "../store/dead-letters";
import { retryDelaySeconds } from "./retry-policy";

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      await keepDeadLetter(env.DB, message);
      message.ack();
    } catch (error) {
      // With backoff: retried at once, a short D1 outage would use up this queue's own retries
      // (it has no dead-letter queue behind it) within seconds.
      const delaySeconds = retryDelaySeconds(message.attempts, readConfig(env).retryBaseSeconds);
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
}

async function keepDeadLetter(db: D1Database, message: Message<unknown>): Promise<void> {
  const body = message.body;
  const event = isEventMessage(body) ? body.event : undefined;
  const eventId = event?.id ?? `unknown:${message.id}`;
  await recordDeadLetter(db, { eventId, body, attempts: message.attempts, ...(event ? { event } : {}) });
  log.error("Event dead-lettered", { eventId, attempts: message.attempts });
}
