// An event's status in the log, in a file of its own: the command line names the statuses too,
// and it cannot import event-log.ts, which needs D1's types.

/**
 * `accepted` from its logging until its handlers first settle it (and again when a replay is
 * queued); `retrying` while a handler that failed transiently waits for its next attempt, or the
 * event waits for a held handler; then `processed`, `failed` (a handler failed for good) or `dead`
 * (its retry schedule ran out).
 */
export type EventStatus = "accepted" | "retrying" | "processed" | "failed" | "dead";

export const EVENT_STATUSES: readonly EventStatus[] = ["accepted", "retrying", "processed", "failed", "dead"];
