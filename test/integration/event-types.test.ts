// Every MaintainX event type under its canonical name, with its subject; and what cancel and skip
// do (they arrive as a status change to DONE with a sub status, and are not completions).

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sampleMaintainXBody } from "../../cli/samples";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import type { EventMessage } from "../../src/events/message";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { listSideEffects } from "../../src/store/side-effects";
import { maintainXDelivery } from "../helpers/deliveries";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { world, worldApi, worldErp, worldSlack } from "../helpers/outbound";
import { callWorker, recordingQueue, testEnv } from "../helpers/worker";

/** MaintainX type → canonical type and subject field, written out as docs/events.md's table says. */
const TABLE: Array<[type: string, canonical: string, subject?: [kind: string, field: string]]> = [
  ["NEW_WORK_ORDER", "workorder.created", ["workorder", "workOrderId"]],
  ["WORK_ORDER_CHANGE", "workorder.updated", ["workorder", "workOrderId"]],
  ["WORK_ORDER_STATUS_CHANGE", "workorder.status_changed", ["workorder", "workOrderId"]],
  ["WORK_ORDER_DELETE", "workorder.deleted", ["workorder", "workOrderId"]],
  ["WORK_ORDER_OVERDUE", "workorder.overdue", ["workorder", "workOrderId"]],
  ["NEW_COMMENT_ON_WORK_ORDER", "workorder.comment_added", ["workorder", "workOrderId"]],
  ["NEW_CATEGORY_ON_WORK_ORDER", "workorder.category_added", ["workorder", "workOrderId"]],
  ["WORK_ORDER_PART_STATUS_CHANGE", "workorder.part_status_changed", ["workorder", "workOrderId"]],
  ["NEW_WORK_REQUEST", "workrequest.created", ["workrequest", "workRequestId"]],
  ["WORK_REQUEST_STATUS_CHANGE", "workrequest.status_changed", ["workrequest", "requestId"]],
  ["NEW_ASSET", "asset.created", ["asset", "assetId"]],
  ["ASSET_STATUS_CHANGE", "asset.status_changed", ["asset", "assetId"]],
  ["NEW_PART", "part.created", ["part", "partId"]],
  ["PART_CHANGE", "part.updated", ["part", "partId"]],
  ["PART_DELETE", "part.deleted", ["part", "partId"]],
  ["PART_QUANTITY_CHANGE", "part.quantity_changed", ["part", "partId"]],
  ["PART_TRANSFER", "part.transferred"],
  ["NEW_PURCHASE_ORDER", "purchaseorder.created", ["purchaseorder", "purchaseOrderId"]],
  ["PURCHASE_ORDER_CHANGE", "purchaseorder.updated", ["purchaseorder", "purchaseOrderId"]],
  ["PURCHASE_ORDER_STATUS_CHANGE", "purchaseorder.status_changed", ["purchaseorder", "purchaseOrderId"]],
  ["NEW_LOCATION", "location.created", ["location", "locationId"]],
  ["NEW_VENDOR", "vendor.created", ["vendor", "vendorId"]],
  ["METER_TRIGGER_STATE_CHANGE", "meter.trigger_state_changed", ["meter", "meterId"]],
  ["API_TOKEN_CREATED", "audit.api_token_created"],
  ["API_TOKEN_REVOKED", "audit.api_token_revoked"],
  ["CONNECTOR_TOKEN_REVOKED", "audit.connector_token_revoked"],
  ["DATA_EXPORT_INITIATED", "audit.data_export_initiated"],
  ["INVITE_LINK_ARCHIVED", "audit.invite_link_archived"],
  ["INVITE_LINK_CREATED", "audit.invite_link_created"],
  ["INVITE_LINK_UPDATED", "audit.invite_link_updated"],
  ["NEW_SLASH_COMMAND", "audit.new_slash_command"],
  ["ROLE_ARCHIVED", "audit.role_archived"],
  ["ROLE_CREATED", "audit.role_created"],
  ["ROLE_UPDATED", "audit.role_updated"],
  ["SSO_CONFIG_CHANGED", "audit.sso_config_changed"],
  ["USER_ACTIVATED", "audit.user_activated"],
  ["USER_INVITED", "audit.user_invited"],
  ["USER_LOGIN_FAILURE", "audit.user_login_failure"],
  ["USER_LOGIN_SUCCESS", "audit.user_login_success"],
  ["USER_LOGOUT", "audit.user_logout"],
  ["USER_PERMISSIONS_CHANGED", "audit.user_permissions_changed"],
  ["USER_REMOVED", "audit.user_removed"],
  ["USER_ROLE_CHANGED", "audit.user_role_changed"],
  ["USER_SESSION_REVOKED", "audit.user_session_revoked"],
  ["WEBHOOK_ARCHIVED", "audit.webhook_archived"],
  ["WEBHOOK_CREATED", "audit.webhook_created"],
];

