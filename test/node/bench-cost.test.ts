// The benchmark's price arithmetic (bench/lib/ops.ts): each billed operation at its listed price.

import { describe, expect, it } from "vitest";
import { costPerMillion, PRICES_PER_MILLION } from "../../bench/lib/ops";
import { noOps, type Ops } from "../../bench/lib/ops-fields";

const none: Ops = noOps();

describe("cost per million events", () => {
  it("prices a duplicate: one request, one KV read, its CPU", () => {
    const cost = costPerMillion({ ...none, worker_requests: 1, kv_reads: 1 }, 0.05);
    expect(cost.parts).toEqual({ requests: 0.3, cpu: 0.05 * 0.02, kv: 0.5, queues: 0, d1: 0, r2: 0 });
    expect(cost.total).toBeCloseTo(0.3 + 0.001 + 0.5, 10);
  });

  it("counts three queue operations per 64 KB unit of a message, and D1 rows rather than round trips", () => {
    const cost = costPerMillion(
      { ...none, queue_messages: 1, queue_units_64kb: 2, d1_round_trips: 4, d1_rows_written: 20, d1_rows_read: 1000 },
      0,
    );
    expect(cost.parts.queues).toBeCloseTo(2 * 3 * PRICES_PER_MILLION.queue_operations, 10);
    expect(cost.parts.d1).toBeCloseTo(20 * 1.0 + 1000 * 0.001, 10);
  });

  it("prices R2 writes as Class A and the consumer's invocations as Workers requests", () => {
    const cost = costPerMillion({ ...none, r2_writes: 2, worker_requests: 1, consumer_invocations: 1 }, 0);
    expect(cost.parts.r2).toBeCloseTo(9, 10);
    expect(cost.parts.requests).toBeCloseTo(0.6, 10);
  });
});
