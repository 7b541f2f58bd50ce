// Which key each handler of an event is claimed under (ARCHITECTURE.md, "Once per real change"):
// a handler registered for `workorder.created` is claimed once per work order, one registered for
// an ending (`workorder.completed` / `.canceled` / `.skipped`) once per ending of the work order,
// whichever path (webhook or poll) reported it; every other handler once per event.

import type { Route } from "../contract/registry";
import type { CanonicalEvent } from "../events/canonical";
import { CREATED_TYPE, endingObservation, reopenObservation } from "../events/changes";
import { recordReopen, resolveEnding } from "../store/endings";
import { createdClaimKey, endingClaimKey } from "../store/side-effects";

export interface Claim extends Route {
  key: string;
}

/**
 * The claim key of each route. Resolving an ending costs one D1 batch, only for events with a
 * handler claimed per ending; an event that shows its work order open again costs one D1 update
 * first, so a later ending is not mistaken for the one before.
 */
export async function claimsFor(db: D1Database, event: CanonicalEvent, routes: Route[]): Promise<Claim[]> {
  const reopen = reopenObservation(event);
  if (reopen) await recordReopen(db, reopen.workOrderId, reopen.atMs);

  let ending: Promise<string> | undefined;
  const claims: Claim[] = [];
  for (const route of routes) {
    const { changeType } = route;
    const workOrderId = event.workOrderId;
    let key = event.id;
    if (changeType && workOrderId !== undefined) {
      if (changeType === CREATED_TYPE) {
        key = createdClaimKey(workOrderId);
      } else {
        const observation = endingObservation(event, changeType);
        if (observation) {
          ending ??= resolveEnding(db, observation).then((seq) => endingClaimKey(workOrderId, seq));
          key = await ending;
        }
      }
    }
    claims.push({ ...route, key });
  }
  return claims;
}
