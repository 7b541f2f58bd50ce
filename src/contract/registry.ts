// The handler registry: `registry.on("workorder.created", slackAlert, { once: "per-change" })`.
// Several handlers may listen to one type, `prefix.*` listens to every type under a prefix, and
// `*` to every type. A handler's `name` is its identity in the side-effect claims, so it must be
// stable and unique.

import type { Config } from "../config";
import type { CanonicalEvent } from "../events/canonical";
import { matchesPattern } from "../lib/type-patterns";
import { type EventHandler, routedTypes } from "./handler";

/**
 * How a handler's effect is claimed (ARCHITECTURE.md, "Once per real change"):
 * - `per-event` (the default): once per event id;
 * - `per-change`: once per real change (a work order's creation, each of its endings) when the
 *   event reports one, whichever path (webhook or poll) reported it; once per event otherwise.
 */
export type Once = "per-event" | "per-change";

/** A handler chosen for an event, and how it is claimed. */
export interface Route {
  handler: EventHandler;
  once: Once;
}

export class HandlerRegistry {
  readonly #routes: Array<{ pattern: string } & Route> = [];

  on(pattern: string, handler: EventHandler, options: { once?: Once } = {}): this {
    const once = options.once ?? "per-event";
    const clash = this.#routes.find((r) => r.handler.name === handler.name);
    if (clash && clash.handler !== handler) throw new Error(`Two different handlers are named ${handler.name}`);
    if (clash && clash.once !== once) throw new Error(`${handler.name} is registered both ${clash.once} and ${once}`);
    this.#routes.push({ pattern, handler, once });
    return this;
  }

  /** Every handler, once, in registration order, with the type patterns it was registered for. */
  handlers(): Array<{ name: string; types: string[] }> {
    const out = new Map<string, string[]>();
    for (const { pattern, handler } of this.#routes) {
      const types = out.get(handler.name) ?? [];
      if (!types.includes(pattern)) types.push(pattern);
      out.set(handler.name, types);
    }
    return [...out].map(([name, types]) => ({ name, types }));
  }

  /**
   * The handlers for an event, each once, in registration order. A handler whose `appliesTo` says
   * no is left out.
   */
  routesFor(event: CanonicalEvent, config: Config): Route[] {
    const types = routedTypes(event);
    const out: Route[] = [];
    for (const { pattern, handler, once } of this.#routes) {
      if (out.some((route) => route.handler === handler)) continue;
      if (!types.some((type) => matchesPattern(pattern, type))) continue;
      if (handler.appliesTo && !handler.appliesTo(event, config, types)) continue;
      out.push({ handler, once });
    }
    return out;
  }
}
