// The Hono app: routes, and the answers for unknown paths and unexpected errors.

import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { adminConsole } from "./admin/console";
import { adminRoutes } from "./admin/routes";
import type { HandlerRegistry } from "./contract/registry";
import { describeError, log } from "./lib/log";
import { discardBody } from "./webhooks/body";
import { receiveWebhook } from "./webhooks/receive";

/** The Worker's app; `registry` names the handlers `/admin/handlers` lists and holds. */
export function createApp(registry: HandlerRegistry): Hono<{ Bindings: Env }> {
  // Hono's default router, strict about paths: `/health/` or `/webhooks/maintainx/A/` is a 404.
  const app = new Hono<{ Bindings: Env }>();

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.post("/webhooks/maintainx/:type?", receiveWebhook);
  app.all("/webhooks/maintainx/:type?", async (c) => {
    await discardBody(c.req.raw);
    return c.json({ error: "Method not allowed: deliveries are POSTed" }, 405, { allow: "POST" });
  });

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
  app.route("/admin", adminRoutes(registry));

  // Early answers read any unread body first: the local runtime drops a keep-alive connection
  // whose request body was left unread.
  app.notFound(async (c) => {
    await discardBody(c.req.raw);
    return c.json({ error: "Not found" }, 404);
  });

  // Never a stack trace or a secret in the answer; the log line carries what an operator needs.
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    log.error("Unhandled error", { path: new URL(c.req.url).pathname, error: describeError(error) });
    return c.json({ error: "Internal error" }, 500);
  });
  return app;
}
