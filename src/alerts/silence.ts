// The webhook-silence alerts (docs/operations.md, "Silence"). MaintainX disables a subscription
// whose deliveries keep failing, one event type at a time, and the poller still finds what it
// would have delivered. Two checks, each alerting once per silence (also when scheduled runs
// overlap), and each silence ended by a note when its webhooks arrive again:
// - every webhook: webhooks have arrived before, none has for ALERT_SILENCE_MINUTES, and the
//   poller meanwhile found changes after the last one that a type this Worker has heard from
//   would have delivered (a new work order, an ending);
// - one type: other webhooks keep arriving, but a MaintainX type this Worker has heard from and
//   whose changes the poller sees (NEW_WORK_ORDER, WORK_ORDER_STATUS_CHANGE) has been silent that
//   long, and the poller found changes after its last webhook that it would have delivered.

import { type Config, readConfig } from "../config";
import { canonicalType } from "../events/canonical";
import { MAINTAINX_EVENT_TYPES, maintainXType } from "../events/maintainx-types";
import { ENDING_TYPE } from "../events/work-order";
import { escapeSlackText } from "../lib/slack-text";
import { epochMs } from "../lib/time";
import {
  claimTypeSilence,
  endTypeSilence,
  missedChangesSince,
  type PolledChange,
  readSilenceState,
  type SilenceState,
  swapSilenceAlertedFor,
} from "../store/alerts";
import { lastWebhookAt } from "../store/event-log";
import { sendOperatorAlert } from "./channel";

/** REST's times and a webhook's arrival differ by a little: only changes later than this count. */
const CHANGE_SKEW_MS = 60_000;
/** Polled changes read per check, newest first: enough to count a silence's, and to say "at least" past it. */
const MISSED_READ = 200;
/** Work orders named in a type's silence alert; the rest are counted. */
const LISTED_WORK_ORDERS = 5;

const CREATED = "workorder.created";
const STATUS_CHANGED = "workorder.status_changed";
const ENDINGS: readonly string[] = Object.values(ENDING_TYPE);

/**
 * The types of the poller's events (src/ingest/accept-polled.ts: a creation, an ending) that a
 * webhook of this type would have delivered too: NEW_WORK_ORDER a creation, WORK_ORDER_STATUS_CHANGE
 * every ending (it is routed by its new status, src/events/work-order.ts); a seed delivery's
 * dotted name what its canonical type says. None for any other type: the poller cannot tell
 * whether those went missing.
 */
export function polledTypesReportedBy(sourceType: string): readonly string[] {
  const type = canonicalType(sourceType);
  if (type === STATUS_CHANGED) return ENDINGS;
  return type === CREATED || ENDINGS.includes(type) ? [type] : [];
}

/** Every type (as received) whose webhooks the poller can vouch for: MaintainX's, and seed names. */
const REPORTING_TYPES: readonly string[] = [
  ...new Set([...MAINTAINX_EVENT_TYPES, CREATED, STATUS_CHANGED, ...ENDINGS]),
].filter((type) => polledTypesReportedBy(type).length > 0);

type SilenceOutcome = "off" | "no_webhooks_yet" | "flowing" | "silent" | "alerted" | "already_alerted" | "resumed";

/**
 * Both checks; the outcome is that of the check of every webhook (a type's alert is its own log
 * line, as every alert is).
 */
export async function checkWebhookSilence(env: Env, nowMs: number): Promise<SilenceOutcome> {
  const config = readConfig(env);
  if (config.alertSilenceMinutes === 0) return "off";
  const [last, state] = await Promise.all([lastWebhookAt(env.DB), readSilenceState(env.DB, REPORTING_TYPES)]);
  if (last === undefined) return "no_webhooks_yet";
  const outcome = await checkEveryWebhook(env.DB, config, nowMs, last, state);
  await checkEachType(env.DB, config, nowMs, last, state);
  return outcome;
}

async function checkEveryWebhook(
  db: D1Database,
  config: Config,
  nowMs: number,
  last: string,
  state: SilenceState,
): Promise<SilenceOutcome> {
  const { alertedFor } = state;
  // ISO text orders as time. A last webhook older than the one alerted for (retention deleted
  // the newer) is no resumption.
  if (alertedFor !== undefined && last > alertedFor) {
    // Only the run that clears the state says so.
    if (!(await swapSilenceAlertedFor(db, alertedFor, null, last))) return "already_alerted";
    state.endedAt = last;
    await sendOperatorAlert(
      config,
      "webhooks_resumed",
      `:white_check_mark: MaintainX webhooks are arriving again (the last at ${last}; silent since ${alertedFor}).`,
      { lastWebhookAt: last, silentSince: alertedFor },
    );
    return "resumed";
  }

  const lastMs = epochMs(last) ?? nowMs;
  const silentMs = nowMs - lastMs;
  if (silentMs < config.alertSilenceMinutes * 60_000) return "flowing";
  if (alertedFor !== undefined && last <= alertedFor) return "already_alerted";
  const heard = [...new Set([...state.lastByType.keys()].flatMap(polledTypesReportedBy))];
  const missed = after(await missedChangesSince(db, last, heard, MISSED_READ), lastMs);
  if (missed.length === 0) return "silent";

  // Claimed before sending: a channel that fails must not turn one silence into an alert a
  // minute, and of two overlapping runs only one sends.
  if (!(await swapSilenceAlertedFor(db, alertedFor, last))) return "already_alerted";
  const minutes = Math.floor(silentMs / 60_000);
  await sendOperatorAlert(
    config,
    "webhook_silence",
    [
      `:warning: No MaintainX webhook for ${minutes} min (the last at ${last}), but the poller found ${missed.length} new or ended work order(s) since that webhooks would have delivered.`,
      "MaintainX disables a webhook subscription whose deliveries keep failing: check them with `npm run cli -- subscriptions list`, and re-create or update any that is gone or disabled. The poller keeps the events flowing meanwhile.",
    ].join("\n"),
    { lastWebhookAt: last, silentMinutes: minutes, polledChanges: missed.length },
  );
  return "alerted";
}

