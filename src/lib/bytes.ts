// Small byte helpers shared by signature checks, ids and token comparison.

export const utf8 = new TextEncoder();

export function toHex(buffer: ArrayBuffer | Uint8Array): string {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `text` as UTF-8 followed by `bytes`: what is signed or hashed over a raw body. */
export function withTextPrefix(text: string, bytes: Uint8Array): Uint8Array {
  const prefix = utf8.encode(text);
  const out = new Uint8Array(prefix.byteLength + bytes.byteLength);
  out.set(prefix);
  out.set(bytes, prefix.byteLength);
  return out;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", data));
}