async function queuedEvent(type: string, body: Record<string, unknown>) {
  const queue = recordingQueue();
  const response = await callWorker(await maintainXDelivery(type, body), { EVENTS_QUEUE: queue });
  expect(response.status, type).toBe(200);
  return (queue.sent[0] as EventMessage).event;
}

describe("every MaintainX type", () => {
  it("has the 46 types of MaintainX's description in the table", () => {
    expect(new Set(TABLE.map(([type]) => type)).size).toBe(46);
  });

  it("is queued under its canonical name, with the subject its payload names", async () => {
    for (const [type, canonical, subject] of TABLE) {
      const body: Record<string, unknown> = { orgId: 99411, occurredAt: new Date().toISOString(), actorId: 7 };
      if (subject) body[subject[1]] = 4_200_017;
      const event = await queuedEvent(type, body);
      expect(event.type, type).toBe(canonical);
      expect(event.sourceType, type).toBe(type);
      expect(event.subject, type).toEqual(subject ? { kind: subject[0], id: "4200017" } : undefined);
      // Work-order events, and only they, carry workOrderId.
      expect(event.workOrderId, type).toBe(subject?.[0] === "workorder" ? "4200017" : undefined);
    }
  });

  it("keeps workOrderId off events of other kinds, even when their payload names a work order", async () => {
    const event = await queuedEvent("PART_QUANTITY_CHANGE", {
      partId: 963,
      orgId: 99411,
      quantityDiff: -2,
      triggeredFrom: "WORK_ORDER",
      workOrderId: 4821337,
      locations: [],
      occurredAt: new Date().toISOString(),
    });
    expect(event.subject).toEqual({ kind: "part", id: "963" });
    expect(event.workOrderId).toBeUndefined();
  });

  it("takes PART_TRANSFER's triggeredAt as when it occurred; it has no orgId and no subject", async () => {
    const triggeredAt = "2026-11-30T08:15:00.000Z";
    const event = await queuedEvent("PART_TRANSFER", {
      triggeredFrom: "INSTANT_TRANSFER",
      userId: 551201,
      quantity: 3,
      sourceData: { orgId: 99411, locationId: 30221 },
      destinationData: { orgId: 99412, locationId: 30500 },
      triggeredAt,
    });
    expect(event).toMatchObject({ type: "part.transferred", occurredAt: triggeredAt });
    expect(event.subject).toBeUndefined();
  });

  it("keeps a type MaintainX does not document under its own name, with no subject", async () => {
    const event = await queuedEvent("NEW_FLEET_VEHICLE", { vehicleId: 5, orgId: 1 });
    expect(event).toMatchObject({ type: "NEW_FLEET_VEHICLE", sourceType: "NEW_FLEET_VEHICLE" });
    expect(event.subject).toBeUndefined();
  });

  it("gives a seed work-order event its work order as the subject", async () => {
    const { seedDelivery } = await import("../helpers/deliveries");
    const queue = recordingQueue();
    const response = await callWorker(
      await seedDelivery({ event: "workorder.updated", data: { id: "WO-77", title: "Oil pump" } }),
      { EVENTS_QUEUE: queue },
    );
    expect(response.status).toBe(200);
    const { event } = queue.sent[0] as EventMessage;
    expect(event.subject).toEqual({ kind: "workorder", id: "WO-77" });
    expect(event.workOrderId).toBe("WO-77");
  });
});

