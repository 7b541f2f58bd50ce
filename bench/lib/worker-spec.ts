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
  /** Producer binding → queue name. No consumer is configured: the receiver is measured alone. */
  queueProducers: Record<string, string>;
  d1Databases: string[];
  r2Buckets: string[];
  /** D1 binding → SQL statements to run once before serving (the migrations). */
  d1Setup: Record<string, string[]>;
}

/** The line the host prints once it serves, followed by JSON. */
export const READY_PREFIX = "BENCH_READY ";

export interface HostAddresses {
  /** Miniflare's own URL: requests pass through its entry Worker before reaching this one. */
  entryUrl: string;
  /** A workerd socket bound straight to the Worker (Miniflare's `unsafeDirectSockets`). */
  directUrl: string;
}
