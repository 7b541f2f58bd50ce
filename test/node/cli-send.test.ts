// `send` against a stand-in Worker on 127.0.0.1 that checks signatures independently with
// node:crypto, so a mistake in the shared signing code cannot hide behind itself.

import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runSend } from "../../cli/commands/send";
import { bufferOutput } from "../../cli/io";
import { LOCAL_DEV_WEBHOOK_SECRET } from "../../src/local-dev";

interface Delivery {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  rawBody: string;
  /** Which configured secret verified it, or undefined when none did. */
  verifiedWith: string | undefined;
}

/**
 * A Worker stand-in: accepts the MaintainX body signature (HMAC of "<t>.<raw body>", t within
 * 300 s) together with the URI signature (HMAC of "<t>.<delivery URL>"), or the seed format's hex
 * HMAC of the raw body; answers 200 accepted or 401.
 */
const worker = {
  secrets: [] as string[],
  status: undefined as number | undefined,
  deliveries: [] as Delivery[],
  server: undefined as Server | undefined,
  url: "",
};

function hmacHex(secret: string, content: string): string {
  return createHmac("sha256", secret).update(content, "utf8").digest("hex");
}

function hexEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}

function verify(path: string, headers: IncomingMessage["headers"], rawBody: string): string | undefined {
  const bodySignature = headers["x-maintainx-webhook-body-signature"];
  if (typeof bodySignature === "string") {
    const parts = Object.fromEntries(bodySignature.split(",").map((p) => p.split("=") as [string, string]));
    const t = parts.t ?? "";
    if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return undefined;
    const uriParts = Object.fromEntries(
      String(headers["x-maintainx-webhook-uri-signature"])
        .split(",")
        .map((p) => p.split("=") as [string, string]),
    );
    return worker.secrets.find(
      (secret) =>
        hexEqual(hmacHex(secret, `${t}.${rawBody}`), parts.v1 ?? "") &&
        uriParts.t === t &&
        hexEqual(hmacHex(secret, `${t}.${worker.url}${path}`), uriParts.v1 ?? ""),
    );
  }
  const seedSignature = headers["x-maintainx-signature"];
  if (typeof seedSignature === "string") {
    return worker.secrets.find((secret) => hexEqual(hmacHex(secret, rawBody), seedSignature));
  }
  return undefined;
}

