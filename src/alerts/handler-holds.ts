// Hold and release alerts (docs/operations.md, "Operator alerts"): sent by the admin routes (in
// waitUntil) when an operator holds or releases a handler, so whoever watches the channel knows
// a destination is not being called, why, since when, and how to undo it.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { sendOperatorAlert } from "./channel";
import { withoutUrls } from "./ended-events";

/** A handler as `GET /admin/handlers` lists it, with `requeued` after a release. */
export interface HeldHandlerEntry {
  name: string;
  held: boolean;
  heldSince?: string;
  reason?: string;
  waiting: number;
  requeued?: number;
}

/** The most of a reason an alert quotes (the route keeps 200 characters). */
const REASON_CHARS = 200;

/** The operator's reason on one line, with no URL beyond its origin (it may be pasted from anywhere). */
function reasonText(reason: string): string {
  const line = withoutUrls(reason.replace(/\s+/g, " ").trim()).slice(0, REASON_CHARS);
  return escapeSlackText(line);
}

const events = (n: number) => `${n} event${n === 1 ? "" : "s"}`;
const eventsWait = (n: number) => (n === 1 ? "1 event waits" : `${n} events wait`);

export function handlerHoldText(entry: HeldHandlerEntry, action: "held" | "released"): string {
  const name = escapeSlackText(entry.name);
  if (action === "held") {
    const since = entry.heldSince ? ` since ${entry.heldSince}` : "";
    const reason = entry.reason?.trim() ? `: "${reasonText(entry.reason)}"` : " (no reason given)";
    return [
      `:pause_button: Handler \`${name}\` is held${since}${reason}.`,
      `It is not called while held: ${eventsWait(entry.waiting)} for it now as \`retrying\`, and every event that needs it waits too, using none of its retries.`,
      `Release it with \`npm run cli -- handlers release ${name}\` or the console's Handlers view (/admin); the waiting events are then tried again within a minute.`,
    ].join("\n");
  }
  const requeued = entry.requeued ?? 0;
  const rest =
    entry.waiting > 0
      ? ` The scheduled run queues the other ${events(entry.waiting)} still waiting within minutes.`
      : "";
  return `:arrow_forward: Handler \`${name}\` was released and is called again: ${events(requeued)} that waited for it queued again now.${rest}`;
}

/** Sends the alert of a hold or a release; never throws on a channel failure (the channel logs it). */
export async function alertHandlerHold(env: Env, entry: HeldHandlerEntry, action: "held" | "released"): Promise<void> {
  await sendOperatorAlert(readConfig(env), `handler_${action}`, handlerHoldText(entry, action), {
    handler: entry.name,
    waiting: entry.waiting,
    ...(action === "released" ? { requeued: entry.requeued ?? 0 } : {}),
  });
}
