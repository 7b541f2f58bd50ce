// `events` and `status` against a real Worker under `wrangler dev` (one start for the file), with
// stub Slack and ERP servers on 127.0.0.1: signed deliveries go in, the commands read, show and
// replay them through /admin, and the ERP stub sees the replay.
// cli-admin-requests.test.ts checks the exact requests each command sends.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { sampleMaintainXBody, sampleSeedBody } from "../../cli/samples";
import { signSeed } from "../../src/webhooks/signature";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { type StubServer, startStubServer } from "../helpers/node/stub-server";

const SECRET = "cli-events-webhook-secret";
const ADMIN_TOKEN = "cli-events-admin-token-5b2c";
const ESC = "\u001b";
const HOSTILE_TITLE = `${ESC}[31mRED${ESC}[0m ${ESC}]0;pwned\u0007 over\rwrite\b \u009b2J\u202eevil\u202c\nnext line`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

let dev: WranglerDev;
let slack: StubServer;
let erp: StubServer;
let cwd: string;

const runId = Math.floor(Math.random() * 1_000_000);
const workOrders = { created: 61_000_000 + runId, failedOne: 62_000_000 + runId, failedTwo: 63_000_000 + runId };
const ids = {
  created: "",
  updated: "",
  hostile: "",
  failedOne: "",
  failedTwo: "",
  /** Seed-format events, whose ids come from a header: one with colons, one with URL syntax in it. */
  colons: `cli-e2e:${runId}:2026-11-28T09:15:02.417Z`,
  urlish: `cli e2e/../x?y#z%41 ${runId}`,
};
let startedAt = "";

async function admin(path: string, init: { method?: string; body?: string } = {}) {
  const response = await plainRequest(`${dev.url}/admin${path}`, {
    method: init.method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: init.body,
  });
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {}
  return { status: response.status, json, text: response.text };
}

async function eventStatus(id: string): Promise<string | undefined> {
  const { status, json } = await admin(`/events/${encodeURIComponent(id)}`);
  return status === 200 ? (json as { event: { status: string } }).event.status : undefined;
}

async function waitForStatus(id: string, statuses: string[]): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await eventStatus(id);
    if (status !== undefined && statuses.includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`event ${id} is ${status ?? "not logged"}, not ${statuses.join("/")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function postSeed(eventId: string, body: unknown): Promise<void> {
  const raw = JSON.stringify(body);
  const response = await plainRequest(`${dev.url}/webhooks/maintainx`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-maintainx-signature": await signSeed(SECRET, raw),
      "x-maintainx-event-id": eventId,
    },
    body: raw,
  });
  expect(response.status).toBe(200);
}

async function deliver(type: string, body: unknown): Promise<string> {
  const answer = await postMaintainXDelivery(dev.url, SECRET, type, body);
  expect(answer.status).toBe(200);
  return answer.eventId;
}

beforeAll(async () => {
  [slack, erp] = await Promise.all([startStubServer("slack"), startStubServer("erp")]);
  cwd = mkdtempSync(join(tmpdir(), "cli-events-"));
  dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      ADMIN_TOKEN,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/slack-secret-path`,
      ERP_WEBHOOK_URL: `${erp.url}/maintainx/completed`,
      RETRY_BASE_SECONDS: "1",
    },
  });
  startedAt = new Date(Date.now() - 1000).toISOString();
  // The two completions fail for good at the ERP (a 400); every later ERP call succeeds.
  erp.respondWith([
    { status: 400, body: { error: "unknown work order" } },
    { status: 400, body: { error: "unknown work order" } },
  ]);
  ids.created = await deliver("NEW_WORK_ORDER", sampleMaintainXBody("NEW_WORK_ORDER", { id: workOrders.created }));
  ids.updated = await deliver(
    "WORK_ORDER_CHANGE",
    sampleMaintainXBody("WORK_ORDER_CHANGE", { id: workOrders.created }),
  );
  const hostile = sampleMaintainXBody("NEW_WORK_ORDER", { id: workOrders.created + 1 });
  ids.hostile = await deliver("NEW_WORK_ORDER", {
    ...hostile,
    newWorkOrder: { ...(hostile.newWorkOrder as object), title: HOSTILE_TITLE, priority: "LOW" },
  });
  for (const which of ["failedOne", "failedTwo"] as const) {
    const body = sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE", { id: workOrders[which] });
    ids[which] = await deliver("WORK_ORDER_STATUS_CHANGE", body);
  }
  await postSeed(ids.colons, sampleSeedBody("WORK_ORDER_CHANGE", { id: workOrders.created + 2 }));
  await postSeed(ids.urlish, sampleSeedBody("WORK_ORDER_CHANGE", { id: workOrders.created + 3 }));

  await Promise.all([
    waitForStatus(ids.failedOne, ["failed"]),
    waitForStatus(ids.failedTwo, ["failed"]),
    ...[ids.created, ids.updated, ids.hostile, ids.colons, ids.urlish].map((id) => waitForStatus(id, ["processed"])),
  ]);
});

