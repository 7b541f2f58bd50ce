// Large deliveries are sized on what is sent and stored, not on the raw body: numbers such as
// `1e20` come out of JSON.parse and JSON.stringify several times longer. Through the real local
// queue (which refuses a message over 128 KB) and the real local D1.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { loadStoredEvent } from "../../src/store/event-log";
import { BASE, maintainXDelivery, seedDelivery, uniqueEventId } from "../helpers/deliveries";
import { batchOf, settle } from "../helpers/events";
import { createOutbound } from "../helpers/outbound";
import { callWorker, recordingQueue, testEnv } from "../helpers/worker";

let outbound: ReturnType<typeof createOutbound>;
beforeEach(() => {
  outbound = createOutbound();
});

let seq = 0;
/** A signed-as-sent MaintainX body whose `readings` are `count` numbers written as `1e20`. */
function exponentBody(count: number): { raw: string; workOrderId: number } {
  seq += 1;
  const workOrderId = 91_000_000 + seq * 17 + Math.floor(Math.random() * 1000) * 100_000;
  const readings = Array.from({ length: count }, () => "1e20").join(",");
  const raw = `{"workOrderId":${workOrderId},"orgId":99411,"occurredAt":"2026-11-28T09:15:02.417Z","newWorkOrder":{"title":"Meter log"},"readings":[${readings}]}`;
  return { raw, workOrderId };
}

async function settledStatus(id: string, deadlineMs = 15_000): Promise<string | undefined> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
    if (row && row.status !== "accepted") return row.status;
    if (Date.now() > until) return row?.status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function accept(request: Request) {
  const queue = recordingQueue();
  const response = await callWorker(request, { EVENTS_QUEUE: queue });
  const body = (await response.json()) as { status?: string; eventId?: string; error?: string };
  return { status: response.status, body, messages: queue.sent as EventMessage[] };
}

describe("sizes measured on what is sent and stored", () => {
  it("queues a signed 40 KB body whose data re-serialises to over the queue's 128 KB, and processes it", async () => {
    const { raw } = exponentBody(8000);
    expect(raw.length).toBeLessThan(41_000);
    expect(JSON.stringify(JSON.parse(raw)).length).toBeGreaterThan(128 * 1024);

    const accepted = await accept(await maintainXDelivery("WORK_ORDER_CHANGE", raw));
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe("accepted");
    expect(accepted.messages[0]?.payloadKey).toBe(`payload:${accepted.body.eventId}`);
    expect(await settledStatus(accepted.body.eventId as string)).toBe("processed");
    const logged = (await loadStoredEvent(env.DB, accepted.body.eventId as string))?.event;
    expect(logged?.data.readings).toHaveLength(8000);
    expect((logged?.data.readings as number[] | undefined)?.[0]).toBe(1e20);
  });

  it("keeps the event log's copy of a 1 MB body within D1's row limit, however large its re-serialised form", async () => {
    const { raw } = exponentBody(200_000);
    expect(raw.length).toBeLessThan(1_048_576);
    const accepted = await accept(await maintainXDelivery("WORK_ORDER_CHANGE", raw));
    expect(accepted.status).toBe(200);
    const id = accepted.body.eventId as string;
    expect(await settledStatus(id)).toBe("processed");
    const row = await env.DB.prepare("SELECT length(CAST(data AS BLOB)) AS bytes FROM events WHERE id = ?1")
      .bind(id)
      .first<{ bytes: number }>();
    // Stored as the raw body it came as (D1 refuses a row over 2 MB; re-serialised this is 4.4 MB).
    expect(row?.bytes).toBe(raw.length);
    expect((await loadStoredEvent(env.DB, id))?.event?.data.readings).toHaveLength(200_000);
  });

  it("processes a large event from its logged copy when its claim check cannot be read", async () => {
    const { raw } = exponentBody(200_000);
    const held = recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue);
    const response = await callWorker(await maintainXDelivery("WORK_ORDER_CHANGE", raw), { EVENTS_QUEUE: held });
    expect(response.status).toBe(200);
    const message = held.sent[0] as EventMessage;
    // KV is eventually consistent: the consumer may run where the claim check is not visible yet.
    await env.IDEMPOTENCY.delete(message.payloadKey as string);
    const environment = testEnv({
      SLACK_WEBHOOK_URL: undefined,
      ERP_WEBHOOK_URL: undefined,
      MAINTAINX_API_KEY: undefined,
    });
    const settled = await settle(batchOf([message]), (batch) =>
      consumeEvents(batch, environment, { registry, fetch: outbound.fetch }),
    );
    expect(settled.explicitAcks).toHaveLength(1);
    expect(await settledStatus(message.event.id)).toBe("processed");
  });

  it("caps MAX_BODY_BYTES at 1 MiB, what the event log can keep", async () => {
    const { raw } = exponentBody(262_200);
    expect(raw.length).toBeGreaterThan(1_048_576);
    const response = await callWorker(await maintainXDelivery("WORK_ORDER_CHANGE", raw), {
      MAX_BODY_BYTES: "5000000",
      EVENTS_QUEUE: recordingQueue(),
    });
    expect(response.status).toBe(413);
  });
});

