// Which handler runs for which canonical type. Adding a destination is one file in this
// folder and one line here.

import { HandlerRegistry } from "../contract/registry";
import { assetOfflineAlert } from "./asset-offline";
import { erpSync } from "./erp";
import { purchaseOrderErpSync } from "./erp-purchase-order";
import { forward } from "./forward";
import { meterTriggeredAlert } from "./meter-triggered";
import { completionReport } from "./report";
import { slackAlert } from "./slack";
import { warehouseUpsert } from "./warehouse";

export const registry = new HandlerRegistry()
  .on("workorder.created", slackAlert, { once: "per-change" })
  // `workorder.completed` is also derived from a status change to DONE (events/work-order.ts).
  .on("workorder.completed", erpSync, { once: "per-change" })
  .on("workorder.completed", completionReport, { once: "per-change" })
  // The mirror takes every version of a work order, a creation's or an ending's included.
  .on("workorder.*", warehouseUpsert)
  .on("asset.status_changed", assetOfflineAlert)
  .on("meter.trigger_state_changed", meterTriggeredAlert)
  .on("purchaseorder.status_changed", purchaseOrderErpSync)
  // Routed only when FORWARD_URL is set and the event matches FORWARD_TYPES (default `*`); a
  // creation or an ending is forwarded once, whichever path saw it.
  .on("*", forward, { once: "per-change" });
