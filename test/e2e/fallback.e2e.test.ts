// Once per real change under `wrangler dev` (docs/polling.md): signed webhooks and
// polling runs through /__scheduled against a fake MaintainX on 127.0.0.1 that holds the REST
// record of every change. Changes are dated when the test makes them (never back), as MaintainX
// dates them, so each is after the cursor of the runs before. Whichever path reports a creation or a completion, and in whatever order,
// Slack, the ERP and the report see it once; the mirror ends equal to the REST record.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startWranglerDev } from "../../tools/wrangler-dev";
import { statusChangeBody } from "../helpers/deliveries";
import { startFakeMaintainX } from "../helpers/node/fake-maintainx";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { startStubServer } from "../helpers/node/stub-server";

const SECRET = "e2e-fallback-secret";
const ADMIN_TOKEN = "e2e-fallback-admin";
/** MaintainX dates a webhook a few hundred ms after REST's updatedAt / completedAt of the change. */
const WEBHOOK_LAG_MS = 350;

interface RestWorkOrder {
  id: number;
  title: string;
  status: string;
  priority: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
let sequence = 0;
const uniqueId = () => {
  sequence += 1;
  return 6_000_000 + sequence * 19 + Math.floor(Math.random() * 1000) * 100_000;
};

/** One Worker under `wrangler dev` with its own sinks and fake MaintainX. */
async function startSetup(vars: Record<string, string>) {
  const [slack, erp, maintainx] = await Promise.all([
    startStubServer("slack"),
    startStubServer("erp"),
    startFakeMaintainX(),
  ]);
  const records = new Map<number, RestWorkOrder>();
  maintainx.route("GET", "/v1/workorders", (req) => {
    const since = String(req.query["updatedAt[gte]"] ?? "");
    const rows = [...records.values()]
      .filter((wo) => wo.updatedAt >= since)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id);
    return { body: { workOrders: rows, nextCursor: null, nextPageUrl: null } };
  });
  maintainx.route("GET", "/v1/workorders/:id", (req) => {
    const wo = records.get(Number(req.params.id));
    return wo ? { body: { workOrder: wo } } : { status: 404, body: { errors: [{ message: "not found" }] } };
  });
  const dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/slack-secret-path`,
      ERP_WEBHOOK_URL: `${erp.url}/maintainx/completed`,
      MAINTAINX_API_BASE: maintainx.url,
      ADMIN_TOKEN,
      // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
      RETRY_SCHEDULE: "",
      RETRY_BASE_SECONDS: "1",
      ...vars,
    },
  });

  const deliver = (type: string, body: unknown) => postMaintainXDelivery(dev.url, SECRET, type, body);

  async function admin<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await plainRequest(`${dev.url}/admin${path}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return { status: response.status, body: JSON.parse(response.text) as T };
  }

  /** Waits until the consumer has settled the event, as the operator sees it. */
  async function settled(
    eventId: string,
  ): Promise<{ status: string; outcomes: Array<{ handler: string; status: string }> }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { status, body } = await admin<{ event: { status: string; outcomes: [] } }>(
        `/events/${encodeURIComponent(eventId)}`,
      );
      if (status === 200 && ["processed", "failed", "dead"].includes(body.event.status)) return body.event;
      if (Date.now() > deadline) throw new Error(`event ${eventId} not settled: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function runCron(): Promise<void> {
    const response = await plainRequest(`${dev.url}/__scheduled?cron=*+*+*+*+*`);
    expect(response.status).toBe(200);
  }

  return {
    dev,
    slack,
    erp,
    maintainx,
    records,
    deliver,
    admin,
    settled,
    runCron,
    auth: { authorization: `Bearer ${ADMIN_TOKEN}` },
    rest(wo: Omit<RestWorkOrder, "title" | "priority" | "createdAt"> & Partial<RestWorkOrder>): RestWorkOrder {
      const record: RestWorkOrder = { title: `Pump ${wo.id}`, priority: "MEDIUM", createdAt: wo.updatedAt, ...wo };
      records.set(wo.id, record);
      return record;
    },
    erpPostsFor: (id: number) =>
      erp.requests.filter((r) => (r.json as { workOrder?: { id?: string } })?.workOrder?.id === String(id)),
    slackPostsFor: (id: number) =>
      slack.requests.filter((r) => String((r.json as { text?: string })?.text).includes(`#${id}:`)),
    async stop() {
      await dev.stop();
      await Promise.all([slack.close(), erp.close(), maintainx.close()]);
    },
  };
}

