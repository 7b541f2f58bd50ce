// What a handler gets: the event, configuration, bindings, and the event's work order,
// fetched from MaintainX at most once per delivery when the payload lacks what is needed.

import { type Config, readConfig } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import { snapshot, type WorkOrderSnapshot, workOrderFromEvent } from "../events/work-order";
import type { FetchLike } from "../lib/outbound";
import { createMaintainXClient, type MaintainXClient } from "../maintainx/client";

type Field = "title" | "status" | "priority" | "updatedAt" | "completedAt";

export interface HandlerContext {
  event: CanonicalEvent;
  env: Env;
  config: Config;
  fetch: FetchLike;
  /** The work order exactly as the payload describes it (undefined when it names none). */
  payloadWorkOrder: WorkOrderSnapshot | undefined;
  /** The current work order from `GET /workorders/{id}`; undefined without an API key. */
  currentWorkOrder(): Promise<WorkOrderSnapshot | undefined>;
  /**
   * The work order as the payload describes it; when any of `need` is missing and an API key is
   * configured, the current work order from `GET /workorders/{id}` is merged in (payload wins).
   * Undefined when the event names no work order.
   */
  workOrder(need?: Field[]): Promise<WorkOrderSnapshot | undefined>;
}

export function createHandlerContext(
  event: CanonicalEvent,
  env: Env,
  options: { fetch?: FetchLike; maintainx?: MaintainXClient } = {},
): HandlerContext {
  const config = readConfig(env);
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const fromPayload = workOrderFromEvent(event);
  let fetched: Promise<WorkOrderSnapshot> | undefined;

  const client =
    options.maintainx ??
    (config.apiKey
      ? createMaintainXClient({
          apiBase: config.apiBase,
          apiKey: config.apiKey,
          organizationId: config.organizationId,
          timeoutMs: config.outboundTimeoutMs,
          fetch: fetchImpl,
        })
      : undefined);

  async function currentWorkOrder(): Promise<WorkOrderSnapshot | undefined> {
    if (!fromPayload || !client) return undefined;
    fetched ??= client.getWorkOrder(fromPayload.id).then((wo) => snapshot({ ...wo }));
    return fetched;
  }

  return {
    event,
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
