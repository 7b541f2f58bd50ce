// Dispatches a batch to the consumer of the queue it came from.

import type { HandlerRegistry } from "../contract/registry";
import { log } from "../lib/log";
import { consumeEvents } from "./consumer";
import { consumeDeadLetters } from "./dead-letter";

const EVENTS_QUEUE_NAME = "maintainx-events";
const DEAD_LETTER_QUEUE_NAME = "maintainx-events-dlq";

export async function handleQueue(batch: MessageBatch<unknown>, env: Env, registry: HandlerRegistry): Promise<void> {
  if (batch.queue === EVENTS_QUEUE_NAME) return consumeEvents(batch, env, { registry });
  if (batch.queue === DEAD_LETTER_QUEUE_NAME) return consumeDeadLetters(batch, env);
  log.error("Batch from an unknown queue left for redelivery", { queue: batch.queue });
  batch.retryAll();
}
