// The final notice before retention deletes failed and dead events (docs/storage.md, "Retention"):
// once per event and last change, at least a week (NOTICE_LEAD_MS) before it goes, naming what
// goes, when, and how to keep it: replay it, or export it. One digest per scheduled run.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { type ExpiringEvent, NOTICE_LEAD_MS, takeExpiryNotices } from "../store/retention";
import { sendOperatorAlert } from "./channel";
import { eventLine, LISTED, listedEvents } from "./ended-events";

/** Events named per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;

/** `2026-12-15 12:00 UTC`: the day and minute an operator acts by. */
function minuteUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function expiringEventsText(
  events: ExpiringEvent[],
  remaining: number,
  deleteFrom: string,
  days: number,
  changedBefore: string,
): string {
  const statuses = (["failed", "dead"] as const).filter((s) => events.some((e) => e.status === s));
  const when = `on or after ${minuteUtc(deleteFrom)}`;
  const rule = `failed and dead events are kept ${days} days after their last change (FAILED_RETENTION_DAYS), and a week after this notice`;
  const head =
    events.length === 1
      ? `:wastebasket: This ${statuses[0]} MaintainX event is deleted ${when}, with its outcomes and dead letter: ${rule}.`
      : `:wastebasket: These ${events.length} ${statuses.join(" or ")} MaintainX events are deleted ${when}, with their outcomes and dead letters: ${rule}.`;
  const lines = listedEvents(events, (e) => `${eventLine(e)} (last change ${e.updatedAt})`);
  const next = remaining > 0 ? [`${remaining} more are named in the next alert.`] : [];
  const id = escapeSlackText(events[0]?.id ?? "");
  const previews = statuses
    .map((s) => `\`npm run cli -- events replay --status ${s} --until ${changedBefore} --dry-run\``)
    .join(", ");
  const keep =
    events.length === 1
      ? `To keep it, fix the cause and replay it before then (\`npm run cli -- events replay ${id}\` or the console, /admin), or export it: \`npm run cli -- events show ${id} --json > event.json\`. If it may go, there is nothing to do.`
      : `To keep them, fix the cause and replay them before then (preview: ${previews}; or the console's Bulk replay, /admin), or export each: \`npm run cli -- events show <id> --json > <id>.json\`. If they may go, there is nothing to do.`;
  return [head, ...lines, ...next, keep].join("\n");
}

/**
 * Names the failed and dead events changed last before `changedBefore` that no notice has named
 * since, stamps them noticed at `nowMs`, and sends the notice; `days` is the failed period in force.
 * Retention deletes them no sooner than NOTICE_LEAD_MS later. Never throws on a channel failure.
 */
export async function noticeExpiringEvents(
  env: Env,
  nowMs: number,
  changedBefore: string,
  days: number,
): Promise<number> {
  const { events, remaining } = await takeExpiryNotices(env.DB, changedBefore, new Date(nowMs).toISOString(), PER_RUN);
  if (events.length === 0) return 0;
  const deleteFrom = new Date(nowMs + NOTICE_LEAD_MS).toISOString();
  await sendOperatorAlert(
    readConfig(env),
    "expiring_events",
    expiringEventsText(events, remaining, deleteFrom, days, changedBefore),
    { events: events.length, remaining, deleteFrom, eventIds: events.slice(0, LISTED).map((e) => e.id) },
  );
  return events.length;
}
