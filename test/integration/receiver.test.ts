// The receiver's contract (docs/receiving.md): every answer-table row, for both wire formats.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { sha256Hex, utf8 } from "../../src/lib/bytes";
import { signMaintainX, signSeed } from "../../src/webhooks/signature";
import seedCreated from "../fixtures/seed-workorder-created.json";
import statusDone from "../fixtures/status-change-done.json";
import {
  BASE,
  maintainXDelivery,
  PREVIOUS_SECRET,
  SECRET,
  seedDelivery,
  uniqueEventId,
  uniqueNewWorkOrder,
} from "../helpers/deliveries";
import { callWorker, failingQueue, recordingQueue, testEnv } from "../helpers/worker";

const app = createApp(registry);

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe("GET /health", () => {
  it("answers exactly {status: ok}", async () => {
    const response = await callWorker(new Request(`${BASE}/health`));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"status":"ok"}');
  });
});

describe("MaintainX format", () => {
  it("accepts a signed delivery, queues the canonical event and writes the dedupe key after", async () => {
    const body = uniqueNewWorkOrder();
    const raw = JSON.stringify(body);
    const queue = recordingQueue();
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw), { EVENTS_QUEUE: queue });

    const expectedId = await sha256Hex(utf8.encode(`NEW_WORK_ORDER\n${raw}`));
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: "accepted", eventId: expectedId });

    expect(queue.sent).toHaveLength(1);
    const message = queue.sent[0] as EventMessage;
    expect(message.event).toMatchObject({
      id: expectedId,
      type: "workorder.created",
      sourceType: "NEW_WORK_ORDER",
      source: "webhook",
      workOrderId: String(body.workOrderId),
      occurredAt: body.occurredAt,
      data: body,
    });
    expect(message.payloadKey).toBeUndefined();

    const listed = await env.IDEMPOTENCY.list({ prefix: `dedupe:${expectedId}` });
    expect(listed.keys).toHaveLength(1);
    const expiration = listed.keys[0]?.expiration ?? 0;
    expect(expiration - Date.now() / 1000).toBeGreaterThan(86_400 - 120);
    expect(expiration - Date.now() / 1000).toBeLessThanOrEqual(86_400 + 1);
  });

  it("answers already_processed for the same delivery, even re-signed with a new timestamp", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const now = Math.floor(Date.now() / 1000);
    const first = await json(await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw, { timestamp: now - 30 })));
    const queue = recordingQueue();
    const again = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw, { timestamp: now }), {
      EVENTS_QUEUE: queue,
    });
    expect(first.status).toBe("accepted");
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({ status: "already_processed", eventId: first.eventId });
    expect(queue.sent).toHaveLength(0);
  });

  it("treats the same body under another type as another event", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const a = await json(await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw)));
    const b = await json(await callWorker(await maintainXDelivery("WORK_ORDER_CHANGE", raw)));
    expect(a.status).toBe("accepted");
    expect(b.status).toBe("accepted");
    expect(a.eventId).not.toBe(b.eventId);
  });

  it("maps each MaintainX type to its canonical type", async () => {
    const cases: Array<[string, string]> = [
      ["WORK_ORDER_CHANGE", "workorder.updated"],
      ["WORK_ORDER_STATUS_CHANGE", "workorder.status_changed"],
      ["WORK_ORDER_DELETE", "workorder.deleted"],
      ["WORK_ORDER_OVERDUE", "workorder.overdue"],
      ["NEW_COMMENT_ON_WORK_ORDER", "workorder.comment_added"],
      ["NEW_WORK_REQUEST", "workrequest.created"],
      ["WORK_REQUEST_STATUS_CHANGE", "workrequest.status_changed"],
      ["NEW_ASSET", "asset.created"],
      ["ASSET_STATUS_CHANGE", "asset.status_changed"],
      ["NEW_PURCHASE_ORDER", "purchaseorder.created"],
      ["USER_LOGIN_FAILURE", "audit.user_login_failure"],
      ["NEW_FLEET_VEHICLE", "NEW_FLEET_VEHICLE"],
    ];
    for (const [sourceType, type] of cases) {
      const queue = recordingQueue();
      const response = await callWorker(await maintainXDelivery(sourceType, uniqueNewWorkOrder()), {
        EVENTS_QUEUE: queue,
      });
      expect(response.status, sourceType).toBe(200);
      expect((queue.sent[0] as EventMessage).event.type, sourceType).toBe(type);
    }
  });

  it("accepts an unknown event type with 200 so MaintainX does not retry or disable it", async () => {
    const response = await callWorker(await maintainXDelivery("VENDOR_CHANGE", { vendorId: 77, orgId: 1 }));
    expect(response.status).toBe(200);
    expect((await json(response)).status).toBe("accepted");
  });

  it("accepts a signature made with the previous secret (rotation)", async () => {
    const response = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { secret: PREVIOUS_SECRET }),
    );
    expect(response.status).toBe(200);
  });

  it("accepts a header carrying several v1 values when any one matches, and ignores unknown keys", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const t = Math.floor(Date.now() / 1000);
    const good = (await signMaintainX(SECRET, raw, t)).split("v1=")[1];
    const signature = `t=${t},v0=abc,v1=${"0".repeat(64)},v1=${good},v2=zzz`;
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw, { signature }));
    expect(response.status).toBe(200);
  });

  it("accepts a millisecond timestamp", async () => {
    const response = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { timestamp: Date.now() }),
    );
    expect(response.status).toBe(200);
  });

  it("verifies the raw bytes: odd whitespace, key order and an emoji are accepted as signed", async () => {
    const id = Math.floor(Math.random() * 1e9);
    const raw = `{ "orgId":99411 ,\n\t"workOrderId" : ${id}, "newWorkOrder": {"title":"Pump 🚰 leaking","priority":"LOW"},"occurredAt":"2026-11-28T09:15:02Z"   }\n`;
    const queue = recordingQueue();
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw), { EVENTS_QUEUE: queue });
    expect(response.status).toBe(200);
    const message = queue.sent[0] as EventMessage;
    expect((message.event.data.newWorkOrder as Record<string, unknown>).title).toBe("Pump 🚰 leaking");
  });

  it("refuses the same data re-serialised under the original signature", async () => {
    const raw = `{ "workOrderId": 12,  "orgId": 1, "occurredAt": "2026-11-28T09:15:02Z" }`;
    const t = Math.floor(Date.now() / 1000);
    const signature = await signMaintainX(SECRET, raw, t);
    const reserialised = JSON.stringify(JSON.parse(raw));
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", reserialised, { signature }));
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({ error: "Invalid signature" });
  });

  it("refuses a delivery signed with another secret", async () => {
    const response = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { secret: "not-the-secret" }),
    );
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({ error: "Invalid signature" });
  });

  it("refuses a signature header with no usable t or v1", async () => {
    for (const signature of ["garbage", "v1=abcd", `t=${Math.floor(Date.now() / 1000)}`, "t=12x,v1=00", ""]) {
      const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { signature }));
      expect(response.status, signature).toBe(401);
      expect(await json(response), signature).toEqual({ error: "Invalid signature" });
    }
  });

  it("refuses timestamps outside the tolerance, in the past and in the future", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301, now + 301, (now - 400) * 1000, 0]) {
      const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { timestamp }));
      expect(response.status, String(timestamp)).toBe(401);
      expect(await json(response)).toEqual({ error: "Signature timestamp outside tolerance" });
    }
    const inside = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { timestamp: now - 290 }),
    );
    expect(inside.status).toBe(200);
  });

  it("honours SIGNATURE_TOLERANCE_SECONDS", async () => {
    const now = Math.floor(Date.now() / 1000);
    const request = await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { timestamp: now - 100 });
    const response = await callWorker(request, { SIGNATURE_TOLERANCE_SECONDS: "60" });
    expect(response.status).toBe(401);
  });

  it("prefers the MaintainX header when both signature headers are present", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const validSeed = await signSeed(SECRET, raw);
    const badMaintainX = `t=${Math.floor(Date.now() / 1000)},v1=${"ab".repeat(32)}`;
    const refused = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", raw, {
        signature: badMaintainX,
        headers: { "x-maintainx-signature": validSeed },
      }),
    );
    expect(refused.status).toBe(401);
    const accepted = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", raw, { headers: { "x-maintainx-signature": "00".repeat(32) } }),
    );
    expect(accepted.status).toBe(200);
  });
});

