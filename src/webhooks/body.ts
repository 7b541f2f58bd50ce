// Reads a request body with a hard size limit: first from Content-Length (before reading a
// byte), then while streaming, so a chunked upload cannot get past MAX_BODY_BYTES either.

import { PREFIX_HEADROOM_BYTES, withHeadroom } from "../lib/bytes";

export class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
  constructor() {
    super("Payload too large");
  }
}

/** The body's length as Content-Length declares it, when it is a plain decimal number; else null. */
export function declaredLength(headers: Headers): number | null {
  const declared = headers.get("content-length");
  return declared !== null && /^\d+$/.test(declared.trim()) ? Number(declared) : null;
}

/**
 * Up to this declared size a body is read whole, or, when a Transfer-Encoding says the length is
 * not what frames it, by the plain reader (a chunk or two, handed over as they are: in a workerd
 * profile, BYOB reads of a 2 KB body took longer than this).
 */
const SMALL_BODY_BYTES = 16 * 1024;
/** A body without Content-Length starts in a buffer this size, doubled as it grows. */
const INITIAL_CAPACITY = 16 * 1024;
/** At most this much is allocated on the word of Content-Length alone, before bytes arrive. */
const PREALLOCATE_LIMIT = 4 * 1024 * 1024;

/**
 * Reads the whole body into one buffer; past maxBytes it stops keeping bytes and throws. A caller
 * that has already read Content-Length (`declaredLength`, null for none) passes it, so the header
 * is read once.
 */
export async function readBodyWithLimit(
  request: Request,
  maxBytes: number,
  declared: number | null = declaredLength(request.headers),
): Promise<Uint8Array> {
  if (declared !== null && declared > maxBytes) throw new PayloadTooLargeError();
  // With Transfer-Encoding the body is not framed by Content-Length (workerd then reads every
  // chunk sent, whatever the declared length): it is read as it streams, against the limit. A
  // framed one is read whole, without making its stream (`request.body`).
  const small = declared !== null && declared <= SMALL_BODY_BYTES;
  if (small && !request.headers.has("transfer-encoding")) return readFramedSmallBody(request, maxBytes);
  const stream = request.body;
  if (stream === null) return new Uint8Array(0);
  if (small) return readChunks(stream.getReader(), maxBytes, declared);
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a body built from a JS ReadableStream): take its chunks as they come.
    return readChunks(stream.getReader(), maxBytes);
  }
  // One byte more than the limit allows is how a body over the limit shows.
  const capacity = Math.min(declared ?? INITIAL_CAPACITY, maxBytes, PREALLOCATE_LIMIT) + 1;
  return readIntoBuffer(stream, reader, capacity, maxBytes, declared);
}

/**
 * Reads straight into one buffer sized from Content-Length, growing it only if the body is longer,
 * with PREFIX_HEADROOM_BYTES free before the body so that "<t>." + body can be signed and
 * "<type>\n" + body hashed without copying it. A network body arrives in 4 KiB chunks: reading
 * them into one buffer costs about what `arrayBuffer()` does, where keeping and joining them costs
 * several times more.
 */
async function readIntoBuffer(
  stream: ReadableStream<Uint8Array>,
  reader: ReadableStreamBYOBReader,
  capacity: number,
  maxBytes: number,
  declared: number | null,
): Promise<Uint8Array> {
  const start = PREFIX_HEADROOM_BYTES;
  let buffer = new ArrayBuffer(start + capacity);
  let length = 0;
  for (;;) {
    if (start + length === buffer.byteLength) {
      const grown = new ArrayBuffer(start + Math.min((buffer.byteLength - start) * 2, maxBytes + 1));
      new Uint8Array(grown).set(new Uint8Array(buffer, start, length), start);
      buffer = grown;
    }
    const free = buffer.byteLength - start - length;
    const { done, value } = await reader.read(new Uint8Array(buffer, start + length, free));
    // A read hands the buffer back as a new one (the old is detached), also the final one.
    if (value) buffer = value.buffer as ArrayBuffer;
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      reader.releaseLock();
      await drainReader(stream.getReader(), length);
      throw new PayloadTooLargeError();
    }
    if (length === declared) break;
  }
  return withHeadroom(buffer, length);
}

/**
 * A small body framed by its Content-Length alone, read whole by the runtime: HTTP delivers exactly
 * the declared bytes (at most SMALL_BODY_BYTES, checked against the limit before this), and one
 * `arrayBuffer()` costs less than reading its chunks through a reader. Copied once, with room
 * before it for the prefixes.
 */
async function readFramedSmallBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError();
  const body = withHeadroom(new ArrayBuffer(PREFIX_HEADROOM_BYTES + bytes.byteLength), bytes.byteLength);
  body.set(bytes);
  return body;
}

/**
 * Takes the chunks as they come. With a declared length, it stops once that many bytes came: HTTP
 * frames the body by Content-Length, so nothing can follow, and the read that would only say so
 * is skipped (a turn of the runtime's event loop per delivery). Never more than maxBytes are kept.
 */
async function readChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
  declared: number | null = null,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await drainReader(reader, total);
      throw new PayloadTooLargeError();
    }
    chunks.push(value);
    if (total === declared) break;
  }
  // Copied once, with room before it: signing and hashing then prepend in place (two copies less).
  const body = withHeadroom(new ArrayBuffer(PREFIX_HEADROOM_BYTES + total), total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Past this much, an unread body is cancelled rather than read to its end. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Disposes of a body the Worker will not use, before an early answer (401, 413, 503). Bodies up
 * to DRAIN_LIMIT_BYTES are read to the end and dropped: cancelling mid-stream makes the local dev
 * proxy fail the next request on the connection ("worker restarted mid-request"), and a sender
 * that finishes its upload reads the status instead of a reset. Larger bodies are cancelled, so
 * an endless upload costs nothing more.
 */
export async function discardBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed || request.body.locked) return;
  await drainReader(request.body.getReader(), 0);
}

async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
  let read = alreadyRead;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DRAIN_LIMIT_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // A broken upload needs nothing more: the answer is already decided.
  }
}
