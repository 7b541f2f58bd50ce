// POST /webhooks/maintainx[/:type]: verify the delivery, hand it to ingest, answer. Cheap checks
// first (secret configured, declared size, signature header, timestamp), then the HMAC over the
// raw bytes; parsing happens in ingest. Nothing here waits for a handler.

import type { Context } from "hono";
import { type Config, readConfig } from "../config";
import { acceptDelivery } from "../ingest/accept-delivery";
import { createDelivery } from "../ingest/delivery";
import { InvalidDeliveryError } from "../ingest/normalise";
import { EnqueueError } from "../ingest/send";
import { httpError } from "../lib/http-error";
import { log } from "../lib/log";
import { isLocalRequest, LOCAL_DEV_WEBHOOK_SECRET } from "../local-dev";
import { declaredLength, discardBody, PayloadTooLargeError, readBodyWithLimit } from "./body";
import { checkTimestamp, readSignatureHeaders, SignatureError, verifyDelivery } from "./signature";

/**
 * The secrets a delivery to this path may be signed with (undefined when none is configured): the
 * unbound ones, those bound to its type (a delivery cannot be re-posted to another type's path), and
 * the local default only when it is set and the request was made on this machine (`isLocalRequest`).
 */
function usableSecrets(config: Config, request: Request, pathType: string | undefined): string[] | undefined {
  const local = config.webhookSecrets.some((s) => s.secret === LOCAL_DEV_WEBHOOK_SECRET) && isLocalRequest(request);
  const configured = config.webhookSecrets.filter((s) => local || s.secret !== LOCAL_DEV_WEBHOOK_SECRET);
  if (configured.length === 0) return undefined;
  return configured.filter((s) => s.type === undefined || s.type === pathType).map((s) => s.secret);
}

/** Refusals are thrown as `httpError`s; `waitUntil` is called only for an accepted event. */
export async function receiveWebhook(c: Context<{ Bindings: Env }>): Promise<Response> {
  const request = c.req.raw;
  const pathType = c.req.param("type");
  const config = readConfig(c.env);
  const receivedAt = new Date();
  const secrets = usableSecrets(config, request, pathType);
  if (secrets === undefined) {
    await discardBody(request);
    log.error("Webhook refused: MAINTAINX_WEBHOOK_SECRET is not set");
    throw httpError(503, "Webhook secret not configured");
  }
  let body: Uint8Array;
  let signed: ReturnType<typeof readSignatureHeaders>;
  try {
    const declared = declaredLength(request.headers);
    if (declared !== null && declared > config.maxBodyBytes) throw new PayloadTooLargeError();
    signed = readSignatureHeaders(request.headers);
    if (signed.scheme === "maintainx") {
      checkTimestamp(signed.timestamp, receivedAt.getTime(), config.signatureToleranceSeconds);
    }
    body = await readBodyWithLimit(request, config.maxBodyBytes);
    if (!(await verifyDelivery(signed, body, secrets))) throw new SignatureError("invalid");
  } catch (error) {
    await discardBody(request);
    if (error instanceof PayloadTooLargeError) throw httpError(413, "Payload too large");
    if (!(error instanceof SignatureError)) throw error;
    log.warn("Webhook refused", { reason: error.reason });
    throw httpError(401, error.message);
  }
  const { headers } = request;
  const delivery = await createDelivery({ body, pathType, scheme: signed.scheme, headers, receivedAt });
  try {
    return Response.json(await acceptDelivery(c.env, delivery, (work) => c.executionCtx.waitUntil(work)));
  } catch (error) {
    if (error instanceof InvalidDeliveryError) throw httpError(400, error.message);
    if (error instanceof EnqueueError) throw httpError(503, "Event could not be queued; retry the delivery");
    throw error;
  }
}
