// Operator routes under /admin (SPEC §6), all behind requireAdminToken.

import { Hono } from "hono";
import { readConfig } from "../config";
import { EVENT_TYPE_PATTERN } from "../events/canonical";
import { type EventMessage, isEventMessage } from "../events/message";
import { reportKey } from "../handlers/report";
import { ingestEvent } from "../ingest/enqueue";
import { httpError } from "../lib/http-error";
import { describeError, log } from "../lib/log";
import { readCursor, readPollState } from "../polling/state";
import {
  countEventsByStatus,
  EVENT_STATUSES,
  type EventStatus,
  getEventSummary,
  lastDeadLetter,
  lastWebhookAt,
  listEvents,
  loadEvent,
  setEventStatus,
} from "../store/event-log";
import { listSideEffects } from "../store/side-effects";
import { getMirroredWorkOrder } from "../store/work-orders";
import { requireAdminToken } from "./auth";

export const admin = new Hono<{ Bindings: Env }>();
admin.use("*", requireAdminToken());

const MAX_LIMIT = 1000;

admin.get("/events", async (c) => {
  const { limit: limitText, status, type } = c.req.query();
  let limit = 50;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIMIT) {
      throw httpError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    limit = Number(limitText);
  }
  if (status !== undefined && !EVENT_STATUSES.includes(status as EventStatus)) {
    throw httpError(400, `status must be one of ${EVENT_STATUSES.join(", ")}`);
  }
  if (type !== undefined && !EVENT_TYPE_PATTERN.test(type)) {
    throw httpError(400, "type must be a canonical event type such as workorder.created");
  }
  const events = await listEvents(c.env.DB, { limit, status: status as EventStatus | undefined, type });
  return c.json({ events });
});

admin.get("/events/:id", async (c) => {
  const id = c.req.param("id");
  const [summary, event] = await Promise.all([getEventSummary(c.env.DB, id), loadEvent(c.env.DB, id)]);
  if (!summary || !event) throw httpError(404, "Event not found");
  const outcomes = (await listSideEffects(c.env.DB, id)).map(({ detail: _detail, ...outcome }) => outcome);
  return c.json({ event: { ...summary, data: event.data, outcomes } });
});

admin.post("/events/:id/replay", async (c) => {
  const id = c.req.param("id");
  const event = await loadEvent(c.env.DB, id);
  if (!event) throw httpError(404, "Event not found");
  try {
    const dead = await lastDeadLetter(c.env.DB, id);
    if (Object.keys(event.data).length === 0 && isEventMessage(dead) && dead.payloadKey) {
      // The event log never saw its data (its claim check was never read): replay the message.
      const message: EventMessage = { ...dead, replay: true };
      await c.env.EVENTS_QUEUE.send(message, { contentType: "json" });
    } else {
      await ingestEvent(c.env, event, { dedupeTtlSeconds: readConfig(c.env).dedupeTtlSeconds, replay: true });
    }
  } catch (error) {
    log.error("Replay could not be queued", { eventId: id, error: describeError(error) });
    throw httpError(503, "Replay could not be queued; try again");
  }
  await setEventStatus(c.env.DB, id, "accepted", null);
  log.info("Event replay queued", { eventId: id });
  return c.json({ status: "replaying", eventId: id }, 202);
});

admin.get("/work-orders/:id", async (c) => {
  const workOrder = await getMirroredWorkOrder(c.env.DB, c.req.param("id"));
  if (!workOrder) throw httpError(404, "Work order not in the mirror");
  return c.json({ workOrder });
});

admin.get("/reports/:workOrderId", async (c) => {
  const wantsJson = (c.req.header("accept") ?? "").includes("application/json");
  const object = await c.env.REPORTS.get(reportKey(c.req.param("workOrderId"), wantsJson ? "json" : "html"));
  if (!object) throw httpError(404, "Report not found");
  return new Response(object.body, {
    headers: {
      "content-type": wantsJson ? "application/json" : "text/html; charset=utf-8",
      "cache-control": "no-store",
    },
  });
});

admin.get("/status", async (c) => {
  const [cursor, state, events, lastWebhook] = await Promise.all([
    readCursor(c.env.IDEMPOTENCY),
    readPollState(c.env.DB),
    countEventsByStatus(c.env.DB),
    lastWebhookAt(c.env.DB),
  ]);
  return c.json({
    poll: {
      cursor,
      lastRunAt: state?.lastRunAt ?? null,
      outcome: state?.outcome ?? null,
      pages: state?.pages ?? 0,
      events: state?.events ?? 0,
      skippedUntil: state?.skippedUntil ?? null,
    },
    events,
    lastWebhookAt: lastWebhook ?? null,
  });
});
