// Alerts for events that ended `failed` or `dead` (docs/operations.md): once per event and
// status (again after a replay that ends so again). The consumer asks for one as soon as a batch
// ends events so (`alertEndedEventsSoon`), and the scheduled run sweeps up each minute; at most one
// alert goes per DIGEST_WINDOW_MS, so a burst is folded into a few digests, not a message per event.

import { readConfig } from "../config";
import { escapeSlackText } from "../lib/slack-text";
import { claimEndedAlertSlot, type EndedEvent, takeUnalertedEndings } from "../store/alerts";
import { sendOperatorAlert } from "./channel";

/** Events taken per run: one digest names the first few and counts the rest. */
const PER_RUN = 200;
/** At most one alert of ended events this often; what ends meanwhile waits for the next. */
export const DIGEST_WINDOW_MS = 10_000;
/** Events an alert names one by one; it counts the rest. */
export const LISTED = 10;

/** URLs never reach an alert, whatever an error text carries (a sink's path can hold its token). */
export function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (match) => {
    // Punctuation that ends a sentence or a list (`…/hook; slack: …`) is the text's, not the URL's.
    const url = match.replace(/[;,.:)]+$/, "");
    const tail = match.slice(url.length);
    // A URL cut short by redaction (`https://erp.test[redacted]`) still names its host; one with
    // a user part is never guessed at (its password could pass for a port).
    const host = /^[a-z][a-z0-9+.-]*:\/\/[^/?#[\]@]+(?=$|[/?#[])/i.exec(url)?.[0];
    const origin = originOf(url) ?? originOf(host);
    return `${origin ? `${origin}/…` : "(a URL)"}${tail}`;
  });
}

/** The URL's origin (never its user, path or query), or undefined when it does not parse as one. */
function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * The lines an alert names its events by: the first LISTED, each as `line` writes it, and a count
 * of the others in this alert.
 */
export function listedEvents<T>(events: readonly T[], line: (event: T) => string): string[] {
  const more = events.length - LISTED;
  return [...events.slice(0, LISTED).map(line), ...(more > 0 ? [`…and ${more} more in this alert.`] : [])];
}

/** `45 s`, `12 min`, `27 h 42 min`: a span of time as an alert says it (rounded down to the minute past one). */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return rest === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

/** One event of an alert: its id, type, status and last error, each escaped for Slack. */
export function eventLine(event: Pick<EndedEvent, "id" | "type" | "lastError"> & { status: string }): string {
  const error = event.lastError ? withoutUrls(event.lastError).slice(0, 300) : "no error recorded";
  return `• \`${escapeSlackText(event.id)}\` ${escapeSlackText(event.type)} *${event.status}*: ${escapeSlackText(error)}`;
}

function endedEventsText(events: EndedEvent[], remaining: number): string {
  const statuses = [...new Set(events.map((e) => e.status))].join(" or ");
  const head =
    events.length === 1
      ? `:rotating_light: A MaintainX event ended ${statuses}.`
      : `:rotating_light: ${events.length} MaintainX events ended ${statuses} since the last alert.`;
  // Each run alerts a bounded number; the rest are the next run's (a minute later).
  const next = remaining > 0 ? [`${remaining} more follow in the next alert.`] : [];
  const replay =
    events.length === 1
      ? `Fix the cause, then replay it: \`npm run cli -- events replay ${escapeSlackText(events[0]?.id ?? "")}\` or the console (/admin).`
      : `Fix the cause, then preview and replay them: \`npm run cli -- events replay --status ${events[0]?.status ?? "failed"} --dry-run\` or the console's Bulk replay (/admin).`;
  return [head, ...listedEvents(events, eventLine), ...next, replay].join("\n");
}

/** Sends one alert (or digest) for what ended failed or dead and is not alerted yet; never throws on a channel failure. */
export async function alertEndedEvents(env: Env): Promise<number> {
  const { events, remaining } = await takeUnalertedEndings(env.DB, PER_RUN);
  if (events.length === 0) return 0;
  await sendOperatorAlert(readConfig(env), "ended_events", endedEventsText(events, remaining), {
    events: events.length,
    remaining,
    eventIds: events.slice(0, LISTED).map((e) => e.id),
  });
  return events.length;
}

/**
 * From the consumer, when a batch ended events failed or dead: alerts now if no alert went in the
 * last DIGEST_WINDOW_MS, else waits for the window to end and tries once more (one of the waiting
 * consumers wins the slot and sends everything pending; the scheduled run catches any rest).
 */
export async function alertEndedEventsSoon(env: Env): Promise<number> {
  // Without a channel an alert is a log line: nothing to fold, no reason to wait.
  if (!readConfig(env).alertWebhookUrl) return alertEndedEvents(env);
  if (await claimEndedAlertSlot(env.DB, Date.now(), DIGEST_WINDOW_MS)) return alertEndedEvents(env);
  await new Promise((resolve) => setTimeout(resolve, DIGEST_WINDOW_MS));
  if (await claimEndedAlertSlot(env.DB, Date.now(), DIGEST_WINDOW_MS)) return alertEndedEvents(env);
  return 0;
}
