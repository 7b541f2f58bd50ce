// Beyond work orders, end to end under `wrangler dev`: signed deliveries in, real HTTP out to stub
// Slack and ERP servers, a fake MaintainX on 127.0.0.1 for the asset's name, and a Standard
// Webhooks receiver that checks every forwarded delivery with the `standardwebhooks` package.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sampleMaintainXBody } from "../../cli/samples";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import { postMaintainXDelivery } from "../helpers/node/http";
import { type StubServer, startStubServer } from "../helpers/node/stub-server";

const SECRET = "e2e-destinations-secret";
const SIGNING_SECRET = "whsec_C2FsdHktYnV0LW5vdC10b28tc2hvcnQtc2VjcmV0LWtleQ==";

interface Received {
  /** The verifier's verdict on the delivery as it came. */
  verified: boolean;
  /** The payload the verifier returned, when it accepted it. */
  payload?: { id: string; type: string; source: string; data: Record<string, unknown> };
  headers: Record<string, string>;
  body: string;
}

/**
 * A receiving service as a user would write it with a Standard Webhooks library: verify, then
 * 204; anything the library refuses gets 401. The first `failFirst` deliveries get a 503.
 */
async function startStandardWebhooksReceiver(secret: string) {
  const webhook = new Webhook(secret);
  const received: Received[] = [];
  let failFirst = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(", ") : (value ?? ""),
        ]),
      );
      let entry: Received;
      try {
        entry = { verified: true, payload: webhook.verify(body, headers) as Received["payload"], headers, body };
      } catch {
        entry = { verified: false, headers, body };
      }
      received.push(entry);
      if (failFirst > 0) {
        failFirst -= 1;
        res.writeHead(503).end("busy");
        return;
      }
      res.writeHead(entry.verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/maintainx`,
    received,
    webhook,
    failNext(count: number) {
      failFirst = count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let dev: WranglerDev;
let slack: StubServer;
let erp: StubServer;
let maintainx: FakeMaintainX;
let receiver: Awaited<ReturnType<typeof startStandardWebhooksReceiver>>;

beforeAll(async () => {
  [slack, erp, maintainx, receiver] = await Promise.all([
    startStubServer("slack"),
    startStubServer("erp"),
    startFakeMaintainX(),
    startStandardWebhooksReceiver(SIGNING_SECRET),
  ]);
  // `GET /assets/{id}` as MaintainX's description gives it.
  maintainx.route("GET", "/v1/assets/:id", (req) => ({
    body: { asset: { id: Number(req.params.id), name: "Conveyor drive 3", barcode: null, parentId: null } },
  }));
  dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/slack-secret-path`,
      ERP_WEBHOOK_URL: `${erp.url}/maintainx/events`,
      MAINTAINX_API_BASE: maintainx.url,
      MAINTAINX_API_KEY: "e2e-api-key",
      FORWARD_URL: receiver.url,
      FORWARD_SIGNING_SECRET: SIGNING_SECRET,
      FORWARD_TYPES: "*",
      // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
      RETRY_SCHEDULE: "",
      RETRY_BASE_SECONDS: "1",
    },
  });
});

