// Text for Slack messages (incoming webhooks, `{"text"}`).

/** Slack's mrkdwn treats &, < and > as control characters; these three must be escaped. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
