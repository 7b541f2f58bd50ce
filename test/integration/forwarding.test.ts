// Forwarding (docs/forwarding.md): each canonical event matching FORWARD_TYPES is POSTed
// to FORWARD_URL as a Standard Webhooks delivery. Every delivery is checked with the
// `standardwebhooks` package's own verifier, which also refuses a tampered body and a stale one.

import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sampleMaintainXBody } from "../../cli/samples";
import { readConfig } from "../../src/config";
import type { CanonicalEvent } from "../../src/events/canonical";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import { registry } from "../../src/handlers";
import { pollEvents } from "../../src/ingest/accept-polled";
import { consumeEvents } from "../../src/routing/consumer";
import { listSideEffects } from "../../src/store/side-effects";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { API_BASE, createOutbound, ERP_URL, type RecordedCall, reply, SLACK_URL } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

const FORWARD_URL = "https://receiver.test/hooks/maintainx";
// A Standard Webhooks secret: `whsec_` and the base64 of 32 random-looking bytes.
const SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwKc7fMUxsOyY=";

let outbound: ReturnType<typeof createOutbound>;
let receiver: ReturnType<typeof outbound.sink>;

function forwarding(overrides: Partial<Record<keyof Env, unknown>> = {}): Env {
  return testEnv({
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: undefined,
    MAINTAINX_API_BASE: API_BASE,
    // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
    RETRY_SCHEDULE: "",
    RETRY_BASE_SECONDS: "10",
    FORWARD_URL,
    FORWARD_SIGNING_SECRET: SIGNING_SECRET,
    FORWARD_TYPES: "*",
    ...overrides,
  });
}

beforeEach(() => {
  outbound = createOutbound();
  outbound.sink(SLACK_URL);
  outbound.sink(ERP_URL);
  outbound.sink(API_BASE, () => new Response("no plan", { status: 500 }));
  receiver = outbound.sink(FORWARD_URL, () => new Response(null, { status: 204 }));
});

afterEach(() => {
  vi.useRealTimers();
});

async function run(bodies: unknown[], environment: Env = forwarding(), attempts = 1) {
  return settle(batchOf(bodies, attempts), (batch) =>
    consumeEvents(batch, environment, { registry, fetch: outbound.fetch, random: () => 0 }),
  );
}

/** The headers the verifier reads, as the receiver got them. */
function signedHeaders(call: RecordedCall | undefined): Record<string, string> {
  if (!call) throw new Error("nothing was forwarded");
  return {
    "webhook-id": call.headers["webhook-id"] ?? "",
    "webhook-timestamp": call.headers["webhook-timestamp"] ?? "",
    "webhook-signature": call.headers["webhook-signature"] ?? "",
  };
}

const verifier = new Webhook(SIGNING_SECRET);

let nextId = 6_300_000 + Math.floor(Math.random() * 100_000) * 10;
const freshId = () => {
  nextId += 1;
  return nextId;
};

