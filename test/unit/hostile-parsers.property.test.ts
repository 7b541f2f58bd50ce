// Property-based fuzzing (fast-check) of everything a delivery passes through before it is queued:
// the signature header parsers, the timestamp check, the body reader, the JSON parser and the
// normaliser. Pure functions get 1,000 runs per property; the through-the-Worker properties fewer.
// Each property says what must hold for every input: only the documented errors escape, and
// nothing is accepted without a valid signature.

import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { MAINTAINX_TYPE_PATTERN } from "../../src/config";
import { canonicalType, EVENT_TYPE_PATTERN, isObject } from "../../src/events/canonical";
import type { EventMessage } from "../../src/events/message";
import { createDelivery } from "../../src/ingest/delivery";
import { InvalidDeliveryError, MAX_JSON_DEPTH, normaliseDelivery, parseJsonObject } from "../../src/ingest/normalise";
import { toHex, utf8 } from "../../src/lib/bytes";
import { declaredLength, PayloadTooLargeError, readBodyWithLimit } from "../../src/webhooks/body";
import {
  checkTimestamp,
  hmacHex,
  maintainXSignedContent,
  parseMaintainXSignature,
  parseSeedSignature,
  readSignatureHeaders,
  SignatureError,
  signMaintainX,
  verifyDelivery,
} from "../../src/webhooks/signature";
import { BASE, PREVIOUS_SECRET, SECRET } from "../helpers/deliveries";
import { callWorker, recordingQueue } from "../helpers/worker";

const RUNS = 1000;
const SECRETS = [SECRET, PREVIOUS_SECRET];
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Header values a client can actually send: no CR, LF or NUL, nothing above U+00FF. */
const headerSafe = (s: string) =>
  Array.from(s.replace(/[\r\n\0]/g, ""), (ch) => ((ch.codePointAt(0) ?? 0) > 0xff ? "?" : ch)).join("");

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);

/** Pieces a signature header is made of, well-formed or not. */
const headerPart = fc
  .oneof(
    fc.tuple(fc.constantFrom("t", " t", "t "), fc.oneof(fc.nat().map(String), fc.string({ maxLength: 20 }))),
    fc.tuple(
      fc.constantFrom("v1", " v1 ", "V1", "v0", "v2"),
      fc.oneof(
        hex64,
        hex64.map((h) => h.toUpperCase()),
        fc.string({ maxLength: 80 }),
      ),
    ),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 40 })),
  )
  .map(([key, value]) => `${key}=${value}`);

const signatureHeader = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.array(fc.oneof(headerPart, fc.string({ maxLength: 12 })), { maxLength: 40 }).map((parts) => parts.join(",")),
  // Oversize: a valid-looking header repeated tens of thousands of times.
  fc.tuple(headerPart, fc.integer({ min: 1_000, max: 20_000 })).map(([part, n]) => Array(n).fill(part).join(",")),
);

/** A well-formed JSON object nested `depth` levels deep (the outer object is level 1). */
function nested(depth: number, style: "array" | "object"): string {
  const inner = depth - 1;
  const open = style === "array" ? "[" : '{"k":';
  const close = style === "array" ? "]" : "}";
  return `{"workOrderId":1,"deep":${open.repeat(inner)}0${close.repeat(inner)}}`;
}

/** Bytes that are JSON except for one byte sequence that is not UTF-8 inside a string. */
const invalidUtf8Json = fc
  .tuple(
    fc.string({ maxLength: 40 }),
    fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]),
  )
  .map(([text, bad]) => {
    const prefix = utf8.encode(`{"title":"${JSON.stringify(text).slice(1, -1)}`);
    return new Uint8Array([...prefix, ...bad, ...utf8.encode('"}')]);
  });

const validType = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/);

const bodyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ maxLength: 200 }).map((s) => utf8.encode(s)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => utf8.encode(JSON.stringify(v) ?? "null")),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })).map((d) => utf8.encode(JSON.stringify(d))),
  fc
    .record({
      event: fc.oneof(validType, fc.string({ maxLength: 30 }), fc.integer()),
      data: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })), fc.jsonValue()),
      timestamp: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()),
    })
    .map((seed) => utf8.encode(JSON.stringify(seed))),
  invalidUtf8Json,
  fc
    .tuple(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom("array" as const, "object" as const))
    .map(([depth, style]) => utf8.encode(nested(depth, style))),
);

