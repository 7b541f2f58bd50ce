// The handlers beyond work orders (docs/events.md): an asset going offline and a meter trigger
// becoming TRIGGERED alert Slack, a purchase order's status change goes to the ERP; and
// SLACK_ALERT_PRIORITIES decides which new work orders reach Slack. Asserts what each sink
// received, which messages were acked or retried with what delay, and each handler's outcome.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { sampleMaintainXBody } from "../../cli/samples";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { listSideEffects } from "../../src/store/side-effects";
import newWorkOrder from "../fixtures/new-work-order.json";
import { maintainXDelivery } from "../helpers/deliveries";
import { settled } from "../helpers/event-status";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { API_BASE, consumerSinks, ERP_URL, reply, SLACK_URL, worldSlack } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

let { outbound, slack, erp, api } = consumerSinks();

const configured = testEnv({
  SLACK_WEBHOOK_URL: SLACK_URL,
  ERP_WEBHOOK_URL: ERP_URL,
  MAINTAINX_API_KEY: "api-key-123",
  MAINTAINX_API_BASE: API_BASE,
  // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
  RETRY_SCHEDULE: "",
  RETRY_BASE_SECONDS: "10",
});

beforeEach(() => {
  ({ outbound, slack, erp, api } = consumerSinks());
});

async function run(bodies: unknown[], environment: Env = configured, attempts = 1) {
  return settle(batchOf(bodies, attempts), (batch) =>
    consumeEvents(batch, environment, { registry, fetch: outbound.fetch, random: () => 0 }),
  );
}

async function outcomes(eventId: string) {
  return Object.fromEntries(
    (await listSideEffects(env.DB, eventId)).map((o) => [o.handler, { status: o.status, detail: o.detail }]),
  );
}

let nextId = 5_100_000 + Math.floor(Math.random() * 100_000) * 10;
function freshId(): number {
  nextId += 1;
  return nextId;
}

/** `GET /assets/{id}` as MaintainX's description gives it: `{asset: {id, name, ...}}`. */
function assetAnswer(id: number, name: string) {
  return reply(200, JSON.stringify({ asset: { id, name, barcode: null, description: null, parentId: null } }), {
    "content-type": "application/json",
  });
}

function assetOffline(id: number, newStatus: Record<string, unknown> = {}) {
  const body = sampleMaintainXBody("ASSET_STATUS_CHANGE", { id });
  return { ...body, newStatus: { ...(body.newStatus as object), ...newStatus } };
}

const text = (call: { json: unknown } | undefined) => (call?.json as { text?: string } | undefined)?.text ?? "";

