// One load measurement: autocannon for a warm-up, then for a fixed time while the serving process
// tree's CPU is read before and after. Latencies are kept per response (autocannon's own
// histogram has 1 ms buckets, too coarse for sub-millisecond answers).

import autocannon from "autocannon";
import { hostsWorkerd, processCpuMs, processTreeCpuMs } from "./proc";

export interface BenchRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface LoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8787 */
  url: string;
  /** A fixed request, or a factory called for every request (a fresh body each time). */
  request: BenchRequest | (() => BenchRequest);
  /** The root of the process tree that serves the requests. */
  servePid: number;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

interface Measurement {
  requests: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Null where /proc is not available. */
  cpu_ms_per_req: number | null;
  /**
   * The part of cpu_ms_per_req spent by the tree's root process alone: for a Miniflare host, its
   * Node process (which, on the direct socket, only reads what workerd writes to stdout, i.e. the
   * Worker's log lines); for Express, the whole server.
   */
  host_cpu_ms_per_req: number | null;
  /**
   * The CPU of the runtime that runs the server's code: the tree without its root when the root
   * hosts workerd (workerd, without the Node process hosting it), else the whole tree (Express). This is
   * what the own-CPU figures are made of: the host only reads workerd's stdout, which a deployed
   * Worker does not pay for, and the Express row's stdout reader is not counted either.
   */
  runtime_cpu_ms_per_req: number | null;
  /**
   * CPU of this process (autocannon) per request. It shares the machine with the server: when the
   * two together fill every core, requests/s says as much about the client as about the server.
   */
  client_cpu_ms_per_req: number;
  /** Answers outside 2xx, connection errors and timeouts: a valid run has none. */
  non2xx: number;
  errors: number;
}

/** Hard cap on kept latencies (16 MB); beyond it percentiles use the first samples only. */
const MAX_SAMPLES = 2_000_000;
/** A request still unanswered after this is an error, so a stuck server cannot stall the run. */
const REQUEST_TIMEOUT_SECONDS = 10;

/** autocannon's request list for a fresh request each time: the first now, then one per request sent. */
export function freshRequests(request: () => BenchRequest): autocannon.Request[] {
  const first = request();
  return [
    {
      method: first.method,
      path: first.path,
      headers: first.headers,
      ...(first.body ? { body: first.body } : {}),
      setupRequest: (previous) => {
        const next = request();
        return { ...previous, path: next.path, headers: next.headers, ...(next.body ? { body: next.body } : {}) };
      },
    },
  ];
}

function autocannonOptions(options: LoadOptions, seconds: number): autocannon.Options {
  const { request } = options;
  const base: autocannon.Options = {
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_SECONDS,
  };
  if (typeof request === "function") return { ...base, requests: freshRequests(request) };
  return {
    ...base,
    url: new URL(request.path, options.url).href,
    method: request.method,
    headers: request.headers,
    ...(request.body ? { body: request.body } : {}),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

async function runOnce(options: LoadOptions, seconds: number, onResponse?: (ms: number, status: number) => void) {
  const instance = autocannon(autocannonOptions(options, seconds));
  if (onResponse) {
    // The instance re-emits every client's response as (client, status, bytes, milliseconds).
    (instance as unknown as NodeJS.EventEmitter).on(
      "response",
      (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(ms, status),
    );
  }
  return await instance;
}

export async function measure(options: LoadOptions): Promise<Measurement> {
  if (options.warmupSeconds > 0) await runOnce(options, options.warmupSeconds);

  const samples = new Float64Array(MAX_SAMPLES);
  let count = 0;
  const hosted = hostsWorkerd(options.servePid);
  const cpuBefore = processTreeCpuMs(options.servePid);
  const hostBefore = processCpuMs(options.servePid);
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await runOnce(options, options.durationSeconds, (ms) => {
    if (count < MAX_SAMPLES) samples[count] = ms;
    count++;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuMs = processTreeCpuMs(options.servePid) - cpuBefore;
  const hostMs = processCpuMs(options.servePid) - hostBefore;
  const client = process.cpuUsage(clientBefore);

  const sorted = samples.subarray(0, Math.min(count, MAX_SAMPLES)).sort();
  return {
    requests: count,
    seconds,
    rps: count / seconds,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    cpu_ms_per_req: count > 0 && Number.isFinite(cpuMs) ? cpuMs / count : null,
    host_cpu_ms_per_req: count > 0 && Number.isFinite(hostMs) ? hostMs / count : null,
    runtime_cpu_ms_per_req:
      count > 0 && Number.isFinite(cpuMs) && Number.isFinite(hostMs) ? (hosted ? cpuMs - hostMs : cpuMs) / count : null,
    client_cpu_ms_per_req: count > 0 ? (client.user + client.system) / 1000 / count : Number.NaN,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
