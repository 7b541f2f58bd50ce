// Security claims of SECURITY.md that no other test pins down: secret rotation, the bounds on a
// re-routed delivery, the URI signature being neither required nor trusted, replays of a seed
// delivery after its KV dedupe key expired, a seed event id in the poller's namespace, and the
// admin replay route's guard.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { acceptPolledWorkOrders } from "../../src/ingest/accept-polled";
import { consumeEvents } from "../../src/routing/consumer";
import { dedupeKey } from "../../src/store/keys";
import { signMaintainX } from "../../src/webhooks/signature";
import seedCreated from "../fixtures/seed-workorder-created.json";
import {
  BASE,
  maintainXDelivery,
  PREVIOUS_SECRET,
  SECRET,
  seedDelivery,
  uniqueEventId,
  uniqueNewWorkOrder,
} from "../helpers/deliveries";
import { batchOf, settle } from "../helpers/events";
import { createOutbound, SLACK_URL } from "../helpers/outbound";
import { callWorker, type EnvOverrides, recordingQueue, testEnv } from "../helpers/worker";

const held = () => recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue<unknown>);

async function post(request: Request, overrides: EnvOverrides = {}) {
  const queue = held();
  const response = await callWorker(request, { EVENTS_QUEUE: queue, ...overrides });
  const body = (await response.json()) as { status?: string; eventId?: string; error?: string };
  return { status: response.status, body, messages: queue.sent as EventMessage[] };
}

let outbound: ReturnType<typeof createOutbound>;
let slack: ReturnType<typeof outbound.sink>;
beforeEach(() => {
  outbound = createOutbound();
  slack = outbound.sink(SLACK_URL);
});

async function consume(message: EventMessage) {
  const environment = testEnv({ SLACK_WEBHOOK_URL: SLACK_URL, MAINTAINX_API_KEY: undefined });
  return settle(batchOf([message]), (batch) => consumeEvents(batch, environment, { registry, fetch: outbound.fetch }));
}

describe("secret rotation", () => {
  it("refuses a secret once it is removed from MAINTAINX_WEBHOOK_SECRET, though this isolate just used it", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const both = await post(await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: PREVIOUS_SECRET }));
    expect(both.status).toBe(200);
    const rotated = await post(await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: PREVIOUS_SECRET }), {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
    });
    expect(rotated.status).toBe(401);
    expect(rotated.body).toEqual({ error: "Invalid signature" });
    const current = await post(await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: SECRET }), {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
    });
    expect(current.status).toBe(200);
  });
});

