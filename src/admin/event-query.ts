// The filters of the event listing and of the bulk replay (docs/console.md): one schema per
// field, shared by the query string of `GET /admin/events` and the JSON body of
// `POST /admin/events/replay`, so both take the same values and refuse them with the same words;
// and the opaque cursor of a listing's next page.

import { z } from "zod";
import { EVENT_TYPE_PATTERN } from "../events/canonical";
import { SUBJECT_KINDS } from "../events/maintainx-types";
import { sha256Hex, utf8 } from "../lib/bytes";
import { isoInstant } from "../lib/time";
import type { EventFilter, EventPosition } from "../store/event-log";
import { EVENT_STATUSES } from "../store/event-status";
import { FILTER_NAMES, LIST_DEFAULT_LIMIT, MAX_LIMIT, REPLAY_DEFAULT_LIMIT } from "./vocabulary";

const limitMessage = `limit must be a whole number from 1 to ${MAX_LIMIT}`;
const typeMessage = "type must be a canonical event type such as workorder.created";
const workOrderIdMessage = "workOrderId must be a MaintainX work order id such as 4821337";
const subjectMessage = `subject must be <kind>:<id> such as workorder:4821337 or asset:9, with kind one of ${SUBJECT_KINDS.join(", ")}`;
const instantMessage = (name: string) => `${name} must be an ISO 8601 date-time, e.g. 2026-12-01T10:00:00Z`;

/** What the event log keeps as an id (events/canonical.ts `idString`): 1–200 characters, trimmed. */
function isId(value: string): boolean {
  return value.length >= 1 && value.length <= 200 && value === value.trim() && !/\p{Cc}/u.test(value);
}

/**
 * A bound on `receivedAt`, as the stored `toISOString()` text it is compared with. A date-time
 * finer than a millisecond is rounded inwards (`since` up, `until` down), so both stay inclusive
 * of exactly the times they name.
 */
const instant = (name: "since" | "until") =>
  z.string({ error: instantMessage(name) }).transform((value, ctx) => {
    const iso = isoInstant(value, name === "since" ? "up" : "down");
    if (iso === undefined) {
      ctx.issues.push({ code: "custom", message: instantMessage(name), input: value });
      return z.NEVER;
    }
    return iso;
  });

const filterFields = {
  status: z.enum(EVENT_STATUSES, { error: `status must be one of ${EVENT_STATUSES.join(", ")}` }).optional(),
  type: z.string({ error: typeMessage }).regex(EVENT_TYPE_PATTERN, typeMessage).optional(),
  workOrderId: z.string({ error: workOrderIdMessage }).refine(isId, workOrderIdMessage).optional(),
  subject: z
    .string({ error: subjectMessage })
    .refine((value) => {
      const colon = value.indexOf(":");
      return colon > 0 && SUBJECT_KINDS.includes(value.slice(0, colon)) && isId(value.slice(colon + 1));
    }, subjectMessage)
    .optional(),
  since: instant("since").optional(),
  until: instant("until").optional(),
};

const boundsInOrder = (value: { since?: string | undefined; until?: string | undefined }) =>
  value.since === undefined || value.until === undefined || value.since <= value.until;
const boundsMessage = { message: "since must not be after until" };

/** The message of a strict object for a key it does not take: which key, and the ones it takes. */
function unknownKeys(noun: string, holder: string, known: readonly string[]): Parameters<typeof z.strictObject>[1] {
  return {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown ${noun} ${issue.keys.join(", ")}: ${holder} takes ${known.join(", ")}`
        : undefined,
  };
}

const listParameters = [...FILTER_NAMES, "limit", "cursor"];

/**
 * `GET /admin/events`: every value is query-string text. An unknown parameter is refused rather
 * than ignored: a misspelt filter (`workorderId=`) would otherwise list every event as if it matched.
 */
export const EventListQuery = z
  .strictObject(
    {
      ...filterFields,
      limit: z
        .string({ error: limitMessage })
        .regex(/^\d+$/, limitMessage)
        .transform(Number)
        .pipe(z.number().min(1, limitMessage).max(MAX_LIMIT, limitMessage))
        .default(LIST_DEFAULT_LIMIT),
      cursor: z.string({ error: "cursor must be the nextCursor of an earlier page" }).optional(),
    },
    unknownKeys("parameter", "the listing", listParameters),
  )
  .refine(boundsInOrder, boundsMessage);

const knownFields = [...FILTER_NAMES, "limit", "dryRun"];

/**
 * `POST /admin/events/replay`: the same filters as JSON strings (`workOrderId` may also be a
 * number, as MaintainX writes it), `limit` a number, `dryRun` a boolean. An unknown field is
 * refused rather than ignored: a misspelt filter would otherwise replay more than was meant.
 */
export const BulkReplayBody = z
  .strictObject(
    {
      ...filterFields,
      workOrderId: z
        .preprocess(
          (value) => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? String(value) : value),
          filterFields.workOrderId,
        )
        .optional(),
      limit: z
        .number({ error: limitMessage })
        .int(limitMessage)
        .min(1, limitMessage)
        .max(MAX_LIMIT, limitMessage)
        .default(REPLAY_DEFAULT_LIMIT),
      dryRun: z.boolean({ error: "dryRun must be true or false" }).optional(),
    },
    unknownKeys("field", "the body", knownFields),
  )
  .refine(boundsInOrder, boundsMessage);

export const NO_FILTER_MESSAGE = `A bulk replay needs at least one filter: ${FILTER_NAMES.join(", ")}`;

/** The filters a parsed query or body sets, and no others. */
export function filterOf(value: EventFilter): EventFilter {
  const filter: EventFilter = {};
  for (const name of FILTER_NAMES) {
    if (value[name] !== undefined) Object.assign(filter, { [name]: value[name] });
  }
  return filter;
}

export const CURSOR_MESSAGE = "cursor must be the nextCursor of an earlier page, unchanged";
export const CURSOR_FILTERS_MESSAGE =
  "cursor belongs to a listing with other filters: send it with the status, type, workOrderId, subject, since and until of the page that gave it";

/** A short hash of the filters, carried by a cursor so that it cannot be used with others. */
export async function filtersHash(filter: EventFilter): Promise<string> {
  const canonical = JSON.stringify(FILTER_NAMES.map((name) => filter[name] ?? null));
  return (await sha256Hex(utf8.encode(canonical))).slice(0, 16);
}

/** base64url of `{"r":receivedAt,"i":rowid,"f":filtersHash}`: where the next page starts, and for which filters. */
export function encodeCursor(position: EventPosition, hash: string): string {
  const json = JSON.stringify({ r: position.receivedAt, i: position.rowid, f: hash });
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const STORED_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The cursor's position and filters hash; undefined for anything encodeCursor did not make. */
export function decodeCursor(cursor: string): { position: EventPosition; hash: string } | undefined {
  if (cursor.length > 300 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { r, i, f } = parsed as Record<string, unknown>;
  if (typeof r !== "string" || !STORED_INSTANT.test(r)) return undefined;
  if (typeof i !== "number" || !Number.isSafeInteger(i)) return undefined;
  if (typeof f !== "string" || !/^[0-9a-f]{16}$/.test(f)) return undefined;
  return { position: { receivedAt: r, rowid: i }, hash: f };
}
