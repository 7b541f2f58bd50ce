// Reads a request body with a hard size limit: first from Content-Length (before reading a
// byte), then while streaming, so a chunked upload cannot get past MAX_BODY_BYTES either.

export class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
  constructor() {
    super("Payload too large");
  }
}

/** True when Content-Length alone already says the body is over the limit. */
export function declaredLengthExceeds(headers: Headers, maxBytes: number): boolean {
  const declared = headers.get("content-length");
  if (declared === null || !/^\d+$/.test(declared.trim())) return false;
  return Number(declared) > maxBytes;
}

/** Reads the whole body into one buffer; past maxBytes it stops keeping bytes and throws. */
export async function readBodyWithLimit(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (declaredLengthExceeds(request.headers, maxBytes)) throw new PayloadTooLargeError();
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await drain(reader, total);
      throw new PayloadTooLargeError();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(total);
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
  await drain(request.body.getReader(), 0);
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
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
