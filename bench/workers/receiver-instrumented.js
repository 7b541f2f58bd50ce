// The receiver, taken apart for the benchmark. Served exactly like the receiver:
// - the webhook routes run the receiver's own code with free bindings (KV is an in-isolate Map,
//   the queue and the D1 event log drop what they are sent): what this costs above the empty
//   Worker is the receiver's JavaScript alone, which is what Workers bills as CPU time;
// - /__floor/duplicate and /__floor/accept make the same binding calls as the receiver's two
//   paths, with none of its code: what the local simulators alone cost per request;
// - POST /__stages?iterations=M times each step of the hot path on the posted body, in-process;
// - GET /__hmac?bytes=N&iterations=M times WebCrypto HMAC-SHA256 over N random bytes.
// Local workerd advances Date.now() while code runs (production freezes it), so loops can time
// themselves.

import worker from "../../src/index";
import { contentEventId, createDelivery } from "../../src/ingest/delivery";
import { normaliseDelivery, parseJsonObject } from "../../src/ingest/normalise";
import { recordAccepted } from "../../src/store/event-log";
import { dedupeKey } from "../../src/store/keys";
import { readSignatureHeaders, verifyDelivery } from "../../src/webhooks/signature";

/**
 * Keys kept, the oldest dropped first. An accept run writes a key per request that nothing reads
 * again; kept by the hundred thousand, they made the isolate's heap, and so its garbage
 * collection, grow round after round, a cost a deployed Worker (whose KV is remote) never has.
 * A duplicate run reads one key, written just before it.
 */
const MEMORY_KV_LIMIT = 1000;

class MemoryKV {
  values = new Map();
  async get(key) {
    return this.values.get(key) ?? null;
  }
  async put(key, value) {
    if (this.values.size >= MEMORY_KV_LIMIT) this.values.delete(this.values.keys().next().value);
    this.values.set(key, value);
  }
}

const droppingQueue = {
  async send() {},
  async sendBatch() {},
};

const droppingStatement = {
  bind: () => droppingStatement,
  run: async () => ({ success: true, meta: {}, results: [] }),
};
const droppingDb = {
  prepare: () => droppingStatement,
  batch: async (statements) => statements.map(() => ({ success: true, meta: {}, results: [] })),
};

// The same env object on every request, as workerd passes it, so per-env caches behave as usual.
let lastEnv;
let freeEnv;
function withFreeBindings(env) {
  if (env !== lastEnv) {
    lastEnv = env;
    freeEnv = { ...env, IDEMPOTENCY: new MemoryKV(), EVENTS_QUEUE: droppingQueue, DB: droppingDb };
  }
  return freeEnv;
}

const ANSWER = { headers: { "content-type": "application/json" } };

/** One KV read of a dedupe key that is set, as a duplicate costs the simulator. */
async function floorDuplicate(request, env) {
  await request.arrayBuffer();
  const key = dedupeKey("bench-floor");
  if ((await env.IDEMPOTENCY.get(key)) === null) await env.IDEMPOTENCY.put(key, "1", { expirationTtl: 86_400 });
  return new Response('{"status":"already_processed"}', ANSWER);
}

/** KV read, queue send, KV write and the D1 log row of a new event, as an accept costs the simulators. */
async function floorAccept(request, env, ctx) {
  const text = await request.text();
  const id = crypto.randomUUID();
  const event = {
    id,
    type: "workorder.created",
    sourceType: "NEW_WORK_ORDER",
    source: "webhook",
    receivedAt: new Date().toISOString(),
    data: { raw: text },
  };
  await env.IDEMPOTENCY.get(dedupeKey(id));
  await env.EVENTS_QUEUE.send({ v: 1, event }, { contentType: "json" });
  await env.IDEMPOTENCY.put(dedupeKey(id), "1", { expirationTtl: 86_400 });
  ctx.waitUntil(recordAccepted(env.DB, event));
  return new Response(`{"status":"accepted","eventId":"${id}"}`, ANSWER);
}

async function perRun(iterations, step) {
  const start = Date.now();
  for (let i = 0; i < iterations; i++) await step();
  return ((Date.now() - start) * 1000) / iterations;
}

async function stages(request, env) {
  const url = new URL(request.url);
  const iterations = Math.max(1, Math.min(100_000, Number(url.searchParams.get("iterations") ?? 100)));
  const type = url.searchParams.get("type") ?? "NEW_WORK_ORDER";
  const body = new Uint8Array(await request.arrayBuffer());
  const headers = new Headers(request.headers);
  const delivery = readSignatureHeaders(headers);
  const secrets = [env.MAINTAINX_WEBHOOK_SECRET];
  return Response.json({
    bytes: body.byteLength,
    verify_us: await perRun(iterations, () => verifyDelivery(delivery, body, secrets)),
    event_id_us: await perRun(iterations, () => contentEventId(type, body)),
    parse_us: await perRun(iterations, async () => parseJsonObject(body)),
    normalise_us: await perRun(iterations, async () =>
      normaliseDelivery(await createDelivery({ body, pathType: type, headers, receivedAt: new Date() })),
    ),
  });
}

function randomBytes(length) {
  const bytes = new Uint8Array(length);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65536)));
  }
  return bytes;
}

/** The key is imported once, as the receiver caches it; only sign() is in the loop. */
async function hmac(request) {
  const url = new URL(request.url);
  const bytes = Number(url.searchParams.get("bytes"));
  const iterations = Number(url.searchParams.get("iterations"));
  if (!Number.isInteger(bytes) || !Number.isInteger(iterations) || bytes < 1 || iterations < 1) {
    return Response.json({ error: "bytes and iterations must be positive integers" }, { status: 400 });
  }
  const data = randomBytes(bytes);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("bench-hmac-key"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  await crypto.subtle.sign("HMAC", key, data);
  const start = Date.now();
  for (let i = 0; i < iterations; i++) await crypto.subtle.sign("HMAC", key, data);
  return Response.json({ ms: Date.now() - start });
}

export default {
  fetch(request, env, ctx) {
    // Only this file's own routes contain "/__": the webhook rows skip the URL parse, which is
    // this wrapper's cost, not the receiver's.
    if (request.url.includes("/__")) {
      const path = new URL(request.url).pathname;
      if (path === "/__stages") return stages(request, env);
      if (path === "/__hmac") return hmac(request);
      if (path === "/__floor/duplicate") return floorDuplicate(request, env);
      if (path === "/__floor/accept") return floorAccept(request, env, ctx);
    }
    return worker.fetch(request, withFreeBindings(env), ctx);
  },
};