describe("asset going offline", () => {
  it("posts one Slack alert naming the asset id, its name from GET /assets/{id}, and the downtime type", async () => {
    const id = freshId();
    api.plan(assetAnswer(id, "Forklift <north> & co"));
    const event = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(id, { downtimeType: "UNPLANNED" }));

    const result = await run([messageFor(event)]);

    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(api.calls.map((c) => new URL(c.url).pathname)).toEqual([`/v1/assets/${id}`]);
    expect(api.calls[0]?.headers.authorization).toBe("Bearer api-key-123");
    expect(slack.calls).toHaveLength(1);
    expect(text(slack.calls[0])).toBe(
      `:red_circle: Asset #${id} Forklift &lt;north&gt; &amp; co is offline: UNPLANNED downtime`,
    );
    expect(slack.calls[0]?.body).toContain("Overheated - needs servicing.");
    expect(erp.calls).toEqual([]);
    expect((await outcomes(event.id))["asset-offline-alert"]).toEqual({
      status: "done",
      detail: `offline alert posted for asset ${id}`,
    });
  });

  it("says planned downtime, and that none was given when the payload has no downtime type", async () => {
    const planned = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId(), { downtimeType: "PLANNED" }));
    const unknown = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId(), { downtimeType: null }));
    api.fallback = (request) => {
      const id = Number(new URL(request.url).pathname.split("/").pop());
      return Response.json({ asset: { id, name: `Press ${id}` } });
    };

    await run([messageFor(planned), messageFor(unknown)]);

    const texts = slack.calls.map((c) => text(c)).sort();
    expect(texts).toEqual(
      [
        `:red_circle: Asset #${planned.subject?.id} Press ${planned.subject?.id} is offline: PLANNED downtime`,
        `:red_circle: Asset #${unknown.subject?.id} Press ${unknown.subject?.id} is offline: downtime type not given`,
      ].sort(),
    );
  });

  it("asks MaintainX for the name once per delivery: a retried Slack post asks again, a duplicate never posts twice", async () => {
    const id = freshId();
    api.fallback = assetAnswer(id, "Compressor C2");
    slack.plan(reply(503, "busy"));
    const event = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(id));

    const first = await run([messageFor(event), messageFor(event)]);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 10 }]);
    expect(first.explicitAcks).toHaveLength(1);
    expect(api.calls).toHaveLength(1);
    expect(slack.calls).toHaveLength(1);

    const second = await run([messageFor(event)], configured, 2);
    expect(second.explicitAcks).toHaveLength(1);
    expect(api.calls).toHaveLength(2);
    expect(slack.calls).toHaveLength(2);

    const again = await run([messageFor(event)]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(slack.calls).toHaveLength(2);
    expect(api.calls).toHaveLength(2);
  });

  it("still alerts, with the id alone, when the name lookup fails or there is no API key", async () => {
    const failing = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId()));
    api.fallback = reply(503, "down");
    await run([messageFor(failing)]);
    expect(text(slack.calls[0])).toBe(`:red_circle: Asset #${failing.subject?.id} is offline: UNPLANNED downtime`);
    expect((await outcomes(failing.id))["asset-offline-alert"]?.detail).toMatch(/\(no name: MaintainX API: HTTP 503/);

    const keyless = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId()));
    await run([messageFor(keyless)], testEnv({ ...configured, MAINTAINX_API_KEY: undefined }));
    expect(api.calls).toHaveLength(1);
    expect(text(slack.calls[1])).toBe(`:red_circle: Asset #${keyless.subject?.id} is offline: UNPLANNED downtime`);
  });

  it("is skipped for any other new status, asking nothing and posting nothing", async () => {
    const events = await Promise.all(
      ["ONLINE", "IGNORE"].map((status) =>
        maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId(), { status, downtimeType: null })),
      ),
    );
    const result = await run(events.map((event) => messageFor(event)));
    expect(result.explicitAcks).toHaveLength(2);
    expect(slack.calls).toEqual([]);
    expect(api.calls).toEqual([]);
    expect((await outcomes(events[0]?.id ?? ""))["asset-offline-alert"]).toEqual({
      status: "skipped",
      detail: "asset status is ONLINE, not OFFLINE",
    });
  });

  it("a Slack 4xx fails the event; a 429 retries it after the Retry-After asked", async () => {
    api.fallback = (request) => Response.json({ asset: { id: 1, name: `Asset ${request.url.length}` } });
    const refused = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId()));
    slack.plan(reply(404, "no_service"));
    const result = await run([messageFor(refused)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await outcomes(refused.id))["asset-offline-alert"]?.status).toBe("failed");
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(refused.id).first();
    expect(row).toEqual({ status: "failed" });

    const limited = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId()));
    slack.plan(reply(429, "slow down", { "retry-after": "120" }));
    const retried = await run([messageFor(limited)]);
    expect(retried.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 120 }]);
  });
});

describe("meter trigger becoming TRIGGERED", () => {
  it("posts one Slack alert naming the meter id and the trigger id", async () => {
    const triggerId = freshId();
    const event = await maintainXEvent(
      "METER_TRIGGER_STATE_CHANGE",
      sampleMaintainXBody("METER_TRIGGER_STATE_CHANGE", { id: triggerId }),
    );
    const result = await run([messageFor(event), messageFor(event)]);

    expect(result.explicitAcks).toHaveLength(2);
    expect(slack.calls).toHaveLength(1);
    expect(text(slack.calls[0])).toBe(`:bell: Meter #88213: trigger #${triggerId} is TRIGGERED (was STABLE)`);
    expect(api.calls).toEqual([]);
    expect((await outcomes(event.id))["meter-trigger-alert"]?.status).toBe("done");
  });

  it("is skipped for the other states", async () => {
    const events = await Promise.all(
      ["PENDING", "STABLE", "INACTIVE", "INSUFFICIENT_DATA"].map((newState) =>
        maintainXEvent("METER_TRIGGER_STATE_CHANGE", {
          ...sampleMaintainXBody("METER_TRIGGER_STATE_CHANGE", { id: freshId() }),
          oldState: "TRIGGERED",
          newState,
        }),
      ),
    );
    await run(events.map((event) => messageFor(event)));
    expect(slack.calls).toEqual([]);
    expect((await outcomes(events[0]?.id ?? ""))["meter-trigger-alert"]).toEqual({
      status: "skipped",
      detail: "trigger state is PENDING, not TRIGGERED",
    });
  });
});

