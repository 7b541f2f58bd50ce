// `npm run soak -- --seconds 30`: a steady stream of real changes (work orders created, work
// orders completed) in a fake MaintainX, each sent as a signed delivery, with duplicates,
// concurrent copies and operator replays, into a real `wrangler dev` whose Slack and ERP are stub
// servers on 127.0.0.1 that fail a share of requests (5xx, 429 with Retry-After, timeouts, dropped
// connections). A share of the deliveries is never sent (a lost webhook): the fake MaintainX
// still has those changes, and the poller, run every couple of seconds, must find them. It waits
// for the queue to drain, accounts for every real change, and prints
//   soak: changes C, sent N, accepted A, dropped P, delivered D, lost L, duplicates X
// delivered: changes whose side effect (a Slack alert for a creation, an ERP POST for a completion)
// reached its sink (answered 2xx); lost: changes whose effect never happened and whose events are
// not dead either; duplicates: effects answered 2xx more than once for one change, by whichever
// path. Exits non-zero unless L == 0 and X == 0. Loopback only; bounded in time and in requests.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signMaintainX } from "../src/webhooks/signature";
import { type FakeMaintainX, startFakeMaintainX } from "../test/helpers/node/fake-maintainx";
import {
  type PlannedResponse,
  type RecordedRequest,
  type StubServer,
  startStubServer,
} from "../test/helpers/node/stub-server";
import { startWranglerDev, type WranglerDev } from "../tools/wrangler-dev";

interface SoakOptions {
  /** How long new events are sent for. */
  seconds: number;
  /** New events per second. */
  rate: number;
  /** Share of sink requests that fail. */
  failShare: number;
  /** Share of events delivered again later, re-signed (MaintainX redelivering). */
  duplicateShare: number;
  /** Share of events delivered as several concurrent copies at once. */
  burstShare: number;
  /** Share of events replayed through `POST /admin/events/:id/replay` while in flight. */
  replayShare: number;
  /** Share of changes whose webhook is never sent; only the poller can find them. */
  dropShare: number;
  /** How often the poller is run (`/__scheduled`), during the stream and the drain. */
  pollEverySeconds: number;
  /** Longest wait for the queue to drain after the last delivery. */
  drainSeconds: number;
  /** How long the local D1 database is locked, 40 % into the stream (0: never). */
  d1BlipSeconds: number;
  seed: number;
  /** Progress lines (stderr by default); the summary line is returned, not logged. */
  progress?: (line: string) => void;
}

interface SoakResult {
  /** Real changes made in the fake MaintainX (creations and completions). */
  changes: number;
  /** Changes whose webhook was dropped on purpose. */
  dropped: number;
  /** Polling runs triggered. */
  polls: number;
  sent: number;
  accepted: number;
  delivered: number;
  duplicates: number;
  lost: number;
  dead: number;
  refused: number;
  replays: number;
  sinkRequests: number;
  sinkFailures: number;
  drained: boolean;
  reloaded: boolean;
  line: string;
}

const DEFAULTS: SoakOptions = {
  seconds: 30,
  rate: 20,
  failShare: 0.25,
  duplicateShare: 0.2,
  burstShare: 0.1,
  replayShare: 0.05,
  dropShare: 0.15,
  pollEverySeconds: 2,
  drainSeconds: 120,
  d1BlipSeconds: 3,
  seed: Date.now() % 2 ** 31,
};

