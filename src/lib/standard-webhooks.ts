// Signing per Standard Webhooks (standardwebhooks.com), the scheme Svix, n8n and many receiving
// libraries verify: `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
// keyed by the bytes of a `whsec_<base64>` secret.

import { utf8 } from "./bytes";

const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The key bytes of `whsec_<base64>` (the prefix may be left out, as receiving libraries allow);
 * undefined when it is not that. Padding is required: receiving libraries refuse base64 without it.
 */
export function parseStandardWebhooksSecret(text: string): Uint8Array | undefined {
  const encoded = text.startsWith(SECRET_PREFIX) ? text.slice(SECRET_PREFIX.length) : text;
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return undefined;
  try {
    const binary = atob(encoded);
    if (binary.length === 0) return undefined;
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number);
  return btoa(binary);
}

interface StandardWebhooksHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The three headers of a delivery of `body` under `id`, signed at `timestampSeconds`. */
export async function signStandardWebhook(
  key: Uint8Array,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<StandardWebhooksHeaders> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const timestamp = String(Math.floor(timestampSeconds));
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, utf8.encode(`${id}.${timestamp}.${body}`));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${toBase64(new Uint8Array(mac))}`,
  };
}
