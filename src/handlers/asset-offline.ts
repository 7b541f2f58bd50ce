// Slack alert for an asset that goes offline: an ASSET_STATUS_CHANGE whose `newStatus.status` is
// OFFLINE. The text names the asset id, its name when MaintainX knows it, and the downtime type.
// The payload carries no name, so it is asked of `GET /assets/{id}` (with MAINTAINX_API_KEY),
// once per delivery. An alert about downtime is not held back for a name: when the lookup fails,
// the alert goes without it and the outcome says why.

import { done, type EventHandler, type HandlerContext, skipped } from "../contract/handler";
import { idString, isObject } from "../events/canonical";
import { escapeSlackText } from "../lib/slack-text";
import { postToSlack, type SlackMessage } from "./sinks";

/** The status an asset-status payload gives: `{status}` as MaintainX sends it, or a plain string. */
function statusOf(value: unknown): Record<string, unknown> {
  if (isObject(value)) return value;
  return typeof value === "string" ? { status: value } : {};
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

interface AssetName {
  name?: string;
  /** Why the name is not shown, when it is not. */
  missing?: string;
}

async function assetName(ctx: HandlerContext, assetId: string): Promise<AssetName> {
  const { data } = ctx.event;
  const inPayload = text(data.assetName) ?? (isObject(data.asset) ? text(data.asset.name) : undefined);
  if (inPayload) return { name: inPayload };
  if (!ctx.lookups) return { missing: "MAINTAINX_API_KEY is not set" };
  try {
    const name = text((await ctx.lookups.asset(assetId)).name);
    return name ? { name } : { missing: "MaintainX gives the asset no name" };
  } catch (error) {
    return { missing: error instanceof Error ? error.message : String(error) };
  }
}

function offlineMessage(
  assetId: string,
  name: string | undefined,
  status: Record<string, unknown>,
  eventId: string,
): SlackMessage {
  const id = escapeSlackText(assetId);
  const named = name ? ` ${escapeSlackText(name)}` : "";
  const downtimeType = text(status.downtimeType)?.toUpperCase();
  // MaintainX's own word (PLANNED, UNPLANNED), as people search their Slack for it.
  const downtime = downtimeType ? `${escapeSlackText(downtimeType)} downtime` : "downtime type not given";
  const headline = `Asset #${id}${named} is offline: ${downtime}`;
  const label = isObject(status.customStatus) ? text(status.customStatus.label) : undefined;
  const description = text(status.description);
  const context = [
    ...(label ? [`Status: ${escapeSlackText(label)}`] : []),
    ...(description ? [`Reason: ${escapeSlackText(description)}`] : []),
    `Event: ${escapeSlackText(eventId)}`,
  ];
  return {
    text: `:red_circle: ${headline}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${headline}*` } },
      { type: "context", elements: context.map((t) => ({ type: "mrkdwn", text: t })) },
    ],
  };
}

export const assetOfflineAlert: EventHandler = {
  name: "asset-offline-alert",
  async run(ctx) {
    const { event } = ctx;
    const status = statusOf(event.data.newStatus);
    const newStatus = text(status.status)?.toUpperCase();
    if (newStatus !== "OFFLINE") return skipped(`asset status is ${newStatus ?? "not given"}, not OFFLINE`);
    const url = ctx.config.slackWebhookUrl;
    if (!url) return skipped("SLACK_WEBHOOK_URL is not set");
    const assetId = (event.subject?.kind === "asset" ? event.subject.id : undefined) ?? idString(event.data.assetId);
    if (assetId === undefined) return skipped("event names no asset");

    const { name, missing } = await assetName(ctx, assetId);
    const answered = await postToSlack(ctx, url, offlineMessage(assetId, name, status, event.id));
    return done(`offline alert posted for asset ${assetId}${missing ? ` (no name: ${missing})` : ""}`, answered);
  },
};
