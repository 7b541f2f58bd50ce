// Mirrors every work-order event into D1 `work_orders`, and marks deletions (a delete event, or a
// REST record with `deletedAt`).

import { done, type EventHandler, skipped } from "../contract/handler";
import { hasDescriptiveFields } from "../events/work-order";
import { withDeadline } from "../lib/deadline";
import { TransientError } from "../lib/outbound";
import { epochMs } from "../lib/time";
import { upsertWorkOrder } from "../store/work-orders";

/**
 * A webhook without `updatedAt` is versioned by its occurredAt, which MaintainX dates a few hundred
 * ms after the REST `updatedAt` of the same change. Counted this much earlier, the poller's REST
 * record of that change (versioned by its `updatedAt`) replaces it, so the mirror ends equal to
 * MaintainX; a REST record older than the webhook by more than this never does.
 */
const WEBHOOK_VERSION_SKEW_MS = 5_000;

function webhookVersion(occurredMs: number | undefined): number | undefined {
  return occurredMs === undefined ? undefined : occurredMs - WEBHOOK_VERSION_SKEW_MS;
}

export const warehouseUpsert: EventHandler = {
  name: "warehouse",
  async run(ctx) {
    const { event } = ctx;
    const deleteEvent = event.type === "workorder.deleted";
    let wo = ctx.payloadWorkOrder;
    if (!wo) return skipped("event names no work order");
    if (!deleteEvent && !hasDescriptiveFields(wo)) {
      // A payload with only an id: mirror the current work order instead, versioned by its own
      // updatedAt. (Payload fields are never mixed with newer API data under the API's version.)
      wo = await ctx.currentWorkOrder();
      if (!wo) return skipped("payload carries no work-order fields and MAINTAINX_API_KEY is not set");
    }

    // A REST record of a deleted work order carries `deletedAt`: it is a deletion too.
    const deleted = deleteEvent || (typeof wo.fields.deletedAt === "string" && wo.fields.deletedAt !== "");
    const updatedMs = epochMs(wo.updatedAt);
    const occurredMs = epochMs(event.occurredAt);
    // A deletion is at least as new as the last update it saw.
    const versionMs = deleted
      ? Math.max(updatedMs ?? 0, occurredMs ?? 0) || Date.parse(event.receivedAt)
      : (updatedMs ?? webhookVersion(occurredMs) ?? Date.parse(event.receivedAt));

    let written: boolean;
    try {
      // Under the outbound deadline: with the lookup before it, two such waits stay inside the claim's
      // lease. A write that lands after the deadline is versioned like any, so it cannot make the row stale.
      written = await withDeadline(
        upsertWorkOrder(ctx.env.DB, { workOrder: wo, versionMs, deleted, eventId: event.id }),
        ctx.config.outboundTimeoutMs,
        "D1: work-order mirror write",
      );
    } catch (error) {
      if (error instanceof TransientError) throw error;
      throw new TransientError("D1: work-order mirror write failed");
    }
    if (!written) return done(`work order ${wo.id} already newer in the mirror`);
    return done(deleted ? `work order ${wo.id} marked deleted` : `work order ${wo.id} mirrored`);
  },
};
