// The binding operations the benchmark counts per event (bench/workers/ops-counting.js counts
// them, bench/lib/ops.ts prices them): one list, so the counter and the report cannot drift.

export const OPS_FIELDS = [
  "worker_requests",
  "kv_reads",
  "kv_writes",
  "kv_deletes",
  "kv_lists",
  "queue_messages",
  "queue_units_64kb",
  "consumer_invocations",
  "consumer_messages",
  "d1_round_trips",
  "d1_rows_written",
  "d1_rows_read",
  "consumer_d1_round_trips",
  "consumer_mirror_round_trips",
  "r2_writes",
  "r2_reads",
] as const;

export type Ops = Record<(typeof OPS_FIELDS)[number], number>;

/** Every count at zero. */
export function noOps(): Ops {
  return Object.fromEntries(OPS_FIELDS.map((field) => [field, 0])) as Ops;
}
