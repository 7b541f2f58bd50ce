// The benchmark's results: the JSON written to bench/results/latest.json and the Markdown printed.

import type { BurstResult } from "./burst";
import type { HmacResult } from "./hmac";
import type { EventCost, EventKind, Ops } from "./ops";

export interface ScenarioResult {
  name: string;
  /** What is measured, in a few words. */
  what: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms_per_req: number | null;
  /** Of cpu_ms_per_req, the tree's root process alone (a Miniflare host's Node process: log lines). */
  host_cpu_ms_per_req: number | null;
  /**
   * The runtime's CPU per request: workerd alone for a Miniflare host (cpu_ms_per_req less the host
   * process), the whole server for Express. The own-CPU figures and the Express comparison use it.
   */
  runtime_cpu_ms_per_req: number | null;
  /** The load generator's CPU per request, on the same cores. */
  client_cpu_ms_per_req: number;
  requests: number;
  seconds: number;
  body_bytes: number;
  /** For the rows measured in rounds: each round's runtime CPU per request (the row shows the median round). */
  runtime_cpu_ms_per_req_rounds?: (number | null)[];
}

/**
 * The receiver's own CPU per request in ms: a `-no-io` row's runtime CPU minus the `empty` row's of
 * its body size, in the same round.
 */
export interface OwnCpu {
  /** `duplicate-no-io` − `empty` (2 KB). */
  duplicate: number | null;
  /** `accept-no-io` − `empty` (2 KB). */
  accept: number | null;
  /** `large-no-io` − `empty-large` (1 MiB). */
  large: number | null;
}

export interface StageResult {
  bytes: number;
  verify_us: number;
  event_id_us: number;
  parse_us: number;
  normalise_us: number;
}

interface Ratios {
  duplicate_vs_empty: number | null;
  accept_vs_empty: number | null;
  duplicate_vs_express: number | null;
  large_cpu_ms: number | null;
  accept_vs_express: number | null;
  duplicate_floor_vs_empty: number | null;
  duplicate_no_io_vs_empty: number | null;
  duplicate_no_io_vs_express: number | null;
  accept_no_io_vs_express: number | null;
  /** Express's CPU per request over the receiver's own (`-no-io`): above 1, the receiver costs less. */
  express_cpu_vs_duplicate_no_io_cpu: number | null;
}

interface TargetCheck {
  target: string;
  value: number | null;
  met: boolean | null;
}

export interface Results {
  generated_at: string;
  mode: "quick" | "full";
  machine: Record<string, string | number>;
  settings: Record<string, number>;
  scenarios: ScenarioResult[];
  /** Medians over the rounds of OwnCpu. */
  own_cpu_ms: OwnCpu;
  own_cpu_rounds: OwnCpu[];
  burst?: BurstResult;
  /** Billed binding operations per event, by kind, end to end (bench/workers/ops-counting.js). */
  ops_per_event?: Record<EventKind, Ops>;
  /** The queue consumer's own D1 round trips per event (the mirror's upsert not counted). */
  consumer?: { d1_round_trips: Record<Exclude<EventKind, "duplicate">, number> };
  /** USD per million events of each kind at Workers Paid prices (bench/lib/ops.ts). */
  cost_per_million_events?: { prices_as_of: string; kinds: Record<EventKind, EventCost> };
  hmac: HmacResult[];
  stages: StageResult[];
  ratios: Ratios;
  targets: TargetCheck[];
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? a / b : null;
}

export function computeRatios(scenarios: ScenarioResult[]): Ratios {
  const rps = (name: string) => scenarios.find((s) => s.name === name)?.rps;
  const cpu = (name: string) => scenarios.find((s) => s.name === name)?.cpu_ms_per_req ?? undefined;
  return {
    duplicate_vs_empty: ratio(rps("duplicate"), rps("empty")),
    accept_vs_empty: ratio(rps("accept"), rps("empty")),
    duplicate_vs_express: ratio(rps("duplicate"), rps("express-seed")),
    large_cpu_ms: scenarios.find((s) => s.name === "large")?.cpu_ms_per_req ?? null,
    accept_vs_express: ratio(rps("accept"), rps("express-seed-accept")),
    duplicate_floor_vs_empty: ratio(rps("duplicate-floor"), rps("empty")),
    duplicate_no_io_vs_empty: ratio(rps("duplicate-no-io"), rps("empty")),
    duplicate_no_io_vs_express: ratio(rps("duplicate-no-io"), rps("express-seed")),
    accept_no_io_vs_express: ratio(rps("accept-no-io"), rps("express-seed-accept")),
    express_cpu_vs_duplicate_no_io_cpu: ratio(cpu("express-seed"), cpu("duplicate-no-io")),
  };
}

