// The real changes of a work order that some handlers act on once, whichever path reported them
// (ARCHITECTURE.md, "Once per real change"): its creation, and each time it ended (completed,
// cancelled or skipped). Pure: which change an event reports, and when it happened.

import { epochMs } from "../lib/time";
import type { CanonicalEvent } from "./canonical";
import { ENDING_TYPE, type EndingStatus, workOrderFromEvent } from "./work-order";

export const CREATED_TYPE = "workorder.created";

/** The routed type of an ending → the REST status it ends in. */
const ENDING_STATUS: Readonly<Record<string, EndingStatus>> = Object.fromEntries(
  Object.entries(ENDING_TYPE).map(([status, type]) => [type, status as EndingStatus]),
);

export function endingStatusOf(type: string): EndingStatus | undefined {
  return Object.hasOwn(ENDING_STATUS, type) ? ENDING_STATUS[type] : undefined;
}

/** Types whose handlers (registered under exactly that type) run once per change, not per event. */
export function isChangeType(type: string): boolean {
  return type === CREATED_TYPE || endingStatusOf(type) !== undefined;
}

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

/** What an event routed as `type` (an ending type) says about the ending; undefined if not one. */
export function endingObservation(event: CanonicalEvent, type: string): EndingObservation | undefined {
  const status = endingStatusOf(type);
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