let tempDir: string;

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), "cli-send-"));
  worker.server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "/";
    const verifiedWith = verify(path, req.headers, rawBody);
    worker.deliveries.push({ method: req.method ?? "", path, headers: req.headers, rawBody, verifiedWith });
    const status = worker.status ?? (verifiedWith ? 200 : 401);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(status === 200 ? { status: "accepted", eventId: "x" } : { error: "Invalid signature" }));
  });
  await new Promise<void>((resolve) => worker.server?.listen(0, "127.0.0.1", resolve));
  worker.url = `http://127.0.0.1:${(worker.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => worker.server?.close(resolve));
  rmSync(tempDir, { recursive: true, force: true });
});

beforeEach(() => {
  worker.secrets = ["worker-secret"];
  worker.status = undefined;
  worker.deliveries = [];
  rmSync(join(tempDir, ".dev.vars"), { force: true });
});

async function send(argv: string[], env: Record<string, string> = { MAINTAINX_WEBHOOK_SECRET: "worker-secret" }) {
  const output = bufferOutput();
  const code = await runSend([...argv, "--url", worker.url], { env, cwd: tempDir, output });
  return { code, stdout: output.lines.stdout.join("\n"), stderr: output.lines.stderr.join("\n"), all: output.text() };
}

function lastDelivery(): Delivery & { body: Record<string, unknown> } {
  const delivery = worker.deliveries.at(-1);
  if (!delivery) throw new Error("The Worker received nothing");
  return { ...delivery, body: JSON.parse(delivery.rawBody) };
}

describe("send, MaintainX format", () => {
  it("posts a signed NEW_WORK_ORDER to /webhooks/maintainx/NEW_WORK_ORDER and prints the Worker's answer", async () => {
    const result = await send(["NEW_WORK_ORDER"]);

    expect(result.code).toBe(0);
    const delivery = lastDelivery();
    expect(delivery.method).toBe("POST");
    expect(delivery.path).toBe("/webhooks/maintainx/NEW_WORK_ORDER");
    expect(delivery.verifiedWith).toBe("worker-secret");
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(delivery.headers["x-maintainx-webhook-body-signature"]).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(delivery.headers).not.toHaveProperty("x-maintainx-signature");
    expect(delivery.body).toMatchObject({
      workOrderId: expect.any(Number),
      orgId: expect.any(Number),
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      newWorkOrder: { title: expect.any(String), priority: "HIGH" },
    });
    // As MaintainX serialises it: the id is workOrderId; status and updatedAt come from REST only.
    for (const field of ["id", "status", "updatedAt", "completedAt"]) {
      expect(delivery.body.newWorkOrder).not.toHaveProperty(field);
    }
    expect(delivery.body).not.toHaveProperty("event");
    expect(result.stdout.split("\n")[0]).toBe("HTTP 200 OK");
    expect(JSON.parse(result.stdout.split("\n").slice(1).join("\n"))).toEqual({ status: "accepted", eventId: "x" });
  });

  it("completes the work order in the WORK_ORDER_STATUS_CHANGE sample: DONE without a sub status", async () => {
    await send(["WORK_ORDER_STATUS_CHANGE"]);

    expect(lastDelivery().body).toMatchObject({
      oldStatus: "IN_PROGRESS",
      newStatus: "DONE",
      newWorkOrder: { title: expect.any(String) },
    });
    expect(lastDelivery().body).not.toHaveProperty("newSubStatus");
  });

  it("sends only the fields every delivery of the type has with --minimal", async () => {
    const result = await send(["WORK_ORDER_STATUS_CHANGE", "--minimal"]);

    expect(result.code).toBe(0);
    expect(Object.keys(lastDelivery().body).sort()).toEqual([
      "newStatus",
      "occurredAt",
      "oldStatus",
      "orgId",
      "workOrderId",
    ]);
    expect(result.stderr).toContain("minimal sample WORK_ORDER_STATUS_CHANGE");
  });

  it.each([
    [["NEW_WORK_ORDER", "--minimal", "--format", "seed"], "--minimal is for the maintainx format only"],
    [["NEW_WORK_ORDER", "--minimal", "--data", "x.json"], "--minimal and --data cannot be combined"],
  ])("exits 2 on %j", async (argv, message) => {
    const result = await send(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(worker.deliveries).toHaveLength(0);
  });

  it.each([
    ["WORK_ORDER_CHANGE", { addedAssigneeIds: expect.any(Array), newWorkOrder: expect.any(Object) }],
    ["WORK_ORDER_DELETE", { workOrderId: expect.any(Number), WorkOrder: { title: expect.any(String) } }],
    ["NEW_ASSET", { assetId: expect.any(Number), orgId: expect.any(Number), newAsset: { name: expect.any(String) } }],
    ["NEW_WORK_REQUEST", { workRequestId: expect.any(Number), orgId: expect.any(Number) }],
    ["WORK_REQUEST_STATUS_CHANGE", { requestId: expect.any(Number), newStatus: "APPROVED" }],
    ["PART_TRANSFER", { triggeredAt: expect.any(String), sourceData: { partId: expect.any(Number) } }],
  ])("sends a realistic %s body to its own path", async (type, shape) => {
    const result = await send([type]);

    expect(result.code).toBe(0);
    expect(lastDelivery().path).toBe(`/webhooks/maintainx/${type}`);
    expect(lastDelivery().body).toMatchObject(shape);
  });

  it("uses a fresh work-order id on every send, so repeats are new events", async () => {
    await send(["NEW_WORK_ORDER"]);
    await send(["NEW_WORK_ORDER"]);

    const [first, second] = worker.deliveries.map((d) => JSON.parse(d.rawBody).workOrderId);
    expect(first).not.toBe(second);
  });

  it("sends a --data file's bytes unchanged and signs exactly those bytes", async () => {
    const raw =
      '{ "workOrderId": 4821337,\n  "orgId": 99411, "occurredAt": "2026-11-28T09:15:02.417Z", "note": "héllo" }\n';
    writeFileSync(join(tempDir, "delivery.json"), raw);
    const result = await send(["NEW_WORK_ORDER", "--data", "delivery.json"]);

    expect(result.code).toBe(0);
    expect(lastDelivery().rawBody).toBe(raw);
    expect(lastDelivery().verifiedWith).toBe("worker-secret");
  });

  it("exits 1 and prints the Worker's 401 when the secret does not match, without printing it", async () => {
    const result = await send(["NEW_WORK_ORDER"], { MAINTAINX_WEBHOOK_SECRET: "not-the-worker-secret" });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain("HTTP 401");
    expect(result.stdout).toContain('"error": "Invalid signature"');
    expect(result.stderr).toContain("must be one of the Worker's MAINTAINX_WEBHOOK_SECRET values");
    expect(result.all).not.toContain("not-the-worker-secret");
  });

  it("exits 1 on any other non-2xx answer", async () => {
    worker.status = 503;
    const result = await send(["NEW_WORK_ORDER"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the Worker did not accept the event (HTTP 503)");
  });
});

describe("send, seed format", () => {
  it("posts the dotted type to /webhooks/maintainx with a hex signature and a fresh event id", async () => {
    const first = await send(["NEW_WORK_ORDER", "--format", "seed"]);
    await send(["NEW_WORK_ORDER", "--format", "seed"]);

    expect(first.code).toBe(0);
    const [a, b] = worker.deliveries;
    expect(a?.path).toBe("/webhooks/maintainx");
    expect(a?.verifiedWith).toBe("worker-secret");
    expect(a?.headers["x-maintainx-signature"]).toMatch(/^[0-9a-f]{64}$/);
    expect(a?.headers).not.toHaveProperty("x-maintainx-webhook-body-signature");
    expect(a?.headers["x-maintainx-event-id"]).toMatch(/^[\x20-\x7e]{1,200}$/);
    expect(a?.headers["x-maintainx-event-id"]).not.toBe(b?.headers["x-maintainx-event-id"]);

    const body = JSON.parse(a?.rawBody ?? "");
    expect(Object.keys(body)).toEqual(["event", "data", "timestamp"]);
    expect(body).toMatchObject({
      event: "workorder.created",
      data: { id: expect.any(String), title: expect.any(String), priority: "HIGH", status: "OPEN" },
    });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(new Date(body.data.updatedAt).toISOString()).toBe(body.data.updatedAt);
  });

  it("names a completion workorder.status_changed with status DONE", async () => {
    await send(["WORK_ORDER_STATUS_CHANGE", "--format", "seed"]);

    expect(lastDelivery().body).toMatchObject({ event: "workorder.status_changed", data: { status: "DONE" } });
  });
});

describe("send, choosing the secret", () => {
  it("signs with the first of a comma-separated MAINTAINX_WEBHOOK_SECRET", async () => {
    worker.secrets = ["current"];
    const result = await send(["NEW_WORK_ORDER"], { MAINTAINX_WEBHOOK_SECRET: " current , previous" });

    expect(result.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("current");
    expect(result.stderr).toContain("MAINTAINX_WEBHOOK_SECRET from the environment (the first of 2)");
  });

  it("signs with the secret bound to the type being sent, and with an unbound one in the seed format", async () => {
    worker.secrets = ["for-change", "unbound"];
    const list = { MAINTAINX_WEBHOOK_SECRET: "NEW_WORK_ORDER:for-new,WORK_ORDER_CHANGE:for-change,unbound" };
    const typed = await send(["WORK_ORDER_CHANGE"], list);
    expect(typed.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("for-change");
    expect(typed.stderr).toContain("(the one bound to WORK_ORDER_CHANGE of 3)");

    const seed = await send(["NEW_WORK_ORDER", "--format", "seed"], list);
    expect(seed.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("unbound");
  });

  it("prefers --secret to the configuration", async () => {
    worker.secrets = ["from-flag"];
    const result = await send(["NEW_WORK_ORDER", "--secret", "from-flag"], { MAINTAINX_WEBHOOK_SECRET: "from-env" });

    expect(result.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("from-flag");
  });

  it("reads .dev.vars, where the environment still wins", async () => {
    writeFileSync(join(tempDir, ".dev.vars"), 'MAINTAINX_WEBHOOK_SECRET="from-file,older"\n');
    worker.secrets = ["from-file"];
    const fromFile = await send(["NEW_WORK_ORDER"], {});
    expect(fromFile.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("from-file");

    worker.secrets = ["from-env"];
    const fromEnv = await send(["NEW_WORK_ORDER"], { MAINTAINX_WEBHOOK_SECRET: "from-env" });
    expect(fromEnv.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe("from-env");
  });

  it("falls back to the local-only development secret when none is configured", async () => {
    worker.secrets = [LOCAL_DEV_WEBHOOK_SECRET];
    const result = await send(["NEW_WORK_ORDER"], {});

    expect(result.code).toBe(0);
    expect(lastDelivery().verifiedWith).toBe(LOCAL_DEV_WEBHOOK_SECRET);
    expect(result.stderr).toContain("local-only secret");
    expect(result.all).not.toContain(LOCAL_DEV_WEBHOOK_SECRET);
  });
});

describe("send, usage and network errors", () => {
  it.each([
    [[], "send needs an event type"],
    [["NEW_WORK_ORDER", "--format", "xml"], "--format must be maintainx or seed"],
    [["new_work_order"], "UPPER_SNAKE"],
    [["NEW_WORK_ORDER", "--data", "missing.json"], "Cannot read --data file"],
    [["NEW_WORK_ORDER", "EXTRA"], "Unexpected argument: EXTRA"],
    [["NEW_WORK_ORDER", "--secret", " , "], "--secret is empty"],
  ])("exits 2 on %j without posting", async (argv, message) => {
    const result = await send(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(worker.deliveries).toHaveLength(0);
  });

  it.each([
    ["localhost:8787", "http(s)"],
    ["http://127.0.0.1:8787/webhooks/maintainx", "base URL"],
  ])("exits 2 on --url %s", async (url, message) => {
    const output = bufferOutput();
    const code = await runSend(["NEW_WORK_ORDER", "--url", url], { env: {}, cwd: tempDir, output });

    expect(code).toBe(2);
    expect(output.lines.stderr.join("\n")).toContain(message);
  });

  it("exits 1 and says the Worker could not be reached when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const output = bufferOutput();
    const code = await runSend(["NEW_WORK_ORDER", "--url", `http://127.0.0.1:${port}`], {
      env: {},
      cwd: tempDir,
      output,
    });

    expect(code).toBe(1);
    expect(output.lines.stderr.join("\n")).toContain("Could not reach the Worker");
    expect(output.lines.stderr.join("\n")).toContain("npm run dev");
  });

  it("prints its help and exits 0", async () => {
    const output = bufferOutput();
    const code = await runSend(["--help"], { env: {}, cwd: tempDir, output });

    expect(code).toBe(0);
    const help = output.lines.stdout.join("\n");
    expect(help).toMatch(/^Usage: npm run cli -- send <TYPE>/);
    expect(help).toContain("any of MaintainX's 46 event types");
    expect(help).toContain("--minimal");
  });
});
