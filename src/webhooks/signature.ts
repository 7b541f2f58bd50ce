// Signature schemes, checked over the raw request bytes with WebCrypto. MaintainX's:
// `x-maintainx-webhook-body-signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
// The seed format (the earlier integration guide): `x-maintainx-signature: [sha256=]<hex HMAC>`.

import { toHex, utf8, withTextPrefix } from "../lib/bytes";

export const MAINTAINX_SIGNATURE_HEADER = "x-maintainx-webhook-body-signature";
export const SEED_SIGNATURE_HEADER = "x-maintainx-signature";

/** At most this many `v1=` values are tried, so one header cannot buy unbounded HMAC work. */
const MAX_SIGNATURES = 8;

const ANSWERS = {
  missing: "Missing signature header",
  timestamp: "Signature timestamp outside tolerance",
  invalid: "Invalid signature",
};

/** A delivery whose signature could not be accepted; `reason` picks the 401 answer. */
export class SignatureError extends Error {
  override readonly name = "SignatureError";
  constructor(readonly reason: keyof typeof ANSWERS) {
    super(ANSWERS[reason]);
  }
}

type SignedDelivery =
  | { scheme: "maintainx"; timestamp: string; signatures: Uint8Array[] }
  | { scheme: "seed"; signatures: Uint8Array[] };

/** A 32-byte HMAC-SHA256 from 64 hex digits, else undefined: anything else can never match. */
function digest(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/**
 * Parses `t=<digits>,v1=<hex>[,v1=<hex>...]`. Unknown keys are ignored; `v1` values that are not
 * 32 bytes of hex are dropped. Undefined when there is no usable `t` or `v1`.
 */
export function parseMaintainXSignature(value: string): { timestamp: string; signatures: Uint8Array[] } | undefined {
  let timestamp: string | undefined;
  const signatures: Uint8Array[] = [];
  for (const part of value.split(",")) {
    const [, key, val = ""] = /^\s*(t|v1)\s*=\s*(.*?)\s*$/.exec(part) ?? [];
    if (key === "t") {
      if (timestamp !== undefined || !/^\d{1,16}$/.test(val)) return undefined;
      timestamp = val;
    } else if (key === "v1" && signatures.length < MAX_SIGNATURES) {
      const bytes = digest(val);
      if (bytes) signatures.push(bytes);
    }
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

/** Parses the seed header: one hex digest, optionally prefixed `sha256=`. */
export function parseSeedSignature(value: string): Uint8Array[] | undefined {
  const bytes = digest(value.trim().replace(/^sha256=/i, ""));
  return bytes ? [bytes] : undefined;
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
  if (seed === null) throw new SignatureError("missing");
  const signatures = parseSeedSignature(seed);
  if (!signatures) throw new SignatureError("invalid");
  return { scheme: "seed", signatures };
}

/** Replay protection: `t` must lie within the tolerance, in the past or the future. */
export function checkTimestamp(timestamp: string, nowMs: number, toleranceSeconds: number): void {
  const raw = Number(timestamp);
  const seconds = raw >= 1e12 ? raw / 1000 : raw; // milliseconds: the unit is undocumented
  if (Math.abs(nowMs / 1000 - seconds) > toleranceSeconds) throw new SignatureError("timestamp");
}

// Keys cached per isolate (importKey costs more than a small body's HMAC); secrets come from configuration.
const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const algorithm = { name: "HMAC", hash: "SHA-256" };
    key = crypto.subtle.importKey("raw", utf8.encode(secret), algorithm, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/** The exact bytes MaintainX signs: "<t>." followed by the raw body. */
export function maintainXSignedContent(timestamp: string, body: Uint8Array): Uint8Array {
  return withTextPrefix(`${timestamp}.`, body);
}

/**
 * True when any signature matches any configured secret (several secrets allow rotation). One
 * HMAC per secret, however many `v1` values the header carries: a forged 1 MiB delivery must not
 * buy MAX_SIGNATURES HMACs per secret. Both `verify` and `timingSafeEqual` compare in constant time.
 */
export async function verifyDelivery(delivery: SignedDelivery, body: Uint8Array, secrets: string[]): Promise<boolean> {
  const { signatures } = delivery;
  const content = delivery.scheme === "maintainx" ? maintainXSignedContent(delivery.timestamp, body) : body;
  for (const secret of secrets) {
    const key = await hmacKey(secret);
    if (signatures.length === 1) {
      if (await crypto.subtle.verify("HMAC", key, signatures[0] as Uint8Array, content)) return true;
    } else {
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
      if (signatures.some((signature) => crypto.subtle.timingSafeEqual(mac, signature))) return true;
    }
  }
  return false;
}

// Signing, for test fixtures and `npm run cli -- send`: HMAC-SHA256 as lower-case hex, and the
// header values MaintainX (at `timestamp`, in seconds) or the seed format would send.
export async function hmacHex(secret: string, content: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await hmacKey(secret), content));
}
const bytesOf = (body: Uint8Array | string) => (typeof body === "string" ? utf8.encode(body) : body);
export async function signMaintainX(secret: string, body: Uint8Array | string, timestamp: number): Promise<string> {
  return `t=${timestamp},v1=${await hmacHex(secret, maintainXSignedContent(String(timestamp), bytesOf(body)))}`;
}
export const signSeed = (secret: string, body: Uint8Array | string) => hmacHex(secret, bytesOf(body));
