// Alerts for events that ended `failed` or `dead` (README, "Observability"): once per event and
// status (again after a replay that ends so again), sent by the scheduled run each minute, so a
// burst is folded into one digest instead of a message per event.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { type EndedEvent, takeUnalertedEndings } from "../store/alerts";
import { sendOperatorAlert } from "./channel";

/** Events taken per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;
const LISTED = 10;

/** URLs never reach an alert, whatever an error text carries (a sink's path can hold its token). */
function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => {
    try {
      return `${new URL(url).origin}/…`;
    } catch {
      return "(a URL)";
    }
  });
}

function line(event: EndedEvent): string {
  const error = event.lastError ? withoutUrls(event.lastError).slice(0, 300) : "no error recorded";
  return `• \`${escapeSlackText(event.id)}\` ${escapeSlackText(event.type)} *${event.status}*: ${escapeSlackText(error)}`;
}

export function endedEventsText(events: EndedEvent[], remaining: number): string {
  const statuses = [...new Set(events.map((e) => e.status))].join(" or ");
  const head =
    events.length === 1
      ? `:rotating_light: A MaintainX event ended ${statuses}.`
      : `:rotating_light: ${events.length} MaintainX events ended ${statuses} since the last alert.`;
  const more = [
    ...(events.length > LISTED ? [`…and ${events.length - LISTED} more in this alert.`] : []),
    // Each run alerts a bounded number; the rest are the next run's (a minute later).
    ...(remaining > 0 ? [`${remaining} more follow in the next alert.`] : []),
  ];
  const replay =
    events.length === 1
      ? `Fix the cause, then replay it: \`npm run cli -- events replay ${escapeSlackText(events[0]?.id ?? "")}\` or the console (/admin).`
      : `Fix the cause, then preview and replay them: \`npm run cli -- events replay --status ${events[0]?.status ?? "failed"} --dry-run\` or the console's Bulk replay (/admin).`;
  return [head, ...events.slice(0, LISTED).map(line), ...more, replay].join("\n");
}

/** Sends one alert (or digest) for what ended failed or dead since the last run; never throws on a channel failure. */
export async function alertEndedEvents(env: Env): Promise<number> {
  const { events, remaining } = await takeUnalertedEndings(env.DB, PER_RUN);
  if (events.length === 0) return 0;
  await sendOperatorAlert(readConfig(env), "ended_events", endedEventsText(events, remaining), {
    events: events.length,
    remaining,
    eventIds: events.slice(0, LISTED).map((e) => e.id),
  });
  return events.length;
}