describe("re-routed deliveries (the body signature does not cover the path)", () => {
  it("with one secret for every type, a re-routed copy is an event of the other type: it cannot suppress the genuine one", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const genuine = await maintainXDelivery("NEW_WORK_ORDER", raw);
    const captured = genuine.headers.get("x-maintainx-webhook-body-signature") ?? "";
    const first = await post(genuine);
    const rerouted = await post(await maintainXDelivery("WORK_ORDER_CHANGE", raw, { signature: captured }));
    expect(first.body.status).toBe("accepted");
    expect(rerouted.status).toBe(200);
    expect(rerouted.body.eventId).not.toBe(first.body.eventId);
    expect(rerouted.messages[0]?.event.sourceType).toBe("WORK_ORDER_CHANGE");
    // The genuine delivery's own retry is still recognised as the genuine event.
    const retry = await post(await maintainXDelivery("NEW_WORK_ORDER", raw));
    expect(retry.body).toEqual({ status: "already_processed", eventId: first.body.eventId });
  });

  it("with secrets bound to their types, a copy re-posted to another type's path is refused", async () => {
    const bound = { MAINTAINX_WEBHOOK_SECRET: "NEW_WORK_ORDER:secret-for-new, WORK_ORDER_CHANGE:secret-for-change" };
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const genuine = await maintainXDelivery("NEW_WORK_ORDER", raw, { secret: "secret-for-new" });
    const captured = genuine.headers.get("x-maintainx-webhook-body-signature") ?? "";
    expect((await post(genuine, bound)).body.status).toBe("accepted");
    const rerouted = await post(await maintainXDelivery("WORK_ORDER_CHANGE", raw, { signature: captured }), bound);
    expect(rerouted.status).toBe(401);
    expect(rerouted.body).toEqual({ error: "Invalid signature" });
    expect(rerouted.messages).toHaveLength(0);
    // Each bound secret still verifies its own type; the untyped seed path takes unbound secrets only.
    const change = await post(
      await maintainXDelivery("WORK_ORDER_CHANGE", uniqueNewWorkOrder(), { secret: "secret-for-change" }),
      bound,
    );
    expect(change.status).toBe(200);
    const seed = { ...seedCreated, data: { ...seedCreated.data, id: uniqueEventId("WO") } };
    const untyped = await post(await seedDelivery(seed, { secret: "secret-for-new" }), bound);
    expect(untyped.status).toBe(401);
  });

  it("drops an entry that names a type but no secret, rather than taking `TYPE:` as a secret for every type", async () => {
    const careless = { MAINTAINX_WEBHOOK_SECRET: `NEW_WORK_ORDER:, WORK_ORDER_CHANGE:${SECRET}` };
    for (const type of ["NEW_WORK_ORDER", "WORK_ORDER_STATUS_CHANGE"]) {
      const guessed = await post(
        await maintainXDelivery(type, uniqueNewWorkOrder(), { secret: "NEW_WORK_ORDER:" }),
        careless,
      );
      expect(guessed.status, type).toBe(401);
    }
    const status = await callWorker(new Request(`${BASE}/admin/status`, { headers: { authorization: "Bearer t" } }), {
      ...careless,
      ADMIN_TOKEN: "t",
    });
    expect(((await status.json()) as { config: unknown[] }).config).toContainEqual(
      expect.objectContaining({ name: "MAINTAINX_WEBHOOK_SECRET", value: "NEW_WORK_ORDER:" }),
    );
  });

  it("an unbound secret beside bound ones verifies every type and the seed path", async () => {
    const mixed = { MAINTAINX_WEBHOOK_SECRET: `NEW_WORK_ORDER:secret-for-new, ${SECRET}` };
    for (const type of ["NEW_WORK_ORDER", "WORK_ORDER_STATUS_CHANGE"]) {
      const response = await post(await maintainXDelivery(type, uniqueNewWorkOrder(), { secret: SECRET }), mixed);
      expect(response.status, type).toBe(200);
    }
    const seed = { ...seedCreated, data: { ...seedCreated.data, id: uniqueEventId("WO") } };
    expect((await post(await seedDelivery(seed, { secret: SECRET }), mixed)).status).toBe(200);
  });
});

describe("what is signed decides identity", () => {
  it("ignores x-maintainx-event-id in MaintainX's format: a captured delivery with a fresh header is a duplicate", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const genuine = await maintainXDelivery("NEW_WORK_ORDER", raw);
    const captured = genuine.headers.get("x-maintainx-webhook-body-signature") ?? "";
    const first = await post(genuine);
    expect(first.body.status).toBe("accepted");
    for (const fresh of [uniqueEventId("forged"), uniqueEventId("forged")]) {
      const replayed = await post(
        await maintainXDelivery("NEW_WORK_ORDER", raw, {
          signature: captured,
          headers: { "x-maintainx-event-id": fresh },
        }),
      );
      expect(replayed.status).toBe(200);
      expect(replayed.body).toEqual({ status: "already_processed", eventId: first.body.eventId });
      expect(replayed.messages).toHaveLength(0);
    }
  });

  it("answers 400 for a signed delivery to a dotted or lower-case path type, and 401 for an unsigned one", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    for (const type of ["workorder.created", "new_work_order", "New_Work_Order"]) {
      const signed = await post(await maintainXDelivery(type, raw));
      expect(signed.status, type).toBe(400);
      expect(signed.body.error, type).toMatch(/MaintainX type such as NEW_WORK_ORDER/);
      expect(signed.messages).toHaveLength(0);
      // A fresh timestamp and a MAC that does not match: refused on the signature, before the path's type.
      const t = Math.floor(Date.now() / 1000);
      const unsigned = await post(await maintainXDelivery(type, raw, { signature: `t=${t},v1=${"00".repeat(32)}` }));
      expect(unsigned.status, type).toBe(401);
      expect(unsigned.body, type).toEqual({ error: "Invalid signature" });
    }
  });
});

describe("captured deliveries", () => {
  it("a captured delivery is refused on any path once its timestamp is outside the tolerance", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const stale = Math.floor(Date.now() / 1000) - 301;
    const signature = await signMaintainX(SECRET, raw, stale);
    for (const type of ["NEW_WORK_ORDER", "WORK_ORDER_STATUS_CHANGE", "WORK_ORDER_DELETE"]) {
      const replayed = await post(await maintainXDelivery(type, raw, { signature }));
      expect(replayed.status, type).toBe(401);
      expect(replayed.body).toEqual({ error: "Signature timestamp outside tolerance" });
    }
  });
});