describe("seed format", () => {
  it("accepts {event,data,timestamp} and uses x-maintainx-event-id as the event id", async () => {
    const eventId = uniqueEventId();
    const queue = recordingQueue();
    const response = await callWorker(await seedDelivery(seedCreated, { eventId }), { EVENTS_QUEUE: queue });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: "accepted", eventId });
    expect((queue.sent[0] as EventMessage).event).toMatchObject({
      id: eventId,
      type: "workorder.created",
      sourceType: "workorder.created",
      source: "webhook",
      workOrderId: "WO-1042",
      occurredAt: seedCreated.timestamp,
      data: seedCreated.data,
    });

    const again = await callWorker(await seedDelivery(seedCreated, { eventId }));
    expect(await json(again)).toEqual({ status: "already_processed", eventId });
  });

  it("derives the id from type and raw body when there is no event-id header", async () => {
    const raw = JSON.stringify({ ...seedCreated, data: { ...seedCreated.data, id: uniqueEventId("WO") } });
    const response = await callWorker(await seedDelivery(raw));
    const expected = await sha256Hex(utf8.encode(`workorder.created\n${raw}`));
    expect(await json(response)).toEqual({ status: "accepted", eventId: expected });
  });

  it("accepts a sha256= prefixed signature and data.workOrderId", async () => {
    const raw = JSON.stringify({ event: "workorder.updated", data: { workOrderId: 991, title: "x" } });
    const signature = `sha256=${await signSeed(SECRET, raw)}`;
    const queue = recordingQueue();
    const response = await callWorker(await seedDelivery(raw, { signature, eventId: uniqueEventId() }), {
      EVENTS_QUEUE: queue,
    });
    expect(response.status).toBe(200);
    expect((queue.sent[0] as EventMessage).event.workOrderId).toBe("991");
  });

  it("refuses a wrong seed signature and a malformed one", async () => {
    for (const signature of ["00".repeat(32), "not-hex", "sha256="]) {
      const response = await callWorker(await seedDelivery(seedCreated, { signature, eventId: uniqueEventId() }));
      expect(response.status).toBe(401);
      expect(await json(response)).toEqual({ error: "Invalid signature" });
    }
  });

  it("refuses an event-id header that is empty, too long, not printable ASCII, or a dot segment no URL can name", async () => {
    for (const eventId of ["x".repeat(201), "caf\u00e9", ".", ".."]) {
      const request = await seedDelivery(seedCreated, {});
      const headers = new Headers(request.headers);
      headers.set("x-maintainx-event-id", eventId);
      const response = await callWorker(new Request(request, { headers }));
      expect(response.status, eventId).toBe(400);
      expect((await json(response)).error).toMatch(/x-maintainx-event-id/);
    }
  });

  it("refuses an event-id header of a form the Worker makes ids in, saying what to send, before storing or queueing", async () => {
    const contentId = await sha256Hex(utf8.encode(`workorder.created\n${uniqueEventId()}`));
    for (const eventId of [
      `poll:${Date.now()}:created`,
      "poll:42:DONE:2026-11-28T09:15:02.417Z",
      "poll:42:2026-11-28T09:15:02.417Z",
      `unknown:${uniqueEventId()}`,
      "change:7",
      contentId,
    ]) {
      const queue = recordingQueue();
      const response = await callWorker(await seedDelivery(seedCreated, { eventId }), { EVENTS_QUEUE: queue });
      expect(response.status, eventId).toBe(400);
      const { error } = await json(response);
      expect(error, eventId).toContain("x-maintainx-event-id must not be an id the Worker makes itself");
      expect(error, eventId).toContain("starting with poll:, unknown: or change:, or 64 lower-case hex characters");
      expect(error, eventId).toContain("send an id of your own, such as evt-<uuid>, or leave the header out");
      expect(queue.sent, eventId).toHaveLength(0);
      expect(await env.IDEMPOTENCY.get(`dedupe:${eventId}`), eventId).toBeNull();
      expect(await env.DB.prepare("SELECT id FROM events WHERE id = ?1").bind(eventId).first(), eventId).toBeNull();
    }
    // Ids that only look alike are the sender's to use: the Worker's ids are case-sensitive.
    for (const eventId of [`POLL:${Date.now()}:created`, `evt-poll:${Date.now()}`, contentId.toUpperCase()]) {
      const response = await callWorker(await seedDelivery(seedCreated, { eventId }));
      expect(await json(response), eventId).toEqual({ status: "accepted", eventId });
    }
  });
});

