// Dispatches a batch to the consumer of the queue it came from, and asks for an operator alert
// (docs/operations.md) when events of the batch ended failed or dead.

import { alertEndedEventsSoon } from "../alerts/ended-events";
import type { HandlerRegistry } from "../contract/registry";
import { describeError, log } from "../lib/log";
import { consumeEvents } from "./consumer";
import { consumeDeadLetters } from "./dead-letter";

const EVENTS_QUEUE_NAME = "maintainx-events";
const DEAD_LETTER_QUEUE_NAME = "maintainx-events-dlq";

export async function handleQueue(
  batch: MessageBatch<unknown>,
  env: Env,
  registry: HandlerRegistry,
  ctx?: ExecutionContext,
): Promise<void> {
  let endedBadly = 0;
  if (batch.queue === EVENTS_QUEUE_NAME) endedBadly = await consumeEvents(batch, env, { registry });
  else if (batch.queue === DEAD_LETTER_QUEUE_NAME) endedBadly = await consumeDeadLetters(batch, env);
  else {
    log.error("Batch from an unknown queue left for redelivery", { queue: batch.queue });
    batch.retryAll();
    return;
  }
  // After the batch is settled, and apart from it: an alert never changes an outcome.
  if (endedBadly > 0 && ctx) {
    ctx.waitUntil(
      alertEndedEventsSoon(env).catch((error: unknown) =>
        log.error("Operator alerts for failed and dead events failed; the scheduled run tries again", {
          error: describeError(error),
        }),
      ),
    );
  }
}