/** Reference depth of a parsed JSON value, without recursion (inputs may be thousands deep). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    max = Math.max(max, d + 1);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** The Worker's answer to these bytes, signed and posted to /webhooks/maintainx/NEW_WORK_ORDER. */
function expectedStatus(bytes: Uint8Array): 200 | 400 {
  if (expectedParse(bytes) === "refused") return 400;
  const payload = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  if (typeof payload.event !== "string") return 200;
  const typeOk = EVENT_TYPE_PATTERN.test(payload.event);
  const dataOk = payload.data === undefined || isObject(payload.data);
  return typeOk && dataOk ? 200 : 400;
}

/** What parseJsonObject must do with these bytes, decided independently of it. */
function expectedParse(bytes: Uint8Array): "object" | "refused" {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return "refused";
  }
  return isObject(value) && depthOf(value) <= MAX_JSON_DEPTH ? "object" : "refused";
}

function onlyThrows<T>(fn: () => T, allowed: new (...args: never[]) => Error): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(allowed);
    return undefined;
  }
}

describe("signature header parsers", () => {
  it(`parseMaintainXSignature never throws, and what it returns is well-formed (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(signatureHeader, (value) => {
        const parsed = parseMaintainXSignature(value);
        if (parsed === undefined) return;
        expect(parsed.timestamp).toMatch(/^\d{1,16}$/);
        expect(parsed.signatures.length).toBeGreaterThanOrEqual(1);
        expect(parsed.signatures.length).toBeLessThanOrEqual(8);
        for (const s of parsed.signatures) expect(s.byteLength).toBe(32);
      }),
      { numRuns: RUNS },
    );
  });

  it(`parseMaintainXSignature finds the real signature among arbitrary other parts (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(headerPart, fc.string({ maxLength: 12 })), { maxLength: 6 }).map((parts) =>
          // Other `t` parts would make the header ambiguous, which the parser rightly refuses; a
          // generated part may itself hold commas (",t="), so each comma-separated piece counts.
          parts.filter((p) => !p.split(",").some((piece) => /^\s*t\s*=/.test(piece))),
        ),
        fc.nat({ max: 6 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        hex64,
        (others, at, t, mac) => {
          const parts = [...others];
          parts.splice(Math.min(at, parts.length), 0, `t=${t}`, `v1=${mac}`);
          const parsed = parseMaintainXSignature(parts.join(","));
          expect(parsed?.timestamp).toBe(String(t));
          const found = parsed?.signatures.map((s) => toHex(s)) ?? [];
          // At most 8 v1 values are kept, in order; the real one is kept unless 8 came before it.
          const before = parts.slice(0, parts.indexOf(`v1=${mac}`));
          const validBefore = before.filter((p) => /^\s*v1\s*=\s*[0-9a-fA-F]{64}\s*$/.test(p)).length;
          if (validBefore < 8) expect(found).toContain(mac);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`parseMaintainXSignature reads the header as MaintainX writes it exactly as it reads the same header with other parts around it (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), hex64, fc.boolean(), (t, mac, upper) => {
        const hex = upper ? mac.toUpperCase() : mac;
        const exact = parseMaintainXSignature(`t=${t},v1=${hex}`);
        // An unknown key and spaces take the header off the one-match path and through the general one.
        const general = parseMaintainXSignature(` t = ${t} , v1=${hex},v0=ignored`);
        expect(exact).toBeDefined();
        expect(exact?.timestamp).toBe(String(t));
        expect(exact?.signatures.map((s) => toHex(s))).toEqual([mac.toLowerCase()]);
        expect(exact).toEqual(general);
      }),
      { numRuns: RUNS },
    );
    // Near misses of the exact form still go through the general parse, with its answers.
    const mac = "ab".repeat(32);
    expect(parseMaintainXSignature(`t=12,v1=${mac.slice(2)}`)).toBeUndefined();
    expect(parseMaintainXSignature(`t=12345678901234567,v1=${mac}`)).toBeUndefined();
    expect(parseMaintainXSignature(`t=12,v1=${mac},v1=${"cd".repeat(32)}`)?.signatures).toHaveLength(2);
  });

  it(`parseSeedSignature never throws and returns 32 bytes or nothing (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          hex64,
          hex64.map((h) => `sha256=${h}`),
        ),
        (value) => {
          const parsed = parseSeedSignature(value);
          if (parsed !== undefined) expect(parsed.map((s) => s.byteLength)).toEqual([32]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`readSignatureHeaders throws nothing but SignatureError (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.option(signatureHeader), fc.option(fc.string({ maxLength: 200 })), (maintainx, seed) => {
        const headers = new Headers();
        if (maintainx !== null) headers.set("x-maintainx-webhook-body-signature", headerSafe(maintainx));
        if (seed !== null) headers.set("x-maintainx-signature", headerSafe(seed));
        const read = onlyThrows(() => readSignatureHeaders(headers), SignatureError);
        if (maintainx !== null && read) expect(read.scheme).toBe("maintainx");
      }),
      { numRuns: RUNS },
    );
  });

  it(`checkTimestamp accepts exactly the timestamps within the tolerance, either way (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -1_000, max: 1_000 }).map((d) => nowSeconds() + d),
          fc.integer({ min: -1_000_000, max: 1_000_000 }).map((d) => Date.now() + d),
          fc.stringMatching(/^\d{1,16}$/).map(Number),
        ),
        fc.integer({ min: 1, max: 900 }),
        (t, tolerance) => {
          const now = Date.now();
          const seconds = t >= 1e12 ? t / 1000 : t;
          const inside = Math.abs(now / 1000 - seconds) <= tolerance;
          const outcome = onlyThrows(() => {
            checkTimestamp(String(t), now, tolerance);
            return "accepted";
          }, SignatureError);
          expect(outcome === "accepted").toBe(inside);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("no acceptance without a valid signature", () => {
  type Forgery =
    | { kind: "random"; header: string }
    | { kind: "other-secret"; secret: string }
    | { kind: "other-timestamp"; delta: number }
    | { kind: "seed-mac-as-v1" }
    | { kind: "mac-of-other-body"; other: Uint8Array };

  const forgery: fc.Arbitrary<Forgery> = fc.oneof(
    signatureHeader.map((header) => ({ kind: "random" as const, header })),
    fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !SECRETS.includes(s))
      .map((secret) => ({ kind: "other-secret" as const, secret })),
    fc
      .integer({ min: -300, max: 300 })
      .filter((d) => d !== 0)
      .map((delta) => ({ kind: "other-timestamp" as const, delta })),
    fc.constant({ kind: "seed-mac-as-v1" as const }),
    fc.uint8Array({ maxLength: 64 }).map((other) => ({ kind: "mac-of-other-body" as const, other })),
  );

  it(`verifyDelivery refuses every forged MaintainX signature (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(bodyBytes, forgery, async (body, f) => {
        const t = String(nowSeconds());
        let header: string;
        switch (f.kind) {
          case "random":
            header = f.header;
            break;
          case "other-secret":
            header = await signMaintainX(f.secret, body, Number(t));
            break;
          case "other-timestamp":
            // Signed for another t, presented with this one: the MAC covers t.
            header = `t=${t},v1=${(await signMaintainX(SECRET, body, Number(t) + f.delta)).split("v1=")[1]}`;
            break;
          case "seed-mac-as-v1":
            // The seed scheme's MAC (over the body alone) is not the MaintainX one (over "t.body").
            header = `t=${t},v1=${await hmacHex(SECRET, body)}`;
            break;
          case "mac-of-other-body":
            fc.pre(f.other.join() !== body.join());
            header = await signMaintainX(SECRET, f.other, Number(t));
            break;
        }
        const parsed = parseMaintainXSignature(header);
        if (!parsed) return;
        expect(await verifyDelivery({ scheme: "maintainx", ...parsed }, body, SECRETS)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it(`verifyDelivery refuses a seed delivery signed with anything but a configured secret (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyBytes,
        fc.oneof(
          hex64,
          fc
            .string({ minLength: 1, maxLength: 40 })
            .filter((s) => !SECRETS.includes(s))
            .map((s) => `other:${s}`),
        ),
        async (body, choice) => {
          const hex = choice.startsWith("other:") ? await hmacHex(choice.slice(6), body) : choice;
          const signatures = parseSeedSignature(hex);
          if (!signatures) return;
          expect(await verifyDelivery({ scheme: "seed", signatures }, body, SECRETS)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`verifyDelivery accepts the genuine signature with either secret (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(bodyBytes, fc.constantFrom(...SECRETS), async (body, secret) => {
        const parsed = parseMaintainXSignature(await signMaintainX(secret, body, nowSeconds()));
        expect(parsed).toBeDefined();
        if (parsed) expect(await verifyDelivery({ scheme: "maintainx", ...parsed }, body, SECRETS)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("computes one HMAC per configured secret, however many v1 values a forged header carries", async () => {
    const body = new Uint8Array(256 * 1024);
    const header = `t=${nowSeconds()},${Array.from({ length: 20 }, (_, i) => `v1=${i.toString(16).padStart(64, "0")}`).join(",")}`;
    const parsed = parseMaintainXSignature(header);
    expect(parsed?.signatures).toHaveLength(8);
    const sign = vi.spyOn(crypto.subtle, "sign");
    const verify = vi.spyOn(crypto.subtle, "verify");
    try {
      const delivery = { scheme: "maintainx" as const, ...(parsed as NonNullable<typeof parsed>) };
      expect(await verifyDelivery(delivery, body, SECRETS)).toBe(false);
      expect(sign.mock.calls.length + verify.mock.calls.length).toBe(SECRETS.length);
    } finally {
      sign.mockRestore();
      verify.mockRestore();
    }
  });
});

describe("body reader", () => {
  it(`declaredLength never throws, reads only a decimal Content-Length, and so says over the limit only for one (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.nat().map(String),
          fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
        ),
        fc.integer({ min: 1, max: 100 * 1_048_576 }),
        (value, max) => {
          const headers = new Headers({ "content-length": headerSafe(value) });
          const declared = headers.get("content-length") ?? "";
          const decimal = /^\d+$/.test(declared.trim());
          const expected = decimal && Number(declared) > max;
          const length = declaredLength(headers);
          expect(length).toBe(decimal ? Number(declared) : null);
          // The receiver's and the body reader's check, as they make it.
          expect(length !== null && length > max).toBe(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`readBodyWithLimit returns the exact bytes, or refuses past the limit, however the body is chunked (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 2_000 }),
        async (chunks, max) => {
          const total = chunks.reduce((n, c) => n + c.byteLength, 0);
          let i = 0;
          const stream = new ReadableStream<Uint8Array>({
            pull(controller) {
              const chunk = chunks[i++];
              if (chunk === undefined) controller.close();
              else controller.enqueue(chunk);
            },
          });
          const request = new Request(`${BASE}/x`, { method: "POST", body: stream });
          try {
            const body = await readBodyWithLimit(request, max);
            expect(total).toBeLessThanOrEqual(max);
            expect([...body]).toEqual(chunks.flatMap((c) => [...c]));
          } catch (error) {
            expect(error).toBeInstanceOf(PayloadTooLargeError);
            expect(total).toBeGreaterThan(max);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("JSON body parser and normaliser", () => {
  it(`parseJsonObject returns an object or throws InvalidDeliveryError, as an independent oracle says (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(bodyBytes, (bytes) => {
        const parsed = onlyThrows(() => parseJsonObject(bytes), InvalidDeliveryError);
        expect(parsed === undefined ? "refused" : "object").toBe(expectedParse(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels and accepts any depth up to it (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: MAX_JSON_DEPTH + 4 }), fc.integer({ min: 1, max: 50_000 })),
        fc.constantFrom("array" as const, "object" as const),
        (depth, style) => {
          const bytes = utf8.encode(nested(depth, style));
          const parsed = onlyThrows(() => parseJsonObject(bytes), InvalidDeliveryError);
          expect(parsed !== undefined).toBe(depth <= MAX_JSON_DEPTH);
        },
      ),
      { numRuns: RUNS },
    );
  });

  const pathType = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom("NEW_WORK_ORDER", "WORK_ORDER_STATUS_CHANGE", "constructor", "__proto__", "toString"),
    validType,
    fc.string({ maxLength: 120 }),
  );
  const scheme = fc.constantFrom("maintainx" as const, "seed" as const);
  const eventIdHeader = fc.option(fc.oneof(fc.string({ maxLength: 250 }), fc.stringMatching(/^[\x20-\x7e]{1,200}$/)));

  it(`normaliseDelivery yields a well-formed event or InvalidDeliveryError, nothing else (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(bodyBytes, pathType, eventIdHeader, scheme, async (body, type, eventId, signedAs) => {
        const headers = new Headers();
        if (eventId !== null) headers.set("x-maintainx-event-id", headerSafe(eventId));
        const receivedAt = new Date();
        let normalised: Awaited<ReturnType<typeof normaliseDelivery>>;
        try {
          normalised = await normaliseDelivery(
            await createDelivery({ body, pathType: type, scheme: signedAs, headers, receivedAt }),
          );
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidDeliveryError);
          return;
        }
        const { event } = normalised;
        expect(event.sourceType).toMatch(EVENT_TYPE_PATTERN);
        expect(event.type).toBe(canonicalType(event.sourceType));
        expect(event.source).toBe("webhook");
        expect(isObject(event.data)).toBe(true);
        expect(event.receivedAt).toBe(receivedAt.toISOString());
        // Only the seed format honours the header: in MaintainX's it is not signed.
        const header = signedAs === "seed" ? headers.get("x-maintainx-event-id") : null;
        if (header !== null) expect(event.id).toBe(header);
        else expect(event.id).toMatch(/^[0-9a-f]{64}$/);
        expect(event.id.length).toBeLessThanOrEqual(200);
        // A redelivery (another time, same bytes) is the same event.
        const again = await normaliseDelivery(
          await createDelivery({ body, pathType: type, scheme: signedAs, headers, receivedAt: new Date(0) }),
        );
        expect(again.event.id).toBe(event.id);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("hostile deliveries through the Worker", () => {
  /** Accepted events stay here instead of running through the consumer. */
  const held = () => recordingQueue({ send: async () => {}, sendBatch: async () => {} } as unknown as Queue<unknown>);

  async function post(path: string, headers: Headers, body: Uint8Array): Promise<number> {
    const response = await callWorker(new Request(`${BASE}${path}`, { method: "POST", headers, body }), {
      EVENTS_QUEUE: held(),
    });
    await response.body?.cancel();
    return response.status;
  }

  /** Raw path segments, percent signs and all, as an attacker would type them. */
  const rawSegment = fc.oneof(
    validType,
    fc.string({ maxLength: 60 }),
    fc
      .array(fc.oneof(fc.string({ maxLength: 3 }), fc.stringMatching(/^%[0-9A-Fa-f]{0,2}$/)), { maxLength: 12 })
      .map((parts) => parts.join("")),
  );

  function decodedOrRaw(segment: string): string {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  }

  it("a signed body on an arbitrary path gets 200 only for a MaintainX type name, else 4xx, never 5xx (300 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(rawSegment, async (segment) => {
        const url = new URL(`${BASE}/webhooks/maintainx/${segment.replace(/[#?]/g, "")}`);
        const body = utf8.encode(JSON.stringify({ workOrderId: 1, orgId: 1 }));
        const headers = new Headers({
          "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, nowSeconds()),
        });
        const status = await post(url.pathname, headers, body);
        const type = url.pathname.slice("/webhooks/maintainx/".length);
        // Only an UPPER_SNAKE MaintainX type: a dotted or lower-case path type is a 400.
        const valid = !type.includes("/") && MAINTAINX_TYPE_PATTERN.test(decodedOrRaw(type));
        if (valid) expect(status).toBe(200);
        else expect([400, 404]).toContain(status);
      }),
      { numRuns: 300 },
    );
  });

  it("oversize signature headers are refused with 4xx, never 5xx; MaintainX's format ignores any event-id header (100 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8 * 1024, max: 256 * 1024 }),
        fc.boolean(),
        fc.boolean(),
        async (size, signed, hugeId) => {
          const body = utf8.encode(JSON.stringify({ workOrderId: 2, orgId: 1 }));
          const t = nowSeconds();
          const real = await signMaintainX(SECRET, body, t);
          const filler = `,v0=${"a".repeat(64)}`.repeat(Math.ceil(size / 68));
          const headers = new Headers({
            "x-maintainx-webhook-body-signature": signed ? `${real}${filler}` : `t=${t}${filler}`,
          });
          if (hugeId) headers.set("x-maintainx-event-id", "e".repeat(size));
          const status = await post("/webhooks/maintainx/NEW_WORK_ORDER", headers, body);
          // MaintainX's format ignores the (unsigned) event-id header, however long.
          expect(status).toBe(signed ? 200 : 401);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("signed bodies of any shape, depth or encoding get 200 or 400, never 5xx (200 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(bodyBytes, async (body) => {
        const headers = new Headers({
          "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, nowSeconds()),
        });
        const status = await post("/webhooks/maintainx/NEW_WORK_ORDER", headers, body);
        expect(status).toBe(expectedStatus(body));
      }),
      { numRuns: 200 },
    );
  });

  /**
   * JSON text written the way a sender may write it, not the way JSON.stringify would: numbers in
   * exponent form (`9e20` parses and re-serialises to 21 digits), escaped characters, whitespace
   * between every token. What is queued and logged is the re-serialised form, so sizes must be
   * measured there; a generator built on JSON.stringify never produces these bodies.
   */
  const rawFormValue = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 15, max: 20 })).map(([m, e]) => `${m}e${e}`),
    fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 15, max: 20 })).map(([m, e]) => `-${m}E+${e}`),
    fc.integer({ min: 1, max: 40 }).map((n) => `"${"\\u00e9\\/\\n".repeat(n)}"`),
    fc.integer({ min: 1, max: 200 }).map((n) => `[${Array.from({ length: n }, () => "1e20").join(" , ")}]`),
  );
  const whitespace = fc.constantFrom("", " ", "\n\t ", "    \r\n");
  const rawFormBody = fc
    .tuple(fc.array(fc.tuple(rawFormValue, whitespace), { minLength: 200, maxLength: 2000 }), whitespace)
    .map(([entries, ws]) => {
      const members = entries.map(([value, gap], i) => `${gap}"r${i}"${gap}:${gap}${value}${gap}`);
      return utf8.encode(`{${ws}"workOrderId":${ws}7,"orgId":1,${members.join(",")}}`);
    });

  it("queues signed bodies in raw forms that re-serialise larger, through the real queue, never 503 (25 runs)", async () => {
    let claimChecked = 0;
    await fc.assert(
      fc.asyncProperty(rawFormBody, async (body) => {
        const headers = new Headers({
          "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, nowSeconds()),
        });
        // The real local queue, which refuses a message over 128 KB; the type has no handler.
        const queue = recordingQueue();
        const response = await callWorker(
          new Request(`${BASE}/webhooks/maintainx/NEW_VENDOR`, { method: "POST", headers, body }),
          { EVENTS_QUEUE: queue },
        );
        expect(response.status).toBe(200);
        const message = queue.sent[0] as EventMessage | undefined;
        if (message?.payloadKey) claimChecked += 1;
        else if (message) expect(utf8.encode(JSON.stringify(message)).byteLength).toBeLessThan(128 * 1024);
      }),
      { numRuns: 25 },
    );
    // The generator does reach the sizes that matter.
    expect(claimChecked).toBeGreaterThan(0);
  });

  it("answers 400, not 503, for a signed body nested 20,000 levels deep", async () => {
    for (const style of ["array", "object"] as const) {
      const body = utf8.encode(nested(20_000, style));
      const headers = new Headers({
        "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, nowSeconds()),
      });
      const response = await callWorker(
        new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, { method: "POST", headers, body }),
        { EVENTS_QUEUE: held() },
      );
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: `Body is nested more than ${MAX_JSON_DEPTH} levels deep` });
    }
  });

  it("accepts a huge but shallow signed body (60,000 keys, under 1 MiB) by claim check", async () => {
    const entries = Array.from({ length: 60_000 }, (_, i) => `"k${i}":${i}`).join(",");
    const body = utf8.encode(`{"workOrderId":3,"orgId":1,${entries}}`);
    expect(body.byteLength).toBeGreaterThan(800_000);
    expect(body.byteLength).toBeLessThanOrEqual(1_048_576);
    const queue = held();
    const headers = new Headers({
      "x-maintainx-webhook-body-signature": await signMaintainX(SECRET, body, nowSeconds()),
    });
    const response = await callWorker(
      new Request(`${BASE}/webhooks/maintainx/NEW_WORK_ORDER`, { method: "POST", headers, body }),
      { EVENTS_QUEUE: queue },
    );
    expect(response.status).toBe(200);
    expect(queue.sent[0]).toMatchObject({ payloadKey: expect.stringMatching(/^payload:/) });
  });

  it("the signed content is '<t>.' followed by the raw bytes, even when they are not UTF-8", () => {
    fc.assert(
      fc.property(invalidUtf8Json, fc.integer({ min: 0, max: 2 ** 40 }), (body, t) => {
        expect(maintainXSignedContent(String(t), body)).toEqual(new Uint8Array([...utf8.encode(`${t}.`), ...body]));
      }),
      { numRuns: RUNS },
    );
  });
});
