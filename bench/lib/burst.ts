// A burst: many signed deliveries sent as fast as the Worker takes them, with the queue consumer
// running the default handlers, timed until the event log says every event was processed. The
// Worker's own operator route (`GET /admin/status`: the event log's counts by status) is the
// measuring stick, read twice a second while the burst runs.

import autocannon from "autocannon";
import { type BenchRequest, freshRequests } from "./load";

export interface BurstResult {
  events: number;
  /** From the first delivery sent until the event log held no event still `accepted`. */
  seconds: number;
  /** Events through the consumer per second, over `seconds`. */
  events_per_second: number;
  /** The most events answered `accepted` but not yet settled by the consumer, at any reading. */
  max_backlog: number;
  /** How long sending took (every delivery answered). */
  send_seconds: number;
  /** The receiver's rate while sending. */
  send_rps: number;
  /** How the events ended: processed, failed, dead. */
  outcome: Record<string, number>;
}

interface BurstOptions {
  /** The Worker's base URL (with queue consumers and stub sinks). */
  url: string;
  adminToken: string;
  /** A fresh, signed delivery per call. */
  request: () => BenchRequest;
  events: number;
  connections: number;
  /** Gives up waiting for the consumer after this long. */
  timeoutSeconds: number;
}

type StatusCounts = Record<"accepted" | "processed" | "failed" | "dead", number>;

/**
 * How often the event log's counts are read while the burst runs: each reading is a few D1
 * queries, which the local D1 serves on the same thread as the consumer's, so not too often.
 */
const POLL_MS = 500;

async function readCounts(url: string, adminToken: string): Promise<StatusCounts> {
  const read = () => fetch(new URL("/admin/status", url), { headers: { authorization: `Bearer ${adminToken}` } });
  // A reading reuses the keep-alive connection of the one before; under the burst's load the local
  // runtime has closed one such connection as it was reused (once in four quick runs), which
  // says nothing about the burst: that reading is made once more, on a new connection.
  const response = await read().catch(() => delay(50).then(read));
  if (response.status !== 200) throw new Error(`/admin/status answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { events: StatusCounts }).events;
}

function settled(counts: StatusCounts): number {
  return counts.processed + counts.failed + counts.dead;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const before = await readCounts(options.url, options.adminToken);
  const target = settled(before) + options.events;
  let answered = 0;
  let maxBacklog = 0;
  let last = before;

  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const sending = autocannon({
    url: options.url,
    connections: options.connections,
    amount: options.events,
    timeout: 30,
    requests: freshRequests(options.request),
  });
  (sending as unknown as NodeJS.EventEmitter).on("response", (_client: unknown, status: number) => {
    if (status === 200) answered++;
  });
  let sendSeconds = Number.NaN;
  const sent = sending.then((result) => {
    sendSeconds = elapsed();
    return result;
  });

  let done = false;
  while (!done) {
    await delay(POLL_MS);
    last = await readCounts(options.url, options.adminToken);
    maxBacklog = Math.max(maxBacklog, answered - (settled(last) - settled(before)));
    done = settled(last) >= target && Number.isFinite(sendSeconds);
    if (!done && elapsed() > options.timeoutSeconds) {
      throw new Error(
        `burst: ${settled(last) - settled(before)} of ${options.events} events processed after ${options.timeoutSeconds} s`,
      );
    }
  }
  const seconds = elapsed();
  const result = await sent;
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`burst: ${result.non2xx} answers outside 2xx, ${result.errors + result.timeouts} errors`);
  }
  return {
    events: options.events,
    seconds,
    events_per_second: options.events / seconds,
    max_backlog: maxBacklog,
    send_seconds: sendSeconds,
    send_rps: options.events / sendSeconds,
    outcome: {
      processed: last.processed - before.processed,
      failed: last.failed - before.failed,
      dead: last.dead - before.dead,
    },
  };
}
