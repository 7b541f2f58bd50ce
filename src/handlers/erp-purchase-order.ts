// ERP sync for purchase orders: every PURCHASE_ORDER_STATUS_CHANGE is POSTed as
// `{"eventId","purchaseOrder":{...}}` with `Idempotency-Key: <event id>`. The purchase order is the
// payload's (MaintainX may send it whole), else `GET /purchaseorders/{id}` once per delivery (with
// MAINTAINX_API_KEY), else what the payload says; its `status` is always the event's `newStatus`,
// the change being reported, even when MaintainX has moved on since.

import { done, type EventHandler, type HandlerContext, skipped } from "../contract/handler";
import { idString, isObject } from "../events/canonical";
import { PermanentError } from "../lib/outbound";
import { postToErp } from "./sinks";

/**
 * The purchase order as MaintainX gives it now. Without an API key, or when MaintainX refuses for
 * good (404: deleted since; 403: a key without access to purchasing), the status change still
 * happened: the ERP gets what the payload says, and the outcome names why. A transient failure
 * retries the event, so the ERP gets the whole order once MaintainX answers.
 */
async function currentPurchaseOrder(
  ctx: HandlerContext,
  id: string,
): Promise<{ order?: Record<string, unknown>; missing?: string }> {
  if (!ctx.lookups) return { missing: "MAINTAINX_API_KEY is not set" };
  try {
    return { order: await ctx.lookups.purchaseOrder(id) };
  } catch (error) {
    if (error instanceof PermanentError) return { missing: error.message };
    throw error;
  }
}

export const purchaseOrderErpSync: EventHandler = {
  name: "erp-purchase-order",
  async run(ctx) {
    const url = ctx.config.erpWebhookUrl;
    if (!url) return skipped("ERP_WEBHOOK_URL is not set");
    const { data, subject } = ctx.event;
    const id = (subject?.kind === "purchaseorder" ? subject.id : undefined) ?? idString(data.purchaseOrderId);
    if (id === undefined) return skipped("event names no purchase order");

    const entity = isObject(data.purchaseOrder) ? data.purchaseOrder : undefined;
    const current = entity ? {} : await currentPurchaseOrder(ctx, id);
    const purchaseOrder: Record<string, unknown> = { ...(entity ?? current.order), id };
    if (purchaseOrder.vendorId === undefined && data.vendorId !== undefined) purchaseOrder.vendorId = data.vendorId;
    if (typeof data.newStatus === "string") purchaseOrder.status = data.newStatus;

    const answered = await postToErp(ctx, url, { purchaseOrder });
    const only = current.missing ? `; only what the payload says: ${current.missing}` : "";
    return done(`purchase order ${id} sent (${String(purchaseOrder.status ?? "status not given")})${only}`, answered);
  },
};
