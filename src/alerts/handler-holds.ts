// Hold and release alerts (docs/operations.md, "Operator alerts").

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { sendOperatorAlert } from "./channel";

export async function alertHandlerHold(
  env: Env,
  entry: { name: string; held: boolean; heldSince?: string; reason?: string; waiting: number; requeued?: number },
  action: "held" | "released",
): Promise<void> {
  const name = escapeSlackText(entry.name);
  const text =
    action === "held"
      ? `:pause_button: Handler ${name} is held${entry.reason ? ` (${escapeSlackText(entry.reason)})` : ""}; ${entry.waiting} event(s) wait. Release it with \`npm run cli -- handlers release ${name}\` or the console's Handlers view (/admin).`
      : `:arrow_forward: Handler ${name} was released; ${entry.requeued ?? 0} waiting event(s) queued again.`;
  await sendOperatorAlert(readConfig(env), `handler_${action}`, text, { handler: entry.name });
}
