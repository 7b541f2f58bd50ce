// The Cron Trigger entry point: one polling run per minute (README, "Polling fallback").

import { describeError, log } from "../lib/log";
import { pollWorkOrders } from "./poller";

export async function handleScheduled(_controller: ScheduledController, env: Env): Promise<void> {
  try {
    await pollWorkOrders(env);
  } catch (error) {
    // The run records its own failures; this catches storage errors around it.
    log.error("Scheduled poll crashed", { error: describeError(error) });
  }
}
