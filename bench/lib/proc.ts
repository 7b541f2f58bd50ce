// CPU time of a process and all its descendants, read from /proc: the serving side of a benchmark
// is a process tree (Node hosting Miniflare plus workerd, or wrangler plus its workerd children).

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** The command name (at most 15 characters, as the kernel keeps it). */
  comm: string;
  /** utime + stime, in clock ticks, summed over every thread of the process. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
  return { pid, ppid, comm, ticks: utime + stime };
}

/** True where per-process CPU accounting is available (Linux). */
export function canMeasureCpu(): boolean {
  return readStat(process.pid) !== undefined;
}

/** CPU milliseconds (user + system) used so far by `rootPid` and every living descendant; NaN without /proc. */
export function processTreeCpuMs(rootPid: number): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return Number.NaN;
  }
  const stats = new Map<number, ProcStat>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(stat.pid, stat);
  }
  const children = new Map<number, number[]>();
  for (const stat of stats.values()) {
    const list = children.get(stat.ppid);
    if (list) list.push(stat.pid);
    else children.set(stat.ppid, [stat.pid]);
  }
  let ticks = 0;
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    const stat = stats.get(pid);
    if (!stat) continue;
    ticks += stat.ticks;
    pending.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / clockTicks();
}

/** CPU milliseconds used so far by `pid` alone, without its children; NaN without /proc. */
export function processCpuMs(pid: number): number {
  const stat = readStat(pid);
  return stat ? (stat.ticks * 1000) / clockTicks() : Number.NaN;
}

/**
 * True when `pid` has a workerd child (a Miniflare host); false without /proc. By name, since other
 * servers may have helper children too (tsx's esbuild service under the Express baseline).
 */
export function hostsWorkerd(pid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return false;
  }
  return entries.some((entry) => {
    const stat = /^\d+$/.test(entry) ? readStat(Number(entry)) : undefined;
    return stat?.ppid === pid && stat.comm.startsWith("workerd");
  });
}