describe("purchase-order status change", () => {
  it("POSTs {eventId, purchaseOrder} with Idempotency-Key: <event id>, the payload's order with the new status", async () => {
    const id = freshId();
    const event = await maintainXEvent("PURCHASE_ORDER_STATUS_CHANGE", {
      ...sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id }),
      oldStatus: "APPROVED",
      newStatus: "COMPLETED",
    });
    const result = await run([messageFor(event)]);

    expect(result.explicitAcks).toHaveLength(1);
    expect(erp.calls).toHaveLength(1);
    expect(erp.calls[0]?.headers["idempotency-key"]).toBe(event.id);
    expect(erp.calls[0]?.headers["content-type"]).toBe("application/json");
    const body = erp.calls[0]?.json as { eventId: string; purchaseOrder: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(["eventId", "purchaseOrder"]);
    expect(body.eventId).toBe(event.id);
    expect(body.purchaseOrder).toMatchObject({
      id: String(id),
      status: "COMPLETED",
      vendorId: 44107,
      overrideNumber: "PO-2291",
    });
    expect(body.purchaseOrder.items).toEqual([expect.objectContaining({ partId: 963, quantityOrdered: 4 })]);
    // The payload carried the order: MaintainX was not asked, and Slack has nothing to do with it.
    expect(api.calls).toEqual([]);
    expect(slack.calls).toEqual([]);
  });

  it("fetches GET /purchaseorders/{id} once when the payload has only ids, keeping the event's status", async () => {
    const id = freshId();
    api.plan(
      reply(
        200,
        JSON.stringify({
          purchaseOrder: { id, title: "Belts for line 2", status: "COMPLETED", vendorId: 44107, items: [], costs: [] },
        }),
      ),
    );
    const event = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id, minimal: true }),
    );
    await run([messageFor(event)]);

    expect(api.calls.map((c) => new URL(c.url).pathname)).toEqual([`/v1/purchaseorders/${id}`]);
    expect(erp.calls[0]?.json).toEqual({
      eventId: event.id,
      purchaseOrder: {
        id: String(id),
        title: "Belts for line 2",
        status: "APPROVED",
        vendorId: 44107,
        items: [],
        costs: [],
      },
    });
  });

  it("sends what the payload says without an API key, and when MaintainX refuses the lookup for good", async () => {
    const keyless = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId(), minimal: true }),
    );
    await run([messageFor(keyless)], testEnv({ ...configured, MAINTAINX_API_KEY: undefined }));
    expect(erp.calls[0]?.json).toEqual({
      eventId: keyless.id,
      purchaseOrder: { id: keyless.subject?.id, status: "APPROVED" },
    });

    api.plan(reply(403, '{"message":"no access to purchasing"}'));
    const gone = await maintainXEvent("PURCHASE_ORDER_STATUS_CHANGE", {
      ...sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId(), minimal: true }),
      vendorId: 44107,
    });
    await run([messageFor(gone)]);
    expect(erp.calls[1]?.json).toEqual({
      eventId: gone.id,
      purchaseOrder: { id: gone.subject?.id, status: "APPROVED", vendorId: 44107 },
    });
    expect((await outcomes(gone.id))["erp-purchase-order"]?.detail).toBe(
      `purchase order ${gone.subject?.id} sent (APPROVED); only what the payload says: MaintainX API: HTTP 403 {"message":"no access to purchasing"}`,
    );
  });

  it("retries an ERP 5xx and a failed lookup with backoff, records a 4xx as failed, and sends each once", async () => {
    const lookupDown = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId(), minimal: true }),
    );
    api.plan(reply(503, "down"));
    const down = await run([messageFor(lookupDown)]);
    expect(down.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 10 }]);
    expect(erp.calls).toEqual([]);

    const event = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId() }),
    );
    erp.plan(reply(502, "bad gateway"));
    const first = await run([messageFor(event)]);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 10 }]);
    const second = await run([messageFor(event)], configured, 2);
    expect(second.explicitAcks).toHaveLength(1);
    const third = await run([messageFor(event)], configured, 3);
    expect(third.explicitAcks).toHaveLength(1);
    const sent = erp.calls.filter((c) => c.headers["idempotency-key"] === event.id);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.body).toBe(sent[1]?.body);
    expect((await outcomes(event.id))["erp-purchase-order"]?.status).toBe("done");

    const refused = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId() }),
    );
    erp.plan(reply(422, "unknown vendor"));
    const result = await run([messageFor(refused)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await outcomes(refused.id))["erp-purchase-order"]).toMatchObject({ status: "failed" });
  });

  it("is the only purchase-order type sent: created and updated orders go nowhere", async () => {
    const events = await Promise.all(
      ["NEW_PURCHASE_ORDER", "PURCHASE_ORDER_CHANGE"].map((type) =>
        maintainXEvent(type, sampleMaintainXBody(type, { id: freshId() })),
      ),
    );
    const result = await run(events.map((event) => messageFor(event)));
    expect(result.explicitAcks).toHaveLength(2);
    expect(erp.calls).toEqual([]);
    expect(await outcomes(events[0]?.id ?? "")).toEqual({});
  });
});

