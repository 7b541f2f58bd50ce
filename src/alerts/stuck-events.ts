// Alerts for events nothing will settle by themselves (docs/operations.md, "Operator alerts"):
// left `accepted` past the retry window, or `retrying` with their next attempt long overdue
// (store/stuck-events.ts). Swept by the scheduled run each minute; once per event and state
// (again only after it changed, e.g. a replay that could not be sent and stayed `accepted`, or a
// retry that came and is overdue again), one digest per run.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import {
  RETRY_OVERDUE_HOURS,
  STUCK_AFTER_HOURS,
  type StuckCutoffs,
  type StuckEvent,
  stuckCutoffs,
  takeUnalertedStuck,
} from "../store/stuck-events";
import { sendOperatorAlert } from "./channel";
import { eventLine, LISTED, listedEvents } from "./ended-events";

/** Events taken per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;

const ACCEPTED_WHY = `with no change for more than ${STUCK_AFTER_HOURS} h, longer than the queues retry a message`;
const RETRYING_WHY = `with its next attempt more than ${RETRY_OVERDUE_HOURS} h overdue: the queue has not brought it back`;

function head(events: StuckEvent[]): string {
  const accepted = events.filter((e) => e.status === "accepted").length;
  const retrying = events.length - accepted;
  if (events.length === 1) {
    return accepted === 1
      ? `:hourglass: A MaintainX event has stayed \`accepted\` ${ACCEPTED_WHY}: it will not settle by itself.`
      : `:hourglass: A MaintainX event is \`retrying\` ${RETRYING_WHY}, and it may not settle by itself.`;
  }
  if (retrying === 0) {
    return `:hourglass: ${events.length} MaintainX events have stayed \`accepted\` ${ACCEPTED_WHY}: they will not settle by themselves.`;
  }
  if (accepted === 0) {
    return `:hourglass: ${events.length} MaintainX events are \`retrying\` with their next attempt more than ${RETRY_OVERDUE_HOURS} h overdue: the queue has not brought them back, and they may not settle by themselves.`;
  }
  return `:hourglass: ${events.length} MaintainX events may not settle by themselves: ${accepted} stayed \`accepted\` ${ACCEPTED_WHY}; ${retrying} ${retrying === 1 ? "is" : "are"} \`retrying\` with the next attempt more than ${RETRY_OVERDUE_HOURS} h overdue.`;
}

function line(e: StuckEvent): string {
  const when = e.nextAttemptAt ? `next attempt was due ${e.nextAttemptAt}` : `last change ${e.updatedAt}`;
  return `${eventLine(e)} (${e.attempts} attempt(s), ${when})`;
}

function whatToDo(events: StuckEvent[], cutoffs: StuckCutoffs): string[] {
  const first = events[0];
  const retrying = events.some((e) => e.status === "retrying");
  // An attempt that failed on D1 recorded nothing, so its retry can still come.
  const d1 = retrying
    ? [
        "If D1 was unavailable meanwhile, a `retrying` event may still come back by itself (its attempts could not be recorded); check its attempts with `npm run cli -- events show <id>` first.",
      ]
    : [];
  if (events.length === 1 && first) {
    return [
      ...d1,
      `Fix the cause if there is one (D1, the queue), then replay it: \`npm run cli -- events replay ${escapeSlackText(first.id)}\` or the console (/admin).`,
    ];
  }
  const accepted = events.some((e) => e.status === "accepted")
    ? [
        `preview and replay the accepted ones: \`npm run cli -- events replay --status accepted --until ${cutoffs.changedBefore} --dry-run\``,
      ]
    : [];
  const overdue = retrying ? ["replay each overdue one: `npm run cli -- events replay <id>`"] : [];
  return [
    ...d1,
    `Fix the cause if there is one (D1, the queue), then ${[...accepted, ...overdue].join("; ")}; or use the console's Status view (/admin).`,
  ];
}

function stuckEventsText(events: StuckEvent[], remaining: number, cutoffs: StuckCutoffs): string {
  const next = remaining > 0 ? [`${remaining} more follow in the next alert.`] : [];
  return [head(events), ...listedEvents(events, line), ...next, ...whatToDo(events, cutoffs)].join("\n");
}

/** Sends one alert (or digest) for the stuck events not alerted yet; never throws on a channel failure. */
export async function alertStuckEvents(env: Env, nowMs: number): Promise<number> {
  const cutoffs = stuckCutoffs(nowMs);
  const { events, remaining } = await takeUnalertedStuck(env.DB, cutoffs, PER_RUN);
  if (events.length === 0) return 0;
  await sendOperatorAlert(readConfig(env), "stuck_events", stuckEventsText(events, remaining, cutoffs), {
    events: events.length,
    remaining,
    eventIds: events.slice(0, LISTED).map((e) => e.id),
  });
  return events.length;
}