describe("the URI signature", () => {
  it("is neither required nor trusted: it never turns a refusal into an acceptance or the reverse", async () => {
    const raw = JSON.stringify(uniqueNewWorkOrder());
    const t = Math.floor(Date.now() / 1000);
    const url = `${BASE}/webhooks/maintainx/NEW_WORK_ORDER`;
    const validUri = await signMaintainX(SECRET, url, t);

    const garbageUri = await post(
      await maintainXDelivery("NEW_WORK_ORDER", raw, {
        headers: { "x-maintainx-webhook-uri-signature": `t=${t},v1=${"00".repeat(32)}` },
      }),
    );
    expect(garbageUri.status).toBe(200);

    const forgedBody = await post(
      await maintainXDelivery("NEW_WORK_ORDER", uniqueNewWorkOrder(), {
        signature: `t=${t},v1=${"ab".repeat(32)}`,
        headers: { "x-maintainx-webhook-uri-signature": validUri },
      }),
    );
    expect(forgedBody.status).toBe(401);
    // A URI signature is not a body signature: presented as one, it is refused.
    const uriAsBody = await post(await maintainXDelivery("NEW_WORK_ORDER", raw, { signature: validUri }));
    expect(uriAsBody.status).toBe(401);
  });
});

describe("replays of a captured seed delivery", () => {
  it("repeats no side effect under the same event id, even after its KV dedupe key expired", async () => {
    const eventId = uniqueEventId("seed-replay");
    const body = { ...seedCreated, data: { ...seedCreated.data, id: uniqueEventId("WO") } };
    const first = await post(await seedDelivery(body, { eventId }));
    expect(first.body).toEqual({ status: "accepted", eventId });
    expect((await consume(first.messages[0] as EventMessage)).explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);

    // The seed format has no timestamp: only the dedupe key (24 h) stops a replay at the edge.
    await env.IDEMPOTENCY.delete(dedupeKey(eventId));
    const replayed = await post(await seedDelivery(body, { eventId }));
    expect(replayed.body).toEqual({ status: "accepted", eventId });
    expect((await consume(replayed.messages[0] as EventMessage)).explicitAcks).toHaveLength(1);
    // The D1 claims outlive the KV key: the alert is not posted again.
    expect(slack.calls).toHaveLength(1);
  });
});

describe("a seed event id in the poller's namespace", () => {
  it("refuses a captured seed delivery re-posted as poll:<N>:created, and the poll still queues N's creation", async () => {
    const workOrderId = String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
    const pollId = `poll:${workOrderId}:created`;
    const captured = await seedDelivery(seedCreated, { eventId: uniqueEventId("captured") });
    // The event-id header is not signed: the same signed body goes in again under the poller's id.
    const headers = new Headers(captured.headers);
    headers.set("x-maintainx-event-id", pollId);
    const attack = await post(new Request(captured, { headers }));
    expect(attack.status).toBe(400);
    expect(attack.body.error).toContain("must not be an id the Worker makes itself (starting with poll:");
    expect(attack.messages).toHaveLength(0);
    expect(await env.IDEMPOTENCY.get(dedupeKey(pollId))).toBeNull();
    expect(await env.DB.prepare("SELECT id FROM events WHERE id = ?1").bind(pollId).first()).toBeNull();

    // The poller's creation fallback for N: a work order created inside the polled window.
    const createdAt = new Date(Date.now() - 60_000).toISOString();
    const since = new Date(Date.now() - 120_000).toISOString();
    const queue = held();
    const workOrder = { id: workOrderId, title: "Belt", priority: "HIGH", createdAt, updatedAt: createdAt };
    const queued = await acceptPolledWorkOrders(
      testEnv({ EVENTS_QUEUE: queue }),
      [workOrder],
      new Date().toISOString(),
      since,
    );
    expect(queued).toBe(2);
    expect((queue.sent as EventMessage[]).map((m) => m.event.id)).toContain(pollId);
  });
});

describe("the admin replay route", () => {
  it("queues nothing without the right bearer token", async () => {
    const eventId = uniqueEventId("admin-guard");
    for (const authorization of [undefined, "Bearer wrong", "Basic YTpi"]) {
      const queue = held();
      const headers = new Headers();
      if (authorization) headers.set("authorization", authorization);
      const response = await callWorker(
        new Request(`${BASE}/admin/events/${eventId}/replay`, { method: "POST", headers }),
        { ADMIN_TOKEN: "the-admin-token", EVENTS_QUEUE: queue },
      );
      expect(response.status).toBe(401);
      expect(queue.sent).toHaveLength(0);
    }
  });
});
