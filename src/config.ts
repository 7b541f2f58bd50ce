// Reads every var and secret in one place, with the defaults the README's configuration table
// lists. A malformed value (`POLL_MODE=fallbak`, `POLL_PAGE_SIZE=abc`, a number out of range) is
// not silently replaced: it is logged once per isolate with the value used instead, and
// `/admin/status` lists it under `config`.

import { log } from "./lib/log";
import {
  DEFAULT_RETRY_SCHEDULE,
  DEFAULT_RETRY_SCHEDULE_TEXT,
  doublingSchedule,
  formatDelay,
  parseRetrySchedule,
  QUEUE_MAX_RETRIES,
} from "./lib/retry-schedule";
import { parseStandardWebhooksSecret } from "./lib/standard-webhooks";
import { matchesAnyPattern, parseTypePattern } from "./lib/type-patterns";

type PollMode = "always" | "fallback" | "off";

/** A webhook secret, bound to one MaintainX type (`TYPE:secret`) or to none (verifies every type). */
interface WebhookSecret {
  secret: string;
  type?: string;
}

export interface Config {
  webhookSecrets: WebhookSecret[];
  apiKey: string | undefined;
  apiBase: string;
  organizationId: string | undefined;
  slackWebhookUrl: string | undefined;
  /** Work-order priorities whose creation is posted to Slack (upper case, as MaintainX writes them). */
  slackAlertPriorities: string[];
  erpWebhookUrl: string | undefined;
  /** FORWARD_URL, FORWARD_SIGNING_SECRET and FORWARD_TYPES. */
  forwarding: Forwarding;
  adminToken: string | undefined;
  /** Slack incoming webhook for operator alerts; unset, alerts are log lines only. */
  alertWebhookUrl: string | undefined;
  /** Alert when no webhook came for this long while the poller found changes; 0 turns it off. */
  alertSilenceMinutes: number;
  signatureToleranceSeconds: number;
  dedupeTtlSeconds: number;
  maxBodyBytes: number;
  pollMode: PollMode;
  pollFallbackAfterSeconds: number;
  pollPageSize: number;
  pollMaxPages: number;
  pollInitialLookbackSeconds: number;
  /** The dead-letter consumer's first delay, and the consumer's schedule when RETRY_SCHEDULE is empty. */
  retryBaseSeconds: number;
  /** Retry n of an event waits `schedule[n-1]` seconds (plus jitter); after the last, it is dead-lettered. */
  retry: { schedule: number[]; totalSeconds: number };
  /** Alert events still `retrying` after this long; 0 turns it off. */
  alertRetryingMinutes: number;
  outboundTimeoutMs: number;
  /** Processed events (by receipt), with their outcomes and dead letters, older than this are deleted by the scheduled run; 0 keeps all. */
  retentionDays: number;
  /** Failed and dead events are kept this long after their last change (at least retentionDays); 0 keeps them. */
  failedRetentionDays: number;
  /** Settings that were malformed, with the value used instead. */
  problems: ConfigProblem[];
}

/**
 * Forwarding canonical events as Standard Webhooks deliveries (handlers/forward.ts). Off while
 * FORWARD_URL is unset: the forward handler is not routed at all. On once FORWARD_URL is set,
 * well-formed or not: every event matching `types` is routed to the handler, which sends it to
 * `target`, or skips it with `target.skipReason` when the URL or the signing key is unusable, so
 * nothing goes out unsigned.
 */
export type Forwarding =
  | { enabled: false }
  | {
      enabled: true;
      /** Canonical type patterns (`*`, `workorder.*`, `asset.status_changed`) of the events forwarded. */
      types: string[];
      target: ForwardTarget;
    };

/** Where forwarded events go and the key bytes they are signed with, or why none can go out. */
type ForwardTarget = { usable: true; url: string; signingKey: Uint8Array } | { usable: false; skipReason: string };

interface ConfigProblem {
  name: string;
  value: string;
  used: string;
}

/** MaintainX's public REST base; tests and the CLI may point elsewhere. */
export const DEFAULT_MAINTAINX_API_BASE = "https://api.getmaintainx.com/v1";

const KV_MIN_TTL_SECONDS = 60;

