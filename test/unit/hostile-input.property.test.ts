// Property-based checks (fast-check): no mutation of a valid delivery is accepted, and no
// malformed input, signed or not, ever gets a 5xx from the receiver.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/lib/bytes";
import {
  maintainXSignedContent,
  parseMaintainXSignature,
  parseSeedSignature,
  signMaintainX,
  verifyDelivery,
} from "../../src/webhooks/signature";
import { BASE, SECRET } from "../helpers/deliveries";
import { callWorker } from "../helpers/worker";

const now = () => Math.floor(Date.now() / 1000);

/** A realistic body: MaintainX fields plus arbitrary JSON. */
const bodyArb = fc
  .record({
    workOrderId: fc.integer({ min: 1, max: 2 ** 31 }),
    orgId: fc.integer({ min: 1, max: 1e6 }),
    extra: fc.jsonValue(),
  })
  .map((b) => JSON.stringify({ ...b, occurredAt: new Date().toISOString() }));

type Mutation =
  | { kind: "flip-body"; index: number; bit: number }
  | { kind: "append-body"; text: string }
  | { kind: "truncate-body"; keep: number }
  | { kind: "flip-signature"; index: number }
  | { kind: "shift-timestamp"; delta: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip-body" as const), index: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("append-body" as const), text: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("truncate-body" as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant("flip-signature" as const), index: fc.nat({ max: 63 }) }),
  fc.record({
    kind: fc.constant("shift-timestamp" as const),
    delta: fc.integer({ min: -200, max: 200 }).filter((d) => d !== 0),
  }),
);

function mutate(body: Uint8Array, t: number, sigHex: string, m: Mutation): { body: Uint8Array; header: string } {
  let out = body;
  let sig = sigHex;
  let ts = t;
  switch (m.kind) {
    case "flip-body": {
      out = body.slice();
      const i = m.index % out.length;
      out[i] = (out[i] as number) ^ (1 << m.bit);
      break;
    }
    case "append-body":
      out = new Uint8Array([...body, ...utf8.encode(m.text)]);
      break;
    case "truncate-body":
      out = body.slice(0, m.keep % body.length);
      break;
    case "flip-signature": {
      const c = sig[m.index] as string;
      const replacement = c === "0" ? "1" : "0";
      sig = sig.slice(0, m.index) + replacement + sig.slice(m.index + 1);
      break;
    }
    case "shift-timestamp":
      ts = t + m.delta;
      break;
  }
  return { body: out, header: `t=${ts},v1=${sig}` };
}

describe("no mutation of a valid delivery is accepted", () => {
  it("verifyDelivery refuses every single mutation of body, signature or timestamp (1,000 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, mutationArb, async (raw, mutation) => {
        const body = utf8.encode(raw);
        const t = now();
        const sigHex = ((await signMaintainX(SECRET, body, t)).split("v1=")[1] ?? "").toLowerCase();
        const mutated = mutate(body, t, sigHex, mutation);
        const parsed = parseMaintainXSignature(mutated.header);
        if (!parsed) return; // a header that does not parse is refused before any HMAC
        expect(await verifyDelivery({ scheme: "maintainx", ...parsed }, mutated.body, [SECRET])).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("the Worker answers 401 to mutated deliveries (300 runs through fetch)", async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, mutationArb, async (raw, mutation) => {
        const body = utf8.encode(raw);
        const t = now();
        const sigHex = (await signMaintainX(SECRET, body, t)).split("v1=")[1] ?? "";
        const mutated = mutate(body, t, sigHex, mutation);
        const response = await callWorker(
          new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, {
            method: "POST",
            headers: { "x-maintainx-webhook-body-signature": mutated.header },
            body: mutated.body,
          }),
        );
        expect(response.status).toBe(401);
        await response.body?.cancel();
      }),
      { numRuns: 300 },
    );
  });
});

describe("malformed input never yields a 5xx", () => {
  it("signature header parsers never throw on arbitrary strings (1,000 runs)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (value) => {
        parseMaintainXSignature(value);
        parseSeedSignature(value);
      }),
      { numRuns: 1000 },
    );
  });

  it("unsigned or badly signed requests with arbitrary headers, paths and bodies get 4xx (300 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 40 }),
        fc.option(fc.string({ maxLength: 200 })),
        fc.option(fc.string({ maxLength: 200 })),
        fc.uint8Array({ maxLength: 2048 }),
        async (pathType, maintainxHeader, seedHeader, body) => {
          const headers = new Headers();
          if (maintainxHeader !== null)
            headers.set("x-maintainx-webhook-body-signature", maintainxHeader.replace(/[\r\n\0]/g, ""));
          if (seedHeader !== null) headers.set("x-maintainx-signature", seedHeader.replace(/[\r\n\0]/g, ""));
          const response = await callWorker(
            new Request(`${BASE}/webhooks/maintainx/${encodeURIComponent(pathType)}`, {
              method: "POST",
              headers,
              body,
            }),
          );
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          await response.body?.cancel();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("correctly signed but arbitrary bytes, JSON and types get 200 or 400, never 5xx (200 runs)", async () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 1024 }),
      fc.jsonValue().map((v) => utf8.encode(JSON.stringify(v) ?? "null")),
      fc.string().map((s) => utf8.encode(s)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 60 }),
        payload,
        fc.option(fc.string({ maxLength: 250 })),
        async (pathType, body, eventId) => {
          const t = now();
          const headers = new Headers({ "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, t) });
          if (eventId !== null) headers.set("x-maintainx-event-id", eventId.replace(/[\r\n\0]/g, "").trim() || "x");
          const response = await callWorker(
            new Request(`${BASE}/webhooks/maintainx/${encodeURIComponent(pathType)}`, {
              method: "POST",
              headers,
              body,
            }),
          );
          expect([200, 400, 404]).toContain(response.status);
          await response.body?.cancel();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the signed content is exactly '<t>.' followed by the raw bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 2 ** 40 }), (body, t) => {
        const content = maintainXSignedContent(String(t), body);
        expect(content).toEqual(new Uint8Array([...utf8.encode(`${t}.`), ...body]));
      }),
      { numRuns: 1000 },
    );
  });
});
