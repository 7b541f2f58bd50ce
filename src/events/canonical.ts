// The one event shape that travels through the queue, whatever its source (README, "Routing: what happens to each event").

type EventSource = "webhook" | "poll";

export interface CanonicalEvent {
  /** Dedupe key and event-log id: the event-id header, a body hash, or `poll:<id>:<updatedAt>`. */
  id: string;
  /** Canonical type, e.g. `workorder.created`; unknown MaintainX types are kept as they are. */
  type: string;
  /** The type as received: `NEW_WORK_ORDER`, or the seed's `workorder.created`. */
  sourceType: string;
  source: EventSource;
  workOrderId?: string;
  occurredAt?: string;
  receivedAt: string;
  data: Record<string, unknown>;
}

/** MaintainX UPPER_SNAKE types and their canonical names; anything else is kept verbatim. */
export const MAINTAINX_TYPES: Readonly<Record<string, string>> = {
  NEW_WORK_ORDER: "workorder.created",
  WORK_ORDER_CHANGE: "workorder.updated",
  WORK_ORDER_STATUS_CHANGE: "workorder.status_changed",
  WORK_ORDER_DELETE: "workorder.deleted",
  WORK_ORDER_OVERDUE: "workorder.overdue",
  NEW_COMMENT_ON_WORK_ORDER: "workorder.comment_added",
  NEW_WORK_REQUEST: "workrequest.created",
  WORK_REQUEST_STATUS_CHANGE: "workrequest.status_changed",
  NEW_ASSET: "asset.created",
  ASSET_STATUS_CHANGE: "asset.status_changed",
};

export function canonicalType(sourceType: string): string {
  return Object.hasOwn(MAINTAINX_TYPES, sourceType) ? (MAINTAINX_TYPES[sourceType] as string) : sourceType;
}

/** A type name as it may appear in a path or a seed body: letters, digits, `_`, `.`, `-`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Ids arrive as numbers from MaintainX and as strings from the seed format. */
export function idString(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "" && value.length <= 200) return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
