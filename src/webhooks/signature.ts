// Signature schemes for MaintainX deliveries, checked over the raw request bytes with WebCrypto.
//
// MaintainX: `x-maintainx-webhook-body-signature: t=<unix time>,v1=<hex>`, the hex being
// HMAC-SHA256 of "<t>.<raw body>" (MaintainX: "the signed content is `<timestamp>.<payload>`"). Seed format (the earlier
// integration guide): `x-maintainx-signature: [sha256=]<hex HMAC-SHA256 of the raw body>`.

import { fromHex, subtle, toHex, utf8, withTextPrefix } from "../lib/bytes";

export const MAINTAINX_SIGNATURE_HEADER = "x-maintainx-webhook-body-signature";
export const SEED_SIGNATURE_HEADER = "x-maintainx-signature";

/** At most this many `v1=` values are tried, so one header cannot buy unbounded HMAC work. */
const MAX_SIGNATURES = 8;
/** A `t` at or above this is milliseconds (the unit is undocumented; community code does the same). */
const MILLISECONDS_THRESHOLD = 1e12;
const HMAC_SHA256_BYTES = 32;

type SignatureFailure = "missing" | "timestamp" | "invalid";

/** A delivery whose signature could not be accepted; `reason` picks the 401 answer. */
export class SignatureError extends Error {
  override readonly name = "SignatureError";
  constructor(readonly reason: SignatureFailure) {
    super(
      reason === "missing"
        ? "Missing signature header"
        : reason === "timestamp"
          ? "Signature timestamp outside tolerance"
          : "Invalid signature",
    );
  }
}

type SignedDelivery =
  | { scheme: "maintainx"; timestamp: string; signatures: Uint8Array[] }
  | { scheme: "seed"; signatures: Uint8Array[] };

/** The header exactly as MaintainX writes it, one `v1`: read by one match instead of the general loop. */
const EXACT_MAINTAINX_SIGNATURE = /^t=(\d{1,16}),v1=([0-9a-fA-F]{64})$/;

/**
 * Parses `t=<digits>,v1=<hex>[,v1=<hex>...]`. Unknown keys are ignored; `v1` values that are not
 * 32 bytes of hex can never match and are dropped. Undefined when there is no usable `t` or `v1`.
 */
export function parseMaintainXSignature(value: string): { timestamp: string; signatures: Uint8Array[] } | undefined {
  const exact = EXACT_MAINTAINX_SIGNATURE.exec(value);
  if (exact) {
    const bytes = fromHex(exact[2] as string);
    if (bytes) return { timestamp: exact[1] as string, signatures: [bytes] };
  }
  let timestamp: string | undefined;
  const signatures: Uint8Array[] = [];
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === "t") {
      if (timestamp !== undefined || !/^\d{1,16}$/.test(val)) return undefined;
      timestamp = val;
    } else if (key === "v1" && signatures.length < MAX_SIGNATURES) {
      const bytes = fromHex(val);
      if (bytes?.length === HMAC_SHA256_BYTES) signatures.push(bytes);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/** Parses the seed header: one hex digest, optionally prefixed `sha256=`. */
export function parseSeedSignature(value: string): Uint8Array[] | undefined {
  const hex = value.trim().replace(/^sha256=/i, "");
  const bytes = fromHex(hex);
  return bytes?.length === HMAC_SHA256_BYTES ? [bytes] : undefined;
}

/**
 * Reads the signature headers without touching the body (cheap checks run before any crypto).
 * When both schemes are present the MaintainX one wins: it is what MaintainX really sends.
 */
export function readSignatureHeaders(headers: Headers): SignedDelivery {
  const maintainx = headers.get(MAINTAINX_SIGNATURE_HEADER);
  if (maintainx !== null) {
    const parsed = parseMaintainXSignature(maintainx);
    if (!parsed) throw new SignatureError("invalid");
    return { scheme: "maintainx", ...parsed };
  }
  const seed = headers.get(SEED_SIGNATURE_HEADER);
  if (seed !== null) {
    const signatures = parseSeedSignature(seed);
    if (!signatures) throw new SignatureError("invalid");
    return { scheme: "seed", signatures };
  }
  throw new SignatureError("missing");
}

/** Replay protection: `t` must lie within the tolerance, in the past or the future. */
export function checkTimestamp(timestamp: string, nowMs: number, toleranceSeconds: number): void {
  const raw = Number(timestamp);
  const seconds = raw >= MILLISECONDS_THRESHOLD ? raw / 1000 : raw;
  if (Math.abs(nowMs / 1000 - seconds) > toleranceSeconds) throw new SignatureError("timestamp");
}

// Imported keys are cached per isolate: importKey costs more than HMAC over a small body. A key
// is kept as the CryptoKey once imported, so a delivery verified with it waits for no promise.
const keyCache = new Map<string, CryptoKey | Promise<CryptoKey>>();
const KEY_CACHE_LIMIT = 64;

function hmacKey(secret: string): CryptoKey | Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached) return cached;
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  const imported = subtle
    .importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])
    .then((key) => {
      if (keyCache.get(secret) === imported) keyCache.set(secret, key);
      return key;
    });
  // A failed import is not kept: the next delivery tries again.
  imported.catch(() => {
    if (keyCache.get(secret) === imported) keyCache.delete(secret);
  });
  keyCache.set(secret, imported);
  return imported;
}

