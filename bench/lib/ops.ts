// What an event costs on Cloudflare: the billed binding operations it makes end to end, counted by
// the Worker in bench/workers/ops-counting.js (the whole Worker, queue consumers and stub sinks),
// per kind of event. Each kind is sent a few times, one event at a time, and each event is waited
// for until the event log says it settled and its waitUntil work is done; the counts are averages.

import { sampleMaintainXBody } from "../../cli/samples";
import { signMaintainX } from "../../src/webhooks/signature";
import type { Ops } from "./ops-fields";
import { BENCH_SECRET } from "./payloads";

export type { Ops } from "./ops-fields";

export type EventKind = "duplicate" | "creation" | "completion" | "update";

interface Kind {
  type: string;
  body: () => Record<string, unknown>;
}

/** A new work order, HIGH (a Slack alert and the mirror); its completion (ERP, report, mirror); an edit (mirror). */
const KINDS: Record<Exclude<EventKind, "duplicate">, Kind> = {
  creation: { type: "NEW_WORK_ORDER", body: () => sampleMaintainXBody("NEW_WORK_ORDER") },
  completion: { type: "WORK_ORDER_STATUS_CHANGE", body: () => sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE") },
  update: { type: "WORK_ORDER_CHANGE", body: () => sampleMaintainXBody("WORK_ORDER_CHANGE") },
};

/**
 * Each kind is measured on this many events by default. Every event of a kind has made the same
 * operations in every run so far; more than one checks that it still does, at about a second each.
 */
const EVENTS_PER_KIND = 2;
/** After an event settled: time for the receiver's waitUntil (the event-log insert) to end. */
const SETTLE_GRACE_MS = 200;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function post(url: string, type: string, raw: string): Promise<{ status: string; eventId: string }> {
  const signature = await signMaintainX(BENCH_SECRET, raw, Math.floor(Date.now() / 1000));
  const response = await fetch(new URL(`/webhooks/maintainx/${type}`, url), {
    method: "POST",
    headers: { "content-type": "application/json", "x-maintainx-webhook-body-signature": signature },
    body: raw,
  });
  if (response.status !== 200) throw new Error(`ops: ${type} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { status: string; eventId: string };
}

async function settled(url: string, eventId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status } = (await (
      await fetch(new URL(`/__ops/status?id=${encodeURIComponent(eventId)}`, url))
    ).json()) as {
      status: string | null;
    };
    if (status !== null && status !== "accepted") return;
    if (Date.now() > deadline) throw new Error(`ops: event ${eventId} still ${status ?? "unlogged"} after 30 s`);
    await delay(50);
  }
}

async function counts(url: string, reset = false): Promise<Ops> {
  const response = await fetch(new URL(reset ? "/__ops/reset" : "/__ops", url), { method: reset ? "POST" : "GET" });
  return (await response.json()) as Ops;
}

function average(samples: Ops[]): Ops {
  const out = { ...(samples[0] as Ops) };
  for (const key of Object.keys(out) as Array<keyof Ops>) {
    out[key] = samples.reduce((sum, s) => sum + s[key], 0) / samples.length;
  }
  return out;
}

/** The operations of one event, from its delivery until it settled. */
async function measureOne(url: string, type: string, raw: string, expect: string): Promise<Ops> {
  await counts(url, true);
  const answer = await post(url, type, raw);
  if (answer.status !== expect) throw new Error(`ops: expected ${expect}, the Worker said ${answer.status}`);
  if (expect === "accepted") await settled(url, answer.eventId);
  await delay(SETTLE_GRACE_MS);
  return counts(url);
}

export async function measureOpsPerEvent(
  url: string,
  eventsPerKind = EVENTS_PER_KIND,
): Promise<Record<EventKind, Ops>> {
  const out: Partial<Record<EventKind, Ops>> = {};
  const duplicates: Ops[] = [];
  for (const [kind, { type, body }] of Object.entries(KINDS) as Array<[keyof typeof KINDS, Kind]>) {
    const samples: Ops[] = [];
    for (let i = 0; i < eventsPerKind; i++) {
      const raw = JSON.stringify(body());
      samples.push(await measureOne(url, type, raw, "accepted"));
      // The same delivery again, as MaintainX retries it: a duplicate.
      if (kind === "creation") duplicates.push(await measureOne(url, type, raw, "already_processed"));
    }
    out[kind] = average(samples);
  }
  out.duplicate = average(duplicates);
  return out as Record<EventKind, Ops>;
}

/**
 * Workers Paid prices beyond what the plan includes, in USD per million, as Cloudflare's pricing
 * pages for Workers, Workers KV, Queues, D1 and R2 list them on PRICES_AS_OF.
 */
export const PRICES_AS_OF = "2026-12-01";
export const PRICES_PER_MILLION = {
  worker_requests: 0.3,
  cpu_ms: 0.02,
  kv_reads: 0.5,
  kv_writes: 5.0,
  kv_deletes: 5.0,
  kv_lists: 5.0,
  /** Every 64 KB written, read or deleted is one operation: a message is three. */
  queue_operations: 0.4,
  d1_rows_read: 0.001,
  d1_rows_written: 1.0,
  r2_class_a: 4.5,
  r2_class_b: 0.36,
} as const;

export interface EventCost {
  /** USD per million events of this kind, beyond the plan's included amounts. */
  total: number;
  /** Its parts, each USD per million events. */
  parts: Record<string, number>;
}

/**
 * What a million events of a kind cost: each billed operation at its price, plus the receiver's
 * CPU (`cpuMs` per event, as measured). Consumer invocations are Workers requests, counted as the
 * local queue delivered them (one per event when events come one at a time; batches of up to 10
 * share one in production, so this is the upper end).
 */
export function costPerMillion(ops: Ops, cpuMs: number): EventCost {
  const p = PRICES_PER_MILLION;
  const parts: Record<string, number> = {
    requests: (ops.worker_requests + ops.consumer_invocations) * p.worker_requests,
    cpu: cpuMs * p.cpu_ms,
    kv:
      ops.kv_reads * p.kv_reads +
      ops.kv_writes * p.kv_writes +
      ops.kv_deletes * p.kv_deletes +
      ops.kv_lists * p.kv_lists,
    queues: ops.queue_units_64kb * 3 * p.queue_operations,
    d1: ops.d1_rows_written * p.d1_rows_written + ops.d1_rows_read * p.d1_rows_read,
    r2: ops.r2_writes * p.r2_class_a + ops.r2_reads * p.r2_class_b,
  };
  const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { total, parts };
}
