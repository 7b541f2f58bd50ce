// `events` and `status` against a stand-in Worker on 127.0.0.1: the exact requests each command
// sends (method, path, query, body, headers), where the admin token comes from, how each answer
// and each failure is printed, and that hostile event data never reaches the terminal as control
// characters. The bulk replay route and the newer list filters are checked here against their
// contract (docs/console.md); cli-events.test.ts runs the commands against a real Worker.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ADMIN_URL, resolveAdminTarget } from "../../cli/admin-api";
import { MAX_ALL_EVENTS } from "../../cli/commands/events";
import { ConfigError, UsageError } from "../../cli/errors";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { safeJson, sanitise, shellArg, truncate } from "../../cli/terminal";
import { LOCAL_ADMIN_TOKEN_FILE } from "../../src/local-dev";
import {
  type PlannedResponse,
  type RecordedRequest,
  type StubServer,
  startStubServer,
} from "../helpers/node/stub-server";

const TOKEN = "stub-admin-token-7d1e";
const POLL_ID = "poll:123:2026-11-28T09:15:02.417Z";
/** Every control character a terminal acts on, and the bidi overrides: none may be printed. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ESC = "\u001b";
const HOSTILE = `${ESC}[31mRED${ESC}[0m ${ESC}]0;pwned\u0007title\rover\bwrite\u009b2Jc1 \u202eevil\u202c line\nbreak`;

let worker: StubServer;
let dir: string;

beforeAll(async () => {
  worker = await startStubServer("worker");
});

afterAll(async () => {
  await worker.close();
});

beforeEach(() => {
  worker.reset();
  dir = mkdtempSync(join(tmpdir(), "cli-admin-"));
  return () => rmSync(dir, { recursive: true, force: true });
});

interface RunOptions {
  env?: Record<string, string>;
  columns?: number;
  /** Left out when false; by default `--url <stub>` is appended. */
  url?: string | false;
}

async function run(argv: string[], options: RunOptions = {}) {
  const output = bufferOutput();
  const url = options.url === undefined ? ["--url", worker.url] : options.url === false ? [] : ["--url", options.url];
  const code = await runCli([...argv, ...url], {
    env: options.env ?? { ADMIN_TOKEN: TOKEN },
    cwd: dir,
    output,
    timeoutMs: 5_000,
    columns: options.columns,
  });
  const stdout = output.lines.stdout.join("\n");
  const stderr = output.lines.stderr.join("\n");
  return { code, stdout, stderr, all: output.text() };
}

/** Answers by method and path (without the query); anything else gets the Worker's own 404. */
function answer(routes: Record<string, PlannedResponse | ((request: RecordedRequest) => PlannedResponse)>): void {
  worker.respondWith((request) => {
    const key = `${request.method} ${request.path.split("?")[0]}`;
    const route = routes[key];
    if (route === undefined) return { status: 404, body: { error: "Not found" } };
    return typeof route === "function" ? route(request) : route;
  });
}

function only(): RecordedRequest {
  expect(worker.requests).toHaveLength(1);
  return worker.requests[0] as RecordedRequest;
}

function summary(overrides: Record<string, unknown> = {}) {
  return {
    id: "3f9a".padEnd(64, "0"),
    type: "workorder.created",
    sourceType: "NEW_WORK_ORDER",
    source: "webhook",
    status: "processed",
    attempts: 1,
    receivedAt: "2026-11-28T09:15:02.417Z",
    summary: "Work order 42: Pump leaking",
    ...overrides,
  };
}

const STATUS_ANSWER = {
  poll: {
    cursor: "2026-11-28T09:00:00.000Z",
    lastRunAt: "2026-11-28T09:15:00.000Z",
    outcome: "ok",
    pages: 1,
    events: 3,
    skippedUntil: null,
  },
  events: { accepted: 1, retrying: 0, processed: 40, failed: 2, dead: 1 },
  lastWebhookAt: "2026-11-28T09:14:59.000Z",
  retry: { schedule: [30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200], totalSeconds: 99_750 },
  handlers: { held: [] },
  config: [{ name: "POLL_MODE", value: "fallbak", used: "always" }],
};

/** Every filter the listing and bulk replay take, once each, as command-line options. */
const EVERY_FILTER = [
  "--status",
  "failed",
  "--type",
  "workorder.completed",
  "--work-order",
  "42",
  "--subject",
  "workorder:42",
  "--since",
  "2026-11-28T00:00:00Z",
  "--until",
  "2026-11-29T00:00:00Z",
];

