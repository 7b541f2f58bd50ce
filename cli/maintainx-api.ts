// A small client for MaintainX webhook subscriptions: `POST /subscriptions`,
// `GET`/`PATCH`/`DELETE /subscriptions/{id}` and `GET /subscriptions/{id}/secret` under the API
// base, plus `GET /subscriptions` for APIs that have one (MaintainX itself does not).
// Every answer is validated with a schema; every failure becomes a sentence saying what to do.

import { z } from "zod";
import { CommandFailure } from "./errors";
import { type HttpAnswer, parseJson, sendRequest } from "./http";

const SubscriptionSchema = z.looseObject({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  type: z.string().optional(),
  url: z.string().optional(),
  status: z.string().optional(),
  secret: z.string().optional(),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

/**
 * Documented answer to a create: `201 {id, status: "VALID" | "PENDING_APPROVAL", secret?}`. Only
 * id and status are required, so a missing secret is fetched separately.
 */
const CreatedSubscriptionSchema = SubscriptionSchema.extend({ status: z.string() });
export type CreatedSubscription = z.infer<typeof CreatedSubscriptionSchema>;

// MaintainX answers GET and PATCH on one subscription as `{subscription: {...}}`; the bare object
// is accepted too, as older fakes and proxies send it. Wrapped first: a bare one has a top-level id.
const OneSubscriptionSchema = z.union([
  z.object({ subscription: SubscriptionSchema }).transform((answer) => answer.subscription),
  SubscriptionSchema,
]);

// MaintainX has no list endpoint; other APIs that offer one have been seen with both shapes.
const SubscriptionListSchema = z
  .union([z.array(SubscriptionSchema), z.object({ subscriptions: z.array(SubscriptionSchema) })])
  .transform((list) => (Array.isArray(list) ? list : list.subscriptions));

const SecretSchema = z.object({ secret: z.string().min(1) });

/** MaintainX answered with an error, or with a body the CLI cannot use. */
export class MaintainXApiError extends CommandFailure {
  override readonly name = "MaintainXApiError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A 404 on a path naming one subscription: it does not exist (any more). */
export function isNotFound(error: unknown): boolean {
  return error instanceof MaintainXApiError && error.status === 404;
}

/** How MaintainX and similar APIs answer `GET /subscriptions` when there is no list endpoint. */
const NO_LIST_ENDPOINT_STATUSES = new Set([404, 405]);

/** What `create` may ask for in `options`: `serializeEntity` (or `serializePurchaseOrder`) makes deliveries carry the entity. */
type CreateOptions = Record<string, boolean>;

interface SubscriptionsClientOptions {
  apiKey: string;
  /** Named in the 401 message, never the key itself. */
  apiKeySource: string;
  apiBase: string;
  organizationId?: string;
  timeoutMs?: number;
}

export function createSubscriptionsClient(options: SubscriptionsClientOptions) {
  const base = options.apiBase.replace(/\/+$/, "");

  interface Call {
    method: string;
    path: string;
    body?: unknown;
    /** The message for a 404, when the path names one subscription. */
    notFound?: string;
  }

  async function call(input: Call): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: "application/json",
    };
    // Keys that span several organisations are refused with 400 without this header.
    if (options.organizationId) headers["x-organization-id"] = options.organizationId;
    if (input.body !== undefined) headers["content-type"] = "application/json";

    const answer = await sendRequest({
      party: "MaintainX",
      method: input.method,
      url: `${base}${input.path}`,
      headers,
      body: input.body === undefined ? undefined : JSON.stringify(input.body),
      timeoutMs: options.timeoutMs,
    });
    if (answer.status < 200 || answer.status > 299) {
      throw new MaintainXApiError(
        failureMessage(answer, `${input.method} ${input.path}`, input.notFound),
        answer.status,
      );
    }
    return answer;
  }

  async function callJson<S extends z.ZodType>(input: Call & { schema: S }): Promise<z.output<S>> {
    const answer = await call(input);
    const parsed = input.schema.safeParse(parseJson(answer.text));
    if (!parsed.success) {
      throw new MaintainXApiError(
        `MaintainX answered ${input.method} ${input.path} with a body this CLI does not understand; check that MAINTAINX_API_BASE (${base}) is the MaintainX API.`,
        answer.status,
      );
    }
    return parsed.data;
  }

  function failureMessage(answer: HttpAnswer, target: string, notFound: string | undefined): string {
    const detail = errorDetail(answer.text, options.apiKey);
    const { status } = answer;
    if (status === 401) {
      return `MaintainX refused the API key (401): MAINTAINX_API_KEY from ${options.apiKeySource} is wrong, expired or revoked. Create a new API key in MaintainX and set it again.`;
    }
    if (status === 403) {
      return `MaintainX refused ${target} (403)${detail}: the API key is not allowed to manage webhook subscriptions.`;
    }
    if (status === 404) {
      return notFound ?? `MaintainX answered 404 to ${target}: check MAINTAINX_API_BASE (${base}).`;
    }
    if (status === 429) {
      const wait = answer.headers.get("retry-after") ?? answer.headers.get("x-rate-limit-reset");
      return `MaintainX rate limit reached (429): try again in ${wait && /^\d+$/.test(wait) ? `${wait} s` : "a minute"}.`;
    }
    if (status >= 500) {
      return `MaintainX failed with a server error (${status}) on ${target}; try again later.`;
    }
    const orgHint =
      status === 400 && !options.organizationId
        ? " If the API key belongs to several organisations, set MAINTAINX_ORGANIZATION_ID."
        : "";
    return `MaintainX refused ${target} (${status})${detail}.${orgHint}`;
  }

  return {
    createSubscription: (input: { type: string; url: string; options?: CreateOptions }): Promise<CreatedSubscription> =>
      callJson({ method: "POST", path: "/subscriptions", body: input, schema: CreatedSubscriptionSchema }),

    /** Every subscription, or undefined when the API has no list endpoint (MaintainX has none). */
    listSubscriptions: async (): Promise<Subscription[] | undefined> => {
      try {
        return await callJson({ method: "GET", path: "/subscriptions", schema: SubscriptionListSchema });
      } catch (error) {
        if (error instanceof MaintainXApiError && NO_LIST_ENDPOINT_STATUSES.has(error.status)) return undefined;
        throw error;
      }
    },

    getSubscription: (input: { id: string }): Promise<Subscription> =>
      callJson({
        method: "GET",
        path: subscriptionPath(input.id),
        notFound: notFoundMessage(input.id),
        schema: OneSubscriptionSchema,
      }),

    /** `type` is sent only when given: MaintainX keeps the subscription's type otherwise. */
    updateSubscription: (input: { id: string; url: string; type?: string }): Promise<Subscription> =>
      callJson({
        method: "PATCH",
        path: subscriptionPath(input.id),
        body: input.type === undefined ? { url: input.url } : { type: input.type, url: input.url },
        notFound: notFoundMessage(input.id),
        schema: OneSubscriptionSchema,
      }),

    deleteSubscription: async (input: { id: string }): Promise<void> => {
      await call({ method: "DELETE", path: subscriptionPath(input.id), notFound: notFoundMessage(input.id) });
    },

    getSubscriptionSecret: async (input: { id: string }): Promise<string> => {
      const answer = await callJson({
        method: "GET",
        path: `${subscriptionPath(input.id)}/secret`,
        notFound: notFoundMessage(input.id),
        schema: SecretSchema,
      });
      return answer.secret;
    },
  };
}

export type SubscriptionsClient = ReturnType<typeof createSubscriptionsClient>;

function subscriptionPath(id: string): string {
  return `/subscriptions/${encodeURIComponent(id)}`;
}

function notFoundMessage(id: string): string {
  return `Subscription ${id} was not found (404). Run \`npm run cli -- subscriptions list\` to see the ids.`;
}

const MAX_DETAIL_CHARS = 300;
/** A longer fieldValue (a whole URL, a pasted body) is left out rather than echoed. */
const MAX_FIELD_VALUE_CHARS = 80;
const MAX_FIELD_ERRORS = 5;

/**
 * What MaintainX said in an error body, in words and shortened; never the whole body. MaintainX
 * answers 400/403 with `{errors: [{error, fieldPath?, fieldValue?}]}` and 404 with `{error}`;
 * `{message}` is kept for proxies and gateways in front of it.
 */
function errorDetail(text: string, apiKey: string): string {
  const body = asRecord(parseJson(text));
  const parts = Array.isArray(body.errors) ? body.errors.flatMap(describeFieldError) : [];
  if (parts.length === 0) {
    const message = [body.message, body.error].find(isNonEmptyString);
    if (message) parts.push(withoutFinalStop(oneLine(message)));
  }
  if (parts.length === 0) return "";
  const more = parts.length > MAX_FIELD_ERRORS ? ` (and ${parts.length - MAX_FIELD_ERRORS} more)` : "";
  let detail = parts.slice(0, MAX_FIELD_ERRORS).join("; ") + more;
  // An API (or a proxy) may echo the request's headers back; the key must not reach the terminal.
  if (apiKey) detail = detail.split(apiKey).join("<API key>");
  if (detail.length > MAX_DETAIL_CHARS) detail = `${detail.slice(0, MAX_DETAIL_CHARS - 1)}…`;
  return `: ${detail}`;
}

/** `{error: "must be a valid URL", fieldPath: "url"}` → `url: must be a valid URL`. */
function describeFieldError(item: unknown): string[] {
  const { error, fieldPath, fieldValue } = asRecord(item);
  if (!isNonEmptyString(error)) return [];
  const field = isNonEmptyString(fieldPath) ? `${oneLine(fieldPath)}: ` : "";
  const value = ["string", "number", "boolean"].includes(typeof fieldValue) ? oneLine(String(fieldValue)) : "";
  const shown = value !== "" && value.length <= MAX_FIELD_VALUE_CHARS ? ` (got ${JSON.stringify(value)})` : "";
  return [`${field}${withoutFinalStop(oneLine(error))}${shown}`];
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** Control characters from a remote body could move the cursor or fake output lines. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
}

/** The messages are joined and end in our own full stop. */
function withoutFinalStop(text: string): string {
  return text.replace(/\.+$/, "");
}
