// A verified webhook delivery, built once by the receiver and handed to `acceptDelivery`.

import { MAINTAINX_TYPE_PATTERN } from "../config";
import { sha256Hex, withTextPrefix } from "../lib/bytes";

export const EVENT_ID_HEADER = "x-maintainx-event-id";

export interface Delivery {
  /** The raw request body, exactly as signed. */
  body: Uint8Array;
  /** The type the path names (`/webhooks/maintainx/<TYPE>`), if any. */
  pathType: string | undefined;
  /**
   * Which format signed it. In MaintainX's, the event-id header is ignored: MaintainX never sends
   * one and it is not signed, so honouring it would let a captured delivery in again under a new id.
   */
  scheme: "maintainx" | "seed";
  /**
   * `contentEventId(pathType, body)` when the path names a MaintainX type and no honoured event-id
   * header names the id: the event's id unless a seed body names another type.
   */
  contentId: string | undefined;
  headers: Headers;
  receivedAt: Date;
}

export async function createDelivery(input: Omit<Delivery, "contentId">): Promise<Delivery> {
  const { pathType, body } = input;
  const contentId =
    pathType !== undefined && MAINTAINX_TYPE_PATTERN.test(pathType) && honouredEventIdHeader(input) === null
      ? await contentEventId(pathType, body)
      : undefined;
  return { ...input, contentId };
}

/** The raw event-id header, when this delivery's format honours one (the seed format only). */
export function honouredEventIdHeader(delivery: Pick<Delivery, "scheme" | "headers">): string | null {
  return delivery.scheme === "seed" ? delivery.headers.get(EVENT_ID_HEADER) : null;
}

/**
 * Where the Worker makes ids of its own that an event id could meet: the poller's events
 * (`poll:<id>:…`, ingest/accept-polled.ts), a dead letter without an event (`unknown:<message id>`,
 * routing/dead-letter.ts), and the effect markers of claims per change (`effect:change:<id>:…`,
 * store/keys.ts, beside `effect:<event id>:…`). Together with the content ids (64 lower-case hex,
 * `contentEventId`), these are what an unsigned event-id header must never name: its event would
 * take the dedupe key, event row or marker of one the Worker makes, and so suppress it.
 */
export const RESERVED_EVENT_ID_PREFIXES: readonly string[] = ["poll:", "unknown:", "change:"];
const CONTENT_EVENT_ID = /^[0-9a-f]{64}$/;

/** Whether `id` has a form the Worker gives ids of its own (above). */
export function isReservedEventId(id: string): boolean {
  return CONTENT_EVENT_ID.test(id) || RESERVED_EVENT_ID_PREFIXES.some((prefix) => id.startsWith(prefix));
}

/**
 * The id of a delivery without `x-maintainx-event-id`: the hex SHA-256 of "<type>\n<raw body>".
 * Same body and type give the same id, so a re-signed retry (new `t`) is still a duplicate.
 */
export function contentEventId(sourceType: string, body: Uint8Array): Promise<string> {
  return sha256Hex(withTextPrefix(`${sourceType}\n`, body));
}
