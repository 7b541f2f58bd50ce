// Slack alert for new HIGH-priority work orders, posted to an incoming webhook.
// A failed post (network, timeout, 5xx, 429) is retried by the queue; a 4xx is recorded as failed.

import { done, type EventHandler, skipped } from "../contract/handler";
import type { WorkOrderSnapshot } from "../events/work-order";
import { discardResponseBody, ensureOk, fetchWithDeadline } from "../lib/outbound";
import { escapeSlackText } from "../lib/slack-text";

function slackAlertMessage(wo: WorkOrderSnapshot, eventId: string): Record<string, unknown> {
  const title = escapeSlackText(wo.title ?? "(untitled)");
  const id = escapeSlackText(wo.id);
  const text = `:rotating_light: High-priority work order #${id}: ${title}`;
  // A real NEW_WORK_ORDER delivery carries no status; it is shown only when known, never guessed.
  const context = [
    ...(wo.status !== undefined ? [`Status: ${escapeSlackText(wo.status)}`] : []),
    `Event: ${escapeSlackText(eventId)}`,
  ];
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*High-priority work order #${id}*\n${title}` } },
      { type: "context", elements: context.map((t) => ({ type: "mrkdwn", text: t })) },
    ],
  };
}

export const slackAlert: EventHandler = {
  name: "slack-alert",
  async run(ctx) {
    const url = ctx.config.slackWebhookUrl;
    if (!url) return skipped("SLACK_WEBHOOK_URL is not set");
    const wo = await ctx.workOrder(["title", "priority"]);
    if (!wo) return skipped("event names no work order");
    if (wo.priority === undefined) {
      return skipped("priority unknown: the payload has none and MAINTAINX_API_KEY is not set");
    }
    if (wo.priority !== "HIGH") return skipped(`priority is ${wo.priority}`);

    const response = await fetchWithDeadline(
      "Slack",
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(slackAlertMessage(wo, ctx.event.id)),
      },
      ctx.config.outboundTimeoutMs,
      ctx.fetch,
    );
    await discardResponseBody(await ensureOk("Slack", response, url));
    return done(`alert posted for work order ${wo.id}`);
  },
};
