// The real changes of a work order that some handlers act on once, whichever path reported them
// (ARCHITECTURE.md, "Once per real change"): its creation, and each time it ended (completed,
// cancelled or skipped). Pure: which change an event reports, and when it happened.

import { epochMs } from "../lib/time";
import type { CanonicalEvent } from "./canonical";
import { ENDING_TYPE, type EndingStatus, routedTypes, workOrderFromEvent } from "./work-order";

const CREATED_TYPE = "workorder.created";

/** The routed type of an ending → the REST status it ends in. */
const ENDING_STATUS: Readonly<Record<string, EndingStatus>> = Object.fromEntries(
  Object.entries(ENDING_TYPE).map(([status, type]) => [type, status as EndingStatus]),
);

/** One path's report that a work order ended. */
export interface EndingObservation {
  eventId: string;
  workOrderId: string;
  status: EndingStatus;
  source: "webhook" | "poll";
  /** Webhook: its occurredAt. Poll: REST `completedAt`, else `updatedAt`. */
  atMs: number;
  /** False for a poll whose work order has no `completedAt` (its time is only the last edit). */
  exact: boolean;
}

/** One path's report that a work order was created (MaintainX creates a work order once). */
export interface CreationObservation {
  eventId: string;
  workOrderId: string;
  creation: true;
}

export type ChangeObservation = CreationObservation | EndingObservation;

/**
 * The real change an event reports, if any: a work order's creation (an event routed as
 * `workorder.created`) or one of its endings (routed as `.completed`, `.canceled` or `.skipped`).
 * An event reports at most one: no type is routed as both.
 */
export function changeObservation(event: CanonicalEvent): ChangeObservation | undefined {
  if (event.workOrderId === undefined) return undefined;
  const types = routedTypes(event);
  if (types.includes(CREATED_TYPE)) return { eventId: event.id, workOrderId: event.workOrderId, creation: true };
  for (const type of types) {
    const ending = endingObservation(event, type);
    if (ending) return ending;
  }
  return undefined;
}

/** What an event routed as `type` (an ending type) says about the ending; undefined if not one. */
function endingObservation(event: CanonicalEvent, type: string): EndingObservation | undefined {
  const status = Object.hasOwn(ENDING_STATUS, type) ? ENDING_STATUS[type] : undefined;
  if (!status || event.workOrderId === undefined) return undefined;
  const received = Date.parse(event.receivedAt);
  if (event.source === "poll") {
    const wo = workOrderFromEvent(event);
    const completed = epochMs(wo?.completedAt);
    const atMs = completed ?? epochMs(wo?.updatedAt) ?? epochMs(event.occurredAt) ?? received;
    return {
      eventId: event.id,
      workOrderId: event.workOrderId,
      status,
      source: "poll",
      atMs,
      exact: completed !== undefined,
    };
  }
  // A seed delivery may carry no timestamp; its data is the work order, whose own dates come next.
  const wo = workOrderFromEvent(event);
  const atMs = epochMs(event.occurredAt) ?? epochMs(wo?.completedAt) ?? epochMs(wo?.updatedAt) ?? received;
  return { eventId: event.id, workOrderId: event.workOrderId, status, source: "webhook", atMs, exact: true };
}

const OPEN_STATUSES = new Set(["OPEN", "IN_PROGRESS", "ON_HOLD"]);

/**
 * When the event shows the work order back in a non-terminal status: a webhook status change to
 * OPEN / IN_PROGRESS / ON_HOLD (at its occurredAt), or a polled REST record in one (at its
 * updatedAt). An ending seen before that time is over: the next ending is a new one.
 */
export function reopenObservation(event: CanonicalEvent): { workOrderId: string; atMs: number } | undefined {
  if (event.workOrderId === undefined) return undefined;
  if (event.source !== "poll" && event.type !== "workorder.status_changed") return undefined;
  const wo = workOrderFromEvent(event);
  if (!wo?.status || !OPEN_STATUSES.has(wo.status)) return undefined;
  const atMs = (event.source === "poll" ? epochMs(wo.updatedAt) : undefined) ?? epochMs(event.occurredAt);
  return atMs === undefined ? undefined : { workOrderId: event.workOrderId, atMs };
}
