// Calls the Worker's real entry points with the test bindings, optionally overriding some.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

export type EnvOverrides = Partial<Record<keyof Env, unknown>>;

export function testEnv(overrides: EnvOverrides = {}): Env {
  return { ...env, ...overrides } as Env;
}

export async function callWorker(request: Request, overrides: EnvOverrides = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, testEnv(overrides), ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** A queue binding that records what was sent and forwards it to the real local queue. */
export function recordingQueue(target: Queue = env.EVENTS_QUEUE): Queue & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    async send(body: unknown, options?: QueueSendOptions) {
      sent.push(body);
      return target.send(body, options);
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
      for (const m of messages) sent.push(m.body);
      return target.sendBatch(messages, options);
    },
  } as Queue & { sent: unknown[] };
}

/** A queue binding whose sends always fail, as when the Queues service is unavailable. */
export function failingQueue(): Queue {
  const fail = async () => {
    throw new Error("Queue send failed: service unavailable");
  };
  return { send: fail, sendBatch: fail } as unknown as Queue;
}
