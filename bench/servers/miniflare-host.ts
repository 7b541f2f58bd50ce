// Child process: serves one Worker with Miniflare on 127.0.0.1 until SIGTERM. A process of its
// own, so that the CPU /proc reports for its tree (Node + workerd) is the serving side's alone,
// apart from the load generator's.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Miniflare } from "miniflare";
import { miniflareOptions } from "../lib/miniflare-options";
import { type HostAddresses, READY_PREFIX, type WorkerSpec } from "../lib/worker-spec";

const spec = JSON.parse(process.env.BENCH_WORKER_SPEC ?? "null") as WorkerSpec | null;
if (!spec) {
  console.error("BENCH_WORKER_SPEC is not set: this host is started by bench/run.ts");
  process.exit(2);
}

/** Answers 200 to everything, after reading the request: stands in for Slack and the ERP. */
async function startStubSink(): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(200, { "content-type": "text/plain" }).end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sinkUrl = spec.sinkVars?.length ? await startStubSink() : undefined;
const sinkBindings = Object.fromEntries(
  (spec.sinkVars ?? []).map((name) => [name, `${sinkUrl}/${name.toLowerCase()}`]),
);

const mf = new Miniflare(
  miniflareOptions(spec, {
    bindings: sinkBindings,
    // The Worker's JSON log lines are dropped (in production they go to Workers Logs); warnings and
    // errors are passed on, so a failing run shows why.
    onLog({ level, message }) {
      if (level === "error" || level === "warn") process.stderr.write(`${message}\n`);
    },
  }),
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
// The parent reads stdin's end as its own exit, so a crashed benchmark leaves no workerd behind.
process.stdin.on("end", () => void stop(0));
process.stdin.resume();

try {
  const entryUrl = await mf.ready;
  for (const [binding, statements] of Object.entries(spec.d1Setup)) {
    const db = await mf.getD1Database(binding);
    if (statements.length > 0) await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  const directUrl = await mf.unsafeGetDirectURL();
  const addresses: HostAddresses = { entryUrl: entryUrl.href, directUrl: directUrl.href };
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(addresses)}\n`);
} catch (error) {
  console.error(error);
  await stop(1);
}