describe("nothing is sent where its destination is not configured", () => {
  it("skips each handler with the setting it needs, and asks MaintainX nothing", async () => {
    const unconfigured = testEnv({ ...configured, SLACK_WEBHOOK_URL: undefined, ERP_WEBHOOK_URL: undefined });
    const asset = await maintainXEvent("ASSET_STATUS_CHANGE", assetOffline(freshId()));
    const meter = await maintainXEvent(
      "METER_TRIGGER_STATE_CHANGE",
      sampleMaintainXBody("METER_TRIGGER_STATE_CHANGE", { id: freshId() }),
    );
    const order = await maintainXEvent(
      "PURCHASE_ORDER_STATUS_CHANGE",
      sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE", { id: freshId(), minimal: true }),
    );
    const result = await run(
      [asset, meter, order].map((event) => messageFor(event)),
      unconfigured,
    );

    expect(result.explicitAcks).toHaveLength(3);
    expect([...slack.calls, ...erp.calls, ...api.calls]).toEqual([]);
    expect(await outcomes(asset.id)).toEqual({
      "asset-offline-alert": { status: "skipped", detail: "SLACK_WEBHOOK_URL is not set" },
    });
    expect(await outcomes(meter.id)).toEqual({
      "meter-trigger-alert": { status: "skipped", detail: "SLACK_WEBHOOK_URL is not set" },
    });
    expect(await outcomes(order.id)).toEqual({
      "erp-purchase-order": { status: "skipped", detail: "ERP_WEBHOOK_URL is not set" },
    });
    for (const event of [asset, meter, order]) {
      const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(event.id).first();
      expect(row).toEqual({ status: "processed" });
    }
  });
});

describe("SLACK_ALERT_PRIORITIES", () => {
  function created(priority: string) {
    const id = freshId();
    return { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id, priority } };
  }

  it("posts only HIGH by default", async () => {
    const events = await Promise.all(
      ["HIGH", "MEDIUM", "LOW", "NONE"].map((p) => maintainXEvent("NEW_WORK_ORDER", created(p))),
    );
    await run(events.map((event) => messageFor(event)));
    expect(slack.calls.map((c) => text(c).split(" #")[0])).toEqual([":rotating_light: High-priority work order"]);
    expect((await outcomes(events[1]?.id ?? ""))["slack-alert"]).toEqual({
      status: "skipped",
      detail: "priority is MEDIUM; SLACK_ALERT_PRIORITIES is HIGH",
    });
  });

  it("posts each listed priority, in any case and spacing, and skips the rest saying why", async () => {
    const environment = testEnv({ ...configured, SLACK_ALERT_PRIORITIES: " medium , HIGH" });
    const events = await Promise.all(
      ["HIGH", "MEDIUM", "LOW"].map((p) => maintainXEvent("NEW_WORK_ORDER", created(p))),
    );
    await run(
      events.map((event) => messageFor(event)),
      environment,
    );
    expect(slack.calls.map((c) => text(c).split(" #")[0]).sort()).toEqual([
      ":rotating_light: High-priority work order",
      ":rotating_light: Medium-priority work order",
    ]);
    expect((await outcomes(events[2]?.id ?? ""))["slack-alert"]).toEqual({
      status: "skipped",
      detail: "priority is LOW; SLACK_ALERT_PRIORITIES is MEDIUM,HIGH",
    });
  });
});

describe("through the Worker's own queue", () => {
  it("a signed ASSET_STATUS_CHANGE to OFFLINE reaches Slack once and ends processed", async () => {
    const id = freshId();
    const response = await callWorker(await maintainXDelivery("ASSET_STATUS_CHANGE", assetOffline(id)));
    expect(response.status).toBe(200);
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId)).toBe("processed");
    const posts = worldSlack.calls.filter((c) => text(c).includes(`Asset #${id}`));
    expect(posts).toHaveLength(1);
  });
});
