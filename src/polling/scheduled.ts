// The Cron Trigger entry point, once a minute: a polling run (README, "Polling fallback"), then the
// retention of RETENTION_DAYS (README, "Storage"). Each is guarded on its own: a failing poll never
// stops the event log from being trimmed, nor the other way round.

import { readConfig } from "../config";
import { describeError, log } from "../lib/log";
import { deleteExpired } from "../store/retention";
import { pollWorkOrders } from "./poller";

/** Events (and, separately, dead letters) deleted per run at most: 1,440 runs a day. */
export const RETENTION_BATCH = 500;

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  try {
    await pollWorkOrders(env);
  } catch (error) {
    // The run records its own failures; this catches storage errors around it.
    log.error("Scheduled poll crashed", { error: describeError(error) });
  }
  await applyRetention(env, controller.scheduledTime);
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
