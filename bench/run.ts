// `npm run bench [-- --quick] [-- --only name,name]`: the receiver against the runtime's ceiling and
// the seed guide's Express server, on this machine, in one run. Prints Markdown tables and writes
// bench/results/latest.json. Every server is a child process on 127.0.0.1, ended by its pid.

import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWranglerDev } from "../tools/wrangler-dev";
import { type BurstResult, runBurst } from "./lib/burst";
import { HMAC_SIZES, type HmacResult, nodeHmac, opensslHmac, workerdHmac } from "./lib/hmac";
import { type BenchRequest, measure } from "./lib/load";
import { costPerMillion, type EventKind, measureOpsPerEvent, type Ops, PRICES_AS_OF } from "./lib/ops";
import {
  BENCH_SECRET,
  checkSignerAgreesWithProject,
  DeliveryBodies,
  maintainXRequest,
  seedRequest,
} from "./lib/payloads";
import { canMeasureCpu } from "./lib/proc";
import {
  checkTargets,
  computeRatios,
  markdown,
  type OwnCpu,
  type Results,
  rounded,
  type ScenarioResult,
  type StageResult,
} from "./lib/report";
import { REPO_ROOT, type RunningServer, startTsServer } from "./lib/servers";
import { bundleWorker, fullWorkerSpec, receiverSpec, sameSetupAs } from "./lib/worker-build";
import type { WorkerSpec } from "./lib/worker-spec";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? "").split(",").filter(Boolean)) : undefined;

// Whole seconds: autocannon ends a run on its once-a-second tick, so 1.5 s would run for 2.
// Rounds of 2 s: in trials here, 1 s rounds of the same rows spread three times as far.
const timing = quick
  ? {
      warmupSeconds: 1,
      durationSeconds: 1,
      roundSeconds: 2,
      hmacBudgetMs: 150,
      opensslSeconds: 1,
      opensslSizes: [1024 * 1024],
      opsEventsPerKind: 1,
      stageIterations: [2000, 8],
    }
  : {
      warmupSeconds: 3,
      durationSeconds: 10,
      roundSeconds: 5,
      hmacBudgetMs: 1000,
      opensslSeconds: 3,
      opensslSizes: HMAC_SIZES,
      opsEventsPerKind: 2,
      stageIterations: [10000, 40],
    };
const CONNECTIONS = 10;
/**
 * The rows the receiver's own CPU is computed from (each `-no-io` row minus its `empty` row), and
 * the Express row it is compared with, with how many interleaved rounds each runs in (every row
 * once per round while it has rounds left, a warm-up only in the first), and each reports its
 * median round: a burst of other work on the machine then moves a round or two, not the answer.
 * The 2 KB rows, whose differences are smallest beside their targets, run in five; the others,
 * with room to spare, in three.
 */
const OWN_CPU_ROWS: Record<string, number> = {
  empty: 5,
  "duplicate-no-io": 5,
  "accept-no-io": 5,
  "express-seed-accept": 3,
  "empty-large": 3,
  "large-no-io": 3,
};
const ROUNDS = Math.max(...Object.values(OWN_CPU_ROWS));
/** The burst: this many deliveries, each a new event (the number, in quick runs too). */
const BURST_EVENTS = 5000;
/** A hung consumer must not hang the run; the burst took about a minute on a 2-core machine. */
const BURST_TIMEOUT_SECONDS = 600;
const SMALL_BYTES = 2 * 1024;
const LARGE_BYTES = 1024 * 1024;
/** A signature made at a scenario's start must still be inside the receiver's 300 s tolerance at its end. */
const SIGNATURE_TOLERANCE_SECONDS = 300;
/** Nothing here should take this long; a hung server must not hang the run. */
const WATCHDOG_MS = 20 * 60 * 1000;

if (timing.warmupSeconds + timing.durationSeconds > SIGNATURE_TOLERANCE_SECONDS - 60) {
  throw new Error("A scenario would outlive its signature's tolerance: shorten it or re-sign during the run");
}