// ---- cancel, skip and complete, through the real queue and the default handlers ----

async function settled(id: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
    if (row && row.status !== "accepted") return row.status;
    if (Date.now() > deadline) throw new Error(`event ${id} still ${row?.status ?? "unknown"}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The event's outcomes under every key its handlers were claimed by (completions: their ending's). */
async function outcomes(eventId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await listSideEffects(env.DB, eventId)).map((o) => [o.handler, o.status]));
}

let nextId = 7_100_000 + Math.floor(Math.random() * 100_000) * 10;

/** A status change to DONE as MaintainX delivers it: no id, status or updatedAt in `newWorkOrder`. */
function doneDelivery(subStatus: "CANCELED" | "SKIPPED" | null | undefined) {
  nextId += 1;
  const body: Record<string, unknown> = {
    workOrderId: nextId,
    orgId: 99411,
    occurredAt: new Date().toISOString(),
    oldStatus: "IN_PROGRESS",
    newStatus: "DONE",
    userId: 551877,
    newWorkOrder: { title: "Replace conveyor belt B7", priority: "HIGH", assetId: 771002 },
  };
  if (subStatus !== undefined) body.newSubStatus = subStatus;
  return { id: nextId, body };
}

async function deliver(body: Record<string, unknown>): Promise<string> {
  const response = await callWorker(await maintainXDelivery("WORK_ORDER_STATUS_CHANGE", body));
  expect(response.status).toBe(200);
  const { eventId } = (await response.json()) as { eventId: string };
  return eventId;
}

async function mirrorStatus(id: number): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT status FROM work_orders WHERE id = ?1")
    .bind(String(id))
    .first<{ status: string | null }>();
  return row?.status;
}

describe("cancel and skip are not completions", () => {
  for (const subStatus of ["CANCELED", "SKIPPED"] as const) {
    it(`DONE with newSubStatus ${subStatus}: no ERP sync, no completion report, and the mirror shows ${subStatus}`, async () => {
      const { id, body } = doneDelivery(subStatus);
      const eventId = await deliver(body);

      expect(await settled(eventId)).toBe("processed");
      expect(worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(0);
      expect(await env.REPORTS.head(`reports/${id}.json`)).toBeNull();
      expect(await env.REPORTS.head(`reports/${id}.html`)).toBeNull();
      expect(await mirrorStatus(id)).toBe(subStatus);
      expect(await outcomes(eventId)).toEqual({ warehouse: "done" });
      // The payload carried what the handlers need: MaintainX was not asked.
      expect(worldApi.calls.filter((c) => c.url.includes(`/workorders/${id}`))).toHaveLength(0);
    });
  }

  for (const subStatus of [null, undefined]) {
    it(`DONE with newSubStatus ${subStatus === null ? "null" : "absent"} is a completion: one ERP POST and a report`, async () => {
      const { id, body } = doneDelivery(subStatus);
      const eventId = await deliver(body);

      expect(await settled(eventId)).toBe("processed");
      const posts = worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId);
      expect(posts).toHaveLength(1);
      expect(posts[0]?.json).toMatchObject({ eventId, workOrder: { id: String(id), status: "DONE" } });
      expect(await env.REPORTS.head(`reports/${id}.json`)).not.toBeNull();
      expect(await mirrorStatus(id)).toBe("DONE");
      expect(await outcomes(eventId)).toEqual({ "erp-sync": "done", "completion-report": "done", warehouse: "done" });
    });
  }

  it("a DONE with a sub status MaintainX has not documented is not taken as a completion", async () => {
    const { body } = doneDelivery(undefined);
    const eventId = await deliver({ ...body, newSubStatus: "ARCHIVED" });
    expect(await settled(eventId)).toBe("processed");
    expect(worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId)).toHaveLength(0);
  });
});

describe("real-shaped deliveries", () => {
  it("alerts Slack for a NEW_WORK_ORDER whose entity has no status without guessing one", async () => {
    nextId += 1;
    const response = await callWorker(
      await maintainXDelivery("NEW_WORK_ORDER", {
        workOrderId: nextId,
        orgId: 99411,
        occurredAt: new Date().toISOString(),
        newWorkOrder: { title: "Hydraulic leak on press 4", priority: "HIGH", assetId: 771002 },
      }),
    );
    const { eventId } = (await response.json()) as { eventId: string };
    expect(await settled(eventId)).toBe("processed");
    const posts = worldSlack.calls.filter((c) => (c.json as { text?: string }).text?.includes(`#${nextId}:`));
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toContain("Hydraulic leak on press 4");
    expect(posts[0]?.body).not.toContain("Status:");
  });
});