type NumericOption = Exclude<keyof SoakOptions, "progress">;
const FLAGS: Record<NumericOption, string> = {
  seconds: "--seconds",
  rate: "--rate",
  failShare: "--fail-share",
  duplicateShare: "--duplicate-share",
  burstShare: "--burst-share",
  replayShare: "--replay-share",
  dropShare: "--drop-share",
  pollEverySeconds: "--poll-every-seconds",
  drainSeconds: "--drain-seconds",
  d1BlipSeconds: "--d1-blip-seconds",
  seed: "--seed",
};
/** For node:util's parseArgs: every numeric flag takes a string, checked as a number below. */
const ARG_OPTIONS: Record<string, { type: "string" | "boolean"; short?: string }> = {
  ...Object.fromEntries(Object.values(FLAGS).map((flag) => [flag.slice(2), { type: "string" as const }])),
  help: { type: "boolean", short: "h" },
};
/** Bounds that keep a run finite and its load moderate; shares leave room for successes. */
const LIMITS: Partial<Record<NumericOption, readonly [number, number]>> = {
  seconds: [1, 600],
  rate: [1, 100],
  drainSeconds: [5, 900],
  d1BlipSeconds: [0, 30],
  failShare: [0, 0.9],
  duplicateShare: [0, 0.9],
  burstShare: [0, 0.9],
  replayShare: [0, 0.9],
  dropShare: [0, 0.9],
  pollEverySeconds: [0.5, 60],
};
const SECRET = "soak-webhook-secret";
const ADMIN_TOKEN = "soak-admin-token";
/** The Worker abandons a sink call after this (OUTBOUND_TIMEOUT_SECONDS). */
const OUTBOUND_TIMEOUT_SECONDS = 1;
const MAX_IN_FLIGHT = 64;
/** How often a refused or unanswered delivery is sent again, as MaintainX would. */
const SENDER_ATTEMPTS = 4;
const REQUEST_TIMEOUT_MS = 15_000;
/** After everything looks settled, wait this long more for late (duplicate) side effects. */
const QUIET_MS = 2_000;

/** A small seeded generator, so a run's choices can be repeated with --seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface SoakEvent {
  id: string;
  workOrderId: number;
  type: "NEW_WORK_ORDER" | "WORK_ORDER_STATUS_CHANGE";
  raw: string;
  accepted: boolean;
  /** The work order as MaintainX's REST API reports it after the change. */
  rest: Record<string, unknown>;
  /** The id of the event the poller makes of this change (docs/polling.md). */
  pollId: string;
  /** Its webhook is never sent. */
  dropped: boolean;
}

/** MaintainX dates a webhook a few hundred ms after REST's updatedAt / completedAt of the change. */
const WEBHOOK_LAG_MS = 300;

/** Titles beyond ASCII, as maintenance teams write them: sizes and escapes must hold for these too. */
const TITLES = [
  "Überprüfung Förderband",
  "保守点検 ポンプ室 🛠",
  "Vérifier la vanne « B »",
  "Замена фильтра",
  "Kompresör bakımı ✅",
];

function makeEvent(workOrderId: number, index: number, dropped: boolean): SoakEvent {
  // REST dates the change now; the webhook is dated a little later, as MaintainX dates it.
  const changedAt = new Date().toISOString();
  const now = new Date(Date.parse(changedAt) + WEBHOOK_LAG_MS).toISOString();
  const type = index % 2 === 0 ? "NEW_WORK_ORDER" : "WORK_ORDER_STATUS_CHANGE";
  const title = `Soak ${workOrderId}: ${TITLES[index % TITLES.length]}`;
  const rest =
    type === "NEW_WORK_ORDER"
      ? { id: workOrderId, title, priority: "HIGH", status: "OPEN", createdAt: changedAt, updatedAt: changedAt }
      : {
          id: workOrderId,
          title,
          priority: "LOW",
          status: "DONE",
          // Created long before the run: the poller must not take it for a creation.
          createdAt: "2020-01-01T00:00:00.000Z",
          completedAt: changedAt,
          updatedAt: changedAt,
        };
  const pollId = type === "NEW_WORK_ORDER" ? `poll:${workOrderId}:created` : `poll:${workOrderId}:DONE:${changedAt}`;
  const body =
    type === "NEW_WORK_ORDER"
      ? {
          workOrderId,
          orgId: 99411,
          occurredAt: now,
          newWorkOrder: {
            id: workOrderId,
            title: `Soak ${workOrderId}: ${TITLES[index % TITLES.length]}`,
            priority: "HIGH",
            status: "OPEN",
            updatedAt: now,
          },
        }
      : {
          workOrderId,
          orgId: 99411,
          occurredAt: now,
          oldStatus: "IN_PROGRESS",
          newStatus: "DONE",
          newWorkOrder: {
            id: workOrderId,
            title: `Soak ${workOrderId}: ${TITLES[index % TITLES.length]}`,
            priority: "LOW",
            status: "DONE",
            updatedAt: now,
          },
        };
  const raw = JSON.stringify(body);
  // The Worker's id for a delivery without x-maintainx-event-id (docs/receiving.md).
  const id = createHash("sha256").update(`${type}\n${raw}`).digest("hex");
  return { id, workOrderId, type, raw, accepted: false, rest, pollId, dropped };
}