const runStarted = Date.now();
/** Progress goes to stderr, with the seconds since the start; stdout carries only the tables. */
function progress(message: string): void {
  console.error(`[${((Date.now() - runStarted) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

const watchdog = setTimeout(() => {
  console.error(`The benchmark did not finish within ${WATCHDOG_MS / 60000} minutes; stopping.`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

const BENCH_DIR = fileURLToPath(new URL("./", import.meta.url));
const HOST = join(BENCH_DIR, "servers", "miniflare-host.ts");
const EXPRESS = join(BENCH_DIR, "baselines", "express-seed.ts");
const RESULTS = join(BENCH_DIR, "results", "latest.json");
/** Opens the burst Worker's `/admin/status`, on 127.0.0.1 only. */
const BURST_ADMIN_TOKEN = "bench-admin-token-not-for-production";

type Expect = "ok" | "accepted" | "already_processed";

interface Scenario {
  name: string;
  what: string;
  server: () => RunningServer;
  /** Which URL of the server to load (Miniflare hosts have two). */
  urlKey: "directUrl" | "entryUrl" | "url";
  bodyBytes: number;
  /** Called at the scenario's start: signing then keeps the signature fresh for its whole run. */
  request: () => BenchRequest | (() => BenchRequest);
  /** Sent once before the warm-up; a duplicate scenario first primes the event, then expects it seen. */
  expect: Expect;
}

async function send(baseUrl: string, request: BenchRequest): Promise<{ status: number; answer: string }> {
  const response = await fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    ...(request.body ? { body: request.body } : {}),
  });
  return { status: response.status, answer: await response.text() };
}

/** Proves a scenario measures what it says: the right answer, before any load. */
async function checkAnswer(scenario: Scenario, baseUrl: string): Promise<void> {
  const made = scenario.request();
  const request = typeof made === "function" ? made() : made;
  if (scenario.expect === "already_processed") await send(baseUrl, request);
  const { status, answer } = await send(baseUrl, request);
  const ok = status === 200 && (scenario.expect === "ok" || answer.includes(`"status":"${scenario.expect}"`));
  if (!ok) throw new Error(`${scenario.name}: expected 200 ${scenario.expect}, got ${status} ${answer.slice(0, 300)}`);
}

async function runScenario(
  scenario: Scenario,
  phase = { warmupSeconds: timing.warmupSeconds, durationSeconds: timing.durationSeconds, label: "" },
): Promise<ScenarioResult> {
  const server = scenario.server();
  const url = server.ready[scenario.urlKey];
  if (!url) throw new Error(`${scenario.name}: the server has no ${scenario.urlKey}`);
  await checkAnswer(scenario, url);
  const m = await measure({
    url,
    request: scenario.request(),
    servePid: server.pid,
    connections: CONNECTIONS,
    warmupSeconds: phase.warmupSeconds,
    durationSeconds: phase.durationSeconds,
  });
  if (m.non2xx > 0 || m.errors > 0) {
    throw new Error(
      `${scenario.name}: ${m.non2xx} answers outside 2xx and ${m.errors} errors in ${m.requests} requests. Server output:\n${server.output().slice(-4000)}`,
    );
  }
  const result: ScenarioResult = {
    name: scenario.name,
    what: scenario.what,
    rps: m.rps,
    p50_ms: m.p50_ms,
    p99_ms: m.p99_ms,
    cpu_ms_per_req: m.cpu_ms_per_req,
    host_cpu_ms_per_req: m.host_cpu_ms_per_req,
    runtime_cpu_ms_per_req: m.runtime_cpu_ms_per_req,
    client_cpu_ms_per_req: m.client_cpu_ms_per_req,
    requests: m.requests,
    seconds: m.seconds,
    body_bytes: scenario.bodyBytes,
  };
  progress(
    `${scenario.name}${phase.label}: ${Math.round(m.rps)} req/s, p50 ${m.p50_ms.toFixed(2)} ms, p99 ${m.p99_ms.toFixed(2)} ms, ${m.cpu_ms_per_req?.toFixed(3) ?? "?"} ms CPU/req (runtime ${m.runtime_cpu_ms_per_req?.toFixed(3) ?? "?"}, client ${m.client_cpu_ms_per_req.toFixed(3)})`,
  );
  return result;
}

function hostWorker(spec: WorkerSpec): Promise<RunningServer> {
  return startTsServer(HOST, { BENCH_WORKER_SPEC: JSON.stringify(spec) }, 60_000);
}

/** The receiver under `wrangler dev`, as `npm run dev` runs it, for the row that measures its dev proxy. */
async function wranglerDevServer(): Promise<RunningServer> {
  const dev = await startWranglerDev({
    vars: { MAINTAINX_WEBHOOK_SECRET: BENCH_SECRET },
    // wrangler prints a line per request: keep enough to explain a failure, bounded in size.
    maxLogChars: 200_000,
  });
  return { pid: dev.pid, ready: { url: dev.url }, output: dev.logs, stop: dev.stop };
}

async function stageTimings(server: RunningServer, body: Buffer, iterations: number): Promise<StageResult> {
  const request = maintainXRequest(body);
  const response = await fetch(new URL(`/__stages?iterations=${iterations}`, server.ready.directUrl), {
    method: "POST",
    headers: request.headers,
    body,
  });
  if (response.status !== 200) throw new Error(`stages: ${response.status} ${await response.text()}`);
  return (await response.json()) as StageResult;
}

/** The round whose CPU per request is the median of the row's rounds, with every round's CPU beside it. */
function medianRound(name: string, rounds: ScenarioResult[][]): ScenarioResult {
  const runs = rounds.flatMap((round) => round.filter((r) => r.name === name));
  const byCpu = [...runs].sort((a, b) => (a.runtime_cpu_ms_per_req ?? 0) - (b.runtime_cpu_ms_per_req ?? 0));
  const median = byCpu[Math.floor((byCpu.length - 1) / 2)] as ScenarioResult;
  return { ...median, runtime_cpu_ms_per_req_rounds: runs.map((r) => r.runtime_cpu_ms_per_req) };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * The receiver's own CPU per request, round by round (each `-no-io` row minus the `empty` row of
 * the same body size, in the same round), and the median over the rounds.
 */
function ownCpuOf(rounds: ScenarioResult[][]): { median: OwnCpu; rounds: OwnCpu[] } {
  const perRound = rounds.map((round): OwnCpu => {
    const cpu = (name: string) => round.find((r) => r.name === name)?.runtime_cpu_ms_per_req ?? undefined;
    const over = (row: string, base: string) => {
      const a = cpu(row);
      const b = cpu(base);
      return a !== undefined && b !== undefined ? a - b : null;
    };
    return {
      duplicate: over("duplicate-no-io", "empty"),
      accept: over("accept-no-io", "empty"),
      large: over("large-no-io", "empty-large"),
    };
  });
  const of = (key: keyof OwnCpu) => median(perRound.flatMap((r) => (r[key] === null ? [] : [r[key]])));
  return { median: { duplicate: of("duplicate"), accept: of("accept"), large: of("large") }, rounds: perRound };
}

const loadAtStart = loadavg()[0] ?? 0;

function machine(): Record<string, string | number> {
  const miniflare = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "miniflare", "package.json"), "utf8")) as {
    version: string;
  };
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
    miniflare: miniflare.version,
    platform: `${process.platform} ${process.arch}`,
    // Other work on the machine during the run shows here: these numbers are only comparable
    // within one run.
    load_average_at_start: Number(loadAtStart.toFixed(2)),
  };
}

async function main(): Promise<void> {
  if (!canMeasureCpu()) console.error("No /proc here: CPU per request will be left out.");
  await checkSignerAgreesWithProject();
  const temp = mkdtempSync(join(tmpdir(), "maintainx-bench-"));
  const started: RunningServer[] = [];
  const stopAll = async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  };
  try {
    progress(
      `Benchmark (${quick ? "quick" : "full"}): ${timing.warmupSeconds} s warm-up + ${timing.durationSeconds} s per scenario, ${CONNECTIONS} connections`,
    );
    progress("Bundling the receiver with wrangler (offline)…");
    const configHome = join(temp, "wrangler-config");
    const [receiverScript, instrumentedScript, opsScript] = await Promise.all([
      bundleWorker(join(temp, "receiver"), configHome),
      bundleWorker(join(temp, "instrumented"), configHome, "bench/workers/receiver-instrumented.js"),
      bundleWorker(join(temp, "ops"), configHome, "bench/workers/ops-counting.js"),
    ]);
    const receiver = receiverSpec(receiverScript, BENCH_SECRET);

    progress("Starting the servers…");
    const wantBurst = !only || only.has("burst");
    const wantOps = !only || only.has("ops");
    // The burst's Worker starts with the others (it idles until its turn): one start-up less to wait for.
    // One whole-Worker host, inside its counting wrapper, serves the operation counts and then the burst.
    const wantWhole = wantBurst || wantOps;
    const [receiverHost, emptyHost, instrumentedHost, express, burstHost] = await Promise.all([
      hostWorker(receiver),
      hostWorker(sameSetupAs(receiver, join(BENCH_DIR, "workers", "empty.js"))),
      hostWorker({ ...receiver, scriptPath: instrumentedScript }),
      startTsServer(EXPRESS, { MAINTAINX_WEBHOOK_SECRET: BENCH_SECRET }),
      wantWhole ? hostWorker(fullWorkerSpec(opsScript, BENCH_SECRET, BURST_ADMIN_TOKEN)) : undefined,
    ]);
    started.push(receiverHost, emptyHost, instrumentedHost, express, ...(burstHost ? [burstHost] : []));

    let opsPerEvent: Record<EventKind, Ops> | undefined;
    if (burstHost && wantOps) {
      progress("Binding operations per event (the whole Worker, counted)…");
      opsPerEvent = await measureOpsPerEvent(burstHost.ready.directUrl as string, timing.opsEventsPerKind);
    }

    const small = new DeliveryBodies(SMALL_BYTES);
    const large = new DeliveryBodies(LARGE_BYTES);
    const smallFixed = small.fixed();
    const largeFixed = large.fixed();
    const fresh = () => () => maintainXRequest(small.fresh());
    const freshSeed = () => () => seedRequest(small.fresh());

    const scenarios: Scenario[] = [
      {
        name: "empty",
        what: "a Worker that reads the body and answers 200: the runtime's ceiling",
        server: () => emptyHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: () => maintainXRequest(smallFixed),
        expect: "ok",
      },
      {
        name: "duplicate",
        what: "receiver, an already-seen event: verify + one KV read",
        server: () => receiverHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: () => maintainXRequest(smallFixed),
        expect: "already_processed",
      },
      {
        name: "accept",
        what: "receiver, a new event per request: verify + KV read + queue send + KV write (+ D1 log in waitUntil)",
        server: () => receiverHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: fresh,
        expect: "accepted",
      },
      {
        name: "large",
        what: "receiver, an already-seen 1 MiB event",
        server: () => receiverHost,
        urlKey: "directUrl",
        bodyBytes: LARGE_BYTES,
        request: () => maintainXRequest(largeFixed),
        expect: "already_processed",
      },
      {
        name: "express-seed",
        what: "the seed guide's Express receiver, an already-seen event (node:crypto HMAC, in-memory Map)",
        server: () => express,
        urlKey: "url",
        bodyBytes: SMALL_BYTES,
        request: () => seedRequest(smallFixed),
        expect: "already_processed",
      },
      {
        name: "express-seed-accept",
        what: "the seed guide's Express receiver, a new event per request",
        server: () => express,
        urlKey: "url",
        bodyBytes: SMALL_BYTES,
        request: freshSeed,
        expect: "accepted",
      },
      {
        name: "duplicate-no-io",
        what: "as `duplicate`, with an in-memory KV: the receiver's own code, no simulator",
        server: () => instrumentedHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: () => maintainXRequest(smallFixed),
        expect: "already_processed",
      },
      {
        name: "accept-no-io",
        what: "as `accept`, with an in-memory KV, a dropping queue and a dropping D1",
        server: () => instrumentedHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: fresh,
        expect: "accepted",
      },
      {
        name: "large-no-io",
        what: "as `large`, with an in-memory KV",
        server: () => instrumentedHost,
        urlKey: "directUrl",
        bodyBytes: LARGE_BYTES,
        request: () => maintainXRequest(largeFixed),
        expect: "already_processed",
      },
      {
        name: "duplicate-floor",
        what: "the binding calls of `duplicate` (one KV read) and none of its code: the KV simulator's cost",
        server: () => instrumentedHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: () => ({ ...maintainXRequest(smallFixed), path: "/__floor/duplicate" }),
        expect: "already_processed",
      },
      {
        name: "accept-floor",
        what: "the binding calls of `accept` (KV read, queue send, KV write, D1 insert) and none of its code",
        server: () => instrumentedHost,
        urlKey: "directUrl",
        bodyBytes: SMALL_BYTES,
        request: () => ({ ...maintainXRequest(smallFixed), path: "/__floor/accept" }),
        expect: "accepted",
      },
      {
        name: "empty-large",
        what: "as `empty`, 1 MiB: what receiving the body costs the runtime",
        server: () => emptyHost,
        urlKey: "directUrl",
        bodyBytes: LARGE_BYTES,
        request: () => maintainXRequest(largeFixed),
        expect: "ok",
      },
      {
        name: "empty-miniflare-entry",
        what: "as `empty`, through Miniflare's entry Worker (its default URL)",
        server: () => emptyHost,
        urlKey: "entryUrl",
        bodyBytes: SMALL_BYTES,
        request: () => maintainXRequest(smallFixed),
        expect: "ok",
      },
      {
        name: "duplicate-miniflare-entry",
        what: "as `duplicate`, through Miniflare's entry Worker",
        server: () => receiverHost,
        urlKey: "entryUrl",
        bodyBytes: SMALL_BYTES,
        request: () => maintainXRequest(smallFixed),
        expect: "already_processed",
      },
    ];

    const selected = scenarios.filter((s) => !only || only.has(s.name));
    const measured = new Map<string, ScenarioResult>();
    for (const scenario of selected.filter((s) => !(s.name in OWN_CPU_ROWS))) {
      measured.set(scenario.name, await runScenario(scenario));
    }
    const roundRows = Object.keys(OWN_CPU_ROWS).flatMap((name) => selected.filter((s) => s.name === name));
    const rounds: ScenarioResult[][] = [];
    for (let round = 0; round < ROUNDS && roundRows.length > 0; round++) {
      const results: ScenarioResult[] = [];
      for (const scenario of roundRows.filter((s) => round < (OWN_CPU_ROWS[s.name] ?? 0))) {
        results.push(
          await runScenario(scenario, {
            warmupSeconds: round === 0 ? timing.warmupSeconds : 0,
            durationSeconds: timing.roundSeconds,
            label: ` (round ${round + 1} of ${OWN_CPU_ROWS[scenario.name]})`,
          }),
        );
      }
      rounds.push(results);
    }
    for (const scenario of roundRows) measured.set(scenario.name, medianRound(scenario.name, rounds));
    const results = selected.flatMap((s) => measured.get(s.name) ?? []);
    const ownCpu = ownCpuOf(rounds);

    const hmac: HmacResult[] = [];
    const stages: StageResult[] = [];
    if (!only || only.has("hmac")) {
      progress("HMAC and receiver steps in workerd…");
      for (const bytes of HMAC_SIZES)
        hmac.push(await workerdHmac(instrumentedHost.ready.directUrl as string, bytes, timing.hmacBudgetMs));
      stages.push(await stageTimings(instrumentedHost, smallFixed, timing.stageIterations[0] as number));
      stages.push(await stageTimings(instrumentedHost, largeFixed, timing.stageIterations[1] as number));
    }
    await Promise.all(started.filter((s) => s !== burstHost).map((s) => s.stop()));
    started.splice(0, started.length, ...(burstHost ? [burstHost] : []));

    let burst: BurstResult | undefined;
    if (burstHost && wantBurst) {
      progress(`Burst: ${BURST_EVENTS} deliveries to the whole Worker (queue consumer, default handlers, stub sinks)…`);
      burst = await runBurst({
        url: burstHost.ready.directUrl as string,
        adminToken: BURST_ADMIN_TOKEN,
        request: fresh(),
        events: BURST_EVENTS,
        connections: CONNECTIONS,
        timeoutSeconds: BURST_TIMEOUT_SECONDS,
      });
      progress(
        `burst: ${burst.events} events processed in ${burst.seconds.toFixed(1)} s (${burst.events_per_second.toFixed(0)} events/s), largest backlog ${burst.max_backlog}; sent in ${burst.send_seconds.toFixed(1)} s`,
      );
      await stopAll();
    }

    if (!only || only.has("duplicate-wrangler-dev")) {
      progress("Starting wrangler dev…");
      const dev = await wranglerDevServer();
      started.push(dev);
      results.push(
        await runScenario({
          name: "duplicate-wrangler-dev",
          what: "as `duplicate`, through `wrangler dev` (its proxy and request logging)",
          server: () => dev,
          urlKey: "url",
          bodyBytes: SMALL_BYTES,
          request: () => maintainXRequest(smallFixed),
          expect: "already_processed",
        }),
      );
      await stopAll();
    }

    if (!only || only.has("hmac")) {
      progress("HMAC in Node and openssl…");
      for (const bytes of HMAC_SIZES) hmac.push(...(await nodeHmac(bytes, timing.hmacBudgetMs)));
      // The machine's limit for the size it matters for; a quick run skips the small sizes.
      for (const bytes of timing.opensslSizes) {
        const limit = await opensslHmac(bytes, timing.opensslSeconds);
        if (limit) hmac.push(limit);
      }
    }

    const ratios = computeRatios(results);
    const consumer = opsPerEvent
      ? {
          d1_round_trips: {
            creation: opsPerEvent.creation.consumer_d1_round_trips,
            completion: opsPerEvent.completion.consumer_d1_round_trips,
            update: opsPerEvent.update.consumer_d1_round_trips,
          },
        }
      : undefined;
    const costs = opsPerEvent
      ? {
          prices_as_of: PRICES_AS_OF,
          kinds: {
            duplicate: costPerMillion(opsPerEvent.duplicate, ownCpu.median.duplicate ?? 0),
            creation: costPerMillion(opsPerEvent.creation, ownCpu.median.accept ?? 0),
            completion: costPerMillion(opsPerEvent.completion, ownCpu.median.accept ?? 0),
            update: costPerMillion(opsPerEvent.update, ownCpu.median.accept ?? 0),
          },
        }
      : undefined;
    const report: Results = rounded({
      generated_at: new Date().toISOString(),
      mode: quick ? "quick" : "full",
      machine: machine(),
      settings: {
        connections: CONNECTIONS,
        warmup_seconds: timing.warmupSeconds,
        duration_seconds: timing.durationSeconds,
      },
      scenarios: results,
      own_cpu_ms: ownCpu.median,
      own_cpu_rounds: ownCpu.rounds,
      ...(burst ? { burst } : {}),
      ...(opsPerEvent ? { ops_per_event: opsPerEvent, consumer, cost_per_million_events: costs } : {}),
      hmac,
      stages,
      ratios,
      targets: checkTargets(results, ratios, ownCpu.median, consumer),
    });

    console.log(markdown(report));
    if (only) {
      console.error("\n--only ran a subset: bench/results/latest.json is left as it was.");
    } else {
      // Written beside and renamed, so an interrupted run never leaves a half-written file.
      mkdirSync(dirname(RESULTS), { recursive: true });
      writeFileSync(`${RESULTS}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
      renameSync(`${RESULTS}.tmp`, RESULTS);
      console.error(`\nWrote ${RESULTS}`);
    }
  } finally {
    await stopAll();
    rmSync(temp, { recursive: true, force: true });
  }
}

await main();
