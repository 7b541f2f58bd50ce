// `handlers list|hold|release`, and what `events` and `status` show of retries and holds, against
// a stand-in Worker on 127.0.0.1: the exact requests sent (method, path, body, token), the tables
// and sentences printed, the exit codes, and an unknown handler in words. The answers follow the
// contract in docs/operations.md ("Retries and holds"); cli-outage.test.ts runs the same commands
// against a real Worker.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { formatMs, formatSchedule, formatSpan } from "../../cli/format";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { MAX_HOLD_REASON_CHARS as MAX_REASON_CHARS } from "../../src/admin/vocabulary";
import {
  type PlannedResponse,
  type RecordedRequest,
  type StubServer,
  startStubServer,
} from "../helpers/node/stub-server";

const TOKEN = "stub-admin-token-4a90";
const ESC = "\u001b";
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

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
  dir = mkdtempSync(join(tmpdir(), "cli-handlers-"));
  return () => rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], columns?: number) {
  const output = bufferOutput();
  const code = await runCli([...argv, "--url", worker.url], {
    env: { ADMIN_TOKEN: TOKEN },
    cwd: dir,
    output,
    timeoutMs: 5_000,
    columns,
  });
  return { code, stdout: output.lines.stdout.join("\n"), stderr: output.lines.stderr.join("\n") };
}

/** Answers by method and path (without the query); anything else gets the Worker's own 404. */
function answer(routes: Record<string, PlannedResponse>): void {
  worker.respondWith((request) => {
    const route = routes[`${request.method} ${request.path.split("?")[0]}`];
    return route ?? { status: 404, body: { error: "Not found" } };
  });
}

function only(): RecordedRequest {
  expect(worker.requests).toHaveLength(1);
  return worker.requests[0] as RecordedRequest;
}

const ERP = {
  name: "erp-sync",
  types: ["workorder.completed"],
  held: true,
  heldSince: "2026-11-28T09:15:02.417Z",
  reason: "ERP upgrade until 18:00",
  waiting: 3,
  lastSuccessAt: "2026-11-28T09:10:00.000Z",
  lastFailureAt: "2026-11-28T09:12:00.000Z",
};
const SLACK = {
  name: "slack-alert",
  types: ["workorder.created", "asset.status_changed"],
  held: false,
  waiting: 0,
  lastSuccessAt: "2026-11-28T09:14:00.000Z",
};
const REPORT = { name: "completion-report", types: ["workorder.completed"], held: false, waiting: 0 };
const HANDLERS = { handlers: [SLACK, ERP, REPORT] };
const UNKNOWN = { status: 404, body: { error: 'No handler is named "erp"; GET /admin/handlers lists them' } };

