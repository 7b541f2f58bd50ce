// The queue message body. Queues cap a message at 128 KB, so a large `data` travels as a KV
// claim check (`payloadKey`) and the consumer loads it back before routing.

import type { CanonicalEvent } from "./canonical";

export interface EventMessage {
  v: 1;
  /** When `payloadKey` is set, `event.data` is `{}` and the real data is in KV. */
  event: CanonicalEvent;
  /** KV key whose value is the JSON text of the event's data (or of an envelope, see `dataField`). */
  payloadKey?: string;
  /** When set, the stored JSON is an envelope and the data is this field of it. */
  dataField?: string;
  /** Set by `/admin/events/:id/replay`: handlers that failed run again. */
  replay?: boolean;
}

export function isEventMessage(value: unknown): value is EventMessage {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Partial<EventMessage>;
  return m.v === 1 && typeof m.event === "object" && m.event !== null && typeof m.event.id === "string";
}