function optionalString(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

type VarName = keyof Env & string;

/** Reads settings and notes every malformed one; blank or unset means "the default", silently. */
class SettingsReader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: Env) {}

  private raw(name: VarName): string | undefined {
    return optionalString(this.env[name]);
  }

  integer(name: VarName, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) {
      this.problems.push({ name, value: text, used: String(fallback) });
      return fallback;
    }
    const n = Number(text);
    const used = Math.min(max, Math.max(min, n));
    if (used !== n) this.problems.push({ name, value: text, used: String(used) });
    return used;
  }

  /**
   * A comma-separated list: each entry is kept in the normalised form `accept` gives, and any
   * entry it refuses is noted. When none is accepted, `noneValid` is used (by default `fallback`).
   */
  list(
    name: VarName,
    fallback: string[],
    accept: (entry: string) => string | undefined,
    noneValid: { used: string[]; says: string } = { used: fallback, says: fallback.join(",") },
  ): string[] {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const entries = parseSecrets(text);
    const accepted = entries.flatMap((entry) => accept(entry) ?? []);
    const kept = [...new Set(accepted)];
    if (accepted.length === entries.length) return kept;
    const used = kept.length > 0 ? kept : noneValid.used;
    this.problems.push({ name, value: text, used: kept.length > 0 ? kept.join(",") : noneValid.says });
    return used;
  }

  /**
   * A `whsec_<base64>` signing key; a malformed one is noted without its value (it is a secret).
   * A short one is used, and noted: Standard Webhooks asks for 24 to 64 bytes.
   */
  signingKey(name: VarName): { key?: Uint8Array; set: boolean } {
    const text = this.raw(name);
    if (text === undefined) return { set: false };
    const key = parseStandardWebhooksSecret(text);
    const value = "(a secret, not shown)";
    if (!key) this.problems.push({ name, value, used: `nothing: ${MALFORMED_SIGNING_KEY}` });
    else if (key.length < MIN_SIGNING_KEY_BYTES) {
      this.problems.push({
        name,
        value,
        used: `the key as given, ${key.length} bytes: Standard Webhooks asks for ${MIN_SIGNING_KEY_BYTES} to 64 random bytes`,
      });
    }
    return key ? { key, set: true } : { set: true };
  }

  /** An http(s) URL; anything else is noted (a URL may carry a secret, so only its form is said). */
  url(name: VarName): { url?: string; set: boolean } {
    const text = this.raw(name);
    if (text === undefined) return { set: false };
    if (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)) return { url: text, set: true };
    this.problems.push({ name, value: "(a URL, not shown)", used: `nothing: ${MALFORMED_URL}` });
    return { set: true };
  }

  /**
   * RETRY_SCHEDULE: a malformed entry uses the default schedule instead, and a schedule longer
   * than the queue's `max_retries` only its first QUEUE_MAX_RETRIES delays (the queue would
   * dead-letter the event before the rest); both are noted. Empty: five doubling retries from
   * RETRY_BASE_SECONDS when that is set, else the default schedule.
   */
  retrySchedule(baseSeconds: number): number[] {
    const text = this.raw("RETRY_SCHEDULE");
    if (text === undefined) {
      return this.raw("RETRY_BASE_SECONDS") === undefined ? [...DEFAULT_RETRY_SCHEDULE] : doublingSchedule(baseSeconds);
    }
    const parsed = parseRetrySchedule(text);
    if ("bad" in parsed) {
      this.problems.push({
        name: "RETRY_SCHEDULE",
        value: text,
        used: `${DEFAULT_RETRY_SCHEDULE_TEXT} (the entry "${parsed.bad}" is not a whole number with s, m or h, at most 12h)`,
      });
      return [...DEFAULT_RETRY_SCHEDULE];
    }
    if (parsed.delays.length <= QUEUE_MAX_RETRIES) return parsed.delays;
    const kept = parsed.delays.slice(0, QUEUE_MAX_RETRIES);
    this.problems.push({
      name: "RETRY_SCHEDULE",
      value: text,
      used: `${kept.map(formatDelay).join(",")} (the first ${QUEUE_MAX_RETRIES}: max_retries in wrangler.toml)`,
    });
    return kept;
  }

  choice<T extends string>(name: VarName, choices: readonly T[], fallback: T): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const found = choices.find((c) => c === text.toLowerCase());
    if (found !== undefined) return found;
    this.problems.push({ name, value: text, used: fallback });
    return fallback;
  }
}

