// Builds what a handler gets: the event, configuration, bindings, and the event's work order,
// fetched from MaintainX at most once per delivery when the payload lacks what is needed.

import { readConfig } from "../config";
import type { HandlerContext } from "../contract/handler";
import type { CanonicalEvent } from "../events/canonical";
import { snapshot, type WorkOrderSnapshot, workOrderFromEvent } from "../events/work-order";
import type { FetchLike } from "../lib/outbound";
import { maintainXClientFor } from "../maintainx/client";

export function createHandlerContext(event: CanonicalEvent, env: Env, fetchOverride?: FetchLike): HandlerContext {
  const config = readConfig(env);
  const fetchImpl: FetchLike = fetchOverride ?? ((input, init) => fetch(input, init));
  const fromPayload = workOrderFromEvent(event);
  const client = maintainXClientFor(config, fetchImpl);
  let fetched: Promise<WorkOrderSnapshot> | undefined;

  async function currentWorkOrder(): Promise<WorkOrderSnapshot | undefined> {
    if (!fromPayload || !client) return undefined;
    fetched ??= client.getWorkOrder(fromPayload.id).then((wo) => snapshot({ ...wo }));
    return fetched;
  }

  return {
    event,
    effectId: event.id,
    env,
    config,
    fetch: fetchImpl,
    payloadWorkOrder: fromPayload,
    currentWorkOrder,
    async workOrder(need = []) {
      if (!fromPayload) return undefined;
      if (need.every((field) => fromPayload[field] !== undefined)) return fromPayload;
      const current = await currentWorkOrder();
      return current ? snapshot({ ...current.fields, ...fromPayload.fields }) : fromPayload;
    },
  };
}