describe("refusals", () => {
  it("answers 401 when no signature header is present", async () => {
    const response = await callWorker(
      new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, { method: "POST", body: "{}" }),
    );
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({ error: "Missing signature header" });
  });

  it("answers 503 and accepts nothing when no secret is configured", async () => {
    for (const secret of [undefined, "", " , "]) {
      const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder()), {
        MAINTAINX_WEBHOOK_SECRET: secret,
      });
      expect(response.status).toBe(503);
      expect(await json(response)).toEqual({ error: "Webhook secret not configured" });
    }
  });

  it("never honours the local development secret on a public host", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const { LOCAL_DEV_WEBHOOK_SECRET } = await import("../../src/local-dev");
    const request = await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: LOCAL_DEV_WEBHOOK_SECRET });
    const refused = await callWorker(request, { MAINTAINX_WEBHOOK_SECRET: LOCAL_DEV_WEBHOOK_SECRET });
    expect(refused.status).toBe(503);
    const local = await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: LOCAL_DEV_WEBHOOK_SECRET });
    const loopback = new Request(local.url.replace(BASE, "http://127.0.0.1:8787"), local);
    const accepted = await callWorker(loopback, { MAINTAINX_WEBHOOK_SECRET: LOCAL_DEV_WEBHOOK_SECRET });
    expect(accepted.status).toBe(200);
  });

  it("never honours the local development secret through a proxy or tunnel, even one that rewrites Host to localhost", async () => {
    const { LOCAL_DEV_WEBHOOK_SECRET } = await import("../../src/local-dev");
    const secrets = { MAINTAINX_WEBHOOK_SECRET: `${SECRET}, ${LOCAL_DEV_WEBHOOK_SECRET}` };
    const toLocalhost = async (secret: string, headers: Record<string, string>) => {
      const signed = await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), { secret, headers });
      return new Request(signed.url.replace(BASE, "http://localhost:8787"), signed);
    };
    const relayed: Array<Record<string, string>> = [
      // ngrok http 8787 --host-header=rewrite
      { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "abc.ngrok.app" },
      { "x-forwarded-for": "127.0.0.1" },
      { "x-forwarded-host": "abc.ngrok.app" },
      { "x-forwarded-proto": "https" },
      { forwarded: "for=203.0.113.7;proto=https" },
      { "x-real-ip": "203.0.113.7" },
      // cloudflared: the client's address
      { "cf-connecting-ip": "203.0.113.7" },
      { "cf-connecting-ip": "2001:db8::7" },
      { "cf-connecting-ip": "" },
    ];
    for (const headers of relayed) {
      const refused = await callWorker(await toLocalhost(LOCAL_DEV_WEBHOOK_SECRET, headers), secrets);
      expect(refused.status, JSON.stringify(headers)).toBe(401);
      expect(await json(refused)).toEqual({ error: "Invalid signature" });
      // A real subscription secret works through the tunnel: that is what it is for.
      const real = await callWorker(await toLocalhost(SECRET, headers), secrets);
      expect(real.status, JSON.stringify(headers)).toBe(200);
      await real.arrayBuffer();
    }
    // Made on this machine: no proxy header, and the client address (when set) a loopback one.
    for (const client of [undefined, "127.0.0.1", "127.0.0.2", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      const headers: Record<string, string> = client === undefined ? {} : { "cf-connecting-ip": client };
      const accepted = await callWorker(await toLocalhost(LOCAL_DEV_WEBHOOK_SECRET, headers), secrets);
      expect(accepted.status, String(client)).toBe(200);
      await accepted.arrayBuffer();
    }
  });

  it("answers 413 from Content-Length before reading the body", async () => {
    const request = await maintainXDelivery("NEW_WORK_ORDER", JSON.stringify(uniqueNewWorkOrder()));
    const response = await callWorker(request, { MAX_BODY_BYTES: "100" });
    expect(response.status).toBe(413);
    expect(await json(response)).toEqual({ error: "Payload too large" });
  });

  it("checks the declared size before the signature header", async () => {
    const response = await callWorker(
      new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, {
        method: "POST",
        headers: { "content-length": "2000" },
        body: "x".repeat(2000),
      }),
      { MAX_BODY_BYTES: "1000" },
    );
    expect(response.status).toBe(413);
  });

  it("answers 413 for a chunked upload that grows past the limit", async () => {
    const chunk = utf8.encode(`{"pad":"${"x".repeat(60_000)}`);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(chunk);
      },
    });
    const t = Math.floor(Date.now() / 1000);
    const request = new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, {
      method: "POST",
      headers: { "x-maintainx-webhook-body-signature": `t=${t},v1=${"00".repeat(32)}` },
      body: stream,
    });
    expect(request.headers.get("content-length")).toBeNull();
    const response = await callWorker(request, { MAX_BODY_BYTES: "200000" });
    expect(response.status).toBe(413);
  });

  it("answers 400 for signed bodies that are not JSON objects or have no usable type", async () => {
    const cases: Array<[string | undefined, string, RegExp]> = [
      ["NEW_WORK_ORDER", "not json", /not valid JSON/],
      ["NEW_WORK_ORDER", "", /not valid JSON/],
      ["NEW_WORK_ORDER", "[1,2]", /JSON object/],
      ["NEW_WORK_ORDER", '"text"', /JSON object/],
      ["NEW_WORK_ORDER", "null", /JSON object/],
      [undefined, '{"workOrderId":1}', /No event type/],
      ["BAD$TYPE", '{"workOrderId":1}', /Malformed event type/],
      ["_x", '{"workOrderId":1}', /Malformed event type/],
      [undefined, '{"event":"bad type!","data":{}}', /Malformed event type/],
      [undefined, '{"event":"workorder.created","data":[1]}', /'data'/],
    ];
    for (const [type, raw, error] of cases) {
      const response = await callWorker(await maintainXDelivery(type, raw));
      expect(response.status, raw).toBe(400);
      expect((await json(response)).error, raw).toMatch(error);
    }
  });

  it("answers 400 for a signed body that is not UTF-8", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", bytes));
    expect(response.status).toBe(400);
  });

  it("answers 503 when the queue refuses, writes no dedupe key, and accepts the sender's retry", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const failed = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw), { EVENTS_QUEUE: failingQueue() });
    expect(failed.status).toBe(503);
    const body = await json(failed);
    expect(body.error).toMatch(/retry/);
    const id = await sha256Hex(utf8.encode(`NEW_WORK_ORDER\n${raw}`));
    expect(await env.IDEMPOTENCY.get(`dedupe:${id}`)).toBeNull();

    const retry = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(await json(retry)).toEqual({ status: "accepted", eventId: id });
  });

  it("answers 405 for other methods on the webhook routes and 404 elsewhere", async () => {
    expect((await callWorker(new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`))).status).toBe(405);
    const missing = await callWorker(new Request(`${BASE}/nope`));
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: "Not found" });
  });

  it("never echoes a secret or a signature in any answer", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const request = await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: "wrong" });
    const signature = request.headers.get("x-maintainx-webhook-body-signature") ?? "";
    const text = await (await callWorker(request)).text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(signature.split("v1=")[1]);
  });
});

describe("the webhook routes", () => {
  async function answer(response: Response) {
    return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
  }

  it("take every form of the webhook path: a query, an escaped type", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const id = await sha256Hex(utf8.encode(`NEW_WORK_ORDER\n${raw}`));
    const first = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(await json(first)).toEqual({ status: "accepted", eventId: id });

    // NEW%5FWORK%5FORDER has a percent escape, which the router decodes.
    for (const type of ["NEW_WORK_ORDER", "NEW_WORK_ORDER?via=test", "NEW%5FWORK%5FORDER"]) {
      const again = await callWorker(await maintainXDelivery(type, raw));
      expect(again.status).toBe(200);
      expect(await json(again)).toEqual({ status: "already_processed", eventId: id });
      const forged = await callWorker(await maintainXDelivery(type, raw, { secret: "not-the-secret" }));
      expect(forged.status).toBe(401);
    }
  });

  it("answer other methods 405, and a path they do not name 404", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    for (const path of [
      "/webhooks/maintainxx",
      "/webhooks/maintainx//",
      "/webhooks/maintainx/A/B",
      "/Webhooks/maintainx",
      "/webhooks/maintainx/",
      "/webhooks/maintainx/NEW_WORK_ORDER/",
      "/webhooks/maintainx/NEW_WORK_ORDER/?via=test",
    ]) {
      const request = await maintainXDelivery("NEW_WORK_ORDER", raw);
      const moved = new Request(`${BASE}${path}`, request);
      const response = await callWorker(moved);
      expect([path, response.status]).toEqual([path, 404]);
      expect(await json(response)).toEqual({ error: "Not found" });
    }
    const get = await callWorker(new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER?x=1`));
    expect(get.status).toBe(405);
  });

  it("answer a refused delivery without an execution context (as app.request calls it)", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const forged = await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: "not-the-secret" });
    const response = await app.request(forged, undefined, testEnv());
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({ error: "Invalid signature" });
  });

  it("answer an unexpected failure with a bare 500", async () => {
    // A runtime that refuses waitUntil: the receiver throws after queueing, with no answer of its own.
    const refusing = {
      waitUntil() {
        throw new Error("waitUntil refused");
      },
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext;
    const worker = (await import("../../src/index")).default;
    const delivery = () => maintainXDelivery("NEW_WORK_ORDER", JSON.stringify(uniqueNewWorkOrder()));
    const expected = { status: 500, type: "application/json", body: '{"error":"Internal error"}' };
    expect(await answer(await worker.fetch(await delivery(), testEnv(), refusing))).toEqual(expected);
    expect(await answer(await app.fetch(await delivery(), testEnv(), refusing))).toEqual(expected);
  });
});