describe("forwarding as Standard Webhooks", () => {
  it("forwards each event once, signed so the standardwebhooks verifier accepts it, with the canonical body", async () => {
    const event = await maintainXEvent(
      "ASSET_STATUS_CHANGE",
      sampleMaintainXBody("ASSET_STATUS_CHANGE", { id: freshId() }),
    );
    const before = Math.floor(Date.now() / 1000);
    const result = await run([messageFor(event), messageFor(event)]);

    expect(result.explicitAcks).toHaveLength(2);
    expect(receiver.calls).toHaveLength(1);
    const call = receiver.calls[0];
    expect(call?.method).toBe("POST");
    expect(call?.headers["content-type"]).toBe("application/json");
    const headers = signedHeaders(call);
    expect(headers["webhook-id"]).toBe(event.id);
    expect(Number(headers["webhook-timestamp"])).toBeGreaterThanOrEqual(before);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);

    const verified = verifier.verify(call?.body ?? "", headers);
    expect(verified).toEqual({
      id: event.id,
      type: "asset.status_changed",
      sourceType: "ASSET_STATUS_CHANGE",
      source: "webhook",
      subject: { kind: "asset", id: event.subject?.id },
      occurredAt: event.occurredAt,
      receivedAt: event.receivedAt,
      data: event.data,
    });
    expect(Object.keys(verified as object)).toEqual([
      "id",
      "type",
      "sourceType",
      "source",
      "subject",
      "occurredAt",
      "receivedAt",
      "data",
    ]);
    expect(Object.fromEntries((await listSideEffects(env.DB, event.id)).map((o) => [o.handler, o.status]))).toEqual({
      "asset-offline-alert": "done",
      forward: "done",
    });
  });

  it("a tampered body, a changed id and a stale delivery are refused by the verifier", async () => {
    const event = await maintainXEvent("NEW_WORK_ORDER", sampleMaintainXBody("NEW_WORK_ORDER", { id: freshId() }));
    await run([messageFor(event)]);
    const call = receiver.calls[0];
    const headers = signedHeaders(call);
    const body = call?.body ?? "";
    expect(() => verifier.verify(body, headers)).not.toThrow();

    expect(() => verifier.verify(body.replace('"source":"webhook"', '"source":"poll"'), headers)).toThrow(
      /No matching signature found/,
    );
    expect(() => verifier.verify(body, { ...headers, "webhook-id": `${event.id}-other` })).toThrow(
      /No matching signature found/,
    );
    expect(() => new Webhook("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==").verify(body, headers)).toThrow(
      /No matching signature found/,
    );
    // Six minutes later the same delivery is outside the verifier's five-minute tolerance.
    vi.useFakeTimers({ now: (Number(headers["webhook-timestamp"]) + 6 * 60) * 1000, toFake: ["Date"] });
    expect(() => verifier.verify(body, headers)).toThrow(/Message timestamp too old/);
  });

  it("forwards every one of the 46 MaintainX types, each verified, under FORWARD_TYPES=*", async () => {
    const events = await Promise.all(
      MAINTAINX_EVENT_TYPES.map((type) => maintainXEvent(type, sampleMaintainXBody(type, { minimal: true }))),
    );
    const result = await run(events.map((event) => messageFor(event)));
    expect(result.retryMessages).toEqual([]);
    expect(receiver.calls).toHaveLength(46);
    const forwarded = receiver.calls.map((call) => verifier.verify(call.body, signedHeaders(call)) as { type: string });
    expect(forwarded.map((body) => body.type).sort()).toEqual(events.map((event) => event.type).sort());
  });

  it("retries a 5xx with backoff and a fresh signature under the same webhook-id; records a 4xx as failed", async () => {
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    receiver.plan(reply(503, "busy"));
    const first = await run([messageFor(event)]);
    expect(first.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 10 }]);

    vi.useFakeTimers({ now: Date.now() + 3_600_000, toFake: ["Date"] });
    const second = await run([messageFor(event)], forwarding(), 2);
    expect(second.explicitAcks).toHaveLength(1);
    const [failedTry, retry] = receiver.calls;
    expect(retry?.headers["webhook-id"]).toBe(event.id);
    expect(retry?.body).toBe(failedTry?.body);
    expect(Number(retry?.headers["webhook-timestamp"])).toBeGreaterThan(
      Number(failedTry?.headers["webhook-timestamp"]),
    );
    expect(() => verifier.verify(retry?.body ?? "", signedHeaders(retry))).not.toThrow();
    vi.useRealTimers();

    const refused = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    receiver.plan(reply(400, "bad signature"));
    const result = await run([messageFor(refused)]);
    expect(result.explicitAcks).toHaveLength(1);
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(refused.id).first();
    expect(row).toEqual({ status: "failed" });
  });
});

