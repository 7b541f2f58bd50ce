// Alerts for events left `accepted` past the retry window (docs/operations.md, "Operator alerts"):
// no queue holds their message any more, so they will not settle by themselves. Swept by the
// scheduled run each minute; once per event and last change (again only after it changed, e.g. a
// replay that could not be sent and stayed `accepted`), one digest per run.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { STUCK_AFTER_HOURS, STUCK_AFTER_MS, type StuckEvent, takeUnalertedStuck } from "../store/stuck-events";
import { sendOperatorAlert } from "./channel";
import { eventLine, LISTED, listedEvents } from "./ended-events";

/** Events taken per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;

function stuckEventsText(events: StuckEvent[], remaining: number, changedBefore: string): string {
  const since = `with no change for more than ${STUCK_AFTER_HOURS} h, longer than the queues retry a message`;
  const head =
    events.length === 1
      ? `:hourglass: A MaintainX event has stayed \`accepted\` ${since}: it will not settle by itself.`
      : `:hourglass: ${events.length} MaintainX events have stayed \`accepted\` ${since}: they will not settle by themselves.`;
  const lines = listedEvents(
    events,
    (e) => `${eventLine({ ...e, status: "accepted" })} (${e.attempts} attempt(s), last change ${e.updatedAt})`,
  );
  const next = remaining > 0 ? [`${remaining} more follow in the next alert.`] : [];
  const replay =
    events.length === 1
      ? `Fix the cause if there is one (D1, the queue), then replay it: \`npm run cli -- events replay ${escapeSlackText(events[0]?.id ?? "")}\` or the console (/admin).`
      : `Fix the cause if there is one (D1, the queue), then preview and replay them: \`npm run cli -- events replay --status accepted --until ${changedBefore} --dry-run\` or the console's Status view (/admin).`;
  return [head, ...lines, ...next, replay].join("\n");
}

/** Sends one alert (or digest) for the stuck events not alerted yet; never throws on a channel failure. */
export async function alertStuckEvents(env: Env, nowMs: number): Promise<number> {
  const changedBefore = new Date(nowMs - STUCK_AFTER_MS).toISOString();
  const { events, remaining } = await takeUnalertedStuck(env.DB, changedBefore, PER_RUN);
  if (events.length === 0) return 0;
  await sendOperatorAlert(readConfig(env), "stuck_events", stuckEventsText(events, remaining, changedBefore), {
    events: events.length,
    remaining,
    eventIds: events.slice(0, LISTED).map((e) => e.id),
  });
  return events.length;
}