/**
 * Holds an exclusive lock on the local D1 database file for `seconds` (SQLite through python3,
 * which Debian ships): every D1 statement the Worker makes meanwhile fails with SQLITE_BUSY.
 */
async function lockD1(dev: WranglerDev, seconds: number, progress: (line: string) => void): Promise<void> {
  const folder = join(dev.persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(folder).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!file) throw new Error(`soak: no local D1 database under ${folder}`);
  const script = [
    "import sqlite3, sys, time",
    "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)",
    "db.execute('BEGIN EXCLUSIVE')",
    "print('locked', flush=True)",
    "time.sleep(float(sys.argv[2]))",
    "db.execute('COMMIT')",
  ].join("\n");
  const child = spawn("python3", ["-c", script, join(folder, file), String(seconds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const locked = new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await Promise.race([locked, exited]);
  progress(`soak: D1 locked for ${seconds} s`);
  const code = await exited;
  if (code !== 0) throw new Error(`soak: the D1 lock ended with exit code ${code}`);
  progress("soak: D1 unlocked");
}

/** A sink answering a share of requests with a failure, and counting 2xx answers per key. */
function failingSink(
  stub: StubServer,
  keyOf: (request: RecordedRequest) => string | undefined,
  failShare: number,
  rand: () => number,
) {
  const successes = new Map<string, number>();
  let requests = 0;
  let failures = 0;
  const failuresToPick: PlannedResponse[] = [
    { status: 500, body: "internal error" },
    { status: 503, body: "unavailable" },
    { status: 429, headers: { "retry-after": "1" }, body: "rate limited" },
    { dropConnection: true },
    // Answered only after the Worker gave up on it, so never a success.
    { status: 504, body: "too slow", delayMs: OUTBOUND_TIMEOUT_SECONDS * 1000 + 500 },
  ];
  stub.respondWith((request) => {
    requests += 1;
    const key = keyOf(request);
    if (rand() < failShare) {
      failures += 1;
      return failuresToPick[Math.floor(rand() * failuresToPick.length)] as PlannedResponse;
    }
    if (key !== undefined) successes.set(key, (successes.get(key) ?? 0) + 1);
    return { status: 200, body: "ok" };
  });
  return { successes, stats: () => ({ requests, failures }) };
}

/** Runs at most `max` tasks at once. */
function limit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    while (active >= max) await new Promise<void>((r) => waiting.push(r));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/** The options with defaults filled in; throws a usage error for one out of bounds. */
function soakOptions(input: Partial<SoakOptions> = {}): SoakOptions {
  const options: SoakOptions = { ...DEFAULTS, ...input };
  for (const [key, [min, max]] of Object.entries(LIMITS) as Array<[NumericOption, readonly [number, number]]>) {
    if (!(options[key] >= min && options[key] <= max))
      throw new Error(`soak: ${FLAGS[key]} must be from ${min} to ${max}`);
  }
  return options;
}

/** Counts every request the run makes (sends, replays, polls, admin reads) against one cap. */
class RequestBudget {
  #used = 0;
  constructor(readonly max: number) {}

  /** Counts one request; throws once the cap is passed. */
  spend(): void {
    this.#used += 1;
    if (this.#used > this.max) throw new Error(`soak: request budget of ${this.max} used up`);
  }

  /** Counts one request if the cap leaves room for it; false, counting nothing, once it does not. */
  trySpend(): boolean {
    if (this.#used >= this.max) return false;
    this.#used += 1;
    return true;
  }
}

/** The most requests a run with these options may make, with room to spare. */
function requestCap(options: SoakOptions): number {
  return Math.ceil(
    options.seconds * options.rate * 12 +
      options.drainSeconds * 4 +
      (options.seconds + options.drainSeconds) / options.pollEverySeconds +
      100,
  );
}

type FailingSink = ReturnType<typeof failingSink>;

interface Sinks {
  slackStub: StubServer;
  erpStub: StubServer;
  slack: FailingSink;
  erp: FailingSink;
}

/** The stub Slack and ERP, each failing `failShare` of its requests and counting successes per work order. */
async function startSinks(failShare: number, rand: () => number): Promise<Sinks> {
  const [slackStub, erpStub] = await Promise.all([startStubServer("slack"), startStubServer("erp")]);
  const slack = failingSink(
    slackStub,
    (r) => /#(\d+):/.exec(String((r.json as { text?: string })?.text))?.[1],
    failShare,
    rand,
  );
  // Keyed by work order: each work order has one real change, whichever path reports it.
  const erp = failingSink(
    erpStub,
    (r) => (r.json as { workOrder?: { id?: string } } | undefined)?.workOrder?.id,
    failShare,
    rand,
  );
  return { slackStub, erpStub, slack, erp };
}

/** The REST record of every change, by work order id. */
type WorkOrderRecords = Map<number, Record<string, unknown>>;

/** The fake MaintainX: its REST API reports every change of `records`, dropped webhook or not. */
async function startRecordingMaintainX(records: WorkOrderRecords): Promise<FakeMaintainX> {
  const maintainx = await startFakeMaintainX();
  maintainx.route("GET", "/v1/workorders", (req) => {
    const since = String(req.query["updatedAt[gte]"] ?? "");
    const pageSize = Number(req.query.limit ?? 100);
    const offset = Number(req.query.cursor ?? 0);
    const rows = [...records.values()]
      .filter((wo) => String(wo.updatedAt) >= since)
      .sort((a, b) => String(a.updatedAt).localeCompare(String(b.updatedAt)) || Number(a.id) - Number(b.id));
    const nextCursor = offset + pageSize < rows.length ? String(offset + pageSize) : null;
    return { body: { workOrders: rows.slice(offset, offset + pageSize), nextCursor, nextPageUrl: null } };
  });
  maintainx.route("GET", "/v1/workorders/:id", (req) => {
    const wo = records.get(Number(req.params.id));
    return wo ? { body: { workOrder: wo } } : { status: 404, body: { errors: [{ message: "not found" }] } };
  });
  return maintainx;
}

/** The Worker's settings for a run: the stubs as sinks, the fake MaintainX polled on every run. */
function workerVars(sinks: Sinks, maintainxUrl: string): Record<string, string> {
  return {
    MAINTAINX_WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN,
    SLACK_WEBHOOK_URL: `${sinks.slackStub.url}/services/T0/B0/soak`,
    ERP_WEBHOOK_URL: `${sinks.erpStub.url}/erp/completed`,
    // The default schedule's shape in seconds: its nine retries outlast the run's faults.
    RETRY_SCHEDULE: "1s,1s,2s,2s,3s,3s,4s,4s,5s",
    OUTBOUND_TIMEOUT_SECONDS: String(OUTBOUND_TIMEOUT_SECONDS),
    MAINTAINX_API_BASE: maintainxUrl,
    MAINTAINX_API_KEY: "soak-api-key",
    POLL_MODE: "always",
  };
}

interface Poller {
  /** Polling runs triggered so far. */
  runs(): number;
  /** Ends the loop after its current run; resolves when it has ended. */
  stop(): Promise<void>;
}

/** The poller, as the Cron Trigger would run it (more often, to keep the run short). */
function startPolling(base: string, budget: RequestBudget, everySeconds: number): Poller {
  let polling = true;
  let runs = 0;
  const loop = (async () => {
    while (polling) {
      if (!budget.trySpend()) break;
      runs += 1;
      const response = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).catch(() => undefined);
      await response?.body?.cancel();
      await sleep(everySeconds * 1000);
    }
  })();
  return {
    runs: () => runs,
    stop() {
      polling = false;
      return loop;
    },
  };
}

/** Sends deliveries as MaintainX does and replays as an operator does, counting what happened. */
class Sender {
  sent = 0;
  /** Deliveries refused or unanswered, each sent again. */
  refused = 0;
  replays = 0;
  /** Why deliveries were not accepted: HTTP status or error name, with counts. */
  readonly refusals = new Map<string, number>();
  readonly #run = limit(MAX_IN_FLIGHT);

  constructor(
    private readonly base: string,
    private readonly budget: RequestBudget,
  ) {}

  /** Delivers like MaintainX: a refused or unanswered delivery is sent again, a few times. */
  async deliver(event: SoakEvent): Promise<void> {
    for (let attempt = 1; attempt <= SENDER_ATTEMPTS; attempt++) {
      if (await this.#run(() => this.#deliverOnce(event))) {
        event.accepted = true;
        return;
      }
      this.refused += 1;
      await sleep(500 * attempt);
    }
  }

  /** Replays a logged event through the admin API, a few times until it is taken. */
  async replay(event: SoakEvent): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      this.budget.spend();
      const response = await fetch(`${this.base}/admin/events/${event.id}/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).catch(() => undefined);
      await response?.body?.cancel();
      if (response?.status === 202) {
        this.replays += 1;
        return;
      }
      await sleep(1000);
    }
  }

  /** One signed delivery; true when the Worker took it (accepted, or already processed). */
  async #deliverOnce(event: SoakEvent): Promise<boolean> {
    this.budget.spend();
    this.sent += 1;
    const signature = await signMaintainX(SECRET, event.raw, Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(`${this.base}/webhooks/maintainx/${event.type}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-maintainx-webhook-body-signature": signature },
        body: event.raw,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const json = (await response.json().catch(() => ({}))) as { status?: string; eventId?: string };
      if (response.status !== 200) {
        this.#refusal(`HTTP ${response.status}`);
        return false;
      }
      if (json.eventId !== event.id)
        throw new Error(`soak: the Worker answered event id ${json.eventId} for ${event.id}`);
      return json.status === "accepted" || json.status === "already_processed";
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("soak:")) throw error;
      this.#refusal(
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.name) : "error",
      );
      return false;
    }
  }

  #refusal(why: string): void {
    this.refusals.set(why, (this.refusals.get(why) ?? 0) + 1);
  }
}