function check(target: string, value: number | null | undefined, met: (v: number) => boolean): TargetCheck {
  return value === null || value === undefined
    ? { target, value: null, met: null }
    : { target, value, met: met(value) };
}

/**
 * The issue's targets, evaluated on this run: on the receiver as served with the local simulators,
 * and on its own code alone (`-no-io`), which is what production bills.
 */
export function checkTargets(
  scenarios: ScenarioResult[],
  ratios: Ratios,
  own: OwnCpu,
  consumer?: Results["consumer"],
): TargetCheck[] {
  const cpu = (name: string) => scenarios.find((s) => s.name === name)?.cpu_ms_per_req;
  const runtimeCpu = (name: string) => scenarios.find((s) => s.name === name)?.runtime_cpu_ms_per_req;
  const acceptNoIo = runtimeCpu("accept-no-io");
  const expressAccept = runtimeCpu("express-seed-accept");
  return [
    check("own CPU, new 2 KB event (accept-no-io − empty) <= 0.12 ms", own.accept, (v) => v <= 0.12),
    check("own CPU, 2 KB duplicate (duplicate-no-io − empty) <= 0.06 ms", own.duplicate, (v) => v <= 0.06),
    check("own CPU, 1 MiB duplicate (large-no-io − empty-large) <= 2.0 ms", own.large, (v) => v <= 2.0),
    check(
      "accept-no-io runtime CPU/request below express-seed-accept's (ratio < 1)",
      acceptNoIo !== null && acceptNoIo !== undefined && expressAccept ? acceptNoIo / expressAccept : null,
      (v) => v < 1,
    ),
    check("consumer D1 round trips per completion <= 3", consumer?.d1_round_trips.completion ?? null, (v) => v <= 3),
    check("consumer D1 round trips per creation <= 3", consumer?.d1_round_trips.creation ?? null, (v) => v <= 3),
    check("duplicate_vs_empty >= 0.6 (requests/s)", ratios.duplicate_vs_empty, (v) => v >= 0.6),
    check("duplicate_no_io_vs_empty >= 0.6 (requests/s)", ratios.duplicate_no_io_vs_empty, (v) => v >= 0.6),
    check("duplicate_vs_express >= 1 (requests/s, same payload)", ratios.duplicate_vs_express, (v) => v >= 1),
    check("duplicate_no_io_vs_express >= 1", ratios.duplicate_no_io_vs_express, (v) => v >= 1),
    check("accept_vs_express >= 1", ratios.accept_vs_express, (v) => v >= 1),
    check("accept_no_io_vs_express >= 1", ratios.accept_no_io_vs_express, (v) => v >= 1),
    check("large: 1 MiB verified in < 10 ms CPU", ratios.large_cpu_ms, (v) => v < 10),
    check("duplicate: 2 KB in < 1 ms CPU", cpu("duplicate"), (v) => v < 1),
    check("accept: 2 KB in < 1 ms CPU", cpu("accept"), (v) => v < 1),
    check("accept-no-io: 2 KB in < 1 ms CPU", cpu("accept-no-io"), (v) => v < 1),
  ];
}

/** Rounds every number to a readable precision (the JSON is committed and diffed). */
export function rounded<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v !== "number" || Number.isInteger(v)) return v;
      const digits = Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 1 ? 3 : 4;
      return Number(v.toFixed(digits));
    }),
  ) as T;
}

