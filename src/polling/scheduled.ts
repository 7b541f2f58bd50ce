// The Cron Trigger entry point, once a minute: a polling run (docs/polling.md), the
// operator alerts (docs/operations.md) and the retention of RETENTION_DAYS
// (docs/storage.md). Each step is guarded on its own: one failing never stops the others.

import { alertEndedEvents } from "../alerts/ended-events";
import { checkWebhookSilence } from "../alerts/silence";
import { alertStuckEvents } from "../alerts/stuck-events";
import { readConfig } from "../config";
import { describeError, log } from "../lib/log";
import { deleteExpired } from "../store/retention";
import { pollWorkOrders } from "./poller";

/** Events (and, separately, dead letters) deleted per run at most: 1,440 runs a day. */
const RETENTION_BATCH = 500;

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  await step("Scheduled poll crashed", () => pollWorkOrders(env));
  await step("Operator alerts for failed and dead events failed; the next run tries again", () =>
    alertEndedEvents(env),
  );
  await step("Operator alerts for stuck accepted events failed; the next run tries again", () =>
    alertStuckEvents(env, controller.scheduledTime),
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

/** Deletes one batch of what RETENTION_DAYS no longer keeps; 0 keeps everything. */
export async function applyRetention(env: Env, nowMs: number, batch = RETENTION_BATCH): Promise<void> {
  const days = readConfig(env).retentionDays;
  if (days === 0) return;
  const cutoff = new Date(nowMs - days * 86_400_000).toISOString();
  try {
    const deleted = await deleteExpired(env.DB, cutoff, batch);
    if (deleted.events > 0 || deleted.deadLetters > 0) {
      log.info("Retention deleted old events", { ...deleted, olderThan: cutoff, retentionDays: days });
    }
  } catch (error) {
    log.error("Retention failed; the next run tries again", { olderThan: cutoff, error: describeError(error) });
  }
}
