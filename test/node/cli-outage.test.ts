// `handlers`, and the retries and holds `events` and `status` show, against a real Worker under
// `wrangler dev` (one start for the file) with a stub ERP on 127.0.0.1: erp-sync is held from the
// command line, a completion waits for it without reaching the ERP, the release queues it again
// and it reaches the ERP once; then an ERP outage leaves a completion `retrying` with its next
// attempt and the 503 in its attempt log. cli-handlers.test.ts checks the exact requests and output.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { sampleMaintainXBody } from "../../cli/samples";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { type StubServer, startStubServer } from "../helpers/node/stub-server";

const SECRET = "cli-outage-webhook-secret";
const ADMIN_TOKEN = "cli-outage-admin-token-91c3";
/** One long delay: the completion the ERP refuses stays `retrying` for the rest of the file. */
const RETRY_SCHEDULE = "1h";

let dev: WranglerDev;
let erp: StubServer;
let cwd: string;

const runId = Math.floor(Math.random() * 1_000_000);
const workOrders = { held: 71_000_000 + runId, outage: 72_000_000 + runId };
const ids = { held: "", outage: "" };

interface Detail {
  event: { status: string; nextAttemptAt?: string; outcomes: Array<{ handler: string; status: string }> };
  attempts: Array<{ handler: string; outcome: string; status?: number }>;
}

