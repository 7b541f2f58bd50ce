// ERP sync for purchase orders: every PURCHASE_ORDER_STATUS_CHANGE is POSTed as
// `{"eventId","purchaseOrder":{...}}` with `Idempotency-Key: <event id>`. The purchase order is the
// payload's (MaintainX may send it whole), else `GET /purchaseorders/{id}` once per delivery (with
// MAINTAINX_API_KEY), else what the payload says; its `status` is always the event's `newStatus`,
// the change being reported, even when MaintainX has moved on since.

import { done, type EventHandler, type HandlerContext, skipped } from "../contract/handler";
import { idString, isObject } from "../events/canonical";
import { PermanentError } from "../lib/outbound";
import { postToErp } from "./sinks";

/** The purchase order as MaintainX gives it now; undefined without an API key or when it is gone (404). */
async function currentPurchaseOrder(ctx: HandlerContext, id: string): Promise<Record<string, unknown> | undefined> {
  if (!ctx.lookups) return undefined;
  try {
    return await ctx.lookups.purchaseOrder(id);
  } catch (error) {
    // A deleted purchase order still had this status change: the ERP gets what the payload says.
    if (error instanceof PermanentError && error.status === 404) return undefined;
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
    const purchaseOrder: Record<string, unknown> = {
      ...(entity ?? (await currentPurchaseOrder(ctx, id))),
      id,
    };
    if (purchaseOrder.vendorId === undefined && data.vendorId !== undefined) purchaseOrder.vendorId = data.vendorId;
    if (typeof data.newStatus === "string") purchaseOrder.status = data.newStatus;

    await postToErp(ctx, url, { purchaseOrder });
    return done(`purchase order ${id} sent (${String(purchaseOrder.status ?? "status not given")})`);
  },
};
