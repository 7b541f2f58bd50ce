// What the Miniflare host needs to serve one Worker: derived from wrangler.toml for the receiver,
// written by hand for the empty and micro-benchmark Workers. Passed to the child as JSON.

export interface WorkerSpec {
  /** An ES module bundle (for the receiver, the output of `wrangler deploy --dry-run`). */
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Vars and secrets, as plain-text bindings. */
  bindings: Record<string, string>;
  kvNamespaces: string[];
  /** Producer binding → queue name. */
  queueProducers: Record<string, string>;
  /**
   * Queue name → consumer settings, as wrangler.toml gives them. Left out for the receiver rows,
   * which measure the receiver alone; set for the burst, which runs the whole Worker.
   */
  queueConsumers?: Record<string, QueueConsumerSpec>;
  /**
   * Vars the host points at a stub sink it serves on 127.0.0.1 (answers 200 to every POST), so the
   * handlers' outbound calls (Slack, ERP) complete without leaving the machine.
   */
  sinkVars?: string[];
  d1Databases: string[];
  r2Buckets: string[];
  /** D1 binding → SQL statements to run once before serving (the migrations). */
  d1Setup: Record<string, string[]>;
}

export interface QueueConsumerSpec {
  maxBatchSize?: number;
  maxBatchTimeout?: number;
  maxRetries?: number;
  deadLetterQueue?: string;
}

/** The line the host prints once it serves, followed by JSON. */
export const READY_PREFIX = "BENCH_READY ";

export interface HostAddresses {
  /** Miniflare's own URL: requests pass through its entry Worker before reaching this one. */
  entryUrl: string;
  /** A workerd socket bound straight to the Worker (Miniflare's `unsafeDirectSockets`). */
  directUrl: string;
}
