// `node --experimental-websocket --import tsx bench/profile.ts <duplicate|accept|large|empty> [seconds]`:
// a CPU profile of workerd
// while it serves one of the benchmark's `-no-io` rows (or the empty Worker), taken through
// workerd's inspector. Prints the functions with the most self time and writes the profile
// (`.cpuprofile`, for Chrome DevTools) to a temporary folder. Everything listens on 127.0.0.1.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { miniflareOptions } from "./lib/miniflare-options";
import { BENCH_SECRET, DeliveryBodies, maintainXRequest } from "./lib/payloads";
import { bundleWorker, receiverSpec } from "./lib/worker-build";

const kind = process.argv[2] ?? "accept";
const seconds = Number(process.argv[3] ?? 5);
const INSPECTOR_PORT = 9330 + Math.floor(Math.random() * 500);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Node 20's WebSocket client (behind --experimental-websocket), which its type definitions leave out. */
interface InspectorSocket {
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  send(data: string): void;
}
const WebSocketClient = (globalThis as unknown as { WebSocket?: new (url: string) => InspectorSocket }).WebSocket;
if (!WebSocketClient) {
  console.error("Run with node --experimental-websocket --import tsx bench/profile.ts ...");
  process.exit(2);
}

async function inspect(port: number): Promise<(method: string, params?: object) => Promise<unknown>> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.webSocketDebuggerUrl.includes("core:user")) ?? targets[0];
  if (!target) throw new Error("workerd's inspector lists no Worker");
  const socket = new (WebSocketClient as new (url: string) => InspectorSocket)(
    target.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"),
  );
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", () => reject(new Error("workerd's inspector refused the connection")));
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  return (method, params = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
}

function load(url: string, request: () => ReturnType<typeof maintainXRequest>, duration: number) {
  const first = request();
  return autocannon({
    url,
    connections: 10,
    duration,
    requests: [
      {
        method: "POST",
        path: first.path,
        headers: first.headers,
        body: first.body,
        setupRequest: (previous) => {
          const next = request();
          return { ...previous, headers: next.headers, body: next.body };
        },
      },
    ],
  });
}

/** Self time per function, in milliseconds, most first. */
function selfTimes(profile: Profile): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || "(anonymous)"} ${url.split("/").pop() ?? ""}:${lineNumber + 1}`;
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

const temp = mkdtempSync(join(tmpdir(), "maintainx-profile-"));
const bench = fileURLToPath(new URL("./", import.meta.url));
const script =
  kind === "empty"
    ? join(bench, "workers", "empty.js")
    : await bundleWorker(join(temp, "instrumented"), join(temp, "config"), "bench/workers/receiver-instrumented.js");
const spec = receiverSpec(script, BENCH_SECRET);
const mf = new Miniflare(miniflareOptions(spec, { inspectorPort: INSPECTOR_PORT, onLog() {} }));
try {
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL()).href;
  const small = new DeliveryBodies(2048);
  const large = new DeliveryBodies(1024 * 1024);
  const fixed = kind === "large" ? large.fixed() : small.fixed();
  const request = kind === "accept" ? () => maintainXRequest(small.fresh()) : () => maintainXRequest(fixed);
  await load(url, request, 2);
  const send = await inspect(INSPECTOR_PORT);
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 50 });
  await send("Profiler.start");
  const result = await load(url, request, seconds);
  const { profile } = (await send("Profiler.stop")) as { profile: Profile };
  const file = join(temp, `${kind}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const times = selfTimes(profile);
  const total = times.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`${kind}: ${result.requests.total} requests in ${seconds} s; profile ${file}`);
  console.log(`sampled time per request: ${((total * 1000) / result.requests.total).toFixed(1)} µs`);
  for (const [name, ms] of times.slice(0, 40)) {
    console.log(`${((ms * 1000) / result.requests.total).toFixed(2).padStart(8)} µs/req  ${name}`);
  }
} finally {
  await mf.dispose();
}