describe("large seed deliveries", () => {
  it("processes a large seed delivery that has no data, instead of dropping it", async () => {
    const eventId = uniqueEventId("seed-no-data");
    const body = { event: "workorder.updated", timestamp: "2026-11-28T09:15:02.417Z", note: "n".repeat(120_000) };
    const accepted = await accept(await seedDelivery(body, { eventId }));
    expect(accepted.body).toEqual({ status: "accepted", eventId });
    expect(accepted.messages[0]?.payloadKey).toBeUndefined();
    expect(await settledStatus(eventId)).toBe("processed");
  });

  it("mirrors a large seed work order whose fields re-serialise past D1's row limit: columns kept, event processed", async () => {
    const eventId = uniqueEventId("seed-readings");
    const id = uniqueEventId("WO");
    const readings = Array.from({ length: 200_000 }, () => "1e20").join(",");
    const raw = `{"event":"workorder.updated","timestamp":"2026-11-28T09:15:02.417Z","data":{"id":"${id}","title":"Meter log","priority":"LOW","status":"OPEN","readings":[${readings}]}}`;
    expect(raw.length).toBeLessThan(1_048_576);
    const accepted = await accept(await seedDelivery(raw, { eventId }));
    expect(accepted.body).toEqual({ status: "accepted", eventId });
    expect(await settledStatus(eventId)).toBe("processed");
    const row = await env.DB.prepare("SELECT title, status FROM work_orders WHERE id = ?1")
      .bind(id)
      .first<{ title: string; status: string }>();
    expect(row).toEqual({ title: "Meter log", status: "OPEN" });
  });

  it("gives a replay of a large seed event its own claim check, so the original message still resolves", async () => {
    const eventId = uniqueEventId("seed-large");
    const data = { id: uniqueEventId("WO"), title: "t".repeat(120_000), priority: "LOW", status: "OPEN" };
    const raw = JSON.stringify({ event: "workorder.updated", timestamp: "2026-11-28T09:15:02.417Z", data });
    const held = recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue);
    const response = await callWorker(await seedDelivery(raw, { eventId }), { EVENTS_QUEUE: held });
    expect(response.status).toBe(200);
    const original = held.sent[0] as EventMessage;
    expect(original).toMatchObject({ payloadKey: `payload:${eventId}`, dataField: "data" });

    const replays = recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue);
    const replayed = await callWorker(
      new Request(`${BASE}/admin/events/${encodeURIComponent(eventId)}/replay`, {
        method: "POST",
        headers: { authorization: "Bearer large-payloads-token" },
      }),
      { ADMIN_TOKEN: "large-payloads-token", EVENTS_QUEUE: replays },
    );
    expect(replayed.status).toBe(202);
    const replay = replays.sent[0] as EventMessage;
    expect(replay.payloadKey).toBeDefined();
    expect(replay.payloadKey).not.toBe(original.payloadKey);
    expect(await env.IDEMPOTENCY.get(original.payloadKey as string)).toBe(raw);

    // The original, still retrying, resolves to the full data and is processed.
    const environment = testEnv({
      SLACK_WEBHOOK_URL: undefined,
      ERP_WEBHOOK_URL: undefined,
      MAINTAINX_API_KEY: undefined,
    });
    const settled = await settle(batchOf([original]), (batch) =>
      consumeEvents(batch, environment, { registry, fetch: outbound.fetch }),
    );
    expect(settled.explicitAcks).toHaveLength(1);
    expect(await settledStatus(eventId)).toBe("processed");
    expect(((await loadStoredEvent(env.DB, eventId))?.event?.data.title as string | undefined)?.length).toBe(120_000);
  });
});