/** What the steps of one run share, once the Worker is up. */
interface SoakRun {
  options: SoakOptions;
  progress: (line: string) => void;
  rand: () => number;
  budget: RequestBudget;
  sinks: Sinks;
  records: WorkOrderRecords;
  dev: WranglerDev;
  sender: Sender;
}

/** Promises still running; `settled` waits for those pending when it is called, failing with the first failure. */
function taskSet(): { track(task: Promise<void>): void; settled(): Promise<unknown> } {
  const pending = new Set<Promise<void>>();
  return {
    track(task) {
      pending.add(task);
      // Failures surface through settled(); this chain only does the bookkeeping.
      task.finally(() => pending.delete(task)).catch(() => {});
    },
    settled: () => Promise.all([...pending]),
  };
}

/**
 * A D1 blip: the local database file locked from outside for d1BlipSeconds, 40 % into the
 * stream, so every D1 call in that time fails as it does when D1 is briefly unavailable.
 */
function d1Blip(run: SoakRun): Promise<void> {
  const { options } = run;
  if (options.d1BlipSeconds <= 0) return Promise.resolve();
  return sleep(options.seconds * 400).then(() => lockD1(run.dev, options.d1BlipSeconds, run.progress));
}

/** Sends one change's webhook as the run's shares say: concurrent copies, a later duplicate, a replay. */
function sendChange(run: SoakRun, event: SoakEvent, track: (task: Promise<void>) => void): void {
  const { options, rand, sender } = run;
  const copies = rand() < options.burstShare ? 3 + Math.floor(rand() * 3) : 1;
  for (let c = 0; c < copies; c++) track(sender.deliver(event));
  if (rand() < options.duplicateShare) {
    const later = 1_000 + rand() * 9_000;
    track(sleep(later).then(() => sender.deliver(event)));
  }
  if (rand() < options.replayShare) {
    const later = 500 + rand() * 4_500;
    track(sleep(later).then(() => (event.accepted ? sender.replay(event) : undefined)));
  }
}

