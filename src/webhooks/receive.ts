// POST /webhooks/maintainx[/:type]: verify, normalise, dedupe, enqueue, answer.
// Order of work: cheap checks first (secret configured, declared size, header presence, timestamp),
// then HMAC over the raw bytes, then parsing. Nothing here waits for a handler.

import type { Context } from "hono";
import { type Config, readConfig } from "../config";
import { EVENT_TYPE_PATTERN } from "../events/canonical";
import { EnqueueError, ingestEvent } from "../ingest/enqueue";
import { httpError } from "../lib/http-error";
import { describeError, log } from "../lib/log";
import { LOCAL_DEV_WEBHOOK_SECRET } from "../local-dev";
import { wasSeen } from "../store/dedupe";
import { recordAccepted } from "../store/event-log";
import { declaredLengthExceeds, discardBody, PayloadTooLargeError, readBodyWithLimit } from "./body";
import { contentEventId, EVENT_ID_HEADER, InvalidDeliveryError, normaliseDelivery } from "../ingest/normalise";
import { checkTimestamp, readSignatureHeaders, SignatureError, verifyDelivery } from "./signature";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The secrets a delivery may be signed with. The local development default is honoured only for
 * requests addressed to a loopback host, so it can never open a deployed Worker.
 */
export function usableSecrets(config: Config, url: string): string[] {
  if (!config.webhookSecrets.includes(LOCAL_DEV_WEBHOOK_SECRET)) return config.webhookSecrets;
  if (LOOPBACK_HOSTS.has(new URL(url).hostname)) return config.webhookSecrets;
  return config.webhookSecrets.filter((s) => s !== LOCAL_DEV_WEBHOOK_SECRET);
}

export async function receiveWebhook(c: Context<{ Bindings: Env }>): Promise<Response> {
  const request = c.req.raw;
  const config = readConfig(c.env);
  const receivedAt = new Date();

  const secrets = usableSecrets(config, request.url);
  if (secrets.length === 0) {
    await discardBody(request);
    log.error("Webhook refused: MAINTAINX_WEBHOOK_SECRET is not set");
    throw httpError(503, "Webhook secret not configured");
  }

  let body: Uint8Array;
  try {
    if (declaredLengthExceeds(request.headers, config.maxBodyBytes)) throw new PayloadTooLargeError();
    const delivery = readSignatureHeaders(request.headers);
    if (delivery.scheme === "maintainx") {
      checkTimestamp(delivery.timestamp, receivedAt.getTime(), config.signatureToleranceSeconds);
    }
    body = await readBodyWithLimit(request, config.maxBodyBytes);
    if (!(await verifyDelivery(delivery, body, secrets))) throw new SignatureError("invalid");
  } catch (error) {
    await discardBody(request);
    if (error instanceof PayloadTooLargeError) throw httpError(413, "Payload too large");
    if (error instanceof SignatureError) {
      log.warn("Webhook refused", { reason: error.reason });
      throw httpError(401, error.message);
    }
    throw error;
  }

  // A duplicate is answered before the body is parsed: parsing costs 6–10 ms of CPU per MiB in
  // workerd against 1–2 ms for the hash (`npm run bench`), and a duplicate needs none of it.
  // Without x-maintainx-event-id the id is the hash of "<type>\n<body>", with the path's type
  // unless the body names its own (`event`). A stored id for the path's type can only have come
  // from this same body under this same type, which parses to this same id: the answer is the
  // one the full path would give. Every other delivery is parsed first, as before.
  const pathType = c.req.param("type");
  // Normalisation reuses this id instead of hashing the body a second time.
  const early =
    pathType !== undefined && EVENT_TYPE_PATTERN.test(pathType) && !request.headers.has(EVENT_ID_HEADER)
      ? { sourceType: pathType, id: await contentEventId(pathType, body) }
      : undefined;
  if (early !== undefined && (await wasSeen(c.env.IDEMPOTENCY, early.id))) {
    return c.json({ status: "already_processed", eventId: early.id }, 200);
  }

  let normalised: Awaited<ReturnType<typeof normaliseDelivery>>;
  try {
    normalised = await normaliseDelivery({
      body,
      pathType,
      headers: request.headers,
      receivedAt,
      knownContentId: early,
    });
  } catch (error) {
    if (error instanceof InvalidDeliveryError) throw httpError(400, error.message);
    throw error;
  }
  const { event } = normalised;

  let status: Awaited<ReturnType<typeof ingestEvent>>;
  try {
    status = await ingestEvent(c.env, event, {
      dedupeTtlSeconds: config.dedupeTtlSeconds,
      rawData: { bytes: body, ...(normalised.dataIsWholeBody ? {} : { field: "data" }) },
      seenChecked: event.id === early?.id,
    });
  } catch (error) {
    if (error instanceof EnqueueError) {
      throw httpError(503, "Event could not be queued; retry the delivery");
    }
    throw error;
  }

  if (status === "accepted") {
    log.info("Webhook accepted", { eventId: event.id, type: event.type, sourceType: event.sourceType });
    // The event log row is for operators; the consumer writes it too, so this may fail quietly.
    c.executionCtx.waitUntil(
      recordAccepted(c.env.DB, event).catch((error: unknown) =>
        log.warn("Event log write deferred to the consumer", { eventId: event.id, error: describeError(error) }),
      ),
    );
  }
  return c.json({ status, eventId: event.id }, 200);
}
