// ERP sync for completed work orders: one POST per completion, carrying `Idempotency-Key: <event id>`
// (the event that first claimed the completion, on every attempt) so the ERP can drop a repeat
// should a retry ever cross a success it did not see.

import { done, type EventHandler, skipped } from "../contract/handler";
import { discardResponseBody, ensureOk, fetchWithDeadline } from "../lib/outbound";

export const erpSync: EventHandler = {
  name: "erp-sync",
  async run(ctx) {
    const url = ctx.config.erpWebhookUrl;
    if (!url) return skipped("ERP_WEBHOOK_URL is not set");
    const wo = await ctx.workOrder(["title"]);
    if (!wo) return skipped("event names no work order");

    const workOrder = { ...wo.fields, id: wo.id, status: wo.status ?? "DONE" };
    const response = await fetchWithDeadline(
      "ERP",
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": ctx.effectId },
        body: JSON.stringify({ eventId: ctx.effectId, workOrder }),
      },
      ctx.config.outboundTimeoutMs,
      ctx.fetch,
    );
    await discardResponseBody(await ensureOk("ERP", response, url));
    return done(`work order ${wo.id} sent`);
  },
};
