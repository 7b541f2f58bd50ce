// What an event says about its work order, whatever the payload shape:
// - MaintainX deliveries: flat, with the entity (if any) under `newWorkOrder` (or `WorkOrder` on
//   WORK_ORDER_DELETE) and the new status as `newStatus`;
// - poll events: `data` is the work order itself;
// - seed deliveries: `data` is the work order, with `COMPLETED` for DONE.

import { type CanonicalEvent, idString, isObject } from "./canonical";

export interface WorkOrderSnapshot {
  id: string;
  title?: string;
  status?: string;
  priority?: string;
  updatedAt?: string;
  completedAt?: string;
  /** Every field the payload carried about the work order. */
  fields: Record<string, unknown>;
}

const DESCRIPTIVE_FIELDS = ["title", "status", "priority", "updatedAt"] as const;

function normaliseStatus(status: unknown): string | undefined {
  if (typeof status !== "string" || status === "") return undefined;
  const upper = status.toUpperCase();
  return upper === "COMPLETED" ? "DONE" : upper;
}

function entityOf(event: CanonicalEvent): Record<string, unknown> | undefined {
  const { data } = event;
  if (isObject(data.newWorkOrder)) return data.newWorkOrder;
  if (isObject(data.WorkOrder)) return data.WorkOrder;
  if (isObject(data.workOrder)) return data.workOrder;
  // Poll events and seed deliveries carry the work order as `data` itself.
  if (event.source === "poll" || event.sourceType.includes(".")) return data;
  return undefined;
}

/**
 * The status REST reports after a status change. MaintainX cancels and skips a work order as
 * `newStatus: "DONE"` with `newSubStatus: "CANCELED"` / `"SKIPPED"`; REST then says `CANCELED` /
 * `SKIPPED`. A `DONE` with another sub status keeps that sub status as the status.
 */
function statusAfterChange(data: Record<string, unknown>): string | undefined {
  const status = normaliseStatus(data.newStatus);
  if (status !== "DONE") return status;
  return normaliseStatus(data.newSubStatus) ?? "DONE";
}

export function workOrderFromEvent(event: CanonicalEvent): WorkOrderSnapshot | undefined {
  const entity = entityOf(event) ?? {};
  const id = event.workOrderId ?? idString(entity.id) ?? idString(event.data.workOrderId);
  if (id === undefined) return undefined;

  const fields: Record<string, unknown> = { ...entity, id };
  const status = statusAfterChange(event.data) ?? normaliseStatus(entity.status);
  if (status !== undefined) fields.status = status;
  return snapshot(fields);
}

export function snapshot(fields: Record<string, unknown>): WorkOrderSnapshot {
  const text = (key: string): string | undefined => {
    const value = fields[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const out: WorkOrderSnapshot = { id: String(fields.id), fields };
  const title = text("title");
  const status = normaliseStatus(fields.status);
  const priority = text("priority")?.toUpperCase();
  const updatedAt = text("updatedAt");
  const completedAt = text("completedAt");
  if (title !== undefined) out.title = title;
  if (status !== undefined) out.status = status;
  if (priority !== undefined) out.priority = priority;
  if (updatedAt !== undefined) out.updatedAt = updatedAt;
  if (completedAt !== undefined) out.completedAt = completedAt;
  return out;
}

/** True when the snapshot says more than the id (so the mirror can be updated from it). */
export function hasDescriptiveFields(wo: WorkOrderSnapshot): boolean {
  return DESCRIPTIVE_FIELDS.some((key) => wo[key] !== undefined);
}

/** The REST status a work order ends in → the routed type of that ending (docs/events.md). */
export const ENDING_TYPE = {
  DONE: "workorder.completed",
  CANCELED: "workorder.canceled",
  SKIPPED: "workorder.skipped",
} as const;

export type EndingStatus = keyof typeof ENDING_TYPE;

export function isEndingStatus(status: string | undefined): status is EndingStatus {
  return status !== undefined && Object.hasOwn(ENDING_TYPE, status);
}

const ENDING_TYPES: ReadonlySet<string> = new Set(Object.values(ENDING_TYPE));

/** `workorder.completed`, `.canceled` or `.skipped`. */
export const isEndingType = (type: string | undefined): boolean => type !== undefined && ENDING_TYPES.has(type);

/** The ending type an event is routed as (its own type, or the one a status change to DONE adds), if any. */
export function routedEndingType(event: CanonicalEvent): string | undefined {
  return routedTypes(event).find(isEndingType);
}

/**
 * The canonical types an event is routed as: its own, plus for a status change to `DONE` one of
 * `workorder.completed` (no sub status), `workorder.canceled` or `workorder.skipped`. A `DONE`
 * with a sub status MaintainX has not documented is none of them: it is not taken as a completion.
 */
export function routedTypes(event: CanonicalEvent): string[] {
  const types = [event.type];
  if (event.type === "workorder.status_changed") {
    // The seed format names the new status `status` inside its work order.
    const status =
      event.data.newStatus !== undefined ? statusAfterChange(event.data) : normaliseStatus(event.data.status);
    if (isEndingStatus(status)) types.push(ENDING_TYPE[status]);
  }
  return types;
}
