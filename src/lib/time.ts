// Dates as MaintainX and the queue carry them: ISO 8601 text, read as epoch milliseconds.

/** The instant an ISO date-time names, or undefined when it is absent or not a date. */
export function epochMs(value: string | null | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * An ISO 8601 date-time as `toISOString()` writes it (`2026-12-01T10:00:00.000Z`), the form every
 * stored time has, so the two compare as text. Takes `Z` or an offset (`+02:00`, `-0500`), seconds
 * and fractions optional, `T` or (as RFC 3339 allows) a space between date and time; a date alone
 * is midnight UTC. A time without `Z` or an offset is
 * ambiguous and refused, as are impossible dates (`2026-02-30`) and years outside 0000–9999.
 * `round` says which way to go when the text is finer than a millisecond: "down" for a bound that
 * is at most, "up" for one that is at least, so an inclusive bound never takes in a time outside it.
 */
export function isoInstant(value: string, round: "down" | "up" = "down"): string | undefined {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", zone = "Z"] = m;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  // setUTCFullYear rolls 2026-02-30 over to March: a real date comes back as it went in.
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  date.setUTCHours(Number(hour), Number(minute), Number(second), Number(fraction.padEnd(3, "0").slice(0, 3)));
  let ms = date.getTime();
  if (round === "up" && /[1-9]/.test(fraction.slice(3))) ms += 1;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (offset) {
    const [, sign, hours, minutes] = offset;
    if (Number(hours) > 23 || Number(minutes) > 59) return undefined;
    ms -= (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  }
  const instant = new Date(ms);
  const utcYear = instant.getUTCFullYear();
  return utcYear < 0 || utcYear > 9999 ? undefined : instant.toISOString();
}
