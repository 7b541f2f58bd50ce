// Turns a verified delivery (raw bytes + path type + headers) into the canonical event.
// Runs only after the signature matched, so every 400 here is for a signed but unusable body.

import { MAINTAINX_TYPE_PATTERN } from "../config";
import {
  type CanonicalEvent,
  canonicalType,
  EVENT_TYPE_PATTERN,
  idString,
  isObject,
  subjectOf,
} from "../events/canonical";
import { type DataJson, dataJson } from "../events/data-json";
import { maintainXType } from "../events/maintainx-types";
import {
  contentEventId,
  type Delivery,
  honouredEventIdHeader,
  isReservedEventId,
  RESERVED_EVENT_ID_PREFIXES,
} from "./delivery";

const EVENT_ID_PATTERN = /^[\x20-\x7e]{1,200}$/;
const RESERVED_PREFIX_LIST = `${RESERVED_EVENT_ID_PREFIXES.slice(0, -1).join(", ")} or ${RESERVED_EVENT_ID_PREFIXES.at(-1)}`;

/** A signed delivery that cannot become an event; answered 400 with this message. */
export class InvalidDeliveryError extends Error {
  override readonly name = "InvalidDeliveryError";
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

interface NormalisedDelivery {
  event: CanonicalEvent;
  /** The raw body as the data's JSON; undefined when no part of it is the data (a seed body without `data`). */
  raw: DataJson | undefined;
  /**
   * The raw body as decoded for parsing, when the whole body is the data (MaintainX's format): the
   * event log row stores it as it came, rather than writing the parsed data out again.
   */
  rawText: DataJson | undefined;
}

/**
 * Far deeper than any MaintainX payload, yet shallow enough for every later step: the queue,
 * D1 and the handlers serialise the data recursively, and a body nested some thousands of levels
 * deep overflows the stack there (a 503 the sender retries forever, or an event that can only die).
 */
export const MAX_JSON_DEPTH = 64;

export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  return parseJsonText(body).payload;
}

/** parseJsonObject, with the body's text as decoded for the parse. */
function parseJsonText(body: Uint8Array): { text: string; payload: Record<string, unknown> } {
  let text: string;
  let parsed: unknown;
  try {
    text = strictUtf8.decode(body);
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidDeliveryError("Body is not valid JSON (UTF-8)");
  }
  if (!isObject(parsed)) throw new InvalidDeliveryError("Body must be a JSON object");
  if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) {
    throw new InvalidDeliveryError(`Body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  return { text, payload: parsed };
}

/**
 * True when `value` (parsed JSON) holds objects or arrays more than `levels` deep. It walks the
 * parsed values, not the text: a 2 KB delivery has a few dozen values and two thousand characters
 * (the text scan it replaces was a third of the parse step's time in a workerd profile). The recursion stops at `levels`,
 * so it is never deeper than that, whatever the body.
 */
function nestedDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestedDeeperThan(item, levels - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (nestedDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  }
  return false;
}

/**
 * Reads and checks `x-maintainx-event-id` (seed format only): 1–200 printable ASCII characters, or
 * absent. `.` and `..` are refused: no URL can name them (URLs resolve dot segments), so such an
 * event could never be shown or replayed under /admin/events/:id. An id of a form the Worker makes
 * itself is refused too: the header is not signed, so a captured seed delivery re-posted as
 * `poll:<id>:created` would otherwise take that id's dedupe key and stop the poller's own event.
 */
function readEventIdHeader(delivery: Delivery): string | undefined {
  const value = honouredEventIdHeader(delivery);
  if (value === null) return undefined;
  if (!EVENT_ID_PATTERN.test(value)) {
    throw new InvalidDeliveryError("x-maintainx-event-id must be 1 to 200 printable ASCII characters");
  }
  if (value === "." || value === "..") {
    throw new InvalidDeliveryError("x-maintainx-event-id must not be . or .. (no URL can name such an event)");
  }
  if (isReservedEventId(value)) {
    throw new InvalidDeliveryError(
      `x-maintainx-event-id must not be an id the Worker makes itself (starting with ${RESERVED_PREFIX_LIST}, or 64 lower-case hex characters): send an id of your own, such as evt-<uuid>, or leave the header out to use the body's hash`,
    );
  }
  return value;
}

/**
 * Derives the event. Two body shapes exist:
 * - MaintainX: flat `{workOrderId, orgId, occurredAt, ...}` with no type field, so the type is
 *   the one in the path (`/webhooks/maintainx/NEW_WORK_ORDER`);
 * - seed: `{event, data, timestamp}`, where `event` names the type.
 */
export async function normaliseDelivery(input: Delivery): Promise<NormalisedDelivery> {
  if (input.pathType !== undefined && !MAINTAINX_TYPE_PATTERN.test(input.pathType)) {
    throw new InvalidDeliveryError(
      "Malformed event type in the path: /webhooks/maintainx/<TYPE> takes a MaintainX type such as NEW_WORK_ORDER (seed deliveries with dotted names go to /webhooks/maintainx)",
    );
  }
  const { text, payload } = parseJsonText(input.body);
  const headerId = readEventIdHeader(input);

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
  // PART_TRANSFER says when it happened as `triggeredAt`.
  const occurredAt = envelope ? payload.timestamp : (payload.occurredAt ?? payload.triggeredAt);
  const subject = subjectOf(sourceType, data);
  // A known type names a work order only as its subject; a type nobody documented keeps `workOrderId`.
  const workOrderId =
    subject?.kind === "workorder"
      ? subject.id
      : maintainXType(sourceType) === undefined
        ? idString(data.workOrderId)
        : undefined;

  // The path's type was hashed when the delivery was built; a seed body naming another is hashed here.
  const id =
    headerId ??
    (sourceType === input.pathType && input.contentId !== undefined
      ? input.contentId
      : await contentEventId(sourceType, input.body));

  const event: CanonicalEvent = {
    id,
    type: canonicalType(sourceType),
    sourceType,
    source: "webhook",
    receivedAt: input.receivedAt.toISOString(),
    data,
  };
  if (subject !== undefined) event.subject = subject;
  if (workOrderId !== undefined) event.workOrderId = workOrderId;
  if (typeof occurredAt === "string" && occurredAt.length <= 100) event.occurredAt = occurredAt;
  // A seed body without `data` has `{}` as its data: no part of the raw body stands in for it.
  const raw = !envelope ? dataJson(input.body) : isObject(payload.data) ? dataJson(input.body, "data") : undefined;
  return { event, raw, rawText: envelope ? undefined : dataJson(text) };
}
