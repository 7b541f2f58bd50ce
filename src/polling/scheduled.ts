// The Cron Trigger entry point.

import { log } from "../lib/log";

export async function handleScheduled(controller: ScheduledController, _env: Env): Promise<void> {
  log.info("Scheduled run", { cron: controller.cron });
}
