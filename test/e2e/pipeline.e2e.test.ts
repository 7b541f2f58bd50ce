// The whole product end to end under `wrangler dev`: signed deliveries in, real HTTP out to stub
// Slack and ERP servers and a fake MaintainX on 127.0.0.1, polling through /__scheduled, the
// operator routes and the CLI's `send`. Asserts what each stub received.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { type StubServer, startStubServer } from "../helpers/node/stub-server";

const SECRET = "e2e-pipeline-secret";
const ADMIN_TOKEN = "e2e-admin-token";

let dev: WranglerDev;
let slack: StubServer;
let erp: StubServer;
let alerts: StubServer;
let maintainx: FakeMaintainX;
const fakeWorkOrders: Array<{ id: number; title: string; status: string; priority: string; updatedAt: string }> = [];

beforeAll(async () => {
  [slack, erp, alerts, maintainx] = await Promise.all([
    startStubServer("slack"),
    startStubServer("erp"),
    startStubServer("alerts"),
    startFakeMaintainX(),
  ]);
  maintainx.route("GET", "/v1/workorders", (req) => {
    const since = String(req.query["updatedAt[gte]"] ?? "");
    const limit = Number(req.query.limit ?? 100);
    const offset = Number(req.query.cursor ?? 0);
    const rows = fakeWorkOrders
      .filter((wo) => wo.updatedAt >= since)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id);
    const page = rows.slice(offset, offset + limit);
    const nextCursor = offset + limit < rows.length ? String(offset + limit) : null;
    return { body: { workOrders: page, nextCursor, nextPageUrl: null } };
  });
  dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/slack-secret-path`,
      ERP_WEBHOOK_URL: `${erp.url}/maintainx/completed`,
      ALERT_WEBHOOK_URL: `${alerts.url}/services/T9/B9/alert-secret-path`,
      MAINTAINX_API_BASE: maintainx.url,
      MAINTAINX_API_KEY: "e2e-api-key",
      ADMIN_TOKEN,
      // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
      RETRY_SCHEDULE: "",
      RETRY_BASE_SECONDS: "1",
      POLL_PAGE_SIZE: "100",
    },
  });
});

afterAll(async () => {
  await dev?.stop();
  await Promise.all([slack?.close(), erp?.close(), alerts?.close(), maintainx?.close()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

let sequence = 0;
function uniqueId(): number {
  sequence += 1;
  return 8_000_000 + sequence * 17 + Math.floor(Math.random() * 1000) * 100_000;
}

const deliver = (type: string, body: unknown) => postMaintainXDelivery(dev.url, SECRET, type, body);

async function admin<T>(
  path: string,
  init: { headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const response = await plainRequest(`${dev.url}/admin${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
  });
  const text = response.text;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body: body as T };
}

type EventDetail = {
  event: { status: string; attempts: number; outcomes: Array<{ handler: string; status: string }> };
};

