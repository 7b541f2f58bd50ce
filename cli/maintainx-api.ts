// A small client for MaintainX webhook subscriptions: `POST`/`GET /subscriptions`,
// `GET`/`DELETE /subscriptions/{id}` and `GET /subscriptions/{id}/secret` under the API base.
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

/** Documented answer to a create: `201 {id, status: "VALID" | "PENDING_APPROVAL", secret}`. */
const CreatedSubscriptionSchema = SubscriptionSchema.extend({ status: z.string() });
export type CreatedSubscription = z.infer<typeof CreatedSubscriptionSchema>;

// The list endpoint is undocumented: community code has seen both shapes.
const SubscriptionListSchema = z
  .union([z.array(SubscriptionSchema), z.object({ subscriptions: z.array(SubscriptionSchema) })])
  .transform((list) => (Array.isArray(list) ? list : list.subscriptions));

const SecretSchema = z.object({ secret: z.string().min(1) });

/** MaintainX answered with an error, or with a body the CLI cannot use. */
class MaintainXApiError extends CommandFailure {
  override readonly name = "MaintainXApiError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

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
    const detail = errorDetail(answer.text);
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
    createSubscription: (input: { type: string; url: string }): Promise<CreatedSubscription> =>
      callJson({ method: "POST", path: "/subscriptions", body: input, schema: CreatedSubscriptionSchema }),

    listSubscriptions: (): Promise<Subscription[]> =>
      callJson({ method: "GET", path: "/subscriptions", schema: SubscriptionListSchema }),

    getSubscription: (input: { id: string }): Promise<Subscription> =>
      callJson({
        method: "GET",
        path: subscriptionPath(input.id),
        notFound: notFoundMessage(input.id),
        schema: SubscriptionSchema,
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

/** The `message` or `error` MaintainX put in an error body, shortened; never the whole body. */
function errorDetail(text: string): string {
  const body = parseJson(text);
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const message = [record.message, record.error].find((v): v is string => typeof v === "string" && v.trim() !== "");
  if (message) return `: ${message.trim().slice(0, 300)}`;
  return "";
}