afterAll(async () => {
  await dev?.stop();
  await Promise.all([slack?.close(), erp?.close()]);
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

async function cli(argv: string[], env: Record<string, string> = { ADMIN_TOKEN }) {
  const output = bufferOutput();
  const code = await runCli([...argv, "--url", dev.url], { env, cwd, output, columns: 200 });
  return {
    code,
    stdout: output.lines.stdout.join("\n"),
    stderr: output.lines.stderr.join("\n"),
    all: output.text(),
  };
}

async function listedIds(argv: string[]): Promise<string[]> {
  const result = await cli(["events", "list", ...argv, "--json"]);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { events: Array<{ id: string }> }).events.map((e) => e.id);
}

const allIds = () => Object.values(ids);

describe("events list", () => {
  it("prints a table of the logged events, newest first, with a header", async () => {
    const result = await cli(["events", "list"]);
    const fromJson = await listedIds([]);

    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^RECEIVED +STATUS +TYPE +ATTEMPTS +ID +SUMMARY \/ LAST ERROR$/);
    expect(lines).toHaveLength(fromJson.length + 1);
    for (const [i, id] of fromJson.entries()) expect(lines[i + 1]).toContain(id);
    const failedRow = lines.find((line) => line.includes(ids.failedOne));
    expect(failedRow).toMatch(/ failed +workorder\.status_changed +1 /);
  });

  it("--json prints the Worker's answer: every event, newest first", async () => {
    const result = await cli(["events", "list", "--json"]);

    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as { events: Array<{ id: string; receivedAt: string }> };
    expect(answer.events.map((e) => e.id)).toEqual(expect.arrayContaining(allIds()));
    const times = answer.events.map((e) => e.receivedAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(answer).toEqual((await admin("/events")).json);
  });

  it("--status failed lists the two failed completions only", async () => {
    expect((await listedIds(["--status", "failed"])).sort()).toEqual([ids.failedOne, ids.failedTwo].sort());
  });

  it("--type workorder.created lists the creations only", async () => {
    const listed = await listedIds(["--type", "workorder.created"]);

    expect(listed.sort()).toEqual([ids.created, ids.hostile].sort());
  });

  it(`--work-order lists one work order's events`, async () => {
    expect((await listedIds(["--work-order", String(workOrders.created)])).sort()).toEqual(
      [ids.created, ids.updated].sort(),
    );
  });

  it(`--subject lists the events about one entity`, async () => {
    expect(await listedIds(["--subject", `workorder:${workOrders.failedOne}`])).toEqual([ids.failedOne]);
  });

  it(`--since and --until narrow by the time received`, async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();

    expect(await listedIds(["--since", later])).toEqual([]);
    expect(await listedIds(["--until", "2000-01-01T00:00:00Z"])).toEqual([]);
    expect(await listedIds(["--since", startedAt, "--until", later])).toEqual(expect.arrayContaining(allIds()));
  });

  it(`pages with --limit, prints the --cursor of the next page, and --all reads them all`, async () => {
    const first = await cli(["events", "list", "--limit", "2"]);
    const firstJson = await cli(["events", "list", "--limit", "2", "--json"]);
    const cursor = (JSON.parse(firstJson.stdout) as { nextCursor: string | null }).nextCursor;

    expect(first.code).toBe(0);
    expect(first.stdout.split("\n")).toHaveLength(3);
    expect(typeof cursor).toBe("string");
    expect(first.stderr).toContain("More events; for the next page: npm run cli -- events list --limit 2 --cursor ");
    const second = await listedIds(["--limit", "2", "--cursor", cursor as string]);
    const everything = await listedIds([]);
    expect(second).toEqual(everything.slice(2, 4));
    expect(await listedIds(["--all", "--limit", "2"])).toEqual(everything);
  });
});

