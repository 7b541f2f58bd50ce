// Realistic delivery bodies for `send`, shaped like the bodies MaintainX posts (flat
// `{workOrderId, orgId, occurredAt, ...}` with no type field: the type is in the path; README,
// "Receiving webhooks") and like test/fixtures/. Each sample draws a fresh work-order id, so
// repeated sends are new events rather than duplicates the Worker drops.

import { randomInt } from "node:crypto";
import { canonicalType } from "../src/events/canonical";

const ORG_ID = 99411;
const USER_ID = 551201;
const DAY_MS = 86_400_000;

interface SampleOptions {
  now?: Date;
  /** Fixed in tests; fresh otherwise. */
  id?: number;
}

/** An id in MaintainX's range (7-digit numbers), different on every call in practice. */
export function freshId(): number {
  return randomInt(1_000_000, 10_000_000);
}

function workOrder(id: number, now: Date, status: string): Record<string, unknown> {
  return {
    id,
    sequentialId: id % 10_000,
    title: "Replace conveyor belt B7 and check rollers",
    description: "Belt frayed on the left edge; line 3 stopped.",
    priority: "HIGH",
    status,
    assetId: 771002,
    locationId: 30221,
    assigneeIds: [USER_ID, 551877],
    dueDate: new Date(now.getTime() + DAY_MS).toISOString(),
    createdAt: new Date(now.getTime() - 60_000).toISOString(),
    updatedAt: now.toISOString(),
  };
}

/** The flat body MaintainX posts to `/webhooks/maintainx/<TYPE>` (no type field). */
export function sampleMaintainXBody(type: string, options: SampleOptions = {}): Record<string, unknown> {
  const now = options.now ?? new Date();
  const id = options.id ?? freshId();
  const base = { workOrderId: id, orgId: ORG_ID, occurredAt: now.toISOString() };
  switch (type) {
    case "NEW_WORK_ORDER":
      return { ...base, userId: USER_ID, newWorkOrder: workOrder(id, now, "OPEN") };
    case "WORK_ORDER_CHANGE":
      return {
        ...base,
        userId: USER_ID,
        addedAssigneeIds: [551877],
        removedAssigneeIds: [],
        newWorkOrder: workOrder(id, now, "IN_PROGRESS"),
      };
    case "WORK_ORDER_STATUS_CHANGE":
      // Completion is a status change to DONE: MaintainX has no "completed" event.
      return {
        ...base,
        oldStatus: "IN_PROGRESS",
        newStatus: "DONE",
        userId: USER_ID,
        newWorkOrder: { ...workOrder(id, now, "DONE"), completedAt: now.toISOString() },
      };
    case "WORK_ORDER_DELETE":
      // MaintainX capitalises this key.
      return { ...base, WorkOrder: { id, title: "Replace conveyor belt B7 and check rollers" } };
    case "WORK_ORDER_OVERDUE":
      return { ...base, dueDate: new Date(now.getTime() - DAY_MS).toISOString() };
    case "NEW_WORK_REQUEST":
      return { requestId: id, orgId: ORG_ID, occurredAt: now.toISOString(), userId: USER_ID };
    case "WORK_REQUEST_STATUS_CHANGE":
      return {
        newStatus: "APPROVED",
        oldStatus: "PENDING",
        occurredAt: now.toISOString(),
        orgId: ORG_ID,
        requestId: id,
      };
    default:
      return { ...base, userId: USER_ID };
  }
}

/** The earlier guide's envelope, posted to `/webhooks/maintainx` with the dotted type name. */
export function sampleSeedBody(type: string, options: SampleOptions = {}): Record<string, unknown> {
  const now = options.now ?? new Date();
  const id = options.id ?? freshId();
  const status = type === "WORK_ORDER_STATUS_CHANGE" ? "DONE" : type === "WORK_ORDER_CHANGE" ? "IN_PROGRESS" : "OPEN";
  return {
    event: canonicalType(type),
    data: {
      id: String(id),
      title: "Replace conveyor belt B7 and check rollers",
      priority: "HIGH",
      status,
      updatedAt: now.toISOString(),
    },
    timestamp: now.toISOString(),
  };
}
