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

/** Reads the whole body into one buffer, cancelling the stream as soon as it passes maxBytes. */
export async function readBodyWithLimit(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (declaredLengthExceeds(request.headers, maxBytes)) {
    await discardBody(request);
    throw new PayloadTooLargeError();
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
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

/** Early answers cancel the unread body so the runtime does not wait on (or buffer) it. */
export async function discardBody(request: Request): Promise<void> {
  if (request.body && !request.bodyUsed) await request.body.cancel().catch(() => {});
}