describe("events show", () => {
  it("prints a failed completion's fields, its outcomes (erp-sync failed), its attempt log and data, and how to replay it", async () => {
    const result = await cli(["events", "show", ids.failedOne]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^id +${ids.failedOne}$`, "m"));
    expect(result.stdout).toMatch(/^status +failed$/m);
    expect(result.stdout).toMatch(/^type +workorder\.status_changed$/m);
    expect(result.stdout).toMatch(/^ {2}HANDLER +STATUS +ATTEMPTS +ERROR \/ REASON \/ DETAIL$/m);
    expect(result.stdout).toMatch(/^ {2}erp-sync +failed +1 +\S.*400/m);
    expect(result.stdout).toMatch(/^ {2}TIME +HANDLER +ATTEMPT +OUTCOME +HTTP +DURATION +ERROR \/ DETAIL$/m);
    expect(result.stdout).toMatch(
      /^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +erp-sync +1 +failed +400 +\d+(\.\d)? m?s +\S.*400/m,
    );
    const data = JSON.parse(result.stdout.split("\nData:\n")[1] ?? "") as { workOrderId: number };
    expect(data.workOrderId).toBe(workOrders.failedOne);
    expect(result.stderr).toContain(`Replay it: npm run cli -- events replay ${ids.failedOne} --url ${dev.url}`);
  });

  it("finds events whose ids hold colons, slashes, dots, a query, a fragment, a percent and spaces", async () => {
    for (const id of [ids.colons, ids.urlish]) {
      const result = await cli(["events", "show", id, "--json"]);

      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { event: { id: string } }).event.id).toBe(id);
    }
  });

  it('says "No event <id>" and exits 1 for an id the Worker does not have', async () => {
    const result = await cli(["events", "show", "poll:1:2000-01-01T00:00:00.000Z"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: No event poll:1:2000-01-01T00:00:00.000Z on the Worker at");
  });
});

describe("hostile event data", () => {
  it("events show prints a title full of escapes and controls neutralised; the data still reads back exactly", async () => {
    const result = await cli(["events", "show", ids.hostile]);

    expect(result.code).toBe(0);
    expect(result.all).not.toMatch(RAW_CONTROLS);
    const data = JSON.parse(result.stdout.split("\nData:\n")[1] ?? "") as { newWorkOrder: { title: string } };
    expect(data.newWorkOrder.title).toBe(HOSTILE_TITLE);
  });

  it("events list and --json print it without raw control characters", async () => {
    const table = await cli(["events", "list"]);
    const json = await cli(["events", "show", ids.hostile, "--json"]);

    expect(table.all).not.toMatch(RAW_CONTROLS);
    expect(json.stdout).not.toMatch(RAW_CONTROLS);
    expect(
      (JSON.parse(json.stdout) as { event: { data: { newWorkOrder: { title: string } } } }).event.data.newWorkOrder
        .title,
    ).toBe(HOSTILE_TITLE);
  });
});

describe("status", () => {
  it("prints the counts and says how to look at and replay the failed events", async () => {
    const result = await cli(["status"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Events +\d+ accepted, 0 retrying, \d+ processed, 2 failed, 0 dead$/m);
    expect(result.stdout).toMatch(/^Last webhook +\d{4}-\d\d-\d\dT/m);
    expect(result.stdout).toMatch(/^Config +no malformed settings$/m);
    expect(result.stderr).toContain(`npm run cli -- events list --status failed --url ${dev.url}`);
    expect(result.stderr).toContain(`npm run cli -- events replay --status failed --dry-run --url ${dev.url}`);
  });

  it("--json prints the Worker's answer", async () => {
    const result = await cli(["status", "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ events: { failed: 2, dead: 0 }, config: [] });
  });

  it("runs as a real process: `npx tsx cli/index.ts status`", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ADMIN_TOKEN, npm_config_offline: "true" };
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        "npx",
        ["tsx", "cli/index.ts", "status", "--url", dev.url],
        { cwd: repoRoot, env, timeout: 30_000 },
        (error, stdout) => resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout }),
      );
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Worker +${dev.url.replaceAll(".", "\\.")}$`, "m"));
  });
});

