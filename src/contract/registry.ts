// The handler registry: `registry.on("workorder.created", slackAlert)`. Several handlers may
// listen to one type, and `prefix.*` listens to every type under a prefix. A handler's `name`
// is its identity in the side-effect claims, so it must be stable and unique.

import type { CanonicalEvent } from "../events/canonical";
import { type EventHandler, routedTypes } from "./handler";

export class HandlerRegistry {
  readonly #routes: Array<{ pattern: string; handler: EventHandler }> = [];

  on(pattern: string, handler: EventHandler): this {
    const clash = this.#routes.find((r) => r.handler.name === handler.name && r.handler !== handler);
    if (clash) throw new Error(`Two different handlers are named ${handler.name}`);
    this.#routes.push({ pattern, handler });
    return this;
  }

  /** The handlers for an event, each once, in registration order. */
  handlersFor(event: CanonicalEvent): EventHandler[] {
    const types = routedTypes(event);
    const out: EventHandler[] = [];
    for (const { pattern, handler } of this.#routes) {
      if (out.includes(handler)) continue;
      if (types.some((type) => matches(pattern, type))) out.push(handler);
    }
    return out;
  }
}

function matches(pattern: string, type: string): boolean {
  return pattern.endsWith(".*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}