describe("handlers list", () => {
  it("GETs /admin/handlers and prints every handler: types, held since and why, waiting, last success and failure", async () => {
    answer({ "GET /admin/handlers": { body: HANDLERS } });
    const result = await run(["handlers", "list"]);

    expect(result.code).toBe(0);
    expect(only()).toMatchObject({ method: "GET", path: "/admin/handlers", body: "" });
    expect(only().headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.stdout.split("\n")).toEqual([
      "HANDLER            TYPES                                    HELD                        WAITING  LAST SUCCESS       LAST FAILURE       REASON",
      "slack-alert        workorder.created, asset.status_changed  no                          0        2026-11-28T09:14Z  -",
      "erp-sync           workorder.completed                      since 2026-11-28T09:15:02Z  3        2026-11-28T09:10Z  2026-11-28T09:12Z  ERP upgrade until 18:00",
      "completion-report  workorder.completed                      no                          0        -                  -",
    ]);
    expect(result.stderr.split("\n")).toEqual([
      "1 handler held (erp-sync): not called until released.",
      `  release:        npm run cli -- handlers release erp-sync --url ${worker.url}`,
      `  events waiting: npm run cli -- events list --status retrying --url ${worker.url}`,
    ]);
  });

  it("says nothing more when no handler is held", async () => {
    answer({ "GET /admin/handlers": { body: { handlers: [SLACK, REPORT] } } });
    const result = await run(["handlers", "list"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")).toHaveLength(3);
    expect(result.stderr).toBe("");
  });

  it("--json prints the Worker's answer as it came", async () => {
    answer({ "GET /admin/handlers": { body: HANDLERS } });
    const result = await run(["handlers", "list", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(HANDLERS);
    expect(result.stderr).toBe("");
  });

  it("prints a hostile reason without control characters", async () => {
    const reason = `${ESC}[31mRED${ESC}[0m ${ESC}]0;pwned\u0007 over\rwrite \u202eevil`;
    answer({ "GET /admin/handlers": { body: { handlers: [{ ...ERP, reason }] } } });
    const result = await run(["handlers", "list"]);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(RAW_CONTROLS);
    expect(result.stdout).toContain("RED  over write \uFFFDevil");
  });

  it("a Worker older than the route: its 404 read as /admin off, a wrong URL, or an older Worker; exit 1", async () => {
    answer({});
    const result = await run(["handlers", "list"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("answered GET /admin/handlers with 404");
    expect(result.stderr).toContain("or the Worker is older than this command");
  });
});

describe("handlers hold", () => {
  it("POSTs the reason as JSON to /admin/handlers/<name>/hold and prints the held handler", async () => {
    answer({ "POST /admin/handlers/erp-sync/hold": { body: { ...ERP, waiting: 0 } } });
    const result = await run(["handlers", "hold", "erp-sync", "--reason", "  ERP upgrade until 18:00 "]);

    expect(result.code).toBe(0);
    expect(only()).toMatchObject({ method: "POST", path: "/admin/handlers/erp-sync/hold" });
    expect(only().json).toEqual({ reason: "ERP upgrade until 18:00" });
    expect(only().headers["content-type"]).toBe("application/json");
    expect(only().headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.stdout.split("\n")).toEqual([
      "Held erp-sync: the Worker does not call it; events that need it wait as retrying.",
      "  handler       erp-sync",
      "  types         workorder.completed",
      "  held          yes, since 2026-11-28T09:15:02.417Z",
      "  reason        ERP upgrade until 18:00",
      "  waiting       0 events",
      "  last success  2026-11-28T09:10:00.000Z",
      "  last failure  2026-11-28T09:12:00.000Z",
    ]);
    expect(result.stderr).toBe(`Release it: npm run cli -- handlers release erp-sync --url ${worker.url}`);
  });

  it("without --reason sends no body at all", async () => {
    const { reason: _, ...noReason } = ERP;
    answer({ "POST /admin/handlers/erp-sync/hold": { body: noReason } });
    const result = await run(["handlers", "hold", "erp-sync"]);

    expect(result.code).toBe(0);
    expect(only().body).toBe("");
    expect(only().headers["content-type"]).toBeUndefined();
    expect(result.stdout).not.toContain("reason");
  });

  it("keeps a name with a colon (a route's handler) in one path segment", async () => {
    const route = { name: "route:north-site", types: ["workorder.created"], held: true, waiting: 0 };
    answer({ "POST /admin/handlers/route%3Anorth-site/hold": { body: route } });
    const result = await run(["handlers", "hold", "route:north-site"]);

    expect(result.code).toBe(0);
    expect(only().path).toBe("/admin/handlers/route%3Anorth-site/hold");
    expect(result.stdout).toContain("Held route:north-site");
  });

  it("--json prints the Worker's answer as it came", async () => {
    answer({ "POST /admin/handlers/erp-sync/hold": { body: ERP } });
    const result = await run(["handlers", "hold", "erp-sync", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(ERP);
  });

  it("an unknown handler: exit 1, the Worker's 404 in words with the names it has and the command that lists them", async () => {
    answer({ "POST /admin/handlers/erp/hold": UNKNOWN, "GET /admin/handlers": { body: HANDLERS } });
    const result = await run(["handlers", "hold", "erp", "--reason", "upgrade"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `Error: The Worker at ${worker.url} has no handler named "erp"; it has slack-alert, erp-sync, completion-report. Give one of those names; \`npm run cli -- handlers list --url ${worker.url}\` shows what each handles.`,
    );
  });

  it("an unknown handler when the names cannot be read: still says what to run", async () => {
    answer({ "POST /admin/handlers/erp/hold": UNKNOWN, "GET /admin/handlers": { status: 500, body: "boom" } });
    const result = await run(["handlers", "hold", "erp"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Error: The Worker at ${worker.url} has no handler named "erp". Run \`npm run cli -- handlers list --url ${worker.url}\` to see the names it has.`,
    );
  });

  it("a 400 passes on the Worker's own reason", async () => {
    answer({ "POST /admin/handlers/erp-sync/hold": { status: 400, body: { error: "reason must be a string" } } });
    const result = await run(["handlers", "hold", "erp-sync", "--reason", "x"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "The Worker answered POST /admin/handlers/erp-sync/hold with HTTP 400: reason must be a string.",
    );
  });

  it.each([
    [["handlers", "hold"], "handlers hold needs a handler's name, e.g. handlers hold erp-sync"],
    [["handlers", "release"], "handlers release needs a handler's name"],
    [["handlers", "hold", "a", "b"], "Unexpected argument: b"],
    [["handlers", "hold", "erp sync"], '"erp sync" is not a handler\'s name'],
    [["handlers", "hold", ".."], '".." is not a handler\'s name'],
    [["handlers", "hold", "erp-sync", "--reason", "x".repeat(MAX_REASON_CHARS + 1)], "--reason must be at most 200"],
    [["handlers", "release", "erp-sync", "--reason", "x"], "Unknown option '--reason'"],
    [["handlers", "list", "erp-sync"], "Unexpected argument: erp-sync"],
    [["handlers", "pause"], 'Unknown handlers command "pause": use list, hold or release.'],
  ])("%j exits 2 before any request: %s", async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(worker.requests).toHaveLength(0);
  });

  it("takes a reason of exactly the most the Worker keeps", async () => {
    const reason = "é".repeat(MAX_REASON_CHARS);
    answer({ "POST /admin/handlers/erp-sync/hold": { body: { ...ERP, reason } } });
    const result = await run(["handlers", "hold", "erp-sync", "--reason", reason]);

    expect(result.code).toBe(0);
    expect(only().json).toEqual({ reason });
  });
});

describe("handlers release", () => {
  it("POSTs /admin/handlers/<name>/release without a body; prints the handler and how many events were queued again", async () => {
    const released = { ...ERP, held: false, heldSince: undefined, reason: undefined, waiting: 2, requeued: 3 };
    answer({ "POST /admin/handlers/erp-sync/release": { body: released } });
    const result = await run(["handlers", "release", "erp-sync"]);

    expect(result.code).toBe(0);
    expect(only()).toMatchObject({ method: "POST", path: "/admin/handlers/erp-sync/release", body: "" });
    expect(result.stdout.split("\n")).toEqual([
      "Released erp-sync: the Worker calls it again; 3 waiting events queued again.",
      "  handler       erp-sync",
      "  types         workorder.completed",
      "  held          no",
      "  waiting       2 events",
      "  last success  2026-11-28T09:10:00.000Z",
      "  last failure  2026-11-28T09:12:00.000Z",
    ]);
    expect(result.stderr.split("\n")).toEqual([
      "2 more events wait for it; the Worker's scheduled run queues them within a minute.",
      `Those still retrying: npm run cli -- events list --status retrying --url ${worker.url}`,
    ]);
  });

  it("one more event still waiting: the scheduled run queues it", async () => {
    const body = { ...SLACK, name: "erp-sync", waiting: 1, requeued: 2000 };
    answer({ "POST /admin/handlers/erp-sync/release": { body } });
    const result = await run(["handlers", "release", "erp-sync"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      "Released erp-sync: the Worker calls it again; 2000 waiting events queued again.",
    );
    expect(result.stderr.split("\n")).toEqual([
      "1 more event waits for it; the Worker's scheduled run queues it within a minute.",
      `Those still retrying: npm run cli -- events list --status retrying --url ${worker.url}`,
    ]);
  });

  it("a hold that came in after the release: says it is held again, not that it runs", async () => {
    answer({ "POST /admin/handlers/erp-sync/release": { body: { ...ERP, waiting: 1, requeued: 2 } } });
    const result = await run(["handlers", "release", "erp-sync"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      "Released erp-sync: but it is held again (a hold came in after the release); 2 waiting events queued again.",
    );
    expect(result.stdout).toContain("  held          yes, since 2026-11-28T09:15:02.417Z");
    expect(result.stderr).toBe(
      `Those still retrying: npm run cli -- events list --status retrying --url ${worker.url}`,
    );
  });

  it("a handler that was not held: 0 queued, nothing more to do", async () => {
    answer({ "POST /admin/handlers/slack-alert/release": { body: { ...SLACK, requeued: 0 } } });
    const result = await run(["handlers", "release", "slack-alert"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      "Released slack-alert: the Worker calls it again; no waiting events were queued again.",
    );
    expect(result.stderr).toBe("");
  });

  it("--json prints the Worker's answer, requeued included", async () => {
    const body = { ...SLACK, requeued: 0 };
    answer({ "POST /admin/handlers/slack-alert/release": { body } });
    const result = await run(["handlers", "release", "slack-alert", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it("an unknown handler: exit 1 with the names the Worker has", async () => {
    answer({ "POST /admin/handlers/erp/release": UNKNOWN, "GET /admin/handlers": { body: HANDLERS } });
    const result = await run(["handlers", "release", "erp"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`has no handler named "erp"; it has slack-alert, erp-sync, completion-report.`);
    expect(result.stderr).toContain(`npm run cli -- handlers list --url ${worker.url}`);
  });

  it("an answer without `requeued` is not understood: exit 1 rather than a wrong count", async () => {
    answer({ "POST /admin/handlers/erp-sync/release": { body: ERP } });
    const result = await run(["handlers", "release", "erp-sync"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("with a body this CLI does not understand");
  });
});

const RETRYING = {
  id: "3f9a".padEnd(64, "0"),
  type: "workorder.completed",
  sourceType: "WORK_ORDER_STATUS_CHANGE",
  source: "webhook",
  status: "retrying",
  attempts: 3,
  receivedAt: "2026-11-28T09:15:02.417Z",
  lastError: "erp-sync: ERP answered 503",
  summary: "Work order 42: Pump leaking",
  nextAttemptAt: "2026-11-28T09:27:40.120Z",
};

describe("events and retries", () => {
  it("events list --status retrying sends the status, and shows when each event is next tried", async () => {
    const waitingForHold = { ...RETRYING, id: "b".repeat(64), nextAttemptAt: undefined, lastError: undefined };
    answer({ "GET /admin/events": { body: { events: [RETRYING, waitingForHold], nextCursor: null } } });
    const result = await run(["events", "list", "--status", "retrying"], 240);

    expect(result.code).toBe(0);
    expect(only().path).toBe("/admin/events?status=retrying");
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^RECEIVED +STATUS +NEXT ATTEMPT +TYPE +ATTEMPTS +ID +SUMMARY \/ LAST ERROR$/);
    expect(lines[1]).toMatch(
      /^2026-11-28T09:15:02Z +retrying +2026-11-28T09:27:40Z +workorder\.completed +3 +3f9a0{60} +Work order 42: Pump leaking \| error: erp-sync: ERP answered 503$/,
    );
    // Waiting for a held handler: no next attempt.
    expect(lines[2]).toMatch(/^2026-11-28T09:15:02Z +retrying +workorder\.completed +3 +b{64} +Work order 42/);
    expect(lines).toHaveLength(3);
  });

  it("events show prints the next attempt, why handlers skipped, what they did, and the attempt log", async () => {
    const id = RETRYING.id;
    answer({
      [`GET /admin/events/${id}`]: {
        body: {
          event: {
            ...RETRYING,
            data: { workOrderId: 42 },
            outcomes: [
              { handler: "erp-sync", status: "retry", attempts: 3, lastError: "ERP answered 503" },
              { handler: "slack-alert", status: "skipped", attempts: 1, reason: "SLACK_WEBHOOK_URL is not set" },
              { handler: "completion-report", status: "done", attempts: 1, detail: "report stored" },
            ],
          },
          attempts: [
            {
              handler: "erp-sync",
              attempt: 1,
              at: "2026-11-28T09:15:03.001Z",
              durationMs: 84,
              outcome: "retry",
              status: 503,
              error: "ERP answered 503: down for maintenance",
            },
            {
              handler: "slack-alert",
              attempt: 1,
              at: "2026-11-28T09:15:03.002Z",
              durationMs: 0,
              outcome: "skipped",
              detail: "SLACK_WEBHOOK_URL is not set",
            },
            {
              handler: "completion-report",
              attempt: 1,
              at: "2026-11-28T09:15:03.003Z",
              durationMs: 1234,
              outcome: "ok",
              detail: "report stored",
            },
            {
              handler: "erp-sync",
              attempt: 2,
              at: "2026-11-28T09:15:35.500Z",
              durationMs: 10_000,
              outcome: "retry",
              error: "ERP timed out after 10 s",
            },
          ],
        },
      },
    });
    const result = await run(["events", "show", id]);

    expect(result.code).toBe(0);
    const [fields, outcomes, attempts, data] = result.stdout.split("\n\n");
    expect(fields?.split("\n").slice(4, 7)).toEqual([
      "status         retrying",
      "nextAttemptAt  2026-11-28T09:27:40.120Z",
      "attempts       3",
    ]);
    expect(outcomes?.split("\n")).toEqual([
      "Outcomes:",
      "  HANDLER            STATUS   ATTEMPTS  ERROR / REASON / DETAIL",
      "  erp-sync           retry    3         ERP answered 503",
      "  slack-alert        skipped  1         SLACK_WEBHOOK_URL is not set",
      "  completion-report  done     1         report stored",
    ]);
    expect(attempts?.split("\n")).toEqual([
      "Attempts:",
      "  TIME                  HANDLER            ATTEMPT  OUTCOME  HTTP  DURATION  ERROR / DETAIL",
      "  2026-11-28T09:15:03Z  erp-sync           1        retry    503   84 ms     ERP answered 503: down for maintenance",
      "  2026-11-28T09:15:03Z  slack-alert        1        skipped  -     0 ms      SLACK_WEBHOOK_URL is not set",
      "  2026-11-28T09:15:03Z  completion-report  1        ok       -     1.2 s     report stored",
      "  2026-11-28T09:15:35Z  erp-sync           2        retry    -     10 s      ERP timed out after 10 s",
    ]);
    expect(data).toBe(`Data:\n${JSON.stringify({ workOrderId: 42 }, null, 2)}`);
    expect(result.stderr).toBe("");
  });

  it("events show of an event waiting for a held handler: no next attempt, the held outcome, and how to release it", async () => {
    const id = RETRYING.id;
    const { nextAttemptAt: _, ...waiting } = RETRYING;
    answer({
      [`GET /admin/events/${id}`]: {
        body: {
          event: {
            ...waiting,
            lastError: undefined,
            data: {},
            outcomes: [{ handler: "erp-sync", status: "held", attempts: 0, held: true }],
          },
          attempts: [
            { handler: "erp-sync", attempt: 1, at: "2026-11-28T09:15:03.001Z", durationMs: 0, outcome: "held" },
          ],
        },
      },
    });
    const result = await run(["events", "show", id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("nextAttemptAt  none: waits for erp-sync (held) to be released\n");
    expect(result.stdout).toContain("  erp-sync  held    0\n");
    expect(result.stdout).toContain("  2026-11-28T09:15:03Z  erp-sync  1        held     -     -");
    expect(result.stderr).toBe(
      `It waits for erp-sync, which is held; release it: npm run cli -- handlers release erp-sync --url ${worker.url}`,
    );
  });

  it("events show says when the attempt log is cut to its latest 50", async () => {
    const id = RETRYING.id;
    const attempts = Array.from({ length: 50 }, (_, i) => ({
      handler: "erp-sync",
      attempt: i + 1,
      at: "2026-11-28T09:15:03.001Z",
      durationMs: 5,
      outcome: "retry",
      status: 503,
    }));
    answer({ [`GET /admin/events/${id}`]: { body: { event: { ...RETRYING, data: {}, outcomes: [] }, attempts } } });
    const result = await run(["events", "show", id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\nAttempts (the latest 50, oldest first):\n");
    expect(result.stdout.split("\n").filter((line) => / erp-sync +\d+ +retry /.test(line))).toHaveLength(50);
  });

  it("events show of an event no handler has run for yet: says no attempts are logged", async () => {
    const id = RETRYING.id;
    const accepted = { ...RETRYING, status: "accepted", nextAttemptAt: undefined, data: {}, outcomes: [] };
    answer({ [`GET /admin/events/${id}`]: { body: { event: accepted, attempts: [] } } });
    const result = await run(["events", "show", id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\n\nAttempts: none logged yet\n\n");
    expect(result.stdout).not.toContain("nextAttemptAt");
  });
});

const STATUS = {
  poll: {
    cursor: null,
    lastRunAt: "2026-11-28T09:15:00.000Z",
    outcome: "empty",
    pages: 1,
    events: 0,
    skippedUntil: null,
  },
  events: { accepted: 0, retrying: 4, processed: 40, failed: 0, dead: 0 },
  lastWebhookAt: "2026-11-28T09:14:59.000Z",
  retry: { schedule: [1, 2, 4, 8, 16], totalSeconds: 31 },
  handlers: { held: ["erp-sync"] },
  config: [],
};

describe("status and retries", () => {
  it("prints the retrying count, the schedule in force, the held handlers, and what to do about each", async () => {
    answer({ "GET /admin/status": { body: STATUS } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(1, 5)).toEqual([
      "Events          0 accepted, 4 retrying, 40 processed, 0 failed, 0 dead",
      "Last webhook    2026-11-28T09:14:59.000Z",
      "Retry schedule  1s 2s 4s 8s 16s (31 s in all), then dead",
      "Held handlers   erp-sync",
    ]);
    expect(result.stderr.split("\n")).toEqual([
      "4 events retrying (tried again on the schedule, or waiting for a held handler):",
      `  list them:  npm run cli -- events list --status retrying --url ${worker.url}`,
      `  see why:    npm run cli -- events show <id> --url ${worker.url}`,
      "1 handler held (not called; the events that need it wait):",
      `  see them:   npm run cli -- handlers list --url ${worker.url}`,
      `  release:    npm run cli -- handlers release erp-sync --url ${worker.url}`,
    ]);
  });

  it("several held handlers: the release command takes a <name>", async () => {
    answer({ "GET /admin/status": { body: { ...STATUS, handlers: { held: ["erp-sync", "slack-alert"] } } } });
    const result = await run(["status"]);

    expect(result.stdout).toContain("Held handlers   erp-sync, slack-alert\n");
    expect(result.stderr).toContain(`  release:    npm run cli -- handlers release <name> --url ${worker.url}`);
  });

  it("a Worker older than retries and holds: the counts it has, no schedule or holds, exit 0", async () => {
    const { retry: _r, handlers: _h, ...older } = STATUS;
    answer({ "GET /admin/status": { body: { ...older, events: { accepted: 1, processed: 40, failed: 0, dead: 0 } } } });
    const result = await run(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Events        1 accepted, 40 processed, 0 failed, 0 dead\n");
    expect(result.stdout).not.toContain("Retry schedule");
    expect(result.stdout).not.toContain("Held handlers");
    expect(result.stderr).toBe("");
  });
});

describe("formats", () => {
  it("a span in words, to the minute past an hour", () => {
    expect(formatSpan(31)).toBe("31 s");
    expect(formatSpan(60)).toBe("1 min");
    expect(formatSpan(155)).toBe("2 min 35 s");
    expect(formatSpan(3600)).toBe("1 h");
    expect(formatSpan(99_750)).toBe("27 h 42 min");
  });

  it("the default schedule as RETRY_SCHEDULE writes it", () => {
    const schedule = [30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200];
    expect(formatSchedule(schedule, 99_750)).toBe("30s 2m 10m 30m 1h 2h 4h 8h 12h (27 h 42 min in all)");
    expect(formatSchedule([90, 5400], 5490)).toBe("90s 1h30m (1 h 31 min in all)");
    expect(formatSchedule([], 0)).toBe("no retries");
  });

  it("a call's duration", () => {
    expect(formatMs(0)).toBe("0 ms");
    expect(formatMs(999)).toBe("999 ms");
    expect(formatMs(1234)).toBe("1.2 s");
    expect(formatMs(75_400)).toBe("75 s");
  });
});
