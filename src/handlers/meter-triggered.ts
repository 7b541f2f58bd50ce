// Slack alert for a meter trigger that becomes TRIGGERED (METER_TRIGGER_STATE_CHANGE with
// `newState: "TRIGGERED"`), naming the meter and the trigger. Other states are skipped.

import { done, type EventHandler, skipped } from "../contract/handler";
import { idString } from "../events/canonical";
import { escapeSlackText } from "../lib/slack-text";
import { postToSlack } from "./sinks";

export const meterTriggeredAlert: EventHandler = {
  name: "meter-trigger-alert",
  async run(ctx) {
    const { data, id: eventId } = ctx.event;
    const newState = typeof data.newState === "string" ? data.newState.toUpperCase() : undefined;
    if (newState !== "TRIGGERED") return skipped(`trigger state is ${newState ?? "not given"}, not TRIGGERED`);
    const url = ctx.config.slackWebhookUrl;
    if (!url) return skipped("SLACK_WEBHOOK_URL is not set");
    const meterId = idString(data.meterId);
    const triggerId = idString(data.meterTriggerId);
    if (meterId === undefined || triggerId === undefined) return skipped("event names no meter or no trigger");

    const oldState = typeof data.oldState === "string" ? ` (was ${escapeSlackText(data.oldState)})` : "";
    const headline = `Meter #${escapeSlackText(meterId)}: trigger #${escapeSlackText(triggerId)} is TRIGGERED${oldState}`;
    const answered = await postToSlack(ctx, url, {
      text: `:bell: ${headline}`,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `*${headline}*` } },
        { type: "context", elements: [{ type: "mrkdwn", text: `Event: ${escapeSlackText(eventId)}` }] },
      ],
    });
    return done(`trigger alert posted for meter ${meterId}, trigger ${triggerId}`, answered);
  },
};
