// Which handler runs for which canonical type. Adding a destination is one file in this
// folder and one line here.

import { HandlerRegistry } from "../contract/registry";
import { erpSync } from "./erp";
import { completionReport } from "./report";
import { slackAlert } from "./slack";
import { warehouseUpsert } from "./warehouse";

export const registry = new HandlerRegistry()
  .on("workorder.created", slackAlert)
  // `workorder.completed` is also derived from a status change to DONE (events/work-order.ts).
  .on("workorder.completed", erpSync)
  .on("workorder.completed", completionReport)
  .on("workorder.*", warehouseUpsert);
