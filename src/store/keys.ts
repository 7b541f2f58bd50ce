// Every KV key this Worker writes, in one place (the README's storage-key table mirrors this).
//
// | prefix / key        | TTL                         | written by                                   |
// |---------------------|-----------------------------|----------------------------------------------|
// | `dedupe:<eventId>`  | DEDUPE_TTL_SECONDS (86,400) | ingest, only after the queue took the event  |
// | `payload:<eventId>` | 7 days                      | ingest, before sending a too-large event     |
// | `poll:cursor`       | none                        | poller, after every page of a run was queued |
//
// R2 (`REPORTS`): `reports/<workOrderId>.html` and `.json`, written by the completion-report handler.

export const dedupeKey = (eventId: string): string => `dedupe:${eventId}`;
export const payloadKey = (eventId: string): string => `payload:${eventId}`;
export const POLL_CURSOR_KEY = "poll:cursor";

/** Claim checks outlive every retry schedule (max 5 retries, each at most 12 h) plus replay slack. */
export const PAYLOAD_TTL_SECONDS = 7 * 24 * 3600;

/** The R2 key of a work order's completion report. */
export const reportKey = (workOrderId: string, format: "html" | "json"): string =>
  `reports/${encodeURIComponent(workOrderId)}.${format}`;
