// Wiring only: the Worker's three entry points, and the handler registry handed to the consumer.
// Keep every other export out of this module (wrangler refuses a main module that exports
// anything but handlers).

import { createApp } from "./app";
import { registry } from "./handlers";
import { handleScheduled } from "./polling/scheduled";
import { handleQueue } from "./routing/queues";

const app = createApp(registry);

export default {
  fetch: app.fetch,
  queue: (batch, env, ctx) => handleQueue(batch, env, registry, ctx),
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, unknown>;
