// A verified webhook delivery, built once by the receiver and handed to `acceptDelivery`.

import { EVENT_TYPE_PATTERN } from "../events/canonical";
import { sha256Hex, utf8 } from "../lib/bytes";

export const EVENT_ID_HEADER = "x-maintainx-event-id";

export interface Delivery {
  /** The raw request body, exactly as signed. */
  body: Uint8Array;
  /** The type the path names (`/webhooks/maintainx/<TYPE>`), if any. */
  pathType: string | undefined;
  /**
   * `contentEventId(pathType, body)` when the path names a well-formed type and no event-id
   * header names the id: the event's id unless a seed body names another type.
   */
  contentId: string | undefined;
  headers: Headers;
  receivedAt: Date;
}

export async function createDelivery(input: Omit<Delivery, "contentId">): Promise<Delivery> {
  const { pathType, body, headers } = input;
  const contentId =
    pathType !== undefined && EVENT_TYPE_PATTERN.test(pathType) && !headers.has(EVENT_ID_HEADER)
      ? await contentEventId(pathType, body)
      : undefined;
  return { ...input, contentId };
}

/**
 * The id of a delivery without `x-maintainx-event-id`: the hex SHA-256 of "<type>\n<raw body>".
 * Same body and type give the same id, so a re-signed retry (new `t`) is still a duplicate.
 */
export async function contentEventId(sourceType: string, body: Uint8Array): Promise<string> {
  const prefix = utf8.encode(`${sourceType}\n`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix, 0);
  content.set(body, prefix.length);
  return sha256Hex(content);
}
