// The receiver end to end: a real `wrangler dev` (local KV, Queue and D1) answering real HTTP
// deliveries signed exactly as MaintainX and the seed guide sign them.

import { createHash, randomUUID } from "node:crypto";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bufferOutput } from "../../cli/io";
import { runCli } from "../../cli/program";
import { signMaintainX, signSeed } from "../../src/webhooks/signature";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import newWorkOrder from "../fixtures/new-work-order.json";
import seedWorkOrderCreated from "../fixtures/seed-workorder-created.json";

const SECRET = "e2e-webhook-secret";
const MAX_BODY_BYTES = 1_048_576;

let dev: WranglerDev;

beforeAll(async () => {
  dev = await startWranglerDev({ vars: { MAINTAINX_WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await dev?.stop();
});

// Vitest prints output only for failing tests: there, the Worker's own log lines explain the failure.
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
});

let sequence = 0;
/** A NEW_WORK_ORDER body with a work order id no other test in this run uses. */
function uniqueNewWorkOrderBody(): string {
  sequence += 1;
  const id = 7_000_000 + sequence;
  return JSON.stringify({ ...newWorkOrder, workOrderId: id, newWorkOrder: { ...newWorkOrder.newWorkOrder, id } });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The event id of a delivery without x-maintainx-event-id (docs/receiving.md). */
function contentEventId(type: string, rawBody: string): string {
  return createHash("sha256").update(`${type}\n${rawBody}`).digest("hex");
}

async function post(path: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${dev.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  // A non-JSON answer (e.g. wrangler's own error page) is kept as text so a failure shows it.
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, json };
}

async function postMaintainX(type: string, rawBody: string, options: { secret?: string; t?: number } = {}) {
  const signature = await signMaintainX(options.secret ?? SECRET, rawBody, options.t ?? nowSeconds());
  return post(`/webhooks/maintainx/${type}`, rawBody, { "x-maintainx-webhook-body-signature": signature });
}

async function postSeed(eventId: string, rawBody: string) {
  return post("/webhooks/maintainx", rawBody, {
    "x-maintainx-signature": await signSeed(SECRET, rawBody),
    "x-maintainx-event-id": eventId,
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A JSON log line the queue consumer writes for this event ("Event received", or a line per
 * handler, or "Unhandled event type: ..."): the receiver logs no line for an accepted delivery.
 */
function consumerLogged(eventId: string): RegExp {
  const consumerMessage = '(?:Event received|Handler [^"]+|Unhandled event type: [^"]+)';
  return new RegExp(String.raw`"message":"${consumerMessage}"[^\n]*"eventId":"${escapeRegExp(eventId)}"`);
}

describe("receiver under wrangler dev", () => {
  it('GET /health answers exactly {"status":"ok"}', async () => {
    const response = await fetch(`${dev.url}/health`);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"status":"ok"}');
  });

  it("accepts a signed MaintainX delivery under the SHA-256 of its path type and raw body", async () => {
    const rawBody = uniqueNewWorkOrderBody();

    const { status, json } = await postMaintainX("NEW_WORK_ORDER", rawBody);

    expect(status).toBe(200);
    expect(json).toEqual({ status: "accepted", eventId: contentEventId("NEW_WORK_ORDER", rawBody) });
  });

  it("answers already_processed with the same eventId when the same body is delivered again, re-signed", async () => {
    const rawBody = uniqueNewWorkOrderBody();
    const t = nowSeconds();

    const first = await postMaintainX("NEW_WORK_ORDER", rawBody, { t });
    const again = await postMaintainX("NEW_WORK_ORDER", rawBody, { t: t - 30 });

    const eventId = contentEventId("NEW_WORK_ORDER", rawBody);
    expect(first).toEqual({ status: 200, json: { status: "accepted", eventId } });
    expect(again).toEqual({ status: 200, json: { status: "already_processed", eventId } });
  });

  it("accepts a seed-format delivery under the id from x-maintainx-event-id", async () => {
    const eventId = `evt-e2e-${randomUUID()}`;
    const rawBody = JSON.stringify(seedWorkOrderCreated);

    const { status, json } = await postSeed(eventId, rawBody);

    expect(status).toBe(200);
    expect(json).toEqual({ status: "accepted", eventId });
  });

  it("refuses a delivery signed with another secret with 401 Invalid signature", async () => {
    const { status, json } = await postMaintainX("NEW_WORK_ORDER", uniqueNewWorkOrderBody(), {
      secret: "not-the-configured-secret",
    });

    expect(status).toBe(401);
    expect(json).toEqual({ error: "Invalid signature" });
  });

  it("refuses a delivery without a signature header with 401 Missing signature header", async () => {
    const { status, json } = await post("/webhooks/maintainx/NEW_WORK_ORDER", uniqueNewWorkOrderBody(), {});

    expect(status).toBe(401);
    expect(json).toEqual({ error: "Missing signature header" });
  });

  it("hands every accepted event to the queue consumer, in both wire formats", async () => {
    const rawBody = uniqueNewWorkOrderBody();
    const seedEventId = `evt-e2e-${randomUUID()}`;

    const maintainx = await postMaintainX("NEW_WORK_ORDER", rawBody);
    const seed = await postSeed(seedEventId, JSON.stringify(seedWorkOrderCreated));
    expect(maintainx.json).toEqual({ status: "accepted", eventId: contentEventId("NEW_WORK_ORDER", rawBody) });
    expect(seed.json).toEqual({ status: "accepted", eventId: seedEventId });

    await dev.waitForLog(consumerLogged(contentEventId("NEW_WORK_ORDER", rawBody)), 15_000);
    await dev.waitForLog(consumerLogged(seedEventId), 15_000);
  });

  it("refuses a correctly signed body one byte over MAX_BODY_BYTES with 413, and keeps serving", async () => {
    const prefix = '{"workOrderId":1,"pad":"';
    const suffix = '"}';
    const rawBody = `${prefix}${"x".repeat(MAX_BODY_BYTES + 1 - prefix.length - suffix.length)}${suffix}`;
    expect(Buffer.byteLength(rawBody)).toBe(MAX_BODY_BYTES + 1);

    const { status, json } = await postMaintainX("NEW_WORK_ORDER", rawBody);

    expect(status).toBe(413);
    expect(json).toEqual({ error: "Payload too large" });

    // The refused body is drained, not cancelled mid-stream, so the dev proxy stays healthy.
    const next = await postMaintainX("NEW_WORK_ORDER", uniqueNewWorkOrderBody());
    expect(next.status).toBe(200);
  });
  it("refuses a chunked body past MAX_BODY_BYTES with 413 even when it also declares a small Content-Length", async () => {
    // Both headers at once: the body is framed by its chunks, so the declared length is not what
    // the Worker may trust. A raw socket, because fetch() would not send the two together.
    const { port, hostname } = new URL(dev.url);
    const chunk = "x".repeat(64 * 1024);
    const chunks = Math.ceil((MAX_BODY_BYTES + 1) / chunk.length) + 1;
    const signature = await signMaintainX(SECRET, "{}", nowSeconds());
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: hostname, port: Number(port) }, () => {
        socket.write(
          [
            "POST /webhooks/maintainx/NEW_WORK_ORDER HTTP/1.1",
            `Host: ${hostname}:${port}`,
            "Content-Type: application/json",
            "Content-Length: 100",
            "Transfer-Encoding: chunked",
            `x-maintainx-webhook-body-signature: ${signature}`,
            "Connection: close",
            "",
            "",
          ].join("\r\n"),
        );
        for (let i = 0; i < chunks; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        socket.end("0\r\n\r\n");
      });
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (data: string) => {
        text += data;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", (error) => (text ? resolve(text) : reject(error)));
      socket.setTimeout(30_000, () => socket.destroy(new Error("no answer within 30 s")));
    });

    expect(answer.split("\r\n")[0]).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('{"error":"Payload too large"}');
    const next = await postMaintainX("NEW_WORK_ORDER", uniqueNewWorkOrderBody());
    expect(next.status).toBe(200);
  });
});

// This Worker has no ADMIN_TOKEN, so its /admin is off: the one place the CLI meets that for real.
describe("the command line against a Worker without ADMIN_TOKEN", () => {
  it.each([[["status"]], [["events", "list"]], [["events", "show", "poll:1:x"]]])(
    "%j exits 1 saying /admin is off on that Worker (no ADMIN_TOKEN) or the URL is not the Worker",
    async (argv) => {
      const output = bufferOutput();
      const code = await runCli([...argv, "--url", dev.url], {
        env: { ADMIN_TOKEN: "any-token" },
        cwd: tmpdir(),
        output,
      });

      expect(code).toBe(1);
      expect(output.lines.stderr.join("\n")).toContain(
        `The Worker at ${dev.url} answered GET /admin/${argv[0] === "status" ? "status" : "events"}`,
      );
      expect(output.lines.stderr.join("\n")).toContain("/admin is off on that Worker (it has no ADMIN_TOKEN");
      expect(output.text()).not.toContain("any-token");
    },
  );
});
