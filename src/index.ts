// Wiring only: the Worker's three entry points. Keep every other export out of this module
// (wrangler refuses a main module that exports anything but handlers).

import { app } from "./app";
import { handleScheduled } from "./polling/scheduled";
import { handleQueue } from "./routing/queues";

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, unknown>;
