// The MaintainX REST client: Bearer auth, optional x-organization-id, a deadline on every call,
// schema-checked answers, and errors that say whether retrying can help.

import type { z } from "zod";
import type { Config } from "../config";
import { log } from "../lib/log";
import {
  ensureOk,
  type FetchLike,
  fetchWithDeadline,
  PermanentError,
  parseRetryAfter,
  TransientError,
} from "../lib/outbound";
import {
  type Asset,
  GetAssetAnswer,
  GetPurchaseOrderAnswer,
  GetWorkOrderAnswer,
  ListWorkOrdersAnswer,
  type PurchaseOrder,
  type WorkOrder,
  type WorkOrderPage,
} from "./schemas";

/** MaintainX's 429 body says "retry in 10 seconds" when no header says otherwise. */
const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 10;
/**
 * No rate-limit wait is longer than this: an `X-Rate-Limit-Reset` sent as an epoch time rather
 * than seconds left (1.7e9) would otherwise pause polling for decades.
 */
const MAX_RATE_LIMIT_WAIT_SECONDS = 3600;

function cappedWait(seconds: number, header: string): number {
  if (seconds <= MAX_RATE_LIMIT_WAIT_SECONDS) return seconds;
  log.warn("MaintainX rate-limit wait capped", {
    header,
    askedSeconds: seconds,
    usedSeconds: MAX_RATE_LIMIT_WAIT_SECONDS,
  });
  return MAX_RATE_LIMIT_WAIT_SECONDS;
}

/** 429 from MaintainX; `retryAfterSeconds` is the later of Retry-After and X-Rate-Limit-Reset. */
export class RateLimitedError extends TransientError {
  constructor(retryAfterSeconds: number) {
    super(`MaintainX API: rate limited for ${retryAfterSeconds} s`, retryAfterSeconds);
  }
}

interface MaintainXClientOptions {
  apiBase: string;
  apiKey: string;
  organizationId?: string | undefined;
  timeoutMs: number;
  fetch?: FetchLike;
}

interface RateLimit {
  remaining?: number;
  /** Seconds until the window resets (MaintainX's X-Rate-Limit-Reset). */
  resetSeconds?: number;
}

interface ListWorkOrdersParams {
  updatedSince: string;
  limit: number;
  cursor?: string | undefined;
}

export interface MaintainXClient {
  getWorkOrder(id: string): Promise<WorkOrder>;
  getAsset(id: string): Promise<Asset>;
  getPurchaseOrder(id: string): Promise<PurchaseOrder>;
  listWorkOrders(params: ListWorkOrdersParams): Promise<WorkOrderPage & { rateLimit: RateLimit }>;
}

function createMaintainXClient(options: MaintainXClientOptions): MaintainXClient {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.apiKey}`,
    accept: "application/json",
  };
  if (options.organizationId) headers["x-organization-id"] = options.organizationId;

  async function get(path: string): Promise<{ body: unknown; response: Response }> {
    const response = await fetchWithDeadline(
      "MaintainX API",
      `${options.apiBase}${path}`,
      { method: "GET", headers },
      options.timeoutMs,
      options.fetch,
    );
    if (response.status === 429) {
      // MaintainX documents X-Rate-Limit-Reset (seconds left); Retry-After is honoured when sent.
      const wait = Math.max(
        cappedWait(parseRetryAfter(response.headers.get("retry-after")) ?? 0, "Retry-After"),
        readRateLimit(response.headers).resetSeconds ?? 0,
      );
      await response.body?.cancel().catch(() => {});
      throw new RateLimitedError(wait > 0 ? wait : DEFAULT_RATE_LIMIT_WAIT_SECONDS);
    }
    if (response.status === 401) {
      await response.body?.cancel().catch(() => {});
      throw new PermanentError("MaintainX API: 401 Unauthorized (check MAINTAINX_API_KEY)", 401);
    }
    await ensureOk("MaintainX API", response);
    try {
      return { body: await response.json(), response };
    } catch {
      throw new TransientError("MaintainX API: answer is not JSON");
    }
  }

  /** `GET /<collection>/{id}` with the answer checked by `schema`; `noun` names it in errors. */
  async function getOne<T>(collection: string, id: string, noun: string, schema: z.ZodType<T>): Promise<T> {
    // encodeURIComponent keeps "." and "..", which URL parsing resolves as path segments:
    // `/workorders/..` would ask for another resource with the API key.
    if (id === "." || id === "..") throw new PermanentError(`MaintainX API: "${id}" is not a ${noun} id`);
    const { body } = await get(`/${collection}/${encodeURIComponent(id)}`);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new TransientError(`MaintainX API: unexpected ${noun} answer`);
    return parsed.data;
  }

  return {
    async getWorkOrder(id) {
      return (await getOne("workorders", id, "work-order", GetWorkOrderAnswer)).workOrder;
    },

    async getAsset(id) {
      return (await getOne("assets", id, "asset", GetAssetAnswer)).asset;
    },

    async getPurchaseOrder(id) {
      return (await getOne("purchaseorders", id, "purchase-order", GetPurchaseOrderAnswer)).purchaseOrder;
    },

    async listWorkOrders({ updatedSince, limit, cursor }) {
      const query = new URLSearchParams({ "updatedAt[gte]": updatedSince, sort: "updatedAt", limit: String(limit) });
      if (cursor) query.set("cursor", cursor);
      const { body, response } = await get(`/workorders?${query}`);
      const parsed = ListWorkOrdersAnswer.safeParse(body);
      if (!parsed.success) throw new TransientError("MaintainX API: unexpected work-order list answer");
      return {
        workOrders: parsed.data.workOrders,
        nextCursor: parsed.data.nextCursor ?? null,
        rateLimit: readRateLimit(response.headers),
      };
    },
  };
}

/** The client for this configuration, or undefined when MAINTAINX_API_KEY is not set. */
export function maintainXClientFor(config: Config, fetch?: FetchLike): MaintainXClient | undefined {
  if (!config.apiKey) return undefined;
  return createMaintainXClient({
    apiBase: config.apiBase,
    apiKey: config.apiKey,
    organizationId: config.organizationId,
    timeoutMs: config.outboundTimeoutMs,
    ...(fetch ? { fetch } : {}),
  });
}

function readRateLimit(headers: Headers): RateLimit {
  const out: RateLimit = {};
  const remaining = Number(headers.get("x-rate-limit-remaining"));
  const reset = Number(headers.get("x-rate-limit-reset"));
  if (headers.has("x-rate-limit-remaining") && Number.isFinite(remaining)) out.remaining = remaining;
  if (headers.has("x-rate-limit-reset") && Number.isFinite(reset) && reset >= 0) {
    out.resetSeconds = cappedWait(reset, "X-Rate-Limit-Reset");
  }
  return out;
}
