// Every KV key this Worker writes, in one place (docs/storage.md's table mirrors this).
//
// | prefix / key        | TTL                         | written by                                   |
// |---------------------|-----------------------------|----------------------------------------------|
// | `dedupe:<eventId>`  | DEDUPE_TTL_SECONDS (86,400) | ingest, only after the queue took the event  |
// | `payload:<eventId>` | 7 days                      | ingest, before sending a too-large event     |
// | `payload:<eventId>:replay:<uuid>` | 7 days        | ingest, before sending a too-large replay    |
// | `effect:<eventId>:<handler>`, `effect:change:<changeId>:<handler>` | 7 days | consumer, when D1 would not record a success |
// | `poll:cursor`       | none                        | poller, when a query reached its end         |
// | `poll:cursor:read`  | none                        | poller, with the cursor: the work orders read at it |
//
// R2 (`REPORTS`): `reports/<workOrderId>.html` and `.json`, written by the completion-report handler.

export const dedupeKey = (eventId: string): string => `dedupe:${eventId}`;
export const payloadKey = (eventId: string): string => `payload:${eventId}`;
/** A replay's own claim check: the original message may still be retrying on `payload:<eventId>`. */
export const replayPayloadKey = (eventId: string, replayId: string): string => `payload:${eventId}:replay:${replayId}`;
export const POLL_CURSOR_KEY = "poll:cursor";
export const POLL_READ_AT_CURSOR_KEY = "poll:cursor:read";
/**
 * A side effect that succeeded while D1 could not record it (see store/effect-markers.ts), by what
 * its claim is keyed by: the real change's id for a claim per change, else the event's id.
 */
export const effectMarkerKey = (claim: { eventId: string; changeId: number | undefined }, handler: string): string =>
  claim.changeId === undefined ? `effect:${claim.eventId}:${handler}` : `effect:change:${claim.changeId}:${handler}`;

/** Claim checks and effect markers outlive every retry schedule (max 5 retries, each at most 12 h) plus replay slack. */
export const PAYLOAD_TTL_SECONDS = 7 * 24 * 3600;

/** The R2 key of a work order's completion report. */
export const reportKey = (workOrderId: string, format: "html" | "json"): string =>
  `reports/${encodeURIComponent(workOrderId)}.${format}`;