/**
 * The silence of one type while others arrive. Only MaintainX types this Worker has logged count
 * (a subscription never made has no webhook in the log; a seed name is no subscription). While
 * every webhook is silent, the alert of every webhook speaks for them all; after such a silence
 * ended, a type counts as silent only from then on, so one that stopped with the others (and
 * whose next change has not come yet) is not alerted on its own the moment the others return.
 */
async function checkEachType(
  db: D1Database,
  config: Config,
  nowMs: number,
  last: string,
  state: SilenceState,
): Promise<void> {
  for (const [sourceType, since] of state.typeSilences) {
    const typeLast = state.lastByType.get(sourceType);
    if (typeLast === undefined || typeLast <= since) continue;
    // Only the run that ends the silence says so.
    if (!(await endTypeSilence(db, sourceType, since))) continue;
    await sendOperatorAlert(
      config,
      "webhook_type_resumed",
      `:white_check_mark: MaintainX ${sourceType} webhooks are arriving again (the last at ${typeLast}; silent since ${since}).`,
      { sourceType, lastWebhookAt: typeLast, silentSince: since },
    );
  }

  const silenceMs = config.alertSilenceMinutes * 60_000;
  if (nowMs - (epochMs(last) ?? nowMs) >= silenceMs) return;
  const endedMs = epochMs(state.endedAt) ?? 0;
  for (const [sourceType, typeLast] of state.lastByType) {
    // Alerted, or its silence just ended (the next run looks at it afresh).
    if (maintainXType(sourceType) === undefined || state.typeSilences.has(sourceType)) continue;
    const typeLastMs = epochMs(typeLast);
    if (typeLastMs === undefined) continue;
    const fromMs = Math.max(typeLastMs, endedMs);
    if (nowMs - fromMs < silenceMs) continue;
    const types = polledTypesReportedBy(sourceType);
    const found = await missedChangesSince(db, new Date(fromMs).toISOString(), types, MISSED_READ);
    const missed = after(found, fromMs);
    if (missed.length === 0) continue;

    // Claimed before sending, as above.
    if (!(await claimTypeSilence(db, sourceType, typeLast))) continue;
    const minutes = Math.floor((nowMs - typeLastMs) / 60_000);
    const atLeast = found.length >= MISSED_READ ? "at least " : "";
    await sendOperatorAlert(
      config,
      "webhook_type_silence",
      [
        `:warning: No MaintainX ${sourceType} webhook for ${minutes} min (the last at ${typeLast}), while other webhooks keep arriving (the last at ${last}). Meanwhile the poller found ${atLeast}${describeChanges(missed)} that ${sourceType} webhooks would have delivered${listWorkOrders(missed)}.`,
        `MaintainX disables a subscription whose deliveries keep failing: in MaintainX's webhook settings, check this Worker's ${sourceType} subscription and re-enable it (or re-create it: \`npm run cli -- subscriptions create --url <the Worker's URL> --type ${sourceType}\`, then add its secret to MAINTAINX_WEBHOOK_SECRET). \`npm run cli -- subscriptions list\` shows the status of the subscriptions the CLI created. The poller keeps these events flowing meanwhile; this alert is sent once, and a note follows when ${sourceType} webhooks arrive again.`,
      ].join("\n"),
      { sourceType, lastWebhookAt: typeLast, silentMinutes: minutes, polledChanges: missed.length },
    );
  }
}

/** The changes that happened after `sinceMs` by more than the skew between REST and webhooks. */
function after(changes: PolledChange[], sinceMs: number): PolledChange[] {
  return changes.filter((change) => (epochMs(change.occurredAt) ?? 0) > sinceMs + CHANGE_SKEW_MS);
}

const CHANGE_WORDS: Readonly<Record<string, string>> = {
  [CREATED]: "new",
  [ENDING_TYPE.DONE]: "completed",
  [ENDING_TYPE.CANCELED]: "canceled",
  [ENDING_TYPE.SKIPPED]: "skipped",
};

/** `3 new work order(s)`, `2 completed, 1 canceled work order(s)`. */
function describeChanges(changes: PolledChange[]): string {
  const parts = Object.entries(CHANGE_WORDS).flatMap(([type, word]) => {
    const n = changes.filter((change) => change.type === type).length;
    return n > 0 ? [`${n} ${word}`] : [];
  });
  return `${parts.join(", ")} work order(s)`;
}

/** `: #101, #102 and 3 more`, the newest first, each once; empty when none is named. */
function listWorkOrders(changes: PolledChange[]): string {
  const ids = [...new Set(changes.flatMap((change) => (change.workOrderId === null ? [] : [change.workOrderId])))];
  if (ids.length === 0) return "";
  const listed = ids.slice(0, LISTED_WORK_ORDERS).map((id) => `#${escapeSlackText(id)}`);
  const more = ids.length - listed.length;
  return `: ${listed.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}
