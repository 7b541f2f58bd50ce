// Dates as MaintainX and the queue carry them: ISO 8601 text, read as epoch milliseconds.

/** The instant an ISO date-time names, or undefined when it is absent or not a date. */
export function epochMs(value: string | null | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
