// The receiver of the earlier integration guide, which this project replaces, as a user would run
// it: Express, node:crypto HMAC-SHA256 over the raw body (`x-maintainx-signature`), an in-memory
// Map for idempotency, events handed to an in-process queue. Kept only as the benchmark baseline.
//
// Run by bench/run.ts as a child process: PORT and MAINTAINX_WEBHOOK_SECRET come from the
// environment; it prints BENCH_READY {"url": ...} once listening on 127.0.0.1.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import express, { type Request } from "express";

const secret = process.env.MAINTAINX_WEBHOOK_SECRET ?? "";
if (secret === "") {
  console.error("MAINTAINX_WEBHOOK_SECRET is not set");
  process.exit(2);
}

type RawRequest = Request & { rawBody?: Buffer };

/** Event id → when it was first seen. Unbounded and per process, as in the guide. */
const processed = new Map<string, number>();
/** Stands in for the guide's background processing; bounded so a long run cannot exhaust memory. */
const pending: unknown[] = [];
const PENDING_LIMIT = 10_000;

const app = express();
app.use(
  express.json({
    limit: "1mb",
    // The signature covers the bytes as sent, so keep them before Express parses the JSON.
    verify: (req, _res, buf) => {
      (req as RawRequest).rawBody = buf;
    },
  }),
);

app.post("/webhooks/maintainx", (req: RawRequest, res) => {
  const signature = String(req.get("x-maintainx-signature") ?? "").replace(/^sha256=/, "");
  const raw = req.rawBody ?? Buffer.alloc(0);
  const expected = createHmac("sha256", secret).update(raw).digest();
  const given = Buffer.from(signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    res.status(401).json({ error: "Invalid signature" });
    return;
  }
  const eventId = req.get("x-maintainx-event-id") ?? createHash("sha256").update(raw).digest("hex");
  if (processed.has(eventId)) {
    res.status(200).json({ status: "already_processed", eventId });
    return;
  }
  processed.set(eventId, Date.now());
  if (pending.length >= PENDING_LIMIT) pending.length = 0;
  pending.push(req.body);
  res.status(200).json({ status: "accepted", eventId });
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`BENCH_READY ${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent closes stdin when it exits, so a crashed benchmark leaves no server behind.
process.stdin.on("end", stop);
process.stdin.resume();
