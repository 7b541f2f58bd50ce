// Small byte helpers shared by signature checks and id derivation.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(buffer: ArrayBuffer | Uint8Array): string {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] as number];
  return out;
}

/** A hex digit's value by its character code; -1 for every other character. */
const HEX_VALUE = Int8Array.from({ length: 128 }, (_, c) =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1,
);

/** Decodes lower- or upper-case hex; undefined for anything that is not whole bytes of hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    // A code above 127 reads as undefined, which fails the check like -1.
    const high = HEX_VALUE[hex.charCodeAt(i * 2)] as number;
    const low = HEX_VALUE[hex.charCodeAt(i * 2 + 1)] as number;
    if (!(high >= 0 && low >= 0)) return undefined;
    out[i] = (high << 4) | low;
  }
  return out;
}

export const utf8 = new TextEncoder();

/** Read once: each `crypto.subtle` is a property read through the runtime. */
export const subtle = crypto.subtle;

/**
 * Byte views whose buffer has spare room before them that no one else reads (see `withHeadroom`):
 * `withTextPrefix` writes its prefix there instead of copying the bytes.
 */
const roomBefore = new WeakSet<Uint8Array>();

/** At least this much room is left before bytes made by `withHeadroom`: a prefix this long fits. */
export const PREFIX_HEADROOM_BYTES = 128;

/**
 * A view of `length` bytes at offset PREFIX_HEADROOM_BYTES of `buffer`, whose first
 * PREFIX_HEADROOM_BYTES bytes the caller hands over for prefixes. Signing or hashing
 * "<prefix>" + a 1 MiB body then costs no copy of the body (two copies and two zeroed 1 MiB
 * buffers per delivery before).
 */
export function withHeadroom(buffer: ArrayBuffer, length: number): Uint8Array {
  const view = new Uint8Array(buffer, PREFIX_HEADROOM_BYTES, length);
  roomBefore.add(view);
  return view;
}

/**
 * `text` as UTF-8 followed by `bytes` (what is hashed or signed over a raw body). Written into the
 * room before `bytes` when it has some (`withHeadroom`), else into one new buffer. The result must
 * be used at once, before the next prefix is written: WebCrypto copies its input when called.
 */
export function withTextPrefix(text: string, bytes: Uint8Array): Uint8Array {
  if (roomBefore.has(bytes) && text.length <= bytes.byteOffset && isAscii(text)) {
    // ASCII is its own UTF-8 (every prefix here is: a timestamp, a type name): written in place,
    // without encoding it into a buffer of its own first.
    const start = bytes.byteOffset - text.length;
    const out = new Uint8Array(bytes.buffer, start, text.length + bytes.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const prefix = utf8.encode(text);
  if (roomBefore.has(bytes) && prefix.length <= bytes.byteOffset) {
    const start = bytes.byteOffset - prefix.length;
    const out = new Uint8Array(bytes.buffer, start, prefix.length + bytes.length);
    out.set(prefix, 0);
    return out;
  }
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix, 0);
  out.set(bytes, prefix.length);
  return out;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The UTF-8 size of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export function sha256Hex(data: Uint8Array): Promise<string> {
  return subtle.digest("SHA-256", data).then(toHex);
}

/** Constant-time comparison of two strings (bearer tokens). */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  // Hashing both sides first makes the comparison length-independent; timingSafeEqual then
  // compares fixed 32-byte digests in constant time.
  const [da, db] = await Promise.all([
    subtle.digest("SHA-256", utf8.encode(a)),
    subtle.digest("SHA-256", utf8.encode(b)),
  ]);
  return subtle.timingSafeEqual(da, db);
}
