// The retry schedule (RETRY_SCHEDULE, docs/operations.md "Retries and holds"): retry n of an event
// waits the n-th delay. No Workers types here, so the Node tests and the CLI can read it.

/**
 * `max_retries` of the `maintainx-events` consumer in wrangler.toml (test/node/retry-schedule.test.ts
 * checks they agree): a schedule of up to this many delays runs in full; after the last one the
 * consumer dead-letters the event itself.
 */
export const QUEUE_MAX_RETRIES = 20;

/** The Queues limit on one delay. */
export const MAX_DELAY_SECONDS = 43_200;

/** The default: more than a day (99,750 s), so an outage of a working day turns nothing `dead`. */
export const DEFAULT_RETRY_SCHEDULE_TEXT = "30s,2m,10m,30m,1h,2h,4h,8h,12h";

const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/**
 * The delays of a `30s,2m,1h` text in seconds, or the first entry that does not parse: each entry
 * is a whole number with a unit `s`, `m` or `h`, at most 12 h.
 */
export function parseRetrySchedule(text: string): { delays: number[] } | { bad: string } {
  const delays: number[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    const match = /^(\d{1,6})\s*([smh])$/i.exec(entry);
    const unit = match?.[2]?.toLowerCase() as keyof typeof UNIT_SECONDS | undefined;
    const seconds = match && unit ? Number(match[1]) * UNIT_SECONDS[unit] : Number.NaN;
    if (!(seconds <= MAX_DELAY_SECONDS)) return { bad: entry };
    delays.push(seconds);
  }
  return { delays };
}

export const DEFAULT_RETRY_SCHEDULE: readonly number[] = (() => {
  const parsed = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE_TEXT);
  if (!("delays" in parsed)) throw new Error("The default retry schedule does not parse");
  return parsed.delays;
})();

/** The schedule RETRY_BASE_SECONDS alone gives: five retries, doubling from the base. */
export function doublingSchedule(baseSeconds: number): number[] {
  return Array.from({ length: 5 }, (_, i) => Math.min(MAX_DELAY_SECONDS, baseSeconds * 2 ** i));
}

/** `30s`, `2m`, `1h`, `1h30m`: a delay as the schedule writes it. */
export function formatDelay(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds}s`;
  const minutes = seconds / 60;
  if (minutes < 60 || minutes % 60 === 0) return minutes < 60 ? `${minutes}m` : `${minutes / 60}h`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
