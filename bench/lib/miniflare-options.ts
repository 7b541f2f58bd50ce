// The Miniflare options that serve one WorkerSpec on 127.0.0.1, with a direct socket to the Worker:
// the one place the bench follows Miniflare's options API (the host process and the profiler).

import { dirname } from "node:path";
import { convertV4MiniflareOptions, type MiniflareOptions } from "miniflare";
import type { WorkerSpec } from "./worker-spec";

interface Extra {
  /** Bindings on top of the spec's (the host's stub sink URLs). */
  bindings?: Record<string, string>;
  inspectorPort?: number;
  /** Each of workerd's log lines: the Worker's console output and the runtime's own. */
  onLog: (log: { level: string; message: string }) => void;
}

export function miniflareOptions(spec: WorkerSpec, extra: Extra): MiniflareOptions {
  return convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    ...(extra.inspectorPort === undefined ? {} : { inspectorPort: extra.inspectorPort }),
    modules: true,
    scriptPath: spec.scriptPath,
    // Module names are paths relative to this root, and workerd refuses names that climb out of it.
    modulesRoot: dirname(spec.scriptPath),
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
    bindings: { ...spec.bindings, ...extra.bindings },
    kvNamespaces: spec.kvNamespaces,
    queueProducers: Object.fromEntries(
      Object.entries(spec.queueProducers).map(([binding, queueName]) => [binding, { queueName }]),
    ),
    ...(spec.queueConsumers ? { queueConsumers: spec.queueConsumers } : {}),
    d1Databases: spec.d1Databases,
    r2Buckets: spec.r2Buckets,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    handleStructuredLogs: extra.onLog,
  });
}
