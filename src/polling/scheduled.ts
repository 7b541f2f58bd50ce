// The Cron Trigger entry point, once a minute: a polling run (docs/polling.md), the
// operator alerts (docs/operations.md) and the retention of RETENTION_DAYS and
// FAILED_RETENTION_DAYS (docs/storage.md). Each step is guarded on its own: one failing never
// stops the others.

import { alertEndedEvents } from "../alerts/ended-events";
import { noticeExpiringEvents } from "../alerts/expiring-events";
import { noteRecoveredHandlers } from "../alerts/handler-notes";
import { alertRetryingEvents } from "../alerts/retrying-events";
import { checkWebhookSilence } from "../alerts/silence";
import { alertStuckEvents } from "../alerts/stuck-events";
import { readConfig } from "../config";
import { requeueReleased } from "../ingest/requeue";
import { describeError, log } from "../lib/log";
import { deleteExpired, NOTICE_LEAD_MS, type RetentionCutoffs, SWEEP_SLICES, sweepChanges } from "../store/retention";
import { pollWorkOrders } from "./poller";

/** Events deleted per run at most, likewise dead letters and each kind the sweep deletes: 1,440 runs a day. */
const RETENTION_BATCH = 500;
const DAY_MS = 86_400_000;
/**
 * Events that waited for a released handler queued again per run (the release itself queues the
 * first RELEASE_NOW), within a share of the run's subrequests the poller and alerts leave alone.
 */
const RELEASED_PER_RUN = 3000;
const RELEASE_SUBREQUESTS = 400;

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  await step("Scheduled poll crashed", () => pollWorkOrders(env));
  await step("Events waiting for a released handler were not queued again; the next run tries again", () =>
    requeueReleased(env, { limit: RELEASED_PER_RUN, budget: RELEASE_SUBREQUESTS }),
  );
  await step("Operator alerts for failed and dead events failed; the next run tries again", () =>
    alertEndedEvents(env),
  );
  // Stuck before retrying: an overdue retry alerted as stuck is not named again as long-retrying.
  await step("Operator alerts for stuck events failed; the next run tries again", () =>
    alertStuckEvents(env, controller.scheduledTime),
  );
  await step("Operator alerts for events still retrying failed; the next run tries again", () =>
    alertRetryingEvents(env, controller.scheduledTime),
  );
  await step("The notes of handlers delivering again failed; the next run tries again", () =>
    noteRecoveredHandlers(env),
  );
  await step("The webhook-silence check failed; the next run tries again", () =>
    checkWebhookSilence(env, controller.scheduledTime),
  );
  await applyRetention(env, controller.scheduledTime);
}

async function step(failure: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    // Each step records its own outcomes; this catches storage errors around it.
    log.error(failure, { error: describeError(error) });
  }
}

const isoAt = (ms: number) => new Date(ms).toISOString();

/**
 * One run of retention: the final notices for failed and dead events that go within a week, then
 * one batch of deletions of events (with what is kept per event), then one slice of the sweep of
 * changes, reopens and deleted work orders (`slices` slices a pass: run once a minute, a pass a
 * day). RETENTION_DAYS=0 keeps everything; FAILED_RETENTION_DAYS=0 keeps the failed and dead
 * events, which are otherwise kept at least as long as processed ones.
 */
export async function applyRetention(
  env: Env,
  nowMs: number,
  batch = RETENTION_BATCH,
  slices = SWEEP_SLICES,
): Promise<void> {
  const config = readConfig(env);
  const days = config.retentionDays;
  if (days === 0) return;
  const failedDays = config.failedRetentionDays === 0 ? 0 : Math.max(config.failedRetentionDays, days);
  const cutoffs: RetentionCutoffs = {
    processedBefore: isoAt(nowMs - days * DAY_MS),
    ...(failedDays > 0
      ? {
          unfinished: {
            changedBefore: isoAt(nowMs - failedDays * DAY_MS),
            noticedBefore: isoAt(nowMs - NOTICE_LEAD_MS),
          },
        }
      : {}),
  };
  if (failedDays > 0) {
    // The notice goes a week before the failed period ends (at once, for a period under a week):
    // deletion waits for a notice at least that old, so nothing goes unannounced.
    const noticeBefore = isoAt(nowMs - Math.max(failedDays * DAY_MS - NOTICE_LEAD_MS, 0));
    await step(
      "The final notice before retention deletes failed and dead events failed; the next run tries again",
      () => noticeExpiringEvents(env, nowMs, noticeBefore, failedDays),
    );
  }
  const context = {
    olderThan: cutoffs.processedBefore,
    retentionDays: days,
    ...(cutoffs.unfinished
      ? { failedChangedBefore: cutoffs.unfinished.changedBefore, failedRetentionDays: failedDays }
      : {}),
  };
  let deleted: Record<string, number> = {};
  try {
    deleted = { ...(await deleteExpired(env.DB, cutoffs, batch)) };
  } catch (error) {
    log.error("Retention failed; the next run tries again", { ...context, error: describeError(error) });
  }
  // After the events, so a change whose last event went just now can go at once if its id is in
  // this run's slice. The slice follows the clock: a run that failed leaves its slice to the next
  // day's pass.
  const slice = Math.floor(nowMs / 60_000) % slices;
  try {
    Object.assign(deleted, await sweepChanges(env.DB, { before: cutoffs.processedBefore, slice, slices, batch }));
  } catch (error) {
    log.error("Retention failed; the next run tries again", {
      ...context,
      sweep: "changes, reopens and deleted work orders",
      error: describeError(error),
    });
  }
  if (Object.values(deleted).some((n) => n > 0)) log.info("Retention deleted old events", { ...deleted, ...context });
}