describe("forwarding once per real change, and what else it forwards", () => {
  /** The poller's events for a work order MaintainX's REST API now reports like this. */
  function polled(id: number, fields: Record<string, unknown>): CanonicalEvent[] {
    const now = new Date().toISOString();
    return pollEvents(
      { id: String(id), title: "Belt B7", priority: "HIGH", updatedAt: now, createdAt: now, ...fields },
      now,
      Date.now() - 3_600_000,
    );
  }

  it("a creation the webhook and the poller both saw reaches the receiver once, under the first event's id", async () => {
    const id = freshId();
    const hook = await maintainXEvent("NEW_WORK_ORDER", sampleMaintainXBody("NEW_WORK_ORDER", { id }));
    await run([messageFor(hook)]);
    const fromPoll = polled(id, { status: "OPEN" });
    expect(fromPoll.map((e) => e.type).sort()).toEqual(["workorder.created", "workorder.updated"]);
    await run(fromPoll.map((event) => messageFor(event)));

    const bodies = receiver.calls.map((call) => verifier.verify(call.body, signedHeaders(call)) as CanonicalEvent);
    expect(bodies.filter((b) => b.type === "workorder.created").map((b) => b.id)).toEqual([hook.id]);
    expect(
      receiver.calls.find((c) => (JSON.parse(c.body) as CanonicalEvent).type === "workorder.created")?.headers[
        "webhook-id"
      ],
    ).toBe(hook.id);
    // The poller's reading of the version is an event of its own, marked as the poller's.
    expect(bodies.filter((b) => b.type === "workorder.updated").map((b) => b.source)).toEqual(["poll"]);
  });

  it("a completion the webhook and the poller both saw reaches the receiver once", async () => {
    const id = freshId();
    const at = Date.now() - 60_000;
    const hook = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", {
      ...sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE", { id }),
      occurredAt: new Date(at + 400).toISOString(),
    });
    await run([messageFor(hook)]);
    const fromPoll = polled(id, {
      status: "DONE",
      createdAt: new Date(at - 86_400_000).toISOString(),
      completedAt: new Date(at).toISOString(),
    });
    expect(fromPoll.map((e) => e.type).sort()).toEqual(["workorder.completed", "workorder.updated"]);
    await run(fromPoll.map((event) => messageFor(event)));

    const types = receiver.calls.map(
      (call) => `${(JSON.parse(call.body) as CanonicalEvent).type}:${call.headers["webhook-id"]}`,
    );
    expect(types.sort()).toEqual(
      [
        `workorder.status_changed:${hook.id}`,
        `workorder.updated:${fromPoll.find((e) => e.type === "workorder.updated")?.id}`,
      ].sort(),
    );
  });

  it("a replay of an event the receiver refused forwards it again, verified, under the same webhook-id", async () => {
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    receiver.plan(reply(422, "unknown vendor"));
    await run([messageFor(event)]);
    expect((await listSideEffects(env.DB, event.id))[0]?.status).toBe("failed");

    const replayed = await run([messageFor(event, { replay: true })]);
    expect(replayed.explicitAcks).toHaveLength(1);
    expect(receiver.calls).toHaveLength(2);
    expect(receiver.calls[1]?.headers["webhook-id"]).toBe(event.id);
    expect(() => verifier.verify(receiver.calls[1]?.body ?? "", signedHeaders(receiver.calls[1]))).not.toThrow();
    expect((await listSideEffects(env.DB, event.id))[0]?.status).toBe("done");
  });

  it("a redirect is not followed: the event fails saying which URL to configure, nothing counts as delivered", async () => {
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    receiver.plan(reply(301, "", { location: "https://receiver.test/hooks/maintainx/" }));
    const result = await run([messageFor(event)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(receiver.calls).toHaveLength(1);
    const [outcome] = await listSideEffects(env.DB, event.id);
    expect(outcome).toMatchObject({ handler: "forward", status: "failed" });
    expect(outcome?.lastError).toContain("HTTP 301 redirect, not followed: configure the URL it redirects to");
  });
});

describe("FORWARD_TYPES", () => {
  async function forwardedTypes(patterns: string): Promise<string[]> {
    const events = await Promise.all([
      maintainXEvent("NEW_WORK_ORDER", sampleMaintainXBody("NEW_WORK_ORDER", { id: freshId() })),
      maintainXEvent("WORK_ORDER_STATUS_CHANGE", sampleMaintainXBody("WORK_ORDER_STATUS_CHANGE", { id: freshId() })),
      maintainXEvent("ASSET_STATUS_CHANGE", sampleMaintainXBody("ASSET_STATUS_CHANGE", { id: freshId() })),
      maintainXEvent("USER_LOGIN_FAILURE", sampleMaintainXBody("USER_LOGIN_FAILURE", { id: freshId() })),
    ]);
    const result = await run(
      events.map((event) => messageFor(event)),
      forwarding({ FORWARD_TYPES: patterns }),
    );
    expect(result.explicitAcks).toHaveLength(4);
    return receiver.calls.map((call) => (JSON.parse(call.body) as { type: string }).type).sort();
  }

  it("`workorder.*` forwards work-order events only", async () => {
    expect(await forwardedTypes("workorder.*")).toEqual(["workorder.created", "workorder.status_changed"]);
  });

  it("an exact type, a MaintainX type name, and several patterns separated by commas", async () => {
    expect(await forwardedTypes("asset.status_changed")).toEqual(["asset.status_changed"]);
    receiver.calls.length = 0;
    expect(await forwardedTypes("USER_LOGIN_FAILURE")).toEqual(["audit.user_login_failure"]);
    receiver.calls.length = 0;
    expect(await forwardedTypes("WorkOrder.Created")).toEqual(["workorder.created"]);
    receiver.calls.length = 0;
    expect(await forwardedTypes(" workorder.created , audit.* ")).toEqual([
      "audit.user_login_failure",
      "workorder.created",
    ]);
  });

  it("`workorder.completed` matches a status change to DONE, which keeps its own type in the body", async () => {
    expect(await forwardedTypes("workorder.completed")).toEqual(["workorder.status_changed"]);
  });

  it("an event that matches no pattern is not forwarded and records no forward outcome", async () => {
    const event = await maintainXEvent("NEW_LOCATION", sampleMaintainXBody("NEW_LOCATION", { id: freshId() }));
    await run([messageFor(event)], forwarding({ FORWARD_TYPES: "workorder.*" }));
    expect(receiver.calls).toEqual([]);
    expect(await listSideEffects(env.DB, event.id)).toEqual([]);
  });

  it("a list of nothing but malformed patterns forwards nothing and is reported", async () => {
    const environment = forwarding({ FORWARD_TYPES: "work order, *.created" });
    expect(await forwardedTypes("work order, *.created")).toEqual([]);
    expect(readConfig(environment).problems).toContainEqual({
      name: "FORWARD_TYPES",
      value: "work order, *.created",
      used: "no type: nothing is forwarded",
    });
    const partly = forwarding({ FORWARD_TYPES: "asset.*, bad pattern" });
    expect(readConfig(partly).forwarding).toMatchObject({ enabled: true, types: ["asset.*"] });
  });
});