afterAll(async () => {
  await dev?.stop();
  await Promise.all([slack?.close(), erp?.close(), maintainx?.close(), receiver?.close()]);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const forwardedAs = (eventId: string) => receiver.received.filter((r) => r.headers["webhook-id"] === eventId);

describe("assets, meters and purchase orders under wrangler dev", () => {
  it("each reaches its destination once, and every event reaches the Standard Webhooks receiver, verified", async () => {
    const assetId = 771_000 + Math.floor(Math.random() * 1000);
    const deliveries = {
      asset: await postMaintainXDelivery(
        dev.url,
        SECRET,
        "ASSET_STATUS_CHANGE",
        sampleMaintainXBody("ASSET_STATUS_CHANGE", { id: assetId }),
      ),
      meter: await postMaintainXDelivery(
        dev.url,
        SECRET,
        "METER_TRIGGER_STATE_CHANGE",
        sampleMaintainXBody("METER_TRIGGER_STATE_CHANGE"),
      ),
      order: await postMaintainXDelivery(
        dev.url,
        SECRET,
        "PURCHASE_ORDER_STATUS_CHANGE",
        sampleMaintainXBody("PURCHASE_ORDER_STATUS_CHANGE"),
      ),
      audit: await postMaintainXDelivery(
        dev.url,
        SECRET,
        "USER_LOGIN_FAILURE",
        sampleMaintainXBody("USER_LOGIN_FAILURE"),
      ),
    };
    for (const delivery of Object.values(deliveries)) expect(delivery.status).toBe(200);

    const slackPosts = await slack.waitForRequests(2);
    const texts = slackPosts.map((r) => (r.json as { text: string }).text).sort();
    expect(texts[0]).toMatch(/^:bell: Meter #88213: trigger #\d+ is TRIGGERED \(was STABLE\)$/);
    expect(texts[1]).toBe(`:red_circle: Asset #${assetId} Conveyor drive 3 is offline: UNPLANNED downtime`);
    expect(maintainx.requests.filter((r) => r.path === `/v1/assets/${assetId}`)).toHaveLength(1);

    const [order] = await erp.waitForRequests(1);
    expect(order?.headers["idempotency-key"]).toBe(deliveries.order.eventId);
    expect(order?.json).toMatchObject({
      eventId: deliveries.order.eventId,
      purchaseOrder: { status: "APPROVED", overrideNumber: "PO-2291" },
    });

    for (const [kind, delivery] of Object.entries(deliveries)) {
      const [forwarded] = await waitFor(`the ${kind} event at the receiver`, () => {
        const found = forwardedAs(delivery.eventId);
        return found.length > 0 ? found : undefined;
      });
      expect(forwarded?.verified, kind).toBe(true);
      expect(forwarded?.payload?.id, kind).toBe(delivery.eventId);
      expect(forwarded?.payload?.source, kind).toBe("webhook");
    }
    expect(forwardedAs(deliveries.audit.eventId)[0]?.payload?.type).toBe("audit.user_login_failure");

    // Nothing more arrives: one Slack post each, one ERP POST, one forward per event.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(slack.requests).toHaveLength(2);
    expect(erp.requests).toHaveLength(1);
    for (const delivery of Object.values(deliveries)) expect(forwardedAs(delivery.eventId)).toHaveLength(1);
  });

  it("the receiver's library refuses a forwarded delivery with its body tampered with, or once it is stale", async () => {
    const delivery = await postMaintainXDelivery(dev.url, SECRET, "NEW_LOCATION", sampleMaintainXBody("NEW_LOCATION"));
    const [forwarded] = await waitFor("the forwarded delivery", () => {
      const found = forwardedAs(delivery.eventId);
      return found.length > 0 ? found : undefined;
    });
    if (!forwarded) throw new Error("unreachable");
    expect(forwarded.verified).toBe(true);
    const headers = {
      "webhook-id": forwarded.headers["webhook-id"] ?? "",
      "webhook-timestamp": forwarded.headers["webhook-timestamp"] ?? "",
      "webhook-signature": forwarded.headers["webhook-signature"] ?? "",
    };
    const tampered = forwarded.body.replace('"type":"location.created"', '"type":"location.deleted"');
    expect(tampered).not.toBe(forwarded.body);
    expect(() => receiver.webhook.verify(tampered, headers)).toThrow(/No matching signature found/);

    vi.useFakeTimers({ now: (Number(headers["webhook-timestamp"]) + 10 * 60) * 1000, toFake: ["Date"] });
    try {
      expect(() => receiver.webhook.verify(forwarded.body, headers)).toThrow(/Message timestamp too old/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a receiver that answers 503 gets the event again, freshly signed under the same webhook-id", async () => {
    receiver.failNext(1);
    const delivery = await postMaintainXDelivery(dev.url, SECRET, "NEW_VENDOR", sampleMaintainXBody("NEW_VENDOR"));
    const attempts = await waitFor("a second attempt", () => {
      const found = forwardedAs(delivery.eventId);
      return found.length >= 2 ? found : undefined;
    });
    expect(attempts.map((a) => a.verified)).toEqual([true, true]);
    expect(attempts[1]?.body).toBe(attempts[0]?.body);
  });
});
