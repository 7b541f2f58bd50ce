// The handler registry: `registry.on("workorder.created", slackAlert)`. Several handlers may
// listen to one type, `prefix.*` listens to every type under a prefix, and `*` to every type. A handler's `name`
// is its identity in the side-effect claims, so it must be stable and unique.

import type { Config } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import { isChangeType } from "../events/changes";
import { matchesPattern } from "../lib/type-patterns";
import { type EventHandler, routedTypes } from "./handler";

/** A handler chosen for an event, and the change type it was registered under by name, if any. */
export interface Route {
  handler: EventHandler;
  /**
   * `workorder.created`, `.completed`, `.canceled` or `.skipped` when the handler was registered
   * under exactly that type and the event is routed as it: it then runs once per real change
   * (ARCHITECTURE.md, "Once per real change"). Wildcard registrations (`workorder.*`) run per event.
   */
  changeType?: string;
}

export class HandlerRegistry {
  readonly #routes: Array<{ pattern: string; handler: EventHandler }> = [];

  on(pattern: string, handler: EventHandler): this {
    const clash = this.#routes.find((r) => r.handler.name === handler.name && r.handler !== handler);
    if (clash) throw new Error(`Two different handlers are named ${handler.name}`);
    this.#routes.push({ pattern, handler });
    return this;
  }

  /**
   * The handlers for an event, each once, in registration order, with the change type each runs
   * for (a change wins over a wildcard). A handler whose `appliesTo` says no is left out.
   */
  routesFor(event: CanonicalEvent, config: Config): Route[] {
    const types = routedTypes(event);
    const out: Route[] = [];
    for (const { pattern, handler } of this.#routes) {
      if (!types.some((type) => matchesPattern(pattern, type))) continue;
      if (handler.appliesTo && !handler.appliesTo(event, config, types)) continue;
      const changeType = isChangeType(pattern) ? pattern : undefined;
      const existing = out.find((route) => route.handler === handler);
      if (!existing) out.push(changeType ? { handler, changeType } : { handler });
      else if (changeType && !existing.changeType) existing.changeType = changeType;
    }
    return out;
  }
}