function fmt(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function sizeLabel(bytes: number): string {
  if (bytes >= 1_048_576) return `${bytes / 1_048_576} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}

export function markdown(results: Results): string {
  const lines: string[] = [];
  lines.push(
    "| scenario | what is measured | body | requests/s | p50 ms | p99 ms | CPU ms/request | of which host process | runtime CPU ms/request | client CPU ms/request |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const s of results.scenarios) {
    lines.push(
      `| \`${s.name}\` | ${s.what} | ${sizeLabel(s.body_bytes)} | ${fmt(s.rps, 0)} | ${fmt(s.p50_ms, 2)} | ${fmt(s.p99_ms, 2)} | ${fmt(s.cpu_ms_per_req, 3)} | ${fmt(s.host_cpu_ms_per_req, 3)} | ${fmt(s.runtime_cpu_ms_per_req, 3)} | ${fmt(s.client_cpu_ms_per_req, 3)} |`,
    );
  }

  if (results.hmac.length > 0) {
    const sizes = [...new Set(results.hmac.map((h) => h.bytes))].sort((a, b) => a - b);
    const impls = [...new Set(results.hmac.map((h) => h.impl))];
    lines.push(
      "",
      `| HMAC-SHA256 | ${sizes.map(sizeLabel).join(" | ")} |`,
      `|---|${sizes.map(() => "---:").join("|")}|`,
    );
    for (const impl of impls) {
      const cells = sizes.map((bytes) => {
        const h = results.hmac.find((x) => x.impl === impl && x.bytes === bytes);
        return h ? `${fmt(h.ms_per_op, 4)} ms (${fmt(h.mb_per_s, 0)} MB/s)` : "–";
      });
      lines.push(`| ${impl} | ${cells.join(" | ")} |`);
    }
  }

  if (results.stages.length > 0) {
    lines.push(
      "",
      "| receiver step, in workerd | body | µs per delivery |",
      "|---|---|---:|",
      ...results.stages.flatMap((s) => [
        `| verify: HMAC over \`"<t>." + body\` | ${sizeLabel(s.bytes)} | ${fmt(s.verify_us, 1)} |`,
        `| event id: SHA-256 of \`"<type>\\n" + body\` | ${sizeLabel(s.bytes)} | ${fmt(s.event_id_us, 1)} |`,
        `| parse: UTF-8 decode, \`JSON.parse\`, depth check | ${sizeLabel(s.bytes)} | ${fmt(s.parse_us, 1)} |`,
        `| normalise: parse + event id | ${sizeLabel(s.bytes)} | ${fmt(s.normalise_us, 1)} |`,
      ]),
    );
  }

  const own = results.own_cpu_ms;
  lines.push(
    "",
    "| receiver's own CPU (median of its rounds) | ms/request | each round |",
    "|---|---:|---|",
    ...(
      [
        ["duplicate, 2 KB (`duplicate-no-io` − `empty`)", "duplicate"],
        ["new event, 2 KB (`accept-no-io` − `empty`)", "accept"],
        ["duplicate, 1 MiB (`large-no-io` − `empty-large`)", "large"],
      ] as const
    ).map(
      ([label, key]) =>
        `| ${label} | ${fmt(own[key], 3)} | ${results.own_cpu_rounds.flatMap((r) => (r[key] === null ? [] : [fmt(r[key], 3)])).join(", ")} |`,
    ),
  );

  if (results.ops_per_event && results.cost_per_million_events) {
    const kinds = ["duplicate", "creation", "completion", "update"] as const;
    const ops = results.ops_per_event;
    const cost = results.cost_per_million_events;
    const row = (label: string, value: (kind: (typeof kinds)[number]) => string) =>
      `| ${label} | ${kinds.map(value).join(" | ")} |`;
    lines.push(
      "",
      `| per event | ${kinds.join(" | ")} |`,
      `|---|${kinds.map(() => "---:").join("|")}|`,
      row("Worker requests (receiver + consumer invocations)", (k) =>
        fmt(ops[k].worker_requests + ops[k].consumer_invocations, 1),
      ),
      row("KV reads / writes", (k) => `${fmt(ops[k].kv_reads, 1)} / ${fmt(ops[k].kv_writes, 1)}`),
      row(
        "queue messages (64 KB units)",
        (k) => `${fmt(ops[k].queue_messages, 1)} (${fmt(ops[k].queue_units_64kb, 1)})`,
      ),
      row(
        "D1 round trips (of them the consumer's, the mirror's)",
        (k) =>
          `${fmt(ops[k].d1_round_trips, 1)} (${fmt(ops[k].consumer_d1_round_trips, 1)}, ${fmt(ops[k].consumer_mirror_round_trips, 1)})`,
      ),
      row("D1 rows written / read", (k) => `${fmt(ops[k].d1_rows_written, 1)} / ${fmt(ops[k].d1_rows_read, 1)}`),
      row("R2 writes", (k) => fmt(ops[k].r2_writes, 1)),
      row(`USD per million events (prices of ${cost.prices_as_of})`, (k) => fmt(cost.kinds[k].total, 2)),
    );
  }

  if (results.burst) {
    const b = results.burst;
    lines.push(
      "",
      "| burst | value |",
      "|---|---:|",
      `| deliveries (new events, 2 KB) | ${fmt(b.events, 0)} |`,
      `| sent and answered in | ${fmt(b.send_seconds, 1)} s (${fmt(b.send_rps, 0)}/s) |`,
      `| all processed after | ${fmt(b.seconds, 1)} s |`,
      `| events per second through the consumer | ${fmt(b.events_per_second, 0)} |`,
      `| largest queue backlog | ${fmt(b.max_backlog, 0)} |`,
      `| outcome | ${Object.entries(b.outcome)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")} |`,
    );
  }

  const r = results.ratios;
  lines.push(
    "",
    "| ratio | value |",
    "|---|---:|",
    ...Object.entries(r).map(([name, value]) => `| \`${name}\` | ${fmt(value, name.endsWith("_ms") ? 3 : 2)} |`),
    "",
    "| target | this run | met |",
    "|---|---:|---|",
    ...results.targets.map(
      (t) => `| ${t.target} | ${fmt(t.value, 3)} | ${t.met === null ? "not measured" : t.met ? "yes" : "**no**"} |`,
    ),
  );
  return lines.join("\n");
}
