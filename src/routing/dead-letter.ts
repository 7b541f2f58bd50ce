// The consumer of `maintainx-events-dlq`: a message lands here after max_retries. It is kept in
// D1 with its whole body (ready for `/admin/events/:id/replay`) and its event is marked `dead`.

import { readConfig } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import { isEventMessage } from "../events/message";
import { describeError, log } from "../lib/log";
import { insertStatement } from "../store/event-log";
import { retryDelaySeconds } from "./retry-policy";

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      await recordDeadLetter(env.DB, message);
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

async function recordDeadLetter(db: D1Database, message: Message<unknown>): Promise<void> {
  const now = new Date().toISOString();
  const body = message.body;
  const eventId = isEventMessage(body) ? body.event.id : `unknown:${message.id}`;
  const statements: D1PreparedStatement[] = [
    db
      .prepare("INSERT INTO dead_letters (event_id, message, attempts, dead_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(eventId, JSON.stringify(body ?? null), message.attempts, now),
  ];
  if (isEventMessage(body)) {
    const event: CanonicalEvent = body.event;
    statements.push(
      insertStatement(db, event),
      db.prepare("UPDATE events SET status = 'dead', updated_at = ?2 WHERE id = ?1").bind(eventId, now),
    );
  }
  await db.batch(statements);
  log.error("Event dead-lettered", { eventId, attempts: message.attempts });
}
