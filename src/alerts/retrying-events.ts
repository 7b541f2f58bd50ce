// Alerts for events still `retrying` after ALERT_RETRYING_MINUTES (docs/operations.md, "Operator
// alerts"): a destination has been failing that long, and the retry schedule is running down.
// Once per event and retrying spell (counted from `events.retrying_since`), swept by the scheduled
// run each minute, one digest per run. An event that waits only for held handlers is not alerted:
// the hold was the operator's own decision (its hold alert said so, alerts/handler-holds.ts).

import { readConfig } from "../config";
import { formatDelay } from "../lib/retry-schedule";
import { escapeSlackText } from "../lib/slack-text";
import { type RetryingEvent, takeLongRetrying } from "../store/alerts";
import { sendOperatorAlert } from "./channel";
import { durationText, eventLine, LISTED, listedEvents } from "./ended-events";

/** Events taken per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;

/** The handlers an error text names (`handler: error; handler: error`), for events with no attempt log. */
function handlersNamedIn(lastError: string | null): string[] {
  return (lastError ?? "")
    .split("; ")
    .flatMap((part) => /^([A-Za-z0-9_.-]+): /.exec(part)?.[1] ?? [])
    .filter((name, i, all) => all.indexOf(name) === i);
}

/** The handlers that failed for it: from its attempt log, else from its last error (held ones aside). */
function failingOf(event: RetryingEvent): string[] {
  if (event.failing.length > 0) return event.failing;
  return handlersNamedIn(event.lastError).filter((name) => !event.heldFor.includes(name));
}

function waitOf(event: RetryingEvent): string {
  if (event.nextAttemptAt) return `next attempt ${event.nextAttemptAt}`;
  if (event.heldFor.length > 0) {
    const names = event.heldFor.map(escapeSlackText).join(", ");
    return `waiting for held handler${event.heldFor.length > 1 ? "s" : ""} ${names}`;
  }
  return "next attempt not recorded";
}

function retryingEventsText(
  events: RetryingEvent[],
  remaining: number,
  minutes: number,
  schedule: readonly number[],
): string {
  const head =
    events.length === 1
      ? `:hourglass_flowing_sand: A MaintainX event has been \`retrying\` for more than ${minutes} min.`
      : `:hourglass_flowing_sand: ${events.length} MaintainX events have been \`retrying\` for more than ${minutes} min.`;
  const counts = new Map<string, number>();
  for (const event of events) for (const name of failingOf(event)) counts.set(name, (counts.get(name) ?? 0) + 1);
  const failing = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const who =
    failing.length > 0
      ? [
          `Failing: ${failing.map(([name, n]) => `${escapeSlackText(name)} (${n} event${n === 1 ? "" : "s"})`).join(", ")}.`,
        ]
      : [];
  const lines = listedEvents(
    events,
    (e) => `${eventLine({ ...e, status: "retrying" })} (${e.attempts} attempt(s); ${waitOf(e)})`,
  );
  const next = remaining > 0 ? [`${remaining} more follow in the next alert.`] : [];
  const only = failing.length === 1 ? escapeSlackText(failing[0]?.[0] ?? "") : "<handler>";
  const total = schedule.reduce((sum, delay) => sum + delay, 0);
  const advice = [
    `They are tried again on the retry schedule (${schedule.map(formatDelay).join(", ")}: ${durationText(total)} of delays in all) and end \`dead\` after its last delay.`,
    `If the destination is down for a while, hold its handler so no retry is used up: \`npm run cli -- handlers hold ${only} --reason "…"\` (or the console's Handlers view, /admin), and release it once it is back.`,
    "`npm run cli -- events list --status retrying` lists every event still retrying.",
  ];
  return [head, ...who, ...lines, ...next, ...advice].join("\n");
}

/**
 * Sends one alert (or digest) for the events `retrying` longer than ALERT_RETRYING_MINUTES at
 * `nowMs` and not alerted in that spell yet (none when it is 0); never throws on a channel failure.
 */
export async function alertRetryingEvents(env: Env, nowMs: number): Promise<number> {
  const config = readConfig(env);
  const minutes = config.alertRetryingMinutes;
  if (minutes === 0) return 0;
  const since = new Date(nowMs - minutes * 60_000).toISOString();
  const { events, remaining } = await takeLongRetrying(env.DB, since, PER_RUN);
  if (events.length === 0) return 0;
  await sendOperatorAlert(
    config,
    "retrying_events",
    retryingEventsText(events, remaining, minutes, config.retry.schedule),
    {
      events: events.length,
      remaining,
      eventIds: events.slice(0, LISTED).map((e) => e.id),
    },
  );
  return events.length;
}
