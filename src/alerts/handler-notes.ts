// "Recovered" notes (docs/operations.md, "Operator alerts"): a handler whose events had failed or
// were retrying and that then succeeded is noted once per failing episode. Swept by the scheduled
// run each minute; the handlers recovered since the last run share one message.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { epochMs } from "../lib/time";
import { type Recovery, takeRecoveries } from "../store/handler-notes";
import { sendOperatorAlert } from "./channel";
import { durationText } from "./ended-events";

function episode(r: Recovery): string {
  const since = r.failingSince ? `failing since ${r.failingSince}, ` : "";
  const from = epochMs(r.failingSince);
  const to = epochMs(r.recoveredAt);
  const lasted = from !== undefined && to !== undefined ? `, after ${durationText((to - from) / 1000)}` : "";
  const again = r.failingAgainSince ? `; it has failed again since ${r.failingAgainSince}` : "";
  return `(${since}recovered at ${r.recoveredAt}${lasted})${again}`;
}

function recoveredText(recoveries: Recovery[]): string {
  const [only] = recoveries;
  const head =
    recoveries.length === 1 && only
      ? [`:white_check_mark: Handler ${escapeSlackText(only.handler)} is delivering again ${episode(only)}.`]
      : [
          `:white_check_mark: ${recoveries.length} handlers are delivering again:`,
          ...recoveries.map((r) => `• ${escapeSlackText(r.handler)} ${episode(r)}`),
        ];
  return [
    ...head,
    "Events still `retrying` are delivered by their next attempts. Events that ended `failed` or `dead` meanwhile are not tried again by themselves: preview and replay them with `npm run cli -- events replay --status dead --dry-run` and `--status failed --dry-run` (`--since <time>` narrows it), or the console's Bulk replay (/admin).",
  ].join("\n");
}

/** Sends one note for the handlers whose recovery was not noted yet; never throws on a channel failure. */
export async function noteRecoveredHandlers(env: Env): Promise<number> {
  const recoveries = await takeRecoveries(env.DB);
  if (recoveries.length === 0) return 0;
  await sendOperatorAlert(readConfig(env), "handlers_recovered", recoveredText(recoveries), {
    handlers: recoveries.map((r) => r.handler),
  });
  return recoveries.length;
}