describe("events replay", () => {
  it("replays one failed completion: the ERP stub gets the POST again, now answers 200, and the event ends processed", async () => {
    const erpPosts = () => erp.requests.filter((r) => r.headers["idempotency-key"] === ids.failedOne);
    expect(erpPosts()).toHaveLength(1);

    const result = await cli(["events", "replay", ids.failedOne]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `Replaying ${ids.failedOne}: its failed and skipped handlers run again; those that succeeded stay done.`,
    );
    expect(await waitForStatus(ids.failedOne, ["processed", "failed", "dead"])).toBe("processed");
    expect(erpPosts()).toHaveLength(2);
    expect(erpPosts()[1]?.json).toMatchObject({ eventId: ids.failedOne });
  });

  it('says "No event <id>" for a replay of an unknown id', async () => {
    const result = await cli(["events", "replay", "nope:1"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: No event nope:1");
  });

  it(`bulk: --dry-run lists the failed completion and replays nothing; then the replay reaches the ERP`, async () => {
    const erpPosts = () => erp.requests.filter((r) => r.headers["idempotency-key"] === ids.failedTwo);
    const filters = ["--status", "failed", "--type", "workorder.status_changed"];

    const dry = await cli(["events", "replay", ...filters, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(`1 event would be replayed:\n  ${ids.failedTwo}`);
    expect(erpPosts()).toHaveLength(1);

    const real = await cli(["events", "replay", ...filters]);
    expect(real.code).toBe(0);
    expect(real.stdout).toBe(`Replaying 1 event:\n  ${ids.failedTwo}`);
    expect(await waitForStatus(ids.failedTwo, ["processed", "failed", "dead"])).toBe("processed");
    expect(erpPosts()).toHaveLength(2);
  });
});

describe("failures against the real Worker", () => {
  it("a wrong token exits 1 saying the token is wrong and where it came from, without printing it", async () => {
    const result = await cli(["events", "list"], { ADMIN_TOKEN: "not-the-token" });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `The Worker at ${dev.url} refused the admin token (HTTP 401): ADMIN_TOKEN from the environment is not that Worker's ADMIN_TOKEN.`,
    );
    expect(result.all).not.toContain("not-the-token");
  });

  it("a URL that is not the Worker's root gets the Worker's 404, read as /admin off or a wrong URL", async () => {
    const output = bufferOutput();
    const code = await runCli(["status", "--url", `${dev.url}/not-the-worker`], { env: { ADMIN_TOKEN }, cwd, output });

    expect(code).toBe(1);
    expect(output.text()).toContain("/admin is off on that Worker (it has no ADMIN_TOKEN");
    expect(output.text()).toContain(`${dev.url}/not-the-worker is not the Worker's URL (check --url)`);
  });
});