/** The stream: one new change every 1/rate s for `seconds`, each recorded in MaintainX, most of them sent. */
async function streamChanges(run: SoakRun, track: (task: Promise<void>) => void): Promise<SoakEvent[]> {
  const { options, rand, progress } = run;
  const events: SoakEvent[] = [];
  const started = Date.now();
  const sendUntil = started + options.seconds * 1000;
  const firstWorkOrder = 10_000_000 + Math.floor(rand() * 1_000_000) * 100;
  let nextReport = started + 5_000;
  for (let i = 0; Date.now() < sendUntil; i++) {
    const dueAt = started + (i * 1000) / options.rate;
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    if (Date.now() >= sendUntil) break;
    const event = makeEvent(firstWorkOrder + i, i, rand() < options.dropShare);
    events.push(event);
    run.records.set(event.workOrderId, event.rest);
    if (event.dropped) continue;
    sendChange(run, event, track);
    if (Date.now() >= nextReport) {
      nextReport += 5_000;
      progress(
        `soak: ${Math.round((Date.now() - started) / 1000)} s, ${events.length} events, ${run.sender.sent} deliveries sent`,
      );
    }
  }
  return events;
}

/** The stream, with the D1 blip during it; resolves once every delivery and replay it started has ended. */
async function sendChanges(run: SoakRun): Promise<SoakEvent[]> {
  const tasks = taskSet();
  tasks.track(d1Blip(run));
  const events = await streamChanges(run, tasks.track);
  await tasks.settled();
  run.progress(`soak: sending done (${events.length} events, ${run.sender.sent} deliveries); draining`);
  return events;
}

