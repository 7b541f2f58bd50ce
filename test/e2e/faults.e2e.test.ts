// Faults end to end under `wrangler dev`: stub Slack, ERP and MaintainX servers on 127.0.0.1 time
// out, answer 5xx or 429 with Retry-After, close the connection or send malformed JSON, per work
// order. Each case asserts the receiver's answer and that the event ends `processed` (its side
// effect done once) or `dead` and replayable. Finally the Worker's whole log is checked for secrets.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { signMaintainX } from "../../src/webhooks/signature";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { type FakeAnswer, type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import {
  type PlannedResponse,
  type RecordedRequest,
  type StubServer,
  startStubServer,
} from "../helpers/node/stub-server";

const SECRET = "e2e-faults-webhook-secret";
const ADMIN_TOKEN = "e2e-faults-admin-token";
const API_KEY = "e2e-faults-api-key";
const SLACK_PATH = "/services/T0/B0/e2e-faults-slack-token";
const ERP_PATH = "/erp/e2e-faults-erp-token";
/** Hanging sinks answer after this; the Worker gives up after OUTBOUND_TIMEOUT_SECONDS = 1. */
const HANG_MS = 8_000;

let dev: WranglerDev;
let slack: StubServer;
let erp: StubServer;
let elsewhere: StubServer;
let maintainx: FakeMaintainX;
const signaturesSent: string[] = [];

/** Per work order, the answers a stub gives before it answers 200. */
const slackPlans = new Map<string, PlannedResponse[]>();
const erpPlans = new Map<string, PlannedResponse[]>();
const apiPlans = new Map<string, Array<FakeAnswer | "hang">>();
/** Each stub request with the status it was answered with (undefined: no answer). */
const answered = new WeakMap<RecordedRequest, number | undefined>();

function planned(plans: Map<string, PlannedResponse[]>, id: string | undefined, request: RecordedRequest) {
  const next = (id && plans.get(id)?.shift()) || { status: 200, body: "ok" };
  answered.set(request, next.dropConnection ? undefined : (next.status ?? 200));
  return next;
}

const slackWorkOrder = (r: RecordedRequest) => /#(\d+):/.exec(String((r.json as { text?: string })?.text))?.[1];
const erpWorkOrder = (r: RecordedRequest) => (r.json as { workOrder?: { id?: string } })?.workOrder?.id;

beforeAll(async () => {
  [slack, erp, elsewhere, maintainx] = await Promise.all([
    startStubServer("slack"),
    startStubServer("erp"),
    startStubServer("elsewhere"),
    startFakeMaintainX(),
  ]);
  slack.respondWith((r) => planned(slackPlans, slackWorkOrder(r), r));
  erp.respondWith((r) => planned(erpPlans, erpWorkOrder(r), r));
  maintainx.route("GET", "/v1/workorders/:id", async ({ params }) => {
    const next = apiPlans.get(params.id ?? "")?.shift();
    if (next === "hang") {
      await new Promise((r) => setTimeout(r, HANG_MS));
      return { status: 504 };
    }
    return (
      next ?? {
        body: {
          workOrder: {
            id: Number(params.id),
            title: "Pump",
            priority: "HIGH",
            status: "OPEN",
            updatedAt: "2026-11-28T09:15:03Z",
          },
        },
      }
    );
  });
  dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      SLACK_WEBHOOK_URL: `${slack.url}${SLACK_PATH}`,
      ERP_WEBHOOK_URL: `${erp.url}${ERP_PATH}`,
      MAINTAINX_API_BASE: maintainx.url,
      MAINTAINX_API_KEY: API_KEY,
      ADMIN_TOKEN,
      // Retries come back at once (a Retry-After still holds them), so a dead letter takes seconds.
      // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
      RETRY_SCHEDULE: "",
      RETRY_BASE_SECONDS: "0",
      OUTBOUND_TIMEOUT_SECONDS: "1",
      POLL_MODE: "off",
    },
  });
});

