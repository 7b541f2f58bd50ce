// Builds what a handler gets: the event, configuration, bindings, and the event's work order,
// asset or purchase order, each fetched from MaintainX at most once per delivery when the payload
// lacks what is needed.

import { readConfig } from "../config";
import type { HandlerContext, MaintainXLookups } from "../contract/handler";
import type { CanonicalEvent } from "../events/canonical";
import { snapshot, type WorkOrderSnapshot, workOrderFromEvent } from "../events/work-order";
import type { FetchLike } from "../lib/outbound";
import { type MaintainXClient, maintainXClientFor } from "../maintainx/client";

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
    lookups: client ? onceEach(client) : undefined,
    currentWorkOrder,
    async workOrder(need = []) {
      if (!fromPayload) return undefined;
      if (need.every((field) => fromPayload[field] !== undefined)) return fromPayload;
      const current = await currentWorkOrder();
      return current ? snapshot({ ...current.fields, ...fromPayload.fields }) : fromPayload;
    },
  };
}

/** Lookups that ask MaintainX once per id, however often (and however concurrently) they are called. */
function onceEach(client: MaintainXClient): MaintainXLookups {
  const memo = new Map<string, Promise<unknown>>();
  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let found = memo.get(key) as Promise<T> | undefined;
    if (!found) {
      found = load();
      memo.set(key, found);
    }
    return found;
  }
  return {
    asset: (id) => once(`asset:${id}`, () => client.getAsset(id)),
    purchaseOrder: (id) => once(`purchaseorder:${id}`, () => client.getPurchaseOrder(id)),
  };
}