const POLL_MODES: readonly PollMode[] = ["always", "fallback", "off"];

/** What a malformed FORWARD_SIGNING_SECRET should look like, for the messages that name it. */
const MALFORMED_SIGNING_KEY = "forwarding is skipped until it is whsec_ followed by base64";
/** What a malformed URL setting should look like. */
const MALFORMED_URL = "it is skipped until it is an absolute http:// or https:// URL";
const MIN_SIGNING_KEY_BYTES = 24;

/** MaintainX's work-order priorities. */
const WORK_ORDER_PRIORITIES = ["NONE", "LOW", "MEDIUM", "HIGH"];

function priorityOf(entry: string): string | undefined {
  const upper = entry.toUpperCase();
  return WORK_ORDER_PRIORITIES.includes(upper) ? upper : undefined;
}

/** Whether the configuration forwards this event (its canonical or routed types, or its MaintainX type). */
export function forwardsEvent(config: Config, types: readonly string[]): boolean {
  return config.forwarding.enabled && matchesAnyPattern(config.forwarding.types, types);
}

/**
 * The FORWARD_* settings as one value. The signing key and the types are read, and reported when
 * malformed, whether FORWARD_URL is set or not, so `/admin/status` names a bad value before
 * forwarding is turned on.
 */
function readForwarding(settings: SettingsReader, url: { url?: string; set: boolean }): Forwarding {
  const key = settings.signingKey("FORWARD_SIGNING_SECRET");
  // A list of nothing but typos forwards nothing: falling back to `*` would send more than asked.
  const types = settings.list("FORWARD_TYPES", ["*"], parseTypePattern, {
    used: [],
    says: "no type: nothing is forwarded",
  });
  if (!url.set) return { enabled: false };
  return { enabled: true, types, target: forwardTarget(url.url, key) };
}

/** Where forwarded events go, or why they cannot; with neither the URL nor the key usable, the reason names the URL. */
function forwardTarget(url: string | undefined, key: { key?: Uint8Array; set: boolean }): ForwardTarget {
  if (url === undefined) return { usable: false, skipReason: `FORWARD_URL is malformed: ${MALFORMED_URL}` };
  if (key.key === undefined) {
    const skipReason = key.set
      ? `FORWARD_SIGNING_SECRET is malformed: ${MALFORMED_SIGNING_KEY}`
      : "FORWARD_SIGNING_SECRET is not set";
    return { usable: false, skipReason };
  }
  return { usable: true, url, signingKey: key.key };
}