/** The completion event the poller derives from a REST record. */
const pollCompletion = (wo: RestWorkOrder, status = "DONE") => `poll:${wo.id}:${status}:${wo.completedAt}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("with MAINTAINX_API_KEY: webhooks and the poller", () => {
  let s: Awaited<ReturnType<typeof startSetup>>;

  beforeAll(async () => {
    s = await startSetup({ MAINTAINX_API_KEY: "e2e-fallback-key", POLL_MODE: "always" });
  });
  afterAll(async () => {
    await s?.stop();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`wrangler dev logs:\n${s?.dev.logs()}`));
  });

  it("webhook DONE, then the poll of DONE: one ERP POST and one report", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const hook = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + WEBHOOK_LAG_MS, "DONE"));
    expect(hook.status).toBe(200);
    expect((await s.settled(hook.eventId)).status).toBe("processed");
    const wo = s.rest({ id, status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await s.runCron();
    const polled = await s.settled(pollCompletion(wo));
    expect(polled.status).toBe("processed");
    expect(polled.outcomes).toContainEqual(expect.objectContaining({ handler: "erp-sync", status: "done" }));
    expect(s.erpPostsFor(id)).toHaveLength(1);
    expect(s.erpPostsFor(id)[0]?.headers["idempotency-key"]).toBe(hook.eventId);
    expect((await plainRequest(`${s.dev.url}/admin/reports/${id}`, { headers: s.auth })).status).toBe(200);
  });

  it("the poll of DONE first, then the late webhook: one ERP POST", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const wo = s.rest({ id, status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await s.runCron();
    expect((await s.settled(pollCompletion(wo))).status).toBe("processed");
    expect(s.erpPostsFor(id)).toHaveLength(1);
    const hook = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + WEBHOOK_LAG_MS, "DONE"));
    expect(hook.status).toBe(200);
    const late = await s.settled(hook.eventId);
    expect(late.status).toBe("processed");
    expect(late.outcomes).toContainEqual(expect.objectContaining({ handler: "erp-sync", status: "done" }));
    expect(s.erpPostsFor(id)).toHaveLength(1);
  });

  it("DONE, reopened, DONE again: two ERP POSTs", async () => {
    const id = uniqueId();
    const firstDone = Date.now();
    const first = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, firstDone + WEBHOOK_LAG_MS, "DONE"));
    await s.settled(first.eventId);
    const done1 = s.rest({ id, status: "DONE", updatedAt: iso(firstDone), completedAt: iso(firstDone) });
    await s.runCron();
    await s.settled(pollCompletion(done1));
    const reopen = await s.deliver(
      "WORK_ORDER_STATUS_CHANGE",
      statusChangeBody(id, firstDone + 2000 + WEBHOOK_LAG_MS, "OPEN"),
    );
    await s.settled(reopen.eventId);
    const secondDone = firstDone + 4000;
    const second = await s.deliver(
      "WORK_ORDER_STATUS_CHANGE",
      statusChangeBody(id, secondDone + WEBHOOK_LAG_MS, "DONE"),
    );
    await s.settled(second.eventId);
    const done2 = s.rest({ id, status: "DONE", updatedAt: iso(secondDone), completedAt: iso(secondDone) });
    await s.runCron();
    await s.settled(pollCompletion(done2));
    expect(s.erpPostsFor(id)).toHaveLength(2);
    expect(s.erpPostsFor(id).map((r) => r.headers["idempotency-key"])).toEqual([first.eventId, second.eventId]);
  });

  it("an edit of a work order that stays done: no new ERP POST", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const hook = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + WEBHOOK_LAG_MS, "DONE"));
    await s.settled(hook.eventId);
    const done = s.rest({ id, status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    await s.runCron();
    await s.settled(pollCompletion(done));
    const editedAt = Date.now();
    const edit = await s.deliver("WORK_ORDER_CHANGE", {
      workOrderId: id,
      orgId: 99411,
      occurredAt: iso(editedAt + WEBHOOK_LAG_MS),
      userId: 551877,
      newWorkOrder: { title: `Pump ${id} (renamed)` },
    });
    await s.settled(edit.eventId);
    s.rest({ ...done, title: `Pump ${id} (renamed)`, updatedAt: iso(editedAt) });
    await s.runCron();
    await s.settled(`poll:${id}:${iso(editedAt)}`);
    await pause(1000);
    expect(s.erpPostsFor(id)).toHaveLength(1);
    const mirror = await s.admin<{ workOrder: { title: string; status: string } }>(`/work-orders/${id}`);
    expect(mirror.body.workOrder).toMatchObject({ title: `Pump ${id} (renamed)`, status: "DONE" });
  });

  it("cancelled by webhook, then polled CANCELED: no ERP POST, the mirror CANCELED", async () => {
    const id = uniqueId();
    const at = Date.now();
    const hook = await s.deliver(
      "WORK_ORDER_STATUS_CHANGE",
      statusChangeBody(id, at + WEBHOOK_LAG_MS, "DONE", "CANCELED"),
    );
    expect((await s.settled(hook.eventId)).status).toBe("processed");
    const wo = s.rest({ id, status: "CANCELED", updatedAt: iso(at), completedAt: iso(at) });
    await s.runCron();
    expect((await s.settled(pollCompletion(wo, "CANCELED"))).status).toBe("processed");
    await s.settled(`poll:${id}:${wo.updatedAt}`);
    expect(s.erpPostsFor(id)).toHaveLength(0);
    expect((await plainRequest(`${s.dev.url}/admin/reports/${id}`, { headers: s.auth })).status).toBe(404);
    const mirror = await s.admin<{ workOrder: { status: string } }>(`/work-orders/${id}`);
    expect(mirror.body.workOrder.status).toBe("CANCELED");
  });

  it("a HIGH work order whose NEW_WORK_ORDER was lost: one Slack post from the poll, none from the late webhook", async () => {
    const id = uniqueId();
    const createdAt = Date.now();
    s.rest({ id, title: `Belt ${id}`, priority: "HIGH", status: "OPEN", updatedAt: iso(createdAt) });
    await s.runCron();
    expect((await s.settled(`poll:${id}:created`)).status).toBe("processed");
    expect(s.slackPostsFor(id)).toHaveLength(1);
    const late = await s.deliver("NEW_WORK_ORDER", {
      workOrderId: id,
      orgId: 99411,
      occurredAt: iso(createdAt + WEBHOOK_LAG_MS),
      userId: 551201,
      newWorkOrder: { sequentialId: 2043, title: `Belt ${id}`, priority: "HIGH" },
    });
    expect(late.status).toBe(200);
    expect((await s.settled(late.eventId)).status).toBe("processed");
    await pause(1000);
    expect(s.slackPostsFor(id)).toHaveLength(1);
  });

  it("20 concurrent copies mixing webhook deliveries and polling runs of one completion: one ERP POST", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const wo = s.rest({ id, status: "DONE", updatedAt: iso(doneAt), completedAt: iso(doneAt) });
    const body = statusChangeBody(id, doneAt + WEBHOOK_LAG_MS, "DONE");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? s.deliver("WORK_ORDER_STATUS_CHANGE", body) : s.runCron())),
    );
    const hookIds = new Set(answers.flatMap((a) => (a ? [a.eventId] : [])));
    expect(hookIds.size).toBe(1);
    // Overlapping runs skip; make sure one run read the work order.
    await s.runCron();
    await s.settled([...hookIds][0] as string);
    await s.settled(pollCompletion(wo));
    await pause(2500); // any copy past the KV filter has drained by now
    expect(s.erpPostsFor(id)).toHaveLength(1);
  });

  it("the mirror ends equal to the REST record though the webhook of the change came first", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const hook = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + WEBHOOK_LAG_MS, "DONE"));
    await s.settled(hook.eventId);
    const wo = s.rest({
      id,
      title: "Pump, as REST names it",
      priority: "HIGH",
      status: "DONE",
      updatedAt: iso(doneAt),
      completedAt: iso(doneAt),
    });
    await s.runCron();
    await s.settled(`poll:${id}:${wo.updatedAt}`);
    const mirror = await s.admin<{ workOrder: Record<string, unknown> }>(`/work-orders/${id}`);
    expect(mirror.body.workOrder).toMatchObject({
      title: "Pump, as REST names it",
      priority: "HIGH",
      status: "DONE",
      updatedAt: wo.updatedAt,
    });
  });
});

describe("without MAINTAINX_API_KEY: webhooks only", () => {
  let s: Awaited<ReturnType<typeof startSetup>>;

  beforeAll(async () => {
    s = await startSetup({});
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("one ERP POST per completion delivery, none more for a duplicate, two after a reopen", async () => {
    const id = uniqueId();
    const doneAt = Date.now();
    const first = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt, "DONE"));
    expect((await s.settled(first.eventId)).status).toBe("processed");
    const duplicate = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt, "DONE"));
    expect(duplicate.text).toContain("already_processed");
    const reopen = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + 2000, "OPEN"));
    await s.settled(reopen.eventId);
    const second = await s.deliver("WORK_ORDER_STATUS_CHANGE", statusChangeBody(id, doneAt + 4000, "DONE"));
    expect((await s.settled(second.eventId)).status).toBe("processed");
    await s.runCron();
    await pause(1000);
    expect(s.erpPostsFor(id)).toHaveLength(2);
    expect(s.maintainx.requests).toHaveLength(0);
  });
});
