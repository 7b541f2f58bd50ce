// Times, spans and counts as the command line prints them, shared by its commands.

import { formatDelay } from "../src/lib/retry-schedule";

/** 2026-11-28T09:15:02.417Z → 2026-11-28T09:15:02Z: tables have no room for milliseconds. */
export function shortTime(iso: string): string {
  return iso.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d+Z$/, "$1Z");
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A handler call's duration: `85 ms`, `1.2 s`, `75 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 1000)} s`;
}

/** A span in words, to the minute once it passes an hour: `45 s`, `2 min 35 s`, `27 h 42 min`. */
export function formatSpan(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) {
    const s = whole % 60;
    return `${Math.floor(whole / 60)} min${s === 0 ? "" : ` ${s} s`}`;
  }
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes === 0 ? "" : ` ${minutes} min`}`;
}

/** The retry schedule in force, as `RETRY_SCHEDULE` writes it: `30s 2m 10m … 12h (27 h 42 min in all)`. */
export function formatSchedule(schedule: readonly number[], totalSeconds: number): string {
  if (schedule.length === 0) return "no retries";
  return `${schedule.map(formatDelay).join(" ")} (${formatSpan(totalSeconds)} in all)`;
}
