// POST /webhooks/maintainx[/:type]: verify the delivery, hand it to ingest, answer.
// Order of work: cheap checks first (secret configured, declared size, header presence, timestamp),
// then HMAC over the raw bytes; parsing happens in ingest. Nothing here waits for a handler.

import { type Config, readConfig } from "../config";
import { acceptDelivery } from "../ingest/accept-delivery";
import { createDelivery, type Delivery } from "../ingest/delivery";
import { InvalidDeliveryError } from "../ingest/normalise";
import { EnqueueError } from "../ingest/send";
import { httpError } from "../lib/http-error";
import { log } from "../lib/log";
import { isLoopbackUrl, LOCAL_DEV_WEBHOOK_SECRET } from "../local-dev";
import { declaredLength, discardBody, PayloadTooLargeError, readBodyWithLimit } from "./body";
import { checkTimestamp, readSignatureHeaders, SignatureError, verifyDelivery } from "./signature";

/**
 * The secrets a delivery to this path may be signed with: the unbound ones, and on a typed path
 * those bound to its type (a secret bound to another type never verifies it, so a delivery
 * captured on one type's path cannot be re-posted to another's). The local development default is
 * honoured only for requests addressed to a loopback host, so it can never open a deployed Worker.
 */
function usableSecrets(config: Config, request: Request, pathType: string | undefined): string[] | undefined {
  let configured = config.webhookSecrets;
  if (configured.some((s) => s.secret === LOCAL_DEV_WEBHOOK_SECRET) && !isLoopbackUrl(request.url)) {
    configured = configured.filter((s) => s.secret !== LOCAL_DEV_WEBHOOK_SECRET);
  }
  if (configured.length === 0) return undefined;
  return configured.filter((s) => s.type === undefined || s.type === pathType).map((s) => s.secret);
}

const JSON_ANSWER: ResponseInit = { headers: { "content-type": "application/json" } };

/**
 * The 200 answer, `{"status":…,"eventId":…}`, as `c.json` writes it, built directly: every delivery
 * gets one, and Hono's response assembly would add to each.
 */
function acceptAnswer(status: string, eventId: string): Response {
  return new Response(`{"status":"${status}","eventId":${JSON.stringify(eventId)}}`, JSON_ANSWER);
}

/**
 * A POSTed delivery, `pathType` being the path's `<TYPE>` segment, if any. `defer` is the runtime's
 * `waitUntil`, called only for an accepted event. Refusals are thrown as `httpError`s, whose
 * answers the caller sends (`answerError` in app.ts).
 */
export async function receiveWebhook(
  request: Request,
  env: Env,
  defer: (work: Promise<unknown>) => void,
  pathType: string | undefined,
): Promise<Response> {
  const config = readConfig(env);
  const receivedAt = new Date();

  const secrets = usableSecrets(config, request, pathType);
  if (secrets === undefined) {
    await discardBody(request);
    log.error("Webhook refused: MAINTAINX_WEBHOOK_SECRET is not set");
    throw httpError(503, "Webhook secret not configured");
  }

  let body: Uint8Array;
  let scheme: Delivery["scheme"];
  try {
    const declared = declaredLength(request.headers);
    if (declared !== null && declared > config.maxBodyBytes) throw new PayloadTooLargeError();
    const signed = readSignatureHeaders(request.headers);
    scheme = signed.scheme;
    if (signed.scheme === "maintainx") {
      checkTimestamp(signed.timestamp, receivedAt.getTime(), config.signatureToleranceSeconds);
    }
    body = await readBodyWithLimit(request, config.maxBodyBytes, declared);
    if (!(await verifyDelivery(signed, body, secrets))) throw new SignatureError("invalid");
  } catch (error) {
    await discardBody(request);
    if (error instanceof PayloadTooLargeError) throw httpError(413, "Payload too large");
    if (error instanceof SignatureError) {
      log.warn("Webhook refused", { reason: error.reason });
      throw httpError(401, error.message);
    }
    throw error;
  }

  const delivery = await createDelivery({ body, pathType, scheme, headers: request.headers, receivedAt });
  try {
    const { status, eventId } = await acceptDelivery(env, delivery, defer);
    return acceptAnswer(status, eventId);
  } catch (error) {
    if (error instanceof InvalidDeliveryError) throw httpError(400, error.message);
    if (error instanceof EnqueueError) throw httpError(503, "Event could not be queued; retry the delivery");
    throw error;
  }
}
