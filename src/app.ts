// The Hono app: routes, and the answers for unknown paths and unexpected errors.

import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { adminConsole } from "./admin/console";
import { admin } from "./admin/routes";
import { describeError, log } from "./lib/log";
import { discardBody } from "./webhooks/body";
import { receiveWebhook } from "./webhooks/receive";

// Hono's default router, strict about paths: `/health/` or `/webhooks/maintainx/A/` is a 404.
// Deliveries do not pass through it (`handleFetch` below), so its speed is not on their path.
export const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok" }));

const methodNotAllowed = async (c: Context) => {
  await discardBody(c.req.raw);
  return c.json({ error: "Method not allowed: deliveries are POSTed" }, 405, { allow: "POST" });
};
// One handler per path, choosing by method: a path that matches a single handler is run by Hono
// directly, where a POST route beside an ALL route would go through its middleware chain on
// every delivery. Most deliveries never get here: `handleFetch` below hands them over first.
// `c.executionCtx` is read only when an event is accepted: Hono throws when a request came without one.
const webhookRoute = (c: Context<{ Bindings: Env }>) =>
  c.req.method === "POST"
    ? receiveWebhook(c.req.raw, c.env, (work) => c.executionCtx.waitUntil(work), c.req.param("type"))
    : methodNotAllowed(c);
app.all("/webhooks/maintainx", webhookRoute);
app.all("/webhooks/maintainx/:type", webhookRoute);

// Every /admin answer: never cached, never sniffed, never framed, no referrer; a JSON or report
// answer runs nothing (the console's own files carry its policy, set in admin/console.ts).
const adminHeaders = createMiddleware(async (c, next) => {
  await next();
  const headers = c.res.headers;
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-frame-options", "DENY");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  if (!headers.has("content-security-policy")) {
    headers.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  }
});
app.use("/admin", adminHeaders);
app.use("/admin/*", adminHeaders);
// The console's page and files need no bearer header (a browser cannot send one for them); the
// JSON routes behind them do.
app.route("/admin", adminConsole);
app.route("/admin", admin);

// Early answers read any unread body first: the local runtime drops a keep-alive connection
// whose request body was left unread.
app.notFound(async (c) => {
  await discardBody(c.req.raw);
  return c.json({ error: "Not found" }, 404);
});

/** The answer to a thrown error: an `httpError`'s own, else a bare 500. */
function answerError(error: unknown, url: string): Response {
  if (error instanceof HTTPException) return error.getResponse();
  // Never a stack trace or a secret in the answer; the log line carries what an operator needs.
  log.error("Unhandled error", { path: new URL(url).pathname, error: describeError(error) });
  return Response.json({ error: "Internal error" }, { status: 500 });
}

app.onError((error, c) => answerError(error, c.req.url));

/**
 * A webhook POST's path, as the two webhook routes above match it (a query allowed, no trailing
 * slash), with the `<TYPE>` segment captured; a path with a percent escape is left to the router,
 * which decodes it. Searched from the path's first character (sticky).
 */
const WEBHOOK_PATH = /\/webhooks\/maintainx(?:\/([^/%?#]+))?(?:[?#]|$)/y;

/**
 * The Worker's fetch handler. A delivery is handed to the receiver before Hono's router: one
 * match instead of the router's pass over every route, and no Hono context, for the request this
 * Worker answers most (docs/performance.md). The receiver and its
 * answers are the ones the webhook routes give; every other request goes through Hono.
 */
export function handleFetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
  if (request.method === "POST") {
    const url = request.url;
    WEBHOOK_PATH.lastIndex = url.indexOf("/", url.indexOf(":") + 3);
    const match = WEBHOOK_PATH.exec(url);
    if (match) {
      const defer = (work: Promise<unknown>) => ctx.waitUntil(work);
      return receiveWebhook(request, env, defer, match[1]).catch((error: unknown) => answerError(error, url));
    }
  }
  return app.fetch(request, env, ctx);
}
