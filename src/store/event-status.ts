// An event's status in the log, in a file of its own: the command line names the statuses too,
// and it cannot import event-log.ts, which needs D1's types.

/**
 * `accepted` from its logging until its handlers settle it (a pending retry included), then
 * `processed`, `failed` (a handler failed for good) or `dead` (its retries ran out).
 */
export type EventStatus = "accepted" | "processed" | "failed" | "dead";

export const EVENT_STATUSES: readonly EventStatus[] = ["accepted", "processed", "failed", "dead"];
