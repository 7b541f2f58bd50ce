// How each handler of an event is claimed (ARCHITECTURE.md, "Once per real change"): a handler
// registered `once: "per-change"` is claimed under the real change the event reports (a work
// order's creation, or one of its endings), whichever path reported it; every other handler, and
// every handler of an event that reports no change, under the event's id. Pure: the change is
// resolved, and its id read, inside the attempt's first D1 batch (store/attempt.ts).

import type { Route } from "../contract/registry";
import type { CanonicalEvent } from "../events/canonical";
import { changeObservation, reopenObservation } from "../events/changes";
import type { AttemptPlan } from "../store/attempt";

export interface PlannedClaim extends Route {
  perChange: boolean;
}

/**
 * Each route's claim, and what the first batch must record before taking them: the work order
 * seen open again (so a later ending is not mistaken for the one before), and the change the event
 * reports, only when a handler is claimed per change.
 */
export function planClaims(
  event: CanonicalEvent,
  routes: Route[],
): { claims: PlannedClaim[] } & Pick<AttemptPlan, "reopen" | "change"> {
  const change = routes.some((route) => route.once === "per-change") ? changeObservation(event) : undefined;
  const claims = routes.map((route) => ({ ...route, perChange: route.once === "per-change" && change !== undefined }));
  return { claims, reopen: reopenObservation(event), change };
}