describe("nothing is forwarded where forwarding is not configured", () => {
  it("without FORWARD_URL the handler is not routed: no request, no outcome, `Unhandled event type` as before", async () => {
    const event = await maintainXEvent("NEW_LOCATION", sampleMaintainXBody("NEW_LOCATION", { id: freshId() }));
    const log = vi.spyOn(console, "log");
    await run([messageFor(event)], forwarding({ FORWARD_URL: undefined }));
    expect(receiver.calls).toEqual([]);
    expect(await listSideEffects(env.DB, event.id)).toEqual([]);
    expect(log.mock.calls.some(([line]) => String(line).includes("Unhandled event type: location.created"))).toBe(true);
    const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(event.id).first();
    expect(row).toEqual({ status: "processed" });
  });

  it("without FORWARD_SIGNING_SECRET nothing goes out unsigned: skipped, saying why", async () => {
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    await run([messageFor(event)], forwarding({ FORWARD_SIGNING_SECRET: undefined }));
    expect(receiver.calls).toEqual([]);
    expect(await listSideEffects(env.DB, event.id)).toEqual([
      { handler: "forward", status: "skipped", attempts: 1, detail: "FORWARD_SIGNING_SECRET is not set" },
    ]);
  });

  it("a malformed FORWARD_URL is skipped saying so, and reported without its value", async () => {
    const environment = forwarding({ FORWARD_URL: "receiver.test/hooks/secret-path-token" });
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    await run([messageFor(event)], environment);
    expect(receiver.calls).toEqual([]);
    expect(await listSideEffects(env.DB, event.id)).toEqual([
      {
        handler: "forward",
        status: "skipped",
        attempts: 1,
        detail: "FORWARD_URL is malformed: it is skipped until it is an absolute http:// or https:// URL",
      },
    ]);
    expect(JSON.stringify(readConfig(environment).problems)).not.toContain("secret-path-token");
  });

  it("a malformed FORWARD_SIGNING_SECRET is skipped too, and reported without its value", async () => {
    const secret = "whsec_not base64 at all!";
    const environment = forwarding({ FORWARD_SIGNING_SECRET: secret });
    const event = await maintainXEvent("NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR", { id: freshId() }));
    await run([messageFor(event)], environment);
    expect(receiver.calls).toEqual([]);
    const [outcome] = await listSideEffects(env.DB, event.id);
    expect(outcome?.detail).toMatch(/^FORWARD_SIGNING_SECRET is malformed: forwarding is skipped until it is whsec_/);

    const status = await callWorker(
      new Request("https://hooks.example.com/admin/status", { headers: { authorization: "Bearer status-token" } }),
      { ...environment, ADMIN_TOKEN: "status-token" },
    );
    const text = await status.text();
    expect(status.status).toBe(200);
    expect(text).toContain("FORWARD_SIGNING_SECRET");
    expect(text).not.toContain("not base64 at all");
  });
});