afterAll(async () => {
  await dev?.stop();
  await Promise.all([slack?.close(), erp?.close(), elsewhere?.close(), maintainx?.close()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

let sequence = 0;
function uniqueId(): number {
  sequence += 1;
  return 6_100_000 + sequence * 13 + Math.floor(Math.random() * 1000) * 100_000;
}

async function deliver(type: string, body: unknown): Promise<{ status: number; eventId: string }> {
  const raw = JSON.stringify(body);
  const signature = await signMaintainX(SECRET, raw, Math.floor(Date.now() / 1000));
  signaturesSent.push(signature.split("v1=")[1] ?? "");
  const response = await fetch(`${dev.url}/webhooks/maintainx/${type}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-maintainx-webhook-body-signature": signature },
    body: raw,
  });
  const json = (await response.json()) as { status: string; eventId: string };
  expect(json.status).toBe("accepted");
  expect(json.eventId).toBe(createHash("sha256").update(`${type}\n${raw}`).digest("hex"));
  return { status: response.status, eventId: json.eventId };
}

async function admin<T>(path: string, method = "GET"): Promise<{ status: number; body: T }> {
  const response = await fetch(`${dev.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return { status: response.status, body: (await response.json()) as T };
}

interface EventDetail {
  status: string;
  attempts: number;
  outcomes: Array<{ handler: string; status: string; attempts: number; lastError?: string }>;
}

async function settled(eventId: string, statuses: string[]): Promise<EventDetail> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const { status, body } = await admin<{ event: EventDetail }>(`/events/${eventId}`);
    if (status === 200 && statuses.includes(body.event.status)) return body.event;
    if (Date.now() > deadline) throw new Error(`event ${eventId} not ${statuses.join("/")}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const created = (id: number) => ({
  ...newWorkOrder,
  workOrderId: id,
  newWorkOrder: { ...newWorkOrder.newWorkOrder, id },
});
const completed = (id: number) => ({
  ...statusDone,
  workOrderId: id,
  newWorkOrder: { ...statusDone.newWorkOrder, id },
});
const bare = (id: number) => ({ workOrderId: id, orgId: 99411, occurredAt: new Date().toISOString() });

const slackPosts = (id: number) => slack.requests.filter((r) => slackWorkOrder(r) === String(id));
const erpPosts = (id: number) => erp.requests.filter((r) => erpWorkOrder(r) === String(id));
const successes = (requests: RecordedRequest[]) =>
  requests.filter((r) => {
    const status = answered.get(r);
    return status !== undefined && status >= 200 && status < 300;
  });

// Answered only after the Worker has given up, and never as a success.
const timeout: PlannedResponse = { status: 504, body: "too late", delayMs: HANG_MS };
const failures: Array<[string, PlannedResponse[]]> = [
  ["times out", [timeout, timeout]],
  [
    "answers 5xx",
    [
      { status: 500, body: "internal" },
      { status: 503, body: "unavailable" },
    ],
  ],
  ["closes the connection", [{ dropConnection: true }, { dropConnection: true }]],
];

// The cases are independent (each plans answers for its own work order), so they all run at once.
vi.setConfig({ maxConcurrency: 16 });
describe.concurrent("faults", () => {
  describe("a sink that fails, then recovers", () => {
    it.for(failures)("Slack %s: the alert is posted once, after retries", async ([, plan], { expect }) => {
      const id = uniqueId();
      slackPlans.set(String(id), [...plan]);
      const { status, eventId } = await deliver("NEW_WORK_ORDER", created(id));
      expect(status).toBe(200);
      const event = await settled(eventId, ["processed"]);
      expect(event.attempts).toBe(3);
      const posts = slackPosts(id);
      expect(posts).toHaveLength(3);
      expect(successes(posts)).toHaveLength(1);
      // A hanging Slack is cut off after OUTBOUND_TIMEOUT_SECONDS, not waited for.
      const gap = (posts[1]?.receivedAt.getTime() ?? 0) - (posts[0]?.receivedAt.getTime() ?? 0);
      expect(gap).toBeLessThan(HANG_MS - 2_000);
    });

    it.for(failures)("ERP %s: one completion is synced, with one Idempotency-Key", async ([, plan], { expect }) => {
      const id = uniqueId();
      erpPlans.set(String(id), [...plan]);
      const { status, eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", completed(id));
      expect(status).toBe(200);
      await settled(eventId, ["processed"]);
      const posts = erpPosts(id);
      expect(posts).toHaveLength(3);
      expect(successes(posts)).toHaveLength(1);
      expect(new Set(posts.map((p) => p.headers["idempotency-key"]))).toEqual(new Set([eventId]));
    });

    it("Slack and the ERP answer 429 with Retry-After: the retry waits that long", async ({ expect }) => {
      const a = uniqueId();
      const b = uniqueId();
      slackPlans.set(String(a), [{ status: 429, headers: { "retry-after": "3" }, body: "rate_limited" }]);
      erpPlans.set(String(b), [{ status: 429, headers: { "retry-after": "3" }, body: "slow down" }]);
      const [first, second] = await Promise.all([
        deliver("NEW_WORK_ORDER", created(a)),
        deliver("WORK_ORDER_STATUS_CHANGE", completed(b)),
      ]);
      expect([first.status, second.status]).toEqual([200, 200]);
      await Promise.all([settled(first.eventId, ["processed"]), settled(second.eventId, ["processed"])]);
      for (const posts of [slackPosts(a), erpPosts(b)]) {
        expect(posts).toHaveLength(2);
        expect(successes(posts)).toHaveLength(1);
        const gap = (posts[1]?.receivedAt.getTime() ?? 0) - (posts[0]?.receivedAt.getTime() ?? 0);
        expect(gap).toBeGreaterThanOrEqual(2_900);
      }
    });

    it.for<[string, Array<FakeAnswer | "hang">]>([
      [
        "answers 5xx",
        [
          { status: 500, body: { message: "down" } },
          { status: 503, rawBody: "maintenance" },
        ],
      ],
      ["times out", ["hang", "hang"]],
      ["sends malformed JSON", [{ rawBody: '{"workOrder": {"id": 1,' }, { rawBody: "<html>sign in</html>" }]],
    ])("MaintainX %s during enrichment: the alert goes out once it answers", async ([, plan], { expect }) => {
      const id = uniqueId();
      apiPlans.set(String(id), [...plan]);
      const { status, eventId } = await deliver("NEW_WORK_ORDER", bare(id));
      expect(status).toBe(200);
      const event = await settled(eventId, ["processed"]);
      expect(event.attempts).toBe(3);
      expect(successes(slackPosts(id))).toHaveLength(1);
      expect(slackPosts(id)).toHaveLength(1);
    });
  });

  describe("a sink that never recovers", () => {
    it("Slack: the event ends dead, and the replay delivers it once Slack is back", async ({ expect }) => {
      const id = uniqueId();
      slackPlans.set(
        String(id),
        Array.from({ length: 6 }, () => ({ status: 503, body: "down" })),
      );
      const { status, eventId } = await deliver("NEW_WORK_ORDER", created(id));
      expect(status).toBe(200);
      const dead = await settled(eventId, ["dead"]);
      expect(dead.outcomes).toContainEqual(expect.objectContaining({ handler: "slack-alert", status: "retry" }));
      expect(successes(slackPosts(id))).toHaveLength(0);

      const replay = await admin<{ status: string }>(`/events/${eventId}/replay`, "POST");
      expect(replay.status).toBe(202);
      await settled(eventId, ["processed"]);
      expect(successes(slackPosts(id))).toHaveLength(1);
    });

    it("MaintainX: the event ends dead and replayable", async ({ expect }) => {
      const id = uniqueId();
      apiPlans.set(
        String(id),
        Array.from({ length: 6 }, () => ({ status: 502, rawBody: "bad gateway" })),
      );
      const { eventId } = await deliver("NEW_WORK_ORDER", bare(id));
      await settled(eventId, ["dead"]);
      expect(slackPosts(id)).toHaveLength(0);
      const list = await admin<{ events: Array<{ id: string }> }>("/events?status=dead&limit=1000");
      expect(list.body.events.map((e) => e.id)).toContain(eventId);
    });
  });
});

describe("security under wrangler dev", () => {
  it("does not carry the MaintainX API key across a redirect to another host", async () => {
    const id = uniqueId();
    apiPlans.set(String(id), [{ status: 302, headers: { location: `${elsewhere.url}/collect` } }]);
    const { eventId } = await deliver("NEW_WORK_ORDER", bare(id));
    await settled(eventId, ["processed", "failed"]);
    expect(elsewhere.requests.length).toBeGreaterThan(0);
    for (const request of elsewhere.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(JSON.stringify(request.headers)).not.toContain(API_KEY);
    }
  });

  it("never writes a secret, token, secret URL part or full signature to the Worker's log", async () => {
    // Give a refused admin call and a forged delivery a chance to be logged too.
    const refused = await fetch(`${dev.url}/admin/events`, { headers: { authorization: "Bearer not-the-token" } });
    expect(refused.status).toBe(401);
    const forged = await fetch(`${dev.url}/webhooks/maintainx/NEW_WORK_ORDER`, {
      method: "POST",
      headers: { "x-maintainx-webhook-body-signature": `t=${Math.floor(Date.now() / 1000)},v1=${"ab".repeat(32)}` },
      body: "{}",
    });
    expect(forged.status).toBe(401);

    const logs = dev.logs();
    expect(logs).toMatch(/Handler failed; will retry/);
    expect(logs).toMatch(/Event dead-lettered/);
    expect(signaturesSent.length).toBeGreaterThan(5);
    for (const secret of [
      SECRET,
      ADMIN_TOKEN,
      API_KEY,
      "e2e-faults-slack-token",
      "e2e-faults-erp-token",
      "not-the-token",
    ]) {
      expect(logs).not.toContain(secret);
    }
    for (const signature of signaturesSent) expect(logs).not.toContain(signature);
  });
});
