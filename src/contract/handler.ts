// The contract between the router and the handlers: what a handler is given and what it returns.
// `routing/` and `handlers/` both import it from here, so neither has to import the other.

import type { Config } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import type { WorkOrderSnapshot } from "../events/work-order";
import type { FetchLike } from "../lib/outbound";

export { routedTypes } from "../events/work-order";

/** `status`: the destination's HTTP status, when the effect was one call (the attempt log shows it). */
export type HandlerResult =
  | { outcome: "done"; detail?: string; status?: number }
  | { outcome: "skipped"; reason: string };

export interface EventHandler {
  /** The handler's identity in the side-effect claims: stable and unique. */
  name: string;
  /**
   * Whether the handler takes this event under this configuration at all (FORWARD_TYPES, say).
   * Left out, it makes no claim and records no outcome; absent, every routed event is taken.
   */
  appliesTo?(event: CanonicalEvent, config: Config, routedTypes: readonly string[]): boolean;
  /** Throws TransientError to be retried, PermanentError to be recorded as failed. */
  run(ctx: HandlerContext): Promise<HandlerResult>;
}

type WorkOrderField = "title" | "status" | "priority" | "updatedAt" | "completedAt";

export interface HandlerContext {
  event: CanonicalEvent;
  /**
   * The id this side effect goes out under (the ERP's `Idempotency-Key`): the id of the event that
   * first claimed it, the same on every attempt. It is the event's own id, except for an effect of
   * a real change first claimed by the other path's event (ARCHITECTURE.md, "Once per real change").
   */
  effectId: string;
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
  workOrder(need?: WorkOrderField[]): Promise<WorkOrderSnapshot | undefined>;
  /**
   * MaintainX REST lookups, each made at most once per delivery whichever handlers ask;
   * undefined without MAINTAINX_API_KEY. They throw as the client does (transient or permanent).
   */
  lookups: MaintainXLookups | undefined;
}

/** An entity as MaintainX's REST API gives it: its id as text, every other field as sent. */
type RestEntity = { id: string } & Record<string, unknown>;

export interface MaintainXLookups {
  /** `GET /assets/{id}`. */
  asset(id: string): Promise<RestEntity & { name?: string | null | undefined }>;
  /** `GET /purchaseorders/{id}`. */
  purchaseOrder(id: string): Promise<RestEntity>;
}

export const skipped = (reason: string): HandlerResult => ({ outcome: "skipped", reason });
export const done = (detail?: string, status?: number): HandlerResult => ({
  outcome: "done",
  ...(detail ? { detail } : {}),
  ...(status === undefined ? {} : { status }),
});