describe("requests sent", () => {
  it("events list sends every filter as the query, in the contract's order, with the token and no body", async () => {
    answer({ "GET /admin/events": { body: { events: [], nextCursor: null } } });
    const result = await run(["events", "list", ...EVERY_FILTER, "--limit", "20", "--cursor", "c/1 +="]);

    expect(result.code).toBe(0);
    const request = only();
    expect(request.method).toBe("GET");
    expect(request.path).toBe(
      "/admin/events?status=failed&type=workorder.completed&workOrderId=42&subject=workorder%3A42&since=2026-11-28T00%3A00%3A00Z&until=2026-11-29T00%3A00%3A00Z&limit=20&cursor=c%2F1+%2B%3D",
    );
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers.accept).toBe("application/json");
    expect(request.headers).not.toHaveProperty("content-type");
    expect(request.body).toBe("");
    expect(result.stdout).toBe("No more events.");
  });

  it("events list without options sends no query", async () => {
    answer({ "GET /admin/events": { body: { events: [], nextCursor: null } } });
    const result = await run(["events", "list"]);

    expect(result.code).toBe(0);
    expect(only().path).toBe("/admin/events");
    expect(result.stdout).toBe("No events match.");
  });

  it("events show percent-encodes an id with colons into one path segment", async () => {
    answer({
      [`GET /admin/events/${encodeURIComponent(POLL_ID)}`]: {
        body: { event: { ...summary({ id: POLL_ID }), data: {}, outcomes: [] } },
      },
    });
    const result = await run(["events", "show", POLL_ID]);

    expect(result.code).toBe(0);
    expect(only()).toMatchObject({ method: "GET", path: "/admin/events/poll%3A123%3A2026-11-28T09%3A15%3A02.417Z" });
  });

  it("events show keeps a hostile id inside its path segment: slashes, query, fragment, percent, spaces, escapes", async () => {
    const id = `../status?x=1#y %2F${ESC}[31m`;
    const result = await run(["events", "show", id]);

    expect(result.code).toBe(1);
    expect(only().path).toBe("/admin/events/..%2Fstatus%3Fx%3D1%23y%20%252F%1B%5B31m");
    expect(result.all).not.toMatch(RAW_CONTROLS);
  });

  it.each([".", ".."])(
    "events show refuses the id %j, which a URL would resolve away, before any request",
    async (id) => {
      const result = await run(["events", "show", id]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain("cannot be sent as an event id in a URL path");
      expect(worker.requests).toHaveLength(0);
    },
  );

  it("events replay <id> POSTs to /admin/events/<encoded id>/replay without a body", async () => {
    answer({
      [`POST /admin/events/${encodeURIComponent(POLL_ID)}/replay`]: {
        status: 202,
        body: { status: "replaying", eventId: POLL_ID },
      },
    });
    const result = await run(["events", "replay", POLL_ID]);

    expect(result.code).toBe(0);
    const request = only();
    expect(request).toMatchObject({
      method: "POST",
      path: "/admin/events/poll%3A123%3A2026-11-28T09%3A15%3A02.417Z/replay",
    });
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers).not.toHaveProperty("content-type");
    expect(request.body).toBe("");
    expect(result.stdout).toBe(
      `Replaying ${POLL_ID}: its failed and skipped handlers run again; those that succeeded stay done.`,
    );
    expect(result.stderr).toContain(`npm run cli -- events show ${POLL_ID} --url ${worker.url}`);
  });

  it("bulk replay POSTs every filter as JSON, limit as a number and dryRun as a boolean", async () => {
    answer({ "POST /admin/events/replay": { body: { dryRun: true, matched: 0, ids: [] } } });
    const result = await run(["events", "replay", ...EVERY_FILTER, "--limit", "5", "--dry-run"]);

    expect(result.code).toBe(0);
    const request = only();
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/admin/events/replay");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.body).toBe(
      JSON.stringify({
        status: "failed",
        type: "workorder.completed",
        workOrderId: "42",
        subject: "workorder:42",
        since: "2026-11-28T00:00:00Z",
        until: "2026-11-29T00:00:00Z",
        limit: 5,
        dryRun: true,
      }),
    );
    expect(result.stdout).toBe("No events match: nothing would be replayed.");
  });

  it("bulk replay without --dry-run sends only the filters given, and no dryRun", async () => {
    answer({ "POST /admin/events/replay": { status: 202, body: { replayed: 0, ids: [] } } });
    const result = await run(["events", "replay", "--status", "dead"]);

    expect(result.code).toBe(0);
    expect(only().json).toEqual({ status: "dead" });
  });

  it("status GETs /admin/status", async () => {
    answer({ "GET /admin/status": { body: STATUS_ANSWER } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(only()).toMatchObject({ method: "GET", path: "/admin/status", body: "" });
    expect(only().headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it.each([
    [["events", "replay"], "at least one filter"],
    [["events", "replay", "--limit", "5"], "at least one filter"],
    [["events", "replay", "--dry-run"], "at least one filter"],
    [["events", "replay", "abc", "--status", "failed"], "an event id or filters, not both"],
    [["events", "replay", "abc", "--dry-run"], "an event id or filters, not both"],
    [["events", "list", "--status", "broken"], "--status must be one of accepted, retrying, processed, failed, dead"],
    [["events", "list", "--type", "not a type"], "--type must be a canonical event type"],
    [["events", "list", "--subject", "42"], "--subject must be <kind>:<id>"],
    [["events", "list", "--since", "yesterday"], "--since must be an ISO date or time"],
    [["events", "list", "--since", "2026-11-29", "--until", "2026-11-28"], "--since is later than --until"],
    [["events", "list", "--limit", "0"], "--limit must be a whole number from 1 to 1000"],
    [["events", "list", "--limit", "1001"], "--limit must be a whole number from 1 to 1000"],
    [["events", "list", "extra"], "Unexpected argument: extra"],
    [["events", "show"], "events show needs an event id"],
    [["events", "frob"], 'Unknown events command "frob"'],
    [["status", "--verbose"], "Unknown option '--verbose'"],
  ])("%j exits 2 before any request: %s", async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(worker.requests).toHaveLength(0);
  });

  it.each([
    ["ftp://127.0.0.1:1", "--url must be an http(s) URL"],
    ["http://127.0.0.1:8787/admin", "--url must be the Worker's base URL"],
    ["http://127.0.0.1:8787/?x=1", "--url must be the Worker's base URL"],
    ["http://user:pw@127.0.0.1:8787", "must not carry a user name or password"],
    ["not a url", "--url is not a URL"],
  ])("--url %s exits 2: %s", async (url, message) => {
    const result = await run(["status"], { url });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe("events list output", () => {
  it("prints a table newest first, cuts long cells to the terminal width, and says how to get the next page", async () => {
    const long = `Work order 42: ${"very long title ".repeat(20)}`;
    answer({
      "GET /admin/events": {
        body: {
          events: [
            summary({ summary: long }),
            summary({
              id: POLL_ID,
              type: "workorder.completed",
              status: "failed",
              attempts: 2,
              receivedAt: "2026-11-28T09:00:00.000Z",
              summary: undefined,
              lastError: "ERP answered 400",
            }),
          ],
          nextCursor: "next page/2",
        },
      },
    });
    const result = await run(["events", "list", "--status", "failed", "--limit", "2"], { columns: 160 });

    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^RECEIVED +STATUS +TYPE +ATTEMPTS +ID +SUMMARY \/ LAST ERROR$/);
    expect(lines[1]).toMatch(/^2026-11-28T09:15:02Z +processed +workorder\.created +1 +3f9a0{60} +Work order 42: very/);
    expect(lines[1]).toMatch(/…$/);
    expect(Array.from(lines[1] ?? "").length).toBe(160);
    expect(lines[2]).toMatch(
      /^2026-11-28T09:00:00Z +failed +workorder\.completed +2 +poll:123:\S+ +error: ERP answered 400$/,
    );
    expect(result.stderr).toBe(
      `More events; for the next page: npm run cli -- events list --status failed --limit 2 --cursor 'next page/2' --url ${worker.url}`,
    );
  });

  it("--json prints the Worker's answer as it came, and nothing else on stdout", async () => {
    const body = { events: [summary()], nextCursor: "abc" };
    answer({ "GET /admin/events": { body } });
    const result = await run(["events", "list", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it("--all follows nextCursor to the end, with the page size at its largest", async () => {
    const pages: Record<string, { events: unknown[]; nextCursor: string | null }> = {
      "": { events: [summary({ id: "a" }), summary({ id: "b" })], nextCursor: "c1" },
      c1: { events: [summary({ id: "c" })], nextCursor: "c2" },
      c2: { events: [summary({ id: "d" })], nextCursor: null },
    };
    answer({
      "GET /admin/events": (request) => ({
        body: pages[new URL(request.path, worker.url).searchParams.get("cursor") ?? ""],
      }),
    });
    const result = await run(["events", "list", "--all", "--status", "processed", "--json"]);

    expect(result.code).toBe(0);
    expect(worker.requests.map((r) => r.path)).toEqual([
      "/admin/events?status=processed&limit=1000",
      "/admin/events?status=processed&limit=1000&cursor=c1",
      "/admin/events?status=processed&limit=1000&cursor=c2",
    ]);
    const printed = JSON.parse(result.stdout) as { events: Array<{ id: string }>; nextCursor: unknown };
    expect(printed.events.map((e) => e.id)).toEqual(["a", "b", "c", "d"]);
    expect(printed.nextCursor).toBeNull();
    expect(result.stderr).toBe("");
  });

  it("--all shows its progress on stderr, page by page, and keeps the table on stdout", async () => {
    const pages: Record<string, { events: unknown[]; nextCursor: string | null }> = {
      "": { events: [summary({ id: "evt-progress-one" }), summary({ id: "evt-progress-two" })], nextCursor: "c1" },
      c1: { events: [summary({ id: "evt-progress-three" })], nextCursor: null },
    };
    answer({
      "GET /admin/events": (request) => ({
        body: pages[new URL(request.path, worker.url).searchParams.get("cursor") ?? ""],
      }),
    });
    const result = await run(["events", "list", "--all", "--status", "processed"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toContain("Read 2 events; reading the next page…");
    expect(result.stdout).not.toContain("reading the next page");
    for (const id of ["evt-progress-one", "evt-progress-two", "evt-progress-three"])
      expect(result.stdout).toContain(id);
  });

  it(`--all stops at ${MAX_ALL_EVENTS} events, says so, and prints how to go on`, async () => {
    let page = 0;
    answer({
      "GET /admin/events": () => {
        page += 1;
        const events = Array.from({ length: 1000 }, (_, i) => summary({ id: `p${page}-${i}` }));
        return { body: { events, nextCursor: `after-${page}` } };
      },
    });
    const result = await run(["events", "list", "--all"]);

    expect(result.code).toBe(0);
    expect(worker.requests).toHaveLength(MAX_ALL_EVENTS / 1000);
    expect(result.stdout.split("\n")).toHaveLength(MAX_ALL_EVENTS + 1);
    expect(result.stderr).toContain("Stopped after 10,000 events, the most --all reads.");
    expect(result.stderr).toContain(
      `For the rest: npm run cli -- events list --cursor after-10 --all --url ${worker.url}`,
    );
  });

  it("--all stops when the Worker repeats a cursor", async () => {
    answer({ "GET /admin/events": { body: { events: [summary()], nextCursor: "same" } } });
    const result = await run(["events", "list", "--all"]);

    expect(result.code).toBe(0);
    expect(worker.requests).toHaveLength(2);
    expect(result.stderr).toContain("gave a cursor it had given before");
  });

  it("warns that an older Worker (no nextCursor in its answer) ignored the newer filters", async () => {
    answer({ "GET /admin/events": { body: { events: [summary()] } } });
    const result = await run(["events", "list", "--work-order", "42", "--since", "2026-11-28"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toContain("is older than --work-order, --since (its answer has no nextCursor)");
    expect(result.stdout).toContain("Work order 42");
  });

  it("warns that an older Worker cannot page, so --all read one page only", async () => {
    answer({ "GET /admin/events": { body: { events: [summary()] } } });
    const result = await run(["events", "list", "--all"]);

    expect(result.code).toBe(0);
    expect(worker.requests).toHaveLength(1);
    expect(result.stderr).toContain("is older than --all (its answer has no nextCursor) and ignored it");
  });
});

describe("events show output", () => {
  it("prints the fields, an outcomes table, the data as indented JSON, and how to replay a failed event", async () => {
    const data = { workOrderId: 42, newWorkOrder: { title: "Pump leaking", priority: "HIGH" } };
    answer({
      [`GET /admin/events/${encodeURIComponent(POLL_ID)}`]: {
        body: {
          event: {
            ...summary({ id: POLL_ID, status: "failed", lastError: "erp-sync: ERP answered 400", summary: undefined }),
            workOrderId: "42",
            subject: { kind: "workorder", id: "42" },
            data,
            outcomes: [
              { handler: "erp-sync", status: "failed", attempts: 1, lastError: "ERP answered 400" },
              { handler: "warehouse", status: "done", attempts: 1 },
            ],
          },
        },
      },
    });
    const result = await run(["events", "show", POLL_ID]);

    expect(result.code).toBe(0);
    const [fields, outcomes, dataBlock] = result.stdout.split("\n\n");
    expect(fields?.split("\n")).toEqual([
      `id           ${POLL_ID}`,
      "type         workorder.created",
      "sourceType   NEW_WORK_ORDER",
      "source       webhook",
      "status       failed",
      "attempts     1",
      "receivedAt   2026-11-28T09:15:02.417Z",
      "lastError    erp-sync: ERP answered 400",
      "workOrderId  42",
      'subject      {"kind":"workorder","id":"42"}',
    ]);
    expect(outcomes?.split("\n")).toEqual([
      "Outcomes:",
      "  HANDLER    STATUS  ATTEMPTS  ERROR / REASON / DETAIL",
      "  erp-sync   failed  1         ERP answered 400",
      "  warehouse  done    1",
    ]);
    expect(dataBlock).toBe(`Data:\n${JSON.stringify(data, null, 2)}`);
    expect(result.stderr).toBe(`Replay it: npm run cli -- events replay ${POLL_ID} --url ${worker.url}`);
  });

  it('says "No event <id>" and exits 1 when the Worker has no such event', async () => {
    answer({ "GET /admin/events/nope": { status: 404, body: { error: "Event not found" } } });
    const result = await run(["events", "show", "nope"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Error: No event nope on the Worker at ${worker.url}`);
  });

  it('says "No event <id>" for a replay of an event the Worker does not have', async () => {
    answer({ "POST /admin/events/nope/replay": { status: 404, body: { error: "Event not found" } } });
    const result = await run(["events", "replay", "nope"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: No event nope");
  });
});

describe("bulk replay output", () => {
  it("--dry-run prints the count and the ids, then the command that replays them", async () => {
    answer({ "POST /admin/events/replay": { body: { dryRun: true, matched: 2, ids: ["a", POLL_ID] } } });
    const result = await run(["events", "replay", "--status", "failed", "--dry-run"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`2 events would be replayed:\n  a\n  ${POLL_ID}`);
    expect(result.stderr).toBe(`Replay them: npm run cli -- events replay --status failed --url ${worker.url}`);
  });

  it("a replay prints how many were queued and their ids", async () => {
    answer({ "POST /admin/events/replay": { status: 202, body: { replayed: 1, ids: [POLL_ID] } } });
    const result = await run(["events", "replay", "--type", "workorder.completed", "--limit", "1"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Replaying 1 event:\n  ${POLL_ID}`);
  });

  it("a 503 that replayed some prints those ids and the error, and exits 1", async () => {
    answer({
      "POST /admin/events/replay": {
        status: 503,
        body: { error: "Replay could not be queued; try again", replayed: 1, ids: ["a"] },
      },
    });
    const result = await run(["events", "replay", "--status", "failed"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("Replayed 1 event before the Worker stopped:\n  a");
    expect(result.stderr).toContain("HTTP 503: Replay could not be queued; try again");
    expect(result.stderr).toContain("npm run cli -- events replay --status failed --dry-run");
  });

  it("--json prints the answer, also for a 503 that replayed some", async () => {
    const body = { error: "queue down", replayed: 2, ids: ["a", "b"] };
    answer({ "POST /admin/events/replay": { status: 503, body } });
    const result = await run(["events", "replay", "--status", "failed", "--json"]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it("a 404 on the bulk route says /admin is off, or the Worker is older than the route", async () => {
    answer({});
    const result = await run(["events", "replay", "--status", "failed", "--dry-run"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("/admin is off on that Worker");
    expect(result.stderr).toContain("or the Worker is older than this command");
  });
});

describe("status output", () => {
  it("prints the counts, webhook, poll and config problems, and says what to do about failed and dead events", async () => {
    answer({ "GET /admin/status": { body: STATUS_ANSWER } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")).toEqual([
      `Worker          ${worker.url}`,
      "Events          1 accepted, 0 retrying, 40 processed, 2 failed, 1 dead",
      "Last webhook    2026-11-28T09:14:59.000Z",
      "Retry schedule  30s 2m 10m 30m 1h 2h 4h 8h 12h (27 h 42 min in all), then dead",
      "Held handlers   none",
      "Last poll       2026-11-28T09:15:00.000Z: ok, 1 page, 3 events queued",
      "Poll cursor     2026-11-28T09:00:00.000Z",
      "Config          1 malformed setting, each replaced by the value used:",
      '  POLL_MODE="fallbak": using always',
    ]);
    expect(result.stderr.split("\n")).toEqual([
      "2 events failed (a handler failed for good):",
      `  list them:  npm run cli -- events list --status failed --url ${worker.url}`,
      `  see why:    npm run cli -- events show <id> --url ${worker.url}`,
      `  replay:     npm run cli -- events replay --status failed --dry-run --url ${worker.url}, then without --dry-run`,
      "1 event dead (their retries ran out):",
      `  list them:  npm run cli -- events list --status dead --url ${worker.url}`,
      `  see why:    npm run cli -- events show <id> --url ${worker.url}`,
      `  replay:     npm run cli -- events replay --status dead --dry-run --url ${worker.url}, then without --dry-run`,
      "Fix the malformed settings: in wrangler.toml [vars] (then deploy), in .dev.vars for `npm run dev` (then restart it), or with `npx wrangler secret put <NAME>`.",
    ]);
  });

  it("says what to do about events stuck as accepted past the retry window", async () => {
    const changedBefore = "2026-11-25T19:15:00.000Z";
    const stuck = { afterHours: 62, changedBefore, count: 3, events: [] };
    const healthy = {
      ...STATUS_ANSWER,
      events: { accepted: 3, retrying: 0, processed: 3, failed: 0, dead: 0 },
      config: [],
    };
    answer({ "GET /admin/status": { body: { ...healthy, stuck } } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Stuck           3 events accepted and unchanged for over 62 h");
    expect(result.stderr.split("\n")).toEqual([
      "3 events stuck as accepted (no queue retries them any more):",
      `  list them:  npm run cli -- events list --status accepted --until ${changedBefore} --url ${worker.url}`,
      `  see why:    npm run cli -- events show <id> --url ${worker.url}`,
      `  replay:     npm run cli -- events replay --status accepted --until ${changedBefore} --dry-run --url ${worker.url}, then without --dry-run`,
    ]);
  });

  it("tells accepted events past the window from retries long overdue, with what to do about each", async () => {
    const changedBefore = "2026-11-25T19:15:00.000Z";
    const stuck = { afterHours: 35, changedBefore, count: 3, retrying: 1, events: [] };
    const healthy = {
      ...STATUS_ANSWER,
      events: { accepted: 2, retrying: 1, processed: 3, failed: 0, dead: 0 },
      config: [],
    };
    answer({ "GET /admin/status": { body: { ...healthy, stuck } } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Stuck           2 events accepted and unchanged for over 35 h; 1 event retrying, the next attempt over an hour late",
    );
    const lines = result.stderr.split("\n");
    expect(lines).toContain("2 events stuck as accepted (no queue retries them any more):");
    expect(lines).toContain(
      "1 event retrying with the next attempt over an hour late (the queue did not bring it back):",
    );
    expect(lines).toContain(`  replay:     npm run cli -- events replay <id> --url ${worker.url}`);
  });

  it("says nothing to do when nothing failed, and --json prints the answer", async () => {
    const healthy = {
      ...STATUS_ANSWER,
      events: { accepted: 0, retrying: 0, processed: 3, failed: 0, dead: 0 },
      config: [],
    };
    answer({ "GET /admin/status": { body: healthy } });
    const text = await run(["status"]);
    const json = await run(["status", "--json"]);

    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Config          no malformed settings");
    expect(text.stderr).toBe("");
    expect(JSON.parse(json.stdout)).toEqual(healthy);
  });
});

describe("failures in words", () => {
  it("401: the token is wrong, naming where it was read and never printing it", async () => {
    answer({
      "GET /admin/status": { status: 401, body: { error: "Unauthorized: send Authorization: Bearer <ADMIN_TOKEN>" } },
    });
    const result = await run(["status"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `The Worker at ${worker.url} refused the admin token (HTTP 401): ADMIN_TOKEN from the environment is not that Worker's ADMIN_TOKEN.`,
    );
    expect(result.all).not.toContain(TOKEN);
  });

  it.each([
    ["the Worker's JSON 404", { status: 404, body: { error: "Not found" } }],
    ["a 404 without a JSON body", { status: 404, body: "Not Found" }],
    ["an empty 404", { status: 404 }],
  ])("%s on any /admin route: /admin is off there, or the URL is not the Worker", async (_, planned) => {
    worker.respondWith(planned);
    for (const argv of [["status"], ["events", "list"], ["events", "show", "x"], ["events", "replay", "x"]]) {
      const result = await run(argv);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`The Worker at ${worker.url} answered`);
      expect(result.stderr).toContain("/admin is off on that Worker (it has no ADMIN_TOKEN");
      expect(result.stderr).toContain("is not the Worker's URL (check --url)");
    }
  });

  it("connection refused: is `npm run dev` running at the URL?", async () => {
    const closed = await startStubServer("closed");
    await closed.close();
    const result = await run(["events", "list"], { url: closed.url });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ECONNREFUSED");
    expect(result.stderr).toContain(
      `Is \`npm run dev\` running at ${closed.url}? Start it, or pass the Worker's address with --url.`,
    );
  });

  it("a redirect is not followed, so the token goes nowhere else", async () => {
    answer({ "GET /admin/status": { status: 302, headers: { location: `${worker.url}/elsewhere/admin/status` } } });
    const result = await run(["status"]);

    expect(result.code).toBe(1);
    expect(worker.requests).toHaveLength(1);
    expect(result.stderr).toContain("with a redirect (HTTP 302 to");
    expect(result.stderr).toContain("the admin token is not sent on redirects");
  });

  it("a 5xx names the status and the Worker's error, and says to try again", async () => {
    answer({ "GET /admin/events": { status: 500, body: { error: "Internal error" } } });
    const result = await run(["events", "list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("The Worker answered GET /admin/events with HTTP 500: Internal error. Try again");
  });

  it("a 400 passes on the Worker's own reason", async () => {
    answer({ "GET /admin/events": { status: 400, body: { error: "limit must be a whole number from 1 to 1000" } } });
    const result = await run(["events", "list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("HTTP 400: limit must be a whole number from 1 to 1000.");
  });

  it("a 2xx the CLI cannot read asks whether the URL is this project's Worker", async () => {
    answer({ "GET /admin/status": { body: "<html>hello</html>" } });
    const result = await run(["status"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("with a body this CLI does not understand");
  });
});

describe("where the admin token comes from", () => {
  function writeDevVars(token: string): void {
    writeFileSync(join(dir, ".dev.vars"), `MAINTAINX_WEBHOOK_SECRET="s"\nADMIN_TOKEN="${token}"\n`);
  }

  function writeLocalFile(content: unknown): void {
    mkdirSync(join(dir, ".wrangler"), { recursive: true });
    writeFileSync(join(dir, LOCAL_ADMIN_TOKEN_FILE), typeof content === "string" ? content : JSON.stringify(content));
  }

  async function tokenSent(env: Record<string, string>): Promise<string | undefined> {
    worker.reset();
    answer({ "GET /admin/status": { body: STATUS_ANSWER } });
    const result = await run(["status"], { env });
    expect(result.code).toBe(0);
    return only().headers.authorization;
  }

  it("the environment beats .dev.vars, which beats the local dev token file", async () => {
    writeDevVars("from-dev-vars");
    writeLocalFile({ token: "from-local-file", url: worker.url });

    expect(await tokenSent({ ADMIN_TOKEN: "from-env" })).toBe("Bearer from-env");
    expect(await tokenSent({})).toBe("Bearer from-dev-vars");
    rmSync(join(dir, ".dev.vars"));
    expect(await tokenSent({})).toBe("Bearer from-local-file");
  });

  it("an empty ADMIN_TOKEN (the .dev.vars.example placeholder) counts as unset", async () => {
    writeFileSync(join(dir, ".dev.vars"), 'ADMIN_TOKEN=""\n');
    writeLocalFile({ token: "from-local-file", url: worker.url });

    expect(await tokenSent({ ADMIN_TOKEN: "" })).toBe("Bearer from-local-file");
  });

  it("the local dev token file is not used for a Worker that is not on this machine", () => {
    writeLocalFile({ token: "from-local-file", url: "http://localhost:8787" });
    const output = bufferOutput();
    const ctx = { env: {}, cwd: dir, output };

    expect(() => resolveAdminTarget({ url: "https://maintainx-webhooks.example.workers.dev" }, ctx)).toThrow(
      ConfigError,
    );
    expect(resolveAdminTarget({ url: "http://localhost:9999" }, ctx)).toMatchObject({
      base: "http://localhost:9999",
      token: "from-local-file",
      tokenKind: "local-file",
    });
    expect(resolveAdminTarget({ url: "http://[::1]:8787" }, ctx).tokenKind).toBe("local-file");
  });

  it("for a remote Worker without ADMIN_TOKEN, exits 2 saying the local token is for this machine only", async () => {
    writeLocalFile({ token: "from-local-file", url: "http://localhost:8787" });
    const result = await run(["status"], { env: {}, url: "https://maintainx-webhooks.example.workers.dev" });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("No admin token");
    expect(result.stderr).toContain("which is sent only to a Worker on this machine");
    expect(result.all).not.toContain("from-local-file");
  });

  it("without --url, the local file's url is the default target; without the file, 127.0.0.1:8787", async () => {
    const ctx = { env: { ADMIN_TOKEN: "t" }, cwd: dir, output: bufferOutput() };
    expect(resolveAdminTarget({}, ctx).base).toBe(DEFAULT_ADMIN_URL);

    writeLocalFile({ token: "from-local-file", url: worker.url });
    expect(resolveAdminTarget({}, ctx)).toMatchObject({ base: worker.url, fromFlag: false });

    answer({ "GET /admin/status": { body: STATUS_ANSWER } });
    const result = await run(["status"], { env: {}, url: false });
    expect(result.code).toBe(0);
    expect(only().headers.authorization).toBe("Bearer from-local-file");
    // The default target is not repeated in suggested commands.
    expect(result.stderr).toContain("  list them:  npm run cli -- events list --status failed\n");
  });

  it("a local file naming a host that is not this machine does not become the default target", () => {
    writeLocalFile({ token: "from-local-file", url: "http://worker.example.com:8787" });
    const target = resolveAdminTarget({}, { env: { ADMIN_TOKEN: "t" }, cwd: dir, output: bufferOutput() });

    expect(target.base).toBe(DEFAULT_ADMIN_URL);
  });

  it("a malformed local file is ignored with a warning", async () => {
    writeLocalFile("{not json");
    const result = await run(["status"], { env: {} });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Warning: ignoring ${join(dir, LOCAL_ADMIN_TOKEN_FILE)}`);
    expect(result.stderr).toContain("No admin token.");
  });

  it("no token anywhere: exits 2 saying how to set one or to start `npm run dev`, before any request", async () => {
    const result = await run(["events", "list"], { env: {} });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'No admin token. Set ADMIN_TOKEN to the Worker\'s ADMIN_TOKEN: export ADMIN_TOKEN=<token>, or add the line ADMIN_TOKEN="<token>" to .dev.vars',
    );
    expect(result.stderr).toContain("start it with `npm run dev`");
    expect(worker.requests).toHaveLength(0);
  });

  it("a 401 with the local dev token says the file may be stale and to restart `npm run dev`", async () => {
    writeLocalFile({ token: "stale-local-token", url: worker.url });
    answer({ "GET /admin/status": { status: 401, body: { error: "Unauthorized" } } });
    const result = await run(["status"], { env: {} });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `the local dev token in ${LOCAL_ADMIN_TOKEN_FILE} is not that Worker's ADMIN_TOKEN`,
    );
    expect(result.stderr).toContain("restart `npm run dev`");
    expect(result.all).not.toContain("stale-local-token");
  });

  it("a 401 with ADMIN_TOKEN from .dev.vars names .dev.vars and mentions the local file it shadows", async () => {
    writeDevVars("wrong-dev-vars-token");
    writeLocalFile({ token: "from-local-file", url: worker.url });
    answer({ "GET /admin/status": { status: 401, body: { error: "Unauthorized" } } });
    const result = await run(["status"], { env: {} });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ADMIN_TOKEN from .dev.vars is not that Worker's ADMIN_TOKEN");
    expect(result.stderr).toContain(
      "it is used only when ADMIN_TOKEN is set neither in the environment nor in .dev.vars",
    );
    expect(result.all).not.toContain("wrong-dev-vars-token");
  });

  it("a token with a space or a control character exits 2 without printing it", async () => {
    const result = await run(["status"], { env: { ADMIN_TOKEN: "two words" } });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("ADMIN_TOKEN from the environment holds spaces or characters");
    expect(result.all).not.toContain("two words");
  });

  it("refuses a plain-http URL to another machine without --insecure, saying why and what to do, sending nothing", async () => {
    for (const argv of [["status"], ["events", "list"], ["events", "show", "x"], ["events", "replay", "x"]]) {
      const result = await run(argv, { env: { ADMIN_TOKEN: "plain-http-token" }, url: "http://worker.example.com" });

      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.stderr).toContain(
        "Error: --url http://worker.example.com is plain HTTP to another machine, so the admin token would travel unencrypted and anyone on the way could read it and use it. Use the Worker's https:// URL (a deployed Worker has one), or, on a network you trust, add --insecure.",
      );
      expect(result.all).not.toContain("plain-http-token");
    }
    expect(worker.requests).toHaveLength(0);
    const output = bufferOutput();
    const ctx = { env: { ADMIN_TOKEN: "t" }, cwd: dir, output };
    for (const url of ["http://192.168.1.20:8787", "http://localhost.example.com", "http://127.0.0.1.nip.io"]) {
      expect(() => resolveAdminTarget({ url }, ctx), url).toThrow(UsageError);
    }
    // https://, and http:// to this machine, need nothing.
    for (const url of [
      "https://worker.example.com",
      "http://localhost:8787",
      "http://127.0.0.1:8787",
      "http://[::1]:8787",
    ]) {
      expect(resolveAdminTarget({ url }, ctx).base, url).toBe(url);
    }
    expect(output.lines.stderr).toEqual([]);
  });

  it("with --insecure, sends the token over plain http to another machine after a warning", async () => {
    const output = bufferOutput();
    const target = resolveAdminTarget(
      { url: "http://worker.example.com", insecure: true },
      { env: { ADMIN_TOKEN: "t" }, cwd: dir, output },
    );

    expect(target).toMatchObject({ base: "http://worker.example.com", token: "t" });
    expect(output.lines.stderr).toEqual([
      "Warning: --insecure: the admin token travels unencrypted to http://worker.example.com.",
    ]);
    // The flag parses on every /admin command (the stub is on 127.0.0.1: no warning there).
    answer({ "GET /admin/status": { body: STATUS_ANSWER } });
    const result = await run(["status", "--insecure"], { env: { ADMIN_TOKEN: "t" } });
    expect(result.code).toBe(0);
    expect(only().headers.authorization).toBe("Bearer t");
  });
});

describe("hostile event data", () => {
  const hostileEvent = summary({ id: `id-${ESC}[2J`, type: "workorder.created", summary: HOSTILE, lastError: HOSTILE });

  it("events list prints summaries, errors and ids with escapes removed and controls neutralised", async () => {
    answer({ "GET /admin/events": { body: { events: [hostileEvent], nextCursor: `${ESC}]8;;http://evil${ESC}\\x` } } });
    const result = await run(["events", "list"], { columns: 400 });

    expect(result.code).toBe(0);
    expect(result.all).not.toMatch(RAW_CONTROLS);
    expect(result.stdout.split("\n")).toHaveLength(2);
    expect(result.stdout).toContain("RED title over\uFFFDwrite");
    expect(result.stdout).not.toContain("pwned");
    expect(result.stdout).not.toContain("[31m");
  });

  it("events show prints fields, outcomes and data neutralised, and the data still parses to what was sent", async () => {
    const data = { title: HOSTILE, nested: { [`key${ESC}[1m`]: [HOSTILE, "\u0085next", "\u2028sep"] } };
    answer({
      "GET /admin/events/x": {
        body: {
          event: {
            ...hostileEvent,
            data,
            outcomes: [{ handler: `slack${ESC}[8m`, status: "failed", attempts: 1, lastError: HOSTILE }],
          },
        },
      },
    });
    const result = await run(["events", "show", "x"]);

    expect(result.code).toBe(0);
    expect(result.all).not.toMatch(RAW_CONTROLS);
    const dataText = result.stdout.split("\nData:\n")[1] ?? "";
    expect(JSON.parse(dataText)).toEqual(data);
  });

  it("--json output holds no raw control characters and parses to the Worker's answer", async () => {
    const body = { event: { ...hostileEvent, data: { title: HOSTILE, c1: "\u009b31m" }, outcomes: [] } };
    answer({ "GET /admin/events/x": { body } });
    const result = await run(["events", "show", "x", "--json"]);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(RAW_CONTROLS);
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it("status, bulk ids and the Worker's error texts are neutralised too", async () => {
    answer({
      "GET /admin/status": {
        body: { ...STATUS_ANSWER, config: [{ name: `X${ESC}[2J`, value: HOSTILE, used: HOSTILE }] },
      },
      "POST /admin/events/replay": { body: { dryRun: true, matched: 1, ids: [HOSTILE] } },
      "GET /admin/events": { status: 400, body: { error: HOSTILE } },
    });
    const outputs = [
      await run(["status"]),
      await run(["events", "replay", "--status", "failed", "--dry-run"]),
      await run(["events", "list"]),
    ];

    for (const result of outputs) expect(result.all).not.toMatch(RAW_CONTROLS);
    expect(outputs[2]?.code).toBe(1);
  });
});

describe("terminal helpers", () => {
  it("sanitise removes CSI, OSC and other escapes, makes line breaks spaces and marks other controls", () => {
    expect(sanitise(`${ESC}[1;31mred${ESC}[0m`)).toBe("red");
    expect(sanitise(`a${ESC}]0;title\u0007b`)).toBe("ab");
    expect(sanitise(`a${ESC}]8;;http://x${ESC}\\link${ESC}]8;;${ESC}\\b`)).toBe("alinkb");
    expect(sanitise(`a${ESC}(Bb`)).toBe("ab");
    expect(sanitise("a\u009b2Jb")).toBe("ab");
    expect(sanitise("a\r\nb\tc")).toBe("a  b c");
    expect(sanitise("a\u0000b\u0007c\u007fd\u202ee")).toBe("a\uFFFDb\uFFFDc\uFFFDd\uFFFDe");
    expect(sanitise("Pumpe läuft über — ok ✓")).toBe("Pumpe läuft über — ok ✓");
  });

  it("safeJson escapes what JSON.stringify leaves raw and stays the same JSON", () => {
    const value = { a: `${ESC}[31m`, b: "\u009b\u0085\u2028\u202e", c: "\ud800" };
    const text = safeJson(value);

    expect(text).not.toMatch(RAW_CONTROLS);
    expect(JSON.parse(text)).toEqual(value);
  });

  it("truncate cuts by code points and marks the cut", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    expect(truncate("😀😀😀😀😀", 3)).toBe("😀😀…");
  });

  it("shellArg quotes what a shell would split or expand", () => {
    expect(shellArg("poll:1:2026-11-28T09:15:02.417Z")).toBe("poll:1:2026-11-28T09:15:02.417Z");
    expect(shellArg("a b")).toBe("'a b'");
    expect(shellArg("it's $HOME")).toBe("'it'\\''s $HOME'");
  });
});
