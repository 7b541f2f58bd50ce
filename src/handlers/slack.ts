// Slack alert for new work orders whose priority is in SLACK_ALERT_PRIORITIES (default HIGH),
// posted to an incoming webhook. A failed post (network, timeout, 5xx, 429) is retried by the
// queue; a 4xx is recorded as failed.

import { done, type EventHandler, skipped } from "../contract/handler";
import type { WorkOrderSnapshot } from "../events/work-order";
import { escapeSlackText } from "../lib/slack-text";
import { postToSlack, type SlackMessage } from "./sinks";

/** `HIGH` → `High`, as the message's first words say it. */
function priorityWord(priority: string): string {
  return `${priority.slice(0, 1)}${priority.slice(1).toLowerCase()}`;
}

function slackAlertMessage(wo: WorkOrderSnapshot, priority: string, eventId: string): SlackMessage {
  const title = escapeSlackText(wo.title ?? "(untitled)");
  const id = escapeSlackText(wo.id);
  const kind = `${priorityWord(priority)}-priority work order`;
  const text = `:rotating_light: ${kind} #${id}: ${title}`;
  // A real NEW_WORK_ORDER delivery carries no status; it is shown only when known, never guessed.
  const context = [
    ...(wo.status !== undefined ? [`Status: ${escapeSlackText(wo.status)}`] : []),
    `Event: ${escapeSlackText(eventId)}`,
  ];
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${kind} #${id}*\n${title}` } },
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
    const priorities = ctx.config.slackAlertPriorities;
    if (!priorities.includes(wo.priority)) {
      return skipped(`priority is ${wo.priority}; SLACK_ALERT_PRIORITIES is ${priorities.join(",")}`);
    }

    const answered = await postToSlack(ctx, url, slackAlertMessage(wo, wo.priority, ctx.event.id));
    return done(`alert posted for work order ${wo.id}`, answered);
  },
};
