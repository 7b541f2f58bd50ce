// The one event shape that travels through the queue, whatever its source (docs/events.md).

import { maintainXType } from "./maintainx-types";

type EventSource = "webhook" | "poll";

export interface EventSubject {
  /** `workorder`, `workrequest`, `asset`, `part`, `purchaseorder`, `location`, `vendor`, `meter`. */
  kind: string;
  id: string;
}

export interface CanonicalEvent {
  /** Dedupe key and event-log id: the event-id header, a body hash, or `poll:<id>:<updatedAt>`. */
  id: string;
  /** Canonical type, e.g. `workorder.created`; unknown MaintainX types are kept as they are. */
  type: string;
  /** The type as received: `NEW_WORK_ORDER`, or the seed's `workorder.created`. */
  sourceType: string;
  source: EventSource;
  /** The entity the payload names, when it names one. */
  subject?: EventSubject;
  /** Set for every work-order event: the subject's id when the subject is a work order. */
  workOrderId?: string;
  occurredAt?: string;
  receivedAt: string;
  data: Record<string, unknown>;
}

/** The canonical type of a MaintainX type (all 46, docs/events.md); anything else is kept verbatim. */
export function canonicalType(sourceType: string): string {
  return maintainXType(sourceType)?.canonical ?? sourceType;
}

/**
 * What the event is about: the entity its payload names (`{kind: "asset", id: "42"}`), or
 * undefined. Seed deliveries of work-order types name their work order as `data.id` too.
 */
export function subjectOf(sourceType: string, data: Record<string, unknown>): EventSubject | undefined {
  const known = maintainXType(sourceType);
  if (known?.subject) {
    const id = idString(data[known.subject.field]);
    if (id !== undefined) return { kind: known.subject.kind, id };
  }
  if ((known?.canonical ?? sourceType).startsWith("workorder.")) {
    const id = idString(data.workOrderId) ?? idString(data.id);
    if (id !== undefined) return { kind: "workorder", id };
  }
  return undefined;
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