/** The exact bytes MaintainX signs: "<t>." followed by the raw body. */
export function maintainXSignedContent(timestamp: string, body: Uint8Array): Uint8Array {
  return withTextPrefix(`${timestamp}.`, body);
}

/**
 * True when any signature matches any configured secret (several secrets allow rotation).
 * One HMAC per secret, however many `v1` values the header carries: a forged 1 MiB delivery must
 * not buy MAX_SIGNATURES HMACs per secret. `timingSafeEqual` compares in constant time, unlike
 * `===` on hex strings.
 */
export async function verifyDelivery(delivery: SignedDelivery, body: Uint8Array, secrets: string[]): Promise<boolean> {
  const { signatures } = delivery;
  for (const secret of secrets) {
    const cached = hmacKey(secret);
    const key = "then" in cached ? await cached : cached;
    // Built right before the call that reads it: the prefix may live in the body's spare room.
    const content = delivery.scheme === "maintainx" ? maintainXSignedContent(delivery.timestamp, body) : body;
    // One signature (what MaintainX sends): the runtime computes and compares it in one call,
    // in constant time (workerd compares with BoringSSL's CRYPTO_memcmp).
    const [only] = signatures;
    if (signatures.length === 1 && only) {
      if (await subtle.verify("HMAC", key, only, content)) return true;
      continue;
    }
    const mac = new Uint8Array(await subtle.sign("HMAC", key, content));
    for (const signature of signatures) {
      if (signature.byteLength === mac.byteLength && subtle.timingSafeEqual(mac, signature)) return true;
    }
  }
  return false;
}

/** HMAC-SHA256 as lower-case hex; used to sign test fixtures and by `npm run cli -- send`. */
export async function hmacHex(secret: string, content: Uint8Array): Promise<string> {
  return toHex(await subtle.sign("HMAC", await hmacKey(secret), content));
}

/** The header value MaintainX would send for this body at this time (seconds). */
export async function signMaintainX(secret: string, body: Uint8Array | string, timestamp: number): Promise<string> {
  const bytes = typeof body === "string" ? utf8.encode(body) : body;
  const t = String(timestamp);
  return `t=${t},v1=${await hmacHex(secret, maintainXSignedContent(t, bytes))}`;
}

/** The seed-format header value for this body. */
export async function signSeed(secret: string, body: Uint8Array | string): Promise<string> {
  return hmacHex(secret, typeof body === "string" ? utf8.encode(body) : body);
}
