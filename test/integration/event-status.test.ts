// An event's status moves only forward from what its handlers' outcomes say: a dead letter of a
// copy does not undo another copy's success, and a replay that finishes fast is not left pending.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { consumeDeadLetters } from "../../src/routing/dead-letter";
import { BASE, maintainXDelivery, uniqueNewWorkOrder } from "../helpers/deliveries";
import { batchOf, settle } from "../helpers/events";
import { createOutbound, SLACK_URL } from "../helpers/outbound";
import { callWorker, recordingQueue, testEnv } from "../helpers/worker";

const TOKEN = "event-status-token";
let outbound: ReturnType<typeof createOutbound>;
beforeEach(() => {
  outbound = createOutbound();
  outbound.sink(SLACK_URL);
});

const consumerEnv = () =>
  testEnv({ SLACK_WEBHOOK_URL: SLACK_URL, MAINTAINX_API_KEY: undefined, ERP_WEBHOOK_URL: undefined });
const consume = (message: EventMessage, attempts = 1) =>
  settle(batchOf([message], attempts), (batch) =>
    consumeEvents(batch, consumerEnv(), { registry, fetch: outbound.fetch, random: () => 0 }),
  );

async function status(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
  return row?.status;
}

async function accepted(): Promise<{ eventId: string; message: EventMessage }> {
  const queue = recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue);
  const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder()), {
    EVENTS_QUEUE: queue,
  });
  const body = (await response.json()) as { eventId: string };
  return { eventId: body.eventId, message: queue.sent[0] as EventMessage };
}

/** `POST /admin/events/:id/replay`, with the queue the replay is sent to. */
function replayThrough(eventId: string, queue: Queue): Promise<Response> {
  return callWorker(
    new Request(`${BASE}/admin/events/${encodeURIComponent(eventId)}/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    }),
    { ADMIN_TOKEN: TOKEN, EVENTS_QUEUE: queue },
  );
}

describe("event status", () => {
  it("stays processed when a dead letter of another copy arrives after the event was processed", async () => {
    const { eventId, message } = await accepted();
    expect((await consume(message)).explicitAcks).toHaveLength(1);
    expect(await status(eventId)).toBe("processed");

    const dead = await settle(batchOf([message], 6, "maintainx-events-dlq"), (batch) =>
      consumeDeadLetters(batch, consumerEnv()),
    );
    expect(dead.explicitAcks).toHaveLength(1);
    expect(await status(eventId)).toBe("processed");
    // The dead letter itself is still kept.
    const letters = await env.DB.prepare("SELECT COUNT(*) AS n FROM dead_letters WHERE event_id = ?1")
      .bind(eventId)
      .first<{ n: number }>();
    expect(letters?.n).toBe(1);
  });

  it("still marks dead an event that no copy has settled", async () => {
    const { eventId, message } = await accepted();
    await settle(batchOf([message], 6, "maintainx-events-dlq"), (batch) => consumeDeadLetters(batch, consumerEnv()));
    expect(await status(eventId)).toBe("dead");
  });

  it("leaves a replay processed when the consumer finishes it before the replay route answers", async () => {
    const { eventId, message } = await accepted();
    await consume(message);
    expect(await status(eventId)).toBe("processed");

    // A queue that hands the replay to the consumer before send() returns: the fastest a replay can finish.
    const immediate = {
      async send(body: unknown) {
        await consume(body as EventMessage);
      },
      async sendBatch() {},
    } as unknown as Queue;
    const response = await replayThrough(eventId, immediate);
    expect(response.status).toBe(202);
    expect(await status(eventId)).toBe("processed");
  });

  it("restores the status when a replay cannot be queued", async () => {
    const { eventId, message } = await accepted();
    await consume(message);
    const failing = {
      async send() {
        throw new Error("Queue send failed: service unavailable");
      },
    } as unknown as Queue;
    const response = await replayThrough(eventId, failing);
    expect(response.status).toBe(503);
    expect(await status(eventId)).toBe("processed");
  });
});
