// Which key each handler of an event is claimed under (ARCHITECTURE.md, "Once per real change"):
// a handler registered for `workorder.created` is claimed once per work order, one registered for
// an ending (`workorder.completed` / `.canceled` / `.skipped`) once per ending of the work order,
// whichever path (webhook or poll) reported it; every other handler once per event. Pure: the
// ending is resolved, and its key read, inside the attempt's first D1 batch (store/attempt.ts).

import type { Route } from "../contract/registry";
import type { CanonicalEvent } from "../events/canonical";
import { CREATED_TYPE, type EndingObservation, endingObservation, reopenObservation } from "../events/changes";
import type { AttemptPlan } from "../store/attempt";
import { type ClaimKeyRef, createdClaimKey } from "../store/side-effects";

export interface PlannedClaim extends Route {
  ref: ClaimKeyRef;
}

/**
 * The claim key of each route, and what the first batch must record before taking them: the
 * work order seen open again (so a later ending is not mistaken for the one before), and the
 * ending the event reports, only for events with a handler claimed per ending.
 */
export function planClaims(
  event: CanonicalEvent,
  routes: Route[],
): { claims: PlannedClaim[] } & Pick<AttemptPlan, "reopen" | "ending"> {
  const reopen = reopenObservation(event);
  let ending: EndingObservation | undefined;
  const claims: PlannedClaim[] = [];
  for (const route of routes) {
    const { changeType } = route;
    const workOrderId = event.workOrderId;
    let ref: ClaimKeyRef = { key: event.id };
    if (changeType && workOrderId !== undefined) {
      if (changeType === CREATED_TYPE) {
        ref = { key: createdClaimKey(workOrderId) };
      } else {
        const observation = endingObservation(event, changeType);
        if (observation) {
          ending ??= observation;
          ref = { endingOf: { eventId: event.id } };
        }
      }
    }
    claims.push({ ...route, ref });
  }
  return { claims, reopen: reopen ? { workOrderId: reopen.workOrderId, atMs: reopen.atMs } : undefined, ending };
}