/** Splits the comma-separated secret list; blanks are dropped, order is kept. */
export function parseSecrets(value: unknown): string[] {
  const text = typeof value === "string" ? value : "";
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A MaintainX type name, as in `/webhooks/maintainx/<TYPE>` and in `TYPE:secret`. */
export const MAINTAINX_TYPE_PATTERN = /^[A-Z][A-Z0-9_]{0,99}$/;

/**
 * One entry of the secret list: `TYPE:secret` bound to a type, anything else unbound. Undefined for
 * `NEW_WORK_ORDER:` with nothing after the colon (an empty shell variable): that is no secret at
 * all, and taken whole it would be a guessable secret for every type.
 */
function webhookSecretOf(entry: string): WebhookSecret | undefined {
  const colon = entry.indexOf(":");
  const type = colon > 0 ? entry.slice(0, colon).trim() : "";
  if (!MAINTAINX_TYPE_PATTERN.test(type)) return { secret: entry };
  const secret = entry.slice(colon + 1).trim();
  return secret === "" ? undefined : { secret, type };
}

/**
 * Splits the secret list into secrets and the type each is bound to. A MaintainX subscription
 * covers one type and has its own secret, so `NEW_WORK_ORDER:abc` verifies only deliveries to
 * `/webhooks/maintainx/NEW_WORK_ORDER`; an entry without a type prefix verifies every type.
 */
export function parseWebhookSecrets(value: unknown): WebhookSecret[] {
  return parseSecrets(value).flatMap((entry) => webhookSecretOf(entry) ?? []);
}

/** Entries that name a type but no secret, which parseWebhookSecrets drops. */
function emptyBoundSecrets(value: unknown): string[] {
  return parseSecrets(value).filter((entry) => webhookSecretOf(entry) === undefined);
}

const cache = new WeakMap<object, Config>();

/** Problems already logged by this isolate, so each is logged once however often config is read. */
const logged = new Set<string>();

export function readConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const settings = new SettingsReader(env);
  // Problems are listed in the order settings are read: FORWARD_URL's comes first.
  const forwardUrl = settings.url("FORWARD_URL");
  const retryBaseSeconds = settings.integer("RETRY_BASE_SECONDS", 10, 0, 43_200);
  const schedule = settings.retrySchedule(retryBaseSeconds);
  const config: Config = {
    webhookSecrets: parseWebhookSecrets(env.MAINTAINX_WEBHOOK_SECRET),
    apiKey: optionalString(env.MAINTAINX_API_KEY),
    apiBase: (optionalString(env.MAINTAINX_API_BASE) ?? DEFAULT_MAINTAINX_API_BASE).replace(/\/+$/, ""),
    organizationId: optionalString(env.MAINTAINX_ORGANIZATION_ID),
    slackWebhookUrl: optionalString(env.SLACK_WEBHOOK_URL),
    slackAlertPriorities: settings.list("SLACK_ALERT_PRIORITIES", ["HIGH"], priorityOf),
    erpWebhookUrl: optionalString(env.ERP_WEBHOOK_URL),
    forwarding: readForwarding(settings, forwardUrl),
    adminToken: optionalString(env.ADMIN_TOKEN),
    alertWebhookUrl: optionalString(env.ALERT_WEBHOOK_URL),
    alertSilenceMinutes: settings.integer("ALERT_SILENCE_MINUTES", 60, 0, 525_600),
    alertRetryingMinutes: settings.integer("ALERT_RETRYING_MINUTES", 15, 0, 525_600),
    signatureToleranceSeconds: settings.integer("SIGNATURE_TOLERANCE_SECONDS", 300, 1, 86_400),
    dedupeTtlSeconds: settings.integer("DEDUPE_TTL_SECONDS", 86_400, KV_MIN_TTL_SECONDS, 31_536_000),
    // At most 1 MiB: the event log keeps a large body as it came, within D1's 2 MB row limit.
    maxBodyBytes: settings.integer("MAX_BODY_BYTES", 1_048_576, 1, 1_048_576),
    pollMode: settings.choice("POLL_MODE", POLL_MODES, "always"),
    pollFallbackAfterSeconds: settings.integer("POLL_FALLBACK_AFTER_SECONDS", 300, 0, 31_536_000),
    // MaintainX accepts limit 1–200.
    pollPageSize: settings.integer("POLL_PAGE_SIZE", 100, 1, 200),
    pollMaxPages: settings.integer("POLL_MAX_PAGES", 10, 1, 1000),
    pollInitialLookbackSeconds: settings.integer("POLL_INITIAL_LOOKBACK_SECONDS", 3600, 0, 31_536_000),
    retryBaseSeconds,
    retry: { schedule, totalSeconds: schedule.reduce((sum, delay) => sum + delay, 0) },
    // A handler holds its D1 claim across up to two calls (MaintainX lookup, then the post): 30 s
    // each keeps that well inside the claim's 120 s lease, after which another delivery may take over.
    outboundTimeoutMs: settings.integer("OUTBOUND_TIMEOUT_SECONDS", 10, 1, 30) * 1000,
    retentionDays: settings.integer("RETENTION_DAYS", 30, 0, 36_500),
    failedRetentionDays: settings.integer("FAILED_RETENTION_DAYS", 90, 0, 36_500),
    problems: [
      ...emptyBoundSecrets(env.MAINTAINX_WEBHOOK_SECRET).map((entry) => ({
        name: "MAINTAINX_WEBHOOK_SECRET",
        value: entry,
        used: "nothing: the entry names a type but no secret",
      })),
      ...settings.problems,
    ],
  };
  for (const problem of config.problems) {
    const key = `${problem.name}=${problem.value}`;
    if (logged.has(key)) continue;
    logged.add(key);
    log.warn(`Configuration: ${problem.name} is malformed; using ${problem.used}`, { ...problem });
  }
  cache.set(env, config);
  return config;
}
