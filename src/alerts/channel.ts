// The operator alert channel: ALERT_WEBHOOK_URL, a Slack incoming webhook (`{"text"}`). Every
// alert is also a log line, so with no channel configured the alerts are in the logs. A channel
// that fails or hangs is logged and nothing else: an alert never changes an event's outcome.

import type { Config } from "../config";
import { describeError, log } from "../lib/log";
import { type FetchLike, postJson } from "../lib/outbound";

/** Log fields that say what the alert is about (ids and counts, never a secret). */
type AlertFields = Record<string, unknown>;

export async function sendOperatorAlert(
  config: Config,
  kind: string,
  text: string,
  fields: AlertFields,
  fetchImpl: FetchLike = fetch,
): Promise<boolean> {
  log.warn("Operator alert", { alert: kind, ...fields, delivered: config.alertWebhookUrl ? "sending" : "log only" });
  const url = config.alertWebhookUrl;
  if (!url) return false;
  try {
    await postJson("Alert channel", url, JSON.stringify({ text }), {
      timeoutMs: config.outboundTimeoutMs,
      fetch: fetchImpl,
    });
    return true;
  } catch (error) {
    log.error("Operator alert could not be delivered; check ALERT_WEBHOOK_URL", {
      alert: kind,
      ...fields,
      error: describeError(error),
    });
    return false;
  }
}
