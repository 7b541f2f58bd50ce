// Turns a verified delivery (raw bytes + path type + headers) into the canonical event.
// Runs only after the signature matched, so every 400 here is for a signed but unusable body.

import { type CanonicalEvent, canonicalType, EVENT_TYPE_PATTERN, idString, isObject } from "../events/canonical";
import { sha256Hex, utf8 } from "../lib/bytes";

export const EVENT_ID_HEADER = "x-maintainx-event-id";
const EVENT_ID_PATTERN = /^[\x20-\x7e]{1,200}$/;

/** A signed delivery that cannot become an event; answered 400 with this message. */
export class InvalidDeliveryError extends Error {
  override readonly name = "InvalidDeliveryError";
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export interface NormalisedDelivery {
  event: CanonicalEvent;
  /** When the canonical `data` is the whole body, the raw bytes can stand in for it (claim checks). */
  dataIsWholeBody: boolean;
}

export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(body));
  } catch {
    throw new InvalidDeliveryError("Body is not valid JSON (UTF-8)");
  }
  if (!isObject(parsed)) throw new InvalidDeliveryError("Body must be a JSON object");
  return parsed;
}

/** Reads and checks `x-maintainx-event-id`: 1–200 printable ASCII characters, or absent. */
export function readEventIdHeader(headers: Headers): string | undefined {
  const value = headers.get(EVENT_ID_HEADER);
  if (value === null) return undefined;
  if (!EVENT_ID_PATTERN.test(value)) {
    throw new InvalidDeliveryError("x-maintainx-event-id must be 1 to 200 printable ASCII characters");
  }
  return value;
}

/**
 * Derives the event. Two body shapes exist:
 * - MaintainX: flat `{workOrderId, orgId, occurredAt, ...}` with no type field, so the type is
 *   the one in the path (`/webhooks/maintainx/NEW_WORK_ORDER`);
 * - seed: `{event, data, timestamp}`, where `event` names the type.
 */
export async function normaliseDelivery(input: {
  body: Uint8Array;
  pathType: string | undefined;
  headers: Headers;
  receivedAt: Date;
}): Promise<NormalisedDelivery> {
  const payload = parseJsonObject(input.body);
  const headerId = readEventIdHeader(input.headers);

  const envelope = typeof payload.event === "string";
  const sourceType = envelope ? (payload.event as string) : input.pathType;
  if (sourceType === undefined) {
    throw new InvalidDeliveryError(
      "No event type: post MaintainX deliveries to /webhooks/maintainx/<TYPE>, or send a body with an 'event' field",
    );
  }
  if (!EVENT_TYPE_PATTERN.test(sourceType)) {
    throw new InvalidDeliveryError("Malformed event type: use letters, digits, '_', '.' or '-' (at most 100)");
  }
  if (envelope && payload.data !== undefined && !isObject(payload.data)) {
    throw new InvalidDeliveryError("'data' must be a JSON object");
  }

  const data = envelope ? ((payload.data as Record<string, unknown> | undefined) ?? {}) : payload;
  const occurredAt = envelope ? payload.timestamp : payload.occurredAt;
  const workOrderId = idString(data.workOrderId) ?? (envelope ? idString(data.id) : undefined);

  // Same body and type give the same id, so a re-signed retry (new `t`) is still a duplicate.
  const id = headerId ?? (await sha256Hex(concat(utf8.encode(`${sourceType}\n`), input.body)));

  const event: CanonicalEvent = {
    id,
    type: canonicalType(sourceType),
    sourceType,
    source: "webhook",
    receivedAt: input.receivedAt.toISOString(),
    data,
  };
  if (workOrderId !== undefined) event.workOrderId = workOrderId;
  if (typeof occurredAt === "string" && occurredAt.length <= 100) event.occurredAt = occurredAt;
  return { event, dataIsWholeBody: !envelope };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
