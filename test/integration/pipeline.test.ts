// Webhook → real local queue → the Worker's own consumer → sinks. Miniflare delivers queue
// messages to the consumer in this same isolate, whose outbound fetch goes to `world`'s sinks.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex, utf8 } from "../../src/lib/bytes";
import statusDone from "../fixtures/status-change-done.json";
import { maintainXDelivery, uniqueNewWorkOrder } from "../helpers/deliveries";
import { settled } from "../helpers/event-status";
import { reply, worldErp, worldSlack } from "../helpers/outbound";
import { callWorker } from "../helpers/worker";

const slackCallsFor = (workOrderId: unknown) =>
  worldSlack.calls.filter((c) => (c.json as { text?: string } | undefined)?.text?.includes(`#${workOrderId}:`));

describe("through the real queue", () => {
  it("alerts Slack once for a HIGH priority work order delivered 20 times at once", async () => {
    const body = uniqueNewWorkOrder();
    const raw = JSON.stringify(body);
    const responses = await Promise.all(
      Array.from({ length: 20 }, async () => callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw))),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const id = await sha256Hex(utf8.encode(`NEW_WORK_ORDER\n${raw}`));
    expect(await settled(id)).toBe("processed");
    // Let any extra copies that got past the KV edge filter drain too.
    await new Promise((r) => setTimeout(r, 2500));
    expect(slackCallsFor(body.workOrderId)).toHaveLength(1);
  });

  it("retries a Slack that fails twice and posts the alert once", async () => {
    const body = uniqueNewWorkOrder();
    worldSlack.plan(reply(500, "down"), reply(502, "down"));
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", body));
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId)).toBe("processed");
    const calls = slackCallsFor(body.workOrderId);
    expect(calls).toHaveLength(3);
    const attempts = await env.DB.prepare("SELECT attempts FROM events WHERE id = ?1")
      .bind(eventId)
      .first<{ attempts: number }>();
    expect(attempts?.attempts).toBe(3);
  });

  it("leaves an event failed, not retried, when the ERP answers 400", async () => {
    const id = Math.floor(Math.random() * 1e9);
    worldErp.plan(reply(400, '{"error":"bad work order"}'));
    const body = { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
    const response = await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body));
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId)).toBe("failed");
    await new Promise((r) => setTimeout(r, 1500));
    expect(worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(1);
    expect(await env.REPORTS.head(`reports/${id}.json`)).not.toBeNull();
  });

  it("dead-letters an event whose Slack post keeps failing, with its message kept for replay", async () => {
    const body = uniqueNewWorkOrder();
    const failing = reply(503, "down");
    worldSlack.plan(failing, failing, failing, failing, failing, failing);
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", body));
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId, ["dead"])).toBe("dead");
    const dead = await env.DB.prepare("SELECT attempts, message FROM dead_letters WHERE event_id = ?1")
      .bind(eventId)
      .first<{ attempts: number; message: string }>();
    expect(JSON.parse(dead?.message ?? "{}")).toMatchObject({ event: { id: eventId } });
    expect(slackCallsFor(body.workOrderId)).toHaveLength(6);
  });

  it("delivers the full content of a 1 MiB body to the consumer", async () => {
    const base = uniqueNewWorkOrder();
    const pad = "x".repeat(1_048_576 - utf8.encode(JSON.stringify({ ...base, pad: "" })).byteLength);
    const raw = JSON.stringify({ ...base, pad });
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw));
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId)).toBe("processed");
    const row = await env.DB.prepare("SELECT data FROM events WHERE id = ?1").bind(eventId).first<{ data: string }>();
    expect(JSON.parse(row?.data ?? "{}").pad).toBe(pad);
    expect(slackCallsFor(base.workOrderId)).toHaveLength(1);
  });
});
