// ERP sync for completed work orders: one POST `{"eventId","workOrder"}` per completion, under the
// id of the event that first claimed the completion (its `Idempotency-Key`).

import { done, type EventHandler, skipped } from "../contract/handler";
import { postToErp } from "./sinks";

export const erpSync: EventHandler = {
  name: "erp-sync",
  async run(ctx) {
    const url = ctx.config.erpWebhookUrl;
    if (!url) return skipped("ERP_WEBHOOK_URL is not set");
    const wo = await ctx.workOrder(["title"]);
    if (!wo) return skipped("event names no work order");

    const answered = await postToErp(ctx, url, { workOrder: { ...wo.fields, id: wo.id, status: wo.status ?? "DONE" } });
    return done(`work order ${wo.id} sent`, answered);
  },
};
