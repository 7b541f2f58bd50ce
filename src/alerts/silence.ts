// The webhook-silence alert (docs/operations.md): webhooks have arrived before, none has for
// ALERT_SILENCE_MINUTES, and the poller meanwhile found changes after the last one that a webhook
// subscription this Worker has heard from would have delivered (a new work order, an ending) —
// MaintainX disables a subscription whose deliveries keep failing. Once per silence, also when
// scheduled runs overlap; a webhook arriving afterwards ends it (and says so).

import { readConfig } from "../config";
import { epochMs } from "../lib/time";
import { missedChangesSince, readSilenceAlertedFor, swapSilenceAlertedFor } from "../store/alerts";
import { lastWebhookAt } from "../store/event-log";
import { sendOperatorAlert } from "./channel";

/** REST's times and a webhook's arrival differ by a little: only changes later than this count. */
const CHANGE_SKEW_MS = 60_000;

type SilenceOutcome = "off" | "no_webhooks_yet" | "flowing" | "silent" | "alerted" | "already_alerted" | "resumed";

export async function checkWebhookSilence(env: Env, nowMs: number): Promise<SilenceOutcome> {
  const config = readConfig(env);
  if (config.alertSilenceMinutes === 0) return "off";
  const [last, alertedFor] = await Promise.all([lastWebhookAt(env.DB), readSilenceAlertedFor(env.DB)]);
  if (last === undefined) return "no_webhooks_yet";

  if (alertedFor !== undefined && alertedFor !== last) {
    // Only the run that clears the state says so.
    if (!(await swapSilenceAlertedFor(env.DB, alertedFor, null))) return "already_alerted";
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
  if (alertedFor === last) return "already_alerted";
  const missed = (await missedChangesSince(env.DB, last)).filter((at) => (epochMs(at) ?? 0) > lastMs + CHANGE_SKEW_MS);
  if (missed.length === 0) return "silent";

  // Claimed before sending: a channel that fails must not turn one silence into an alert a
  // minute, and of two overlapping runs only one sends.
  if (!(await swapSilenceAlertedFor(env.DB, alertedFor, last))) return "already_alerted";
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
