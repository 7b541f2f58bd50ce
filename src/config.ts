// Reads every var and secret once per call site, with the defaults of SPEC §2. Nothing else in
// src/ reads `env.*` strings directly, so a misspelt or malformed setting fails in one place.

export type PollMode = "always" | "fallback" | "off";

export interface Config {
  webhookSecrets: string[];
  apiKey: string | undefined;
  apiBase: string;
  organizationId: string | undefined;
  slackWebhookUrl: string | undefined;
  erpWebhookUrl: string | undefined;
  adminToken: string | undefined;
  signatureToleranceSeconds: number;
  dedupeTtlSeconds: number;
  maxBodyBytes: number;
  pollMode: PollMode;
  pollFallbackAfterSeconds: number;
  pollPageSize: number;
  pollMaxPages: number;
  pollInitialLookbackSeconds: number;
  retryBaseSeconds: number;
  outboundTimeoutMs: number;
}

/** MaintainX's public REST base; tests and the CLI may point elsewhere. */
export const DEFAULT_MAINTAINX_API_BASE = "https://api.getmaintainx.com/v1";

const KV_MIN_TTL_SECONDS = 60;

function optionalString(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

function integer(value: unknown, fallback: number, min: number, max: number): number {
  const text = optionalString(value);
  if (text === undefined || !/^\d+$/.test(text)) return fallback;
  const n = Number(text);
  return Math.min(max, Math.max(min, n));
}

function pollMode(value: unknown): PollMode {
  const text = optionalString(value)?.toLowerCase();
  return text === "fallback" || text === "off" ? text : "always";
}

/** Splits the comma-separated secret list; blanks are dropped, order is kept. */
export function parseSecrets(value: unknown): string[] {
  const text = typeof value === "string" ? value : "";
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const cache = new WeakMap<object, Config>();

export function readConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const config: Config = {
    webhookSecrets: parseSecrets(env.MAINTAINX_WEBHOOK_SECRET),
    apiKey: optionalString(env.MAINTAINX_API_KEY),
    apiBase: (optionalString(env.MAINTAINX_API_BASE) ?? DEFAULT_MAINTAINX_API_BASE).replace(/\/+$/, ""),
    organizationId: optionalString(env.MAINTAINX_ORGANIZATION_ID),
    slackWebhookUrl: optionalString(env.SLACK_WEBHOOK_URL),
    erpWebhookUrl: optionalString(env.ERP_WEBHOOK_URL),
    adminToken: optionalString(env.ADMIN_TOKEN),
    signatureToleranceSeconds: integer(env.SIGNATURE_TOLERANCE_SECONDS, 300, 1, 86_400),
    dedupeTtlSeconds: integer(env.DEDUPE_TTL_SECONDS, 86_400, KV_MIN_TTL_SECONDS, 31_536_000),
    maxBodyBytes: integer(env.MAX_BODY_BYTES, 1_048_576, 1, 100 * 1_048_576),
    pollMode: pollMode(env.POLL_MODE),
    pollFallbackAfterSeconds: integer(env.POLL_FALLBACK_AFTER_SECONDS, 300, 0, 31_536_000),
    // MaintainX accepts limit 1–200.
    pollPageSize: integer(env.POLL_PAGE_SIZE, 100, 1, 200),
    pollMaxPages: integer(env.POLL_MAX_PAGES, 10, 1, 1000),
    pollInitialLookbackSeconds: integer(env.POLL_INITIAL_LOOKBACK_SECONDS, 3600, 0, 31_536_000),
    retryBaseSeconds: integer(env.RETRY_BASE_SECONDS, 10, 0, 43_200),
    // A handler holds its D1 claim across up to two calls (MaintainX lookup, then the post): 30 s
    // each keeps that well inside the claim's 120 s lease, after which another delivery may take over.
    outboundTimeoutMs: integer(env.OUTBOUND_TIMEOUT_SECONDS, 10, 1, 30) * 1000,
  };
  cache.set(env, config);
  return config;
}