/** How often the change's side effect was answered 2xx by its sink. */
function successesOf(sinks: Sinks, event: SoakEvent): number {
  return (event.type === "NEW_WORK_ORDER" ? sinks.slack : sinks.erp).successes.get(String(event.workOrderId)) ?? 0;
}

/** Whether the change's webhook event or the poller's event of it is dead (kept for replay). */
function isDead(event: SoakEvent, dead: Set<string>): boolean {
  return dead.has(event.id) || dead.has(event.pollId);
}

async function adminGet<T>(run: SoakRun, path: string): Promise<T> {
  run.budget.spend();
  const response = await fetch(`${run.dev.url}/admin${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (response.status !== 200) throw new Error(`soak: GET /admin${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function deadEventIds(run: SoakRun): Promise<Set<string>> {
  const listing = await adminGet<{ events: Array<{ id: string }> }>(run, "/events?status=dead&limit=1000");
  return new Set(listing.events.map((e) => e.id));
}

/** Each dead event's id and last error, so a run that leaves some says why. */
async function sayWhyDead(run: SoakRun): Promise<void> {
  const listing = await adminGet<{ events: Array<{ id: string; type: string; lastError?: string }> }>(
    run,
    "/events?status=dead&limit=20",
  );
  for (const e of listing.events) run.progress(`soak: dead ${e.id} ${e.type}: ${e.lastError ?? "no error recorded"}`);
}

/** Waits until every change is delivered or dead and nothing is pending in the log, for drainSeconds at most. */
async function waitForDrain(run: SoakRun, events: SoakEvent[]): Promise<{ drained: boolean; seconds: number }> {
  const started = Date.now();
  const until = started + run.options.drainSeconds * 1000;
  while (Date.now() < until) {
    const dead = await deadEventIds(run);
    const open = events.filter((e) => successesOf(run.sinks, e) === 0 && !isDead(e, dead));
    // A retrying event is pending too: the queue brings it back.
    const status = await adminGet<{ events: { accepted: number; retrying?: number } }>(run, "/status");
    if (open.length === 0 && status.events.accepted === 0 && (status.events.retrying ?? 0) === 0) {
      return { drained: true, seconds: Math.round((Date.now() - started) / 1000) };
    }
    await sleep(1_000);
  }
  return { drained: false, seconds: Math.round((Date.now() - started) / 1000) };
}

interface Tally {
  delivered: number;
  duplicates: number;
  lost: number;
  dead: number;
  dropped: number;
}

/** What became of each change, by its sink's successes and the dead events. */
function tallyChanges(events: SoakEvent[], sinks: Sinks, dead: Set<string>): Tally {
  const successes = (e: SoakEvent) => successesOf(sinks, e);
  return {
    delivered: events.filter((e) => successes(e) > 0).length,
    duplicates: events.reduce((n, e) => n + Math.max(0, successes(e) - 1), 0),
    lost: events.filter((e) => successes(e) === 0 && !isDead(e, dead)).length,
    dead: events.filter((e) => isDead(e, dead) && successes(e) === 0).length,
    dropped: events.filter((e) => e.dropped).length,
  };
}

/** Prints how the run went and returns its result, with the summary line. */
function report(
  run: SoakRun,
  events: SoakEvent[],
  tally: Tally,
  drain: { drained: boolean; seconds: number },
  polls: number,
): SoakResult {
  const { options, progress, sender } = run;
  const slackStats = run.sinks.slack.stats();
  const erpStats = run.sinks.erp.stats();
  const sinkRequests = slackStats.requests + erpStats.requests;
  const sinkFailures = slackStats.failures + erpStats.failures;
  const accepted = events.filter((e) => e.accepted).length;
  const reloaded = /Reloading local server/.test(run.dev.logs());
  const refusals =
    sender.refusals.size > 0 ? ` (${[...sender.refusals].map(([why, n]) => `${why}: ${n}`).join(", ")})` : "";
  progress(
    `soak: sinks answered ${sinkRequests} requests, failing ${sinkFailures} on purpose; ` +
      `${polls} polling runs; ${tally.dead} changes dead (replayable), ${sender.refused} deliveries refused and sent again` +
      `${refusals}, ${sender.replays} replays; ` +
      `${drain.drained ? `queue drained in ${drain.seconds} s` : `queue NOT drained within ${options.drainSeconds} s`}`,
  );
  if (reloaded) {
    progress(
      "soak: warning: wrangler dev reloaded during the run (a source file changed); queued messages are dropped on reload",
    );
  }
  return {
    changes: events.length,
    dropped: tally.dropped,
    polls,
    sent: sender.sent,
    accepted,
    delivered: tally.delivered,
    duplicates: tally.duplicates,
    lost: tally.lost,
    dead: tally.dead,
    refused: sender.refused,
    replays: sender.replays,
    sinkRequests,
    sinkFailures,
    drained: drain.drained,
    reloaded,
    line:
      `soak: changes ${events.length}, sent ${sender.sent}, accepted ${accepted}, dropped ${tally.dropped}, ` +
      `delivered ${tally.delivered}, lost ${tally.lost}, duplicates ${tally.duplicates}`,
  };
}

function settingsLine(options: SoakOptions): string {
  return (
    `soak: ${options.seconds} s at ${options.rate} events/s, sink failure share ${options.failShare}, ` +
    `duplicates ${options.duplicateShare}, bursts ${options.burstShare}, replays ${options.replayShare}, ` +
    `dropped webhooks ${options.dropShare}, a poll every ${options.pollEverySeconds} s, seed ${options.seed}`
  );
}

export async function runSoak(input: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const options = soakOptions(input);
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rand = random(options.seed);
  const budget = new RequestBudget(requestCap(options));
  const sinks = await startSinks(options.failShare, rand);
  const records: WorkOrderRecords = new Map();
  const maintainx = await startRecordingMaintainX(records);

  let dev: WranglerDev | undefined;
  let poller: Poller | undefined;
  try {
    dev = await startWranglerDev({ vars: workerVars(sinks, maintainx.url) });
    if (!dev.url.startsWith("http://127.0.0.1:")) throw new Error(`soak: refusing a non-loopback Worker at ${dev.url}`);
    progress(settingsLine(options));
    poller = startPolling(dev.url, budget, options.pollEverySeconds);
    const sender = new Sender(dev.url, budget);
    const run: SoakRun = { options, progress, rand, budget, sinks, records, dev, sender };

    const events = await sendChanges(run);
    const drain = await waitForDrain(run, events);
    // One more poll after the drain: it must add nothing.
    if (drain.drained) await sleep(Math.max(QUIET_MS, options.pollEverySeconds * 1000 + 1000));
    await poller.stop();
    const tally = tallyChanges(events, sinks, await deadEventIds(run));
    if (tally.dead > 0) await sayWhyDead(run);
    return report(run, events, tally, drain, poller.runs());
  } finally {
    await poller?.stop().catch(() => {});
    await dev?.stop();
    await Promise.all([sinks.slackStub.close(), sinks.erpStub.close(), maintainx.close()]);
  }
}

/** The command line's options, `help` aside; throws a usage error for an unknown flag or a non-number. */
function optionsFromArgs(args: string[]): { help: boolean; options: Partial<SoakOptions> } {
  let values: ReturnType<typeof parseArgs>["values"];
  try {
    ({ values } = parseArgs({ args, options: ARG_OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // Node's own message names the argument: an unknown flag, a positional, a missing value.
    const message = error instanceof Error ? error.message.replace(/\s*\n\s*/g, " ") : String(error);
    const code = (error as { code?: unknown }).code;
    const unknown = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL";
    throw new Error(`soak: ${message}${unknown ? `; options: ${[...Object.values(FLAGS), "--help"].join(", ")}` : ""}`);
  }
  const options: Partial<Record<NumericOption, number>> = {};
  for (const [key, flag] of Object.entries(FLAGS) as Array<[NumericOption, string]>) {
    const value = values[flag.slice(2)];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(Number(value))) {
      throw new Error(`soak: ${flag} needs a number`);
    }
    options[key] = Number(value);
  }
  return { help: values.help === true, options };
}

const HELP = `Usage: npm run soak -- [--seconds 30] [--rate 20] [--fail-share 0.25] [--duplicate-share 0.2]
                      [--burst-share 0.1] [--replay-share 0.05] [--drop-share 0.15]
                      [--poll-every-seconds 2] [--drain-seconds 120] [--d1-blip-seconds 3] [--seed N]

Starts wrangler dev with stub Slack and ERP servers and a fake MaintainX on 127.0.0.1; the sinks
fail --fail-share of their requests. Makes --rate real changes a second for --seconds (work orders
created and completed, in the fake MaintainX) and sends each as a signed delivery (with duplicates,
concurrent copies, admin replays and non-ASCII titles), except --drop-share of them, which only
the poller (run every --poll-every-seconds) can find. Locks the local D1 database for
--d1-blip-seconds 40 % into the run (0: no blip; needs python3), waits for the queue to drain, and prints
  soak: changes C, sent N, accepted A, dropped P, delivered D, lost L, duplicates X
It exits 1 unless L and X are both 0, and 2 for a bad option.`;

async function main(): Promise<void> {
  let options: SoakOptions;
  try {
    const args = optionsFromArgs(process.argv.slice(2));
    if (args.help) {
      console.log(HELP);
      return;
    }
    options = soakOptions(args.options);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const result = await runSoak(options);
  console.log(result.line);
  process.exit(result.duplicates === 0 && result.lost === 0 ? 0 : 1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
