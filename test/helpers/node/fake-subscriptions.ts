// Programs a FakeMaintainX with the subscription routes as MaintainX's OpenAPI description
// shapes them, backed by an in-memory store: 201 `{id, status, secret?}` on create, one
// subscription wrapped as `{subscription: {...}}`, 204 on delete, `{secret}` from the secret
// route, 404 `{error}` for an unknown id, 400 `{errors: [...]}` for a bad body, and 405 for
// `GET /subscriptions`, which MaintainX does not have. A test replaces any route with its own
// (`fake.route` with the same method and pattern), e.g. to program a list endpoint.

import type { FakeMaintainX } from "./fake-maintainx";

export interface StoredSubscription {
  id: number;
  type: string;
  url: string;
  status: string;
  secret: string;
}

interface DescribedOptions {
  /** The status a create gets; default VALID. */
  status?: (type: string) => string;
  /** MaintainX requires only id and status in the create answer; false leaves the secret out. */
  secretInCreate?: boolean;
}

/** The first id handed out; MaintainX ids are integers. */
const FIRST_ID = 963;

export function routeDescribedSubscriptions(fake: FakeMaintainX, options: DescribedOptions = {}) {
  const store = new Map<string, StoredSubscription>();
  let nextId = FIRST_ID;
  const notFound = { status: 404, body: { error: "subscription Not Found" } };
  const wrapped = ({ id, type, url, status }: StoredSubscription) => ({
    body: { subscription: { id, type, url, status } },
  });

  fake.route("GET", "/v1/subscriptions", { status: 405, body: { error: "Method Not Allowed" } });

  fake.route("POST", "/v1/subscriptions", ({ body }) => {
    const { type, url } = (body ?? {}) as { type?: unknown; url?: unknown };
    const errors = [
      ...(typeof type === "string" ? [] : [{ error: "is required", fieldPath: "type", fieldValue: null }]),
      ...(typeof url === "string" && URL.canParse(url)
        ? []
        : [{ error: "must be a valid URL", fieldPath: "url", fieldValue: url ?? null }]),
    ];
    if (errors.length > 0) return { status: 400, body: { errors } };
    const id = nextId++;
    const subscription = {
      id,
      type: type as string,
      url: url as string,
      status: options.status?.(type as string) ?? "VALID",
      secret: `secret-${id}`,
    };
    store.set(String(id), subscription);
    const { secret } = subscription;
    return {
      status: 201,
      body:
        options.secretInCreate === false
          ? { id, status: subscription.status }
          : { id, status: subscription.status, secret },
    };
  });

  fake.route("GET", "/v1/subscriptions/:id", ({ params }) => {
    const found = store.get(params.id ?? "");
    return found ? wrapped(found) : notFound;
  });

  fake.route("PATCH", "/v1/subscriptions/:id", ({ params, body }) => {
    const found = store.get(params.id ?? "");
    if (!found) return notFound;
    const { type, url } = (body ?? {}) as { type?: string; url?: string };
    if (type !== undefined) found.type = type;
    if (url !== undefined) found.url = url;
    return wrapped(found);
  });

  fake.route("DELETE", "/v1/subscriptions/:id", ({ params }) =>
    store.delete(params.id ?? "") ? { status: 204 } : notFound,
  );

  fake.route("GET", "/v1/subscriptions/:id/secret", ({ params }) => {
    const found = store.get(params.id ?? "");
    return found ? { body: { secret: found.secret } } : notFound;
  });

  return {
    /** What the fake MaintainX holds, by id; a test may change or delete entries behind the CLI's back. */
    store,
  };
}