async function detail(id: string): Promise<Detail | undefined> {
  const response = await plainRequest(`${dev.url}/admin/events/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return response.status === 200 ? (JSON.parse(response.text) as Detail) : undefined;
}

/** Polls the event's detail until `done` holds of it. */
async function waitFor(id: string, what: string, done: (d: Detail) => boolean): Promise<Detail> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const d = await detail(id);
    if (d && done(d)) return d;
    if (Date.now() > deadline) throw new Error(`event ${id} is not ${what}: ${JSON.stringify(d?.event.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function complete(workOrderId: number): Promise<string> {
  const body = sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE", { id: workOrderId });
  const answer = await postMaintainXDelivery(dev.url, SECRET, "WORK_ORDER_STATUS_CHANGE", body);
  expect(answer.status).toBe(200);
  return answer.eventId;
}

const erpPosts = (id: string) => erp.requests.filter((r) => r.headers["idempotency-key"] === id);

async function cli(argv: string[]) {
  const output = bufferOutput();
  const code = await runCli([...argv, "--url", dev.url], { env: { ADMIN_TOKEN }, cwd, output, columns: 200 });
  return { code, stdout: output.lines.stdout.join("\n"), stderr: output.lines.stderr.join("\n") };
}

beforeAll(async () => {
  erp = await startStubServer("erp");
  cwd = mkdtempSync(join(tmpdir(), "cli-outage-"));
  dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      ADMIN_TOKEN,
      ERP_WEBHOOK_URL: `${erp.url}/maintainx/completed`,
      RETRY_SCHEDULE,
    },
  });
});

afterAll(async () => {
  await dev?.stop();
  await erp?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

// The tests run in order: each goes on from where the one before left the Worker.
describe("a hold from the command line", () => {
  it("handlers list shows every handler, none held", async () => {
    const result = await cli(["handlers", "list"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HANDLER +TYPES +HELD +WAITING +LAST SUCCESS +LAST FAILURE +REASON$/m);
    expect(result.stdout).toMatch(/^erp-sync +\S.* +no +0 +- +-$/m);
    expect(result.stdout).toMatch(/^slack-alert +/m);
    expect(result.stderr).toBe("");
  });

  it("handlers hold of an unknown name: exit 1, naming the handlers the Worker has", async () => {
    const result = await cli(["handlers", "hold", "erp", "--reason", "typo"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: The Worker at \S+ has no handler named "erp"; it has .*\berp-sync\b.*\./);
    expect(result.stderr).toContain(`\`npm run cli -- handlers list --url ${dev.url}\``);
  });

  it("handlers hold erp-sync --reason: held, with its reason", async () => {
    const result = await cli(["handlers", "hold", "erp-sync", "--reason", "ERP upgrade until 18:00"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Held erp-sync: /);
    expect(result.stdout).toMatch(/^ {2}held +yes, since \d{4}-\d\d-\d\dT/m);
    expect(result.stdout).toMatch(/^ {2}reason +ERP upgrade until 18:00$/m);
    expect(result.stderr).toBe(`Release it: npm run cli -- handlers release erp-sync --url ${dev.url}`);
  });

  it("a completion then waits as retrying without reaching the ERP; list, events and status show it", async () => {
    ids.held = await complete(workOrders.held);
    await waitFor(ids.held, "waiting for erp-sync", (d) =>
      d.event.outcomes.some((o) => o.handler === "erp-sync" && o.status === "held"),
    );
    expect(erpPosts(ids.held)).toHaveLength(0);

    const handlers = await cli(["handlers", "list"]);
    expect(handlers.code).toBe(0);
    expect(handlers.stdout).toMatch(/^erp-sync +\S.* +since \S+Z +1 +- +- +ERP upgrade until 18:00$/m);
    expect(handlers.stderr).toContain("1 handler held (erp-sync)");

    const listed = await cli(["events", "list", "--status", "retrying"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(ids.held);
    // Waiting for a hold, it has no next attempt: the column is left out.
    expect(listed.stdout).not.toContain("NEXT ATTEMPT");

    const shown = await cli(["events", "show", ids.held]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status +retrying$/m);
    expect(shown.stdout).toMatch(/^nextAttemptAt +none: waits for erp-sync \(held\) to be released$/m);
    expect(shown.stdout).toMatch(/^ {2}erp-sync +held +/m);
    expect(shown.stdout).toMatch(/^ {2}\S+Z +erp-sync +1 +held +- +-/m);
    expect(shown.stderr).toContain(`release it: npm run cli -- handlers release erp-sync --url ${dev.url}`);

    const status = await cli(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Events +0 accepted, 1 retrying, \d+ processed, 0 failed, 0 dead$/m);
    expect(status.stdout).toMatch(/^Retry schedule +1h \(1 h in all\), then dead$/m);
    expect(status.stdout).toMatch(/^Held handlers +erp-sync$/m);
    expect(status.stderr).toContain(`npm run cli -- handlers release erp-sync --url ${dev.url}`);
  });

  it("handlers release erp-sync: the waiting completion is queued again and reaches the ERP once", async () => {
    const result = await cli(["handlers", "release", "erp-sync"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Released erp-sync: the Worker calls it again; 1 waiting event queued again\.$/m);
    expect(result.stdout).toMatch(/^ {2}held +no$/m);
    expect(result.stdout).toMatch(/^ {2}waiting +0 events$/m);

    const settled = await waitFor(ids.held, "processed", (d) => d.event.status === "processed");
    expect(erpPosts(ids.held)).toHaveLength(1);
    expect(settled.attempts.map((a) => `${a.handler}:${a.outcome}`)).toContain("erp-sync:ok");

    const again = await cli(["handlers", "release", "erp-sync"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/no waiting events were queued again\.$/m);
    expect((await cli(["status"])).stdout).toMatch(/^Held handlers +none$/m);
  });
});

describe("an ERP outage from the command line", () => {
  it("a completion the ERP refuses with 503 is retrying, with its next attempt and the 503 in its log", async () => {
    erp.respondWith({ status: 503, body: { error: "down for maintenance" } });
    ids.outage = await complete(workOrders.outage);
    await waitFor(ids.outage, "retrying", (d) => d.event.status === "retrying" && d.event.nextAttemptAt !== undefined);

    const listed = await cli(["events", "list", "--status", "retrying"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^RECEIVED +STATUS +NEXT ATTEMPT +TYPE /);
    expect(listed.stdout).toMatch(new RegExp(`^\\S+Z +retrying +\\S+Z +\\S+ +\\d+ +${ids.outage} `, "m"));

    const shown = await cli(["events", "show", ids.outage]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status +retrying$/m);
    expect(shown.stdout).toMatch(/^nextAttemptAt +\d{4}-\d\d-\d\dT\S+Z$/m);
    expect(shown.stdout).toMatch(/^ {2}\S+Z +erp-sync +1 +retry +503 +\d+(\.\d)? m?s +\S/m);

    const status = await cli(["status"]);
    expect(status.stdout).toMatch(/^Events +0 accepted, 1 retrying, /m);
    expect(status.stderr).toContain(`npm run cli -- events list --status retrying --url ${dev.url}`);
  });
});