describe("large and concurrent deliveries", () => {
  it("stores a 1 MiB body as a claim check and queues a reference to it", async () => {
    const filler = "🛠 conveyor ".repeat(1);
    const base = uniqueNewWorkOrder();
    const padding = "p".repeat(1_048_576 - utf8.encode(JSON.stringify({ ...base, notes: filler, pad: "" })).byteLength);
    const raw = JSON.stringify({ ...base, notes: filler, pad: padding });
    expect(utf8.encode(raw).byteLength).toBe(1_048_576);

    const queue = recordingQueue();
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw), { EVENTS_QUEUE: queue });
    expect(response.status).toBe(200);
    const message = queue.sent[0] as EventMessage;
    expect(message.payloadKey).toBe(`payload:${message.event.id}`);
    expect(message.event.data).toEqual({});
    expect(await env.IDEMPOTENCY.get(message.payloadKey as string)).toBe(raw);
  });

  it("one over MAX_BODY_BYTES is refused", async () => {
    const raw = `{"pad":"${"p".repeat(1_048_576 - 9)}"}`;
    expect(raw.length).toBe(1_048_577);
    const response = await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(response.status).toBe(413);
  });

  it("answers every one of 20 concurrent identical deliveries with 200 and one event id", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const responses = await Promise.all(
      Array.from({ length: 20 }, async () => callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw))),
    );
    const bodies = await Promise.all(responses.map(json));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(bodies.map((b) => b.eventId)).size).toBe(1);
    for (const b of bodies) expect(["accepted", "already_processed"]).toContain(b.status);
    const later = await json(await callWorker(await maintainXDelivery("NEW_WORK_ORDER", raw)));
    expect(later.status).toBe("already_processed");
  });
});

describe("status change delivery", () => {
  it("carries the work order id and statuses into the canonical event", async () => {
    const queue = recordingQueue();
    const body = { ...statusDone, workOrderId: Math.floor(Math.random() * 1e9) };
    await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body), { EVENTS_QUEUE: queue });
    const { event } = queue.sent[0] as EventMessage;
    expect(event.type).toBe("workorder.status_changed");
    expect(event.workOrderId).toBe(String(body.workOrderId));
    expect(event.data.newStatus).toBe("DONE");
  });
});