/** Waits until the consumer has settled the event, as the operator would see it. */
async function settledEvent(
  eventId: string,
  statuses = ["processed", "failed", "dead"],
): Promise<EventDetail["event"]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status, body } = await admin<EventDetail>(`/events/${encodeURIComponent(eventId)}`);
    if (status === 200 && statuses.includes(body.event.status)) return body.event;
    if (Date.now() > deadline) throw new Error(`event ${eventId} not settled: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const slackPostsFor = (id: number) =>
  slack.requests.filter((r) => String((r.json as { text?: string })?.text).includes(`#${id}:`));
const erpPostsFor = (eventId: string) => erp.requests.filter((r) => r.headers["idempotency-key"] === eventId);

describe("webhooks to sinks", () => {
  it("alerts Slack exactly once when the same HIGH priority delivery arrives 20 times at once", async () => {
    const id = uniqueId();
    const body = { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id } };
    const answers = await Promise.all(Array.from({ length: 20 }, () => deliver("NEW_WORK_ORDER", body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const eventId = answers[0]?.eventId as string;
    expect(new Set(answers.map((a) => a.eventId))).toEqual(new Set([eventId]));

    await settledEvent(eventId);
    await new Promise((r) => setTimeout(r, 3000)); // any copy past the KV filter has drained by now
    const posts = slackPostsFor(id);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.method).toBe("POST");
    expect(posts[0]?.path).toBe("/services/T0/B0/slack-secret-path");
    expect((posts[0]?.json as { text?: string } | undefined)?.text).toContain(
      "Replace conveyor belt &lt;B7&gt; &amp; check rollers",
    );
  });

  it("sends one ERP POST with Idempotency-Key for a DONE status change and writes the report", async () => {
    const id = uniqueId();
    const body = { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
    const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", body);
    const event = await settledEvent(eventId);
    expect(event.status).toBe("processed");

    const posts = erpPostsFor(eventId);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.path).toBe("/maintainx/completed");
    expect(posts[0]?.headers["content-type"]).toMatch(/application\/json/);
    expect(posts[0]?.json).toMatchObject({ eventId, workOrder: { id: String(id), status: "DONE" } });

    const report = await admin<string>(`/reports/${id}`);
    expect(report.status).toBe(200);
    expect(report.body).toContain(`Work order ${id} completed`);
    const mirror = await admin<{ workOrder: { status: string } }>(`/work-orders/${id}`);
    expect(mirror.body.workOrder.status).toBe("DONE");
  });

  it("gets the alert to a Slack that fails twice, once, after retries", async () => {
    const id = uniqueId();
    slack.respondWith([
      { status: 500, body: "oops" },
      { status: 503, body: "oops" },
    ]);
    const body = { ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id } };
    const { eventId } = await deliver("NEW_WORK_ORDER", body);
    const event = await settledEvent(eventId, ["processed"]);
    expect(event.attempts).toBe(3);
    expect(slackPostsFor(id)).toHaveLength(3);
    expect(event.outcomes).toContainEqual(expect.objectContaining({ handler: "slack-alert", status: "done" }));
  });

  it("leaves an event failed, without endless retries, when the ERP answers 400, and tells the operator once", async () => {
    const id = uniqueId();
    erp.respondWith([{ status: 400, body: { error: "unknown work order" } }]);
    const body = { ...statusDone, workOrderId: id, newWorkOrder: { ...statusDone.newWorkOrder, id } };
    const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", body);
    const event = await settledEvent(eventId);
    expect(event.status).toBe("failed");
    await new Promise((r) => setTimeout(r, 2500));
    expect(erpPostsFor(eventId)).toHaveLength(1);
    // The operator is told, once, without waiting for the Cron Trigger.
    const [alert] = await alerts.waitForRequests(1, 15_000);
    const text = String((alert?.json as { text?: string } | undefined)?.text);
    expect(text).toContain(eventId);
    expect(text).toContain("erp-sync");
    expect(text).not.toContain("/maintainx/completed");
    expect(alerts.requests).toHaveLength(1);
  });
});

describe("polling through /__scheduled", () => {
  async function runCron(): Promise<void> {
    const response = await plainRequest(`${dev.url}/__scheduled?cron=*+*+*+*+*`);
    expect(response.status).toBe(200);
  }

  async function mirrored(id: number): Promise<{ status: string } | undefined> {
    const { status, body } = await admin<{ workOrder: { status: string } }>(`/work-orders/${id}`);
    return status === 200 ? body.workOrder : undefined;
  }

  async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 45_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("mirrors 250 work orders from three pages, queues nothing on an idle run, then exactly 3 changes", async () => {
    const start = Date.now() - 20 * 60_000;
    for (let i = 0; i < 250; i++) {
      fakeWorkOrders.push({
        id: 9_500_000 + i,
        title: `Polled work order ${i}`,
        status: "OPEN",
        priority: "LOW",
        updatedAt: new Date(start + i * 1000).toISOString(),
      });
    }
    await runCron();
    const first = await admin<{ poll: { outcome: string; pages: number; events: number; cursor: string } }>("/status");
    expect(first.body.poll).toMatchObject({ outcome: "ok", pages: 3, events: 250 });
    expect(first.body.poll.cursor).toBe(fakeWorkOrders[249]?.updatedAt);
    await waitFor(
      async () => (await mirrored(9_500_000)) !== undefined && (await mirrored(9_500_249)) !== undefined,
      "mirror",
    );

    const listCalls = maintainx.requests.filter((r) => r.path.startsWith("/v1/workorders"));
    expect(listCalls[0]?.query).toMatchObject({ sort: "updatedAt", limit: "100" });
    expect(listCalls[0]?.headers.authorization).toBe("Bearer e2e-api-key");

    await runCron();
    const idle = await admin<{ poll: { events: number } }>("/status");
    expect(idle.body.poll.events).toBe(0);

    const now = Date.now();
    for (const [n, index] of [10, 120, 240].entries()) {
      const wo = fakeWorkOrders[index];
      if (wo) Object.assign(wo, { status: "IN_PROGRESS", updatedAt: new Date(now + n).toISOString() });
    }
    await runCron();
    const changed = await admin<{ poll: { events: number } }>("/status");
    expect(changed.body.poll.events).toBe(3);
    await waitFor(async () => (await mirrored(9_500_240))?.status === "IN_PROGRESS", "changed work order mirrored");
  });
});

describe("command line against the running Worker", () => {
  it("`send NEW_WORK_ORDER` signs a sample the Worker accepts and the consumer processes", async () => {
    const output = bufferOutput();
    const code = await runCli(["send", "NEW_WORK_ORDER", "--url", dev.url, "--secret", SECRET], {
      env: {},
      cwd: mkdtempSync(join(tmpdir(), "cli-e2e-")),
      output,
    });
    expect(code).toBe(0);
    const text = output.text();
    expect(text).toMatch(/200/);
    expect(text).toContain('"status": "accepted"');
    const eventId = /"eventId": "([0-9a-f]{64})"/.exec(text)?.[1];
    expect(eventId).toBeDefined();
    await settledEvent(eventId as string);
  });
});