// ---- every type's real-shaped delivery ends processed ----

/**
 * MaintainX's REST answers for what handlers look up: `GET /workorders/{id}`, `GET /assets/{id}`
 * and `GET /purchaseorders/{id}`, each with the fields its description requires.
 */
function restAnswer(url: string): Response {
  const [collection, last] = new URL(url).pathname.split("/").slice(-2);
  const id = Number(last);
  if (collection === "assets") return Response.json({ asset: { id, name: "Compressor C2" } });
  if (collection === "purchaseorders") {
    return Response.json({ purchaseOrder: { id, title: "Belts", status: "APPROVED", vendorId: 44107, items: [] } });
  }
  if (collection !== "workorders") return new Response('{"message":"not found"}', { status: 404 });
  return Response.json({
    workOrder: {
      id,
      sequentialId: id % 10_000,
      title: "Inspect compressor C2",
      status: "OPEN",
      priority: "LOW",
      createdAt: "2026-11-30T08:00:00.000Z",
      updatedAt: "2026-11-30T08:05:00.000Z",
    },
  });
}

async function settledAll(ids: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ids) out[id] = await settled(id);
  return out;
}

describe("a delivery of any of the 46 types, as MaintainX sends it", () => {
  for (const shape of ["with its entity", "with the required fields only"] as const) {
    it(`is accepted and ends processed (${shape})`, async () => {
      const fallback = worldApi.fallback;
      worldApi.fallback = (request) => restAnswer(request.url);
      try {
        const sent: Array<[string, string]> = [];
        for (const type of MAINTAINX_EVENT_TYPES) {
          const body = sampleMaintainXBody(type, { minimal: shape !== "with its entity" });
          const response = await callWorker(await maintainXDelivery(type, body));
          expect(response.status, type).toBe(200);
          const answer = (await response.json()) as { status: string; eventId: string };
          expect(answer.status, type).toBe("accepted");
          sent.push([type, answer.eventId]);
        }
        const statuses = await settledAll(sent.map(([, id]) => id));
        expect(Object.fromEntries(sent.map(([type, id]) => [type, statuses[id]]))).toEqual(
          Object.fromEntries(MAINTAINX_EVENT_TYPES.map((type) => [type, "processed"])),
        );
      } finally {
        worldApi.fallback = fallback;
      }
    });
  }

  it("ends processed without MAINTAINX_API_KEY too (webhooks only)", async () => {
    // The consumer is run directly here: the real queue's consumer has the configured API key.
    const webhooksOnly = testEnv({ MAINTAINX_API_KEY: undefined });
    const events = await Promise.all(
      MAINTAINX_EVENT_TYPES.map((type) => maintainXEvent(type, sampleMaintainXBody(type, { minimal: true }))),
    );
    const result = await settle(batchOf(events.map((event) => messageFor(event))), (batch) =>
      consumeEvents(batch, webhooksOnly, { registry, fetch: world.fetch }),
    );
    expect(result.explicitAcks).toHaveLength(MAINTAINX_EVENT_TYPES.length);
    expect(result.retryMessages).toEqual([]);
    const statuses = await settledAll(events.map((event) => event.id));
    expect(new Set(Object.values(statuses))).toEqual(new Set(["processed"]));
  });
});
