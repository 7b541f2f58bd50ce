// The Hono app: routes, and the answers for unknown paths and unexpected errors.

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { admin } from "./admin/routes";
import { describeError, log } from "./lib/log";
import { receiveWebhook } from "./webhooks/receive";

export const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok" }));

app.post("/webhooks/maintainx", receiveWebhook);
app.post("/webhooks/maintainx/:type", receiveWebhook);
app.all("/webhooks/maintainx", (c) => c.json({ error: "Method not allowed: deliveries are POSTed" }, 405));
app.all("/webhooks/maintainx/:type", (c) => c.json({ error: "Method not allowed: deliveries are POSTed" }, 405));

app.route("/admin", admin);

app.notFound((c) => c.json({ error: "Not found" }, 404));

app.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  // Never a stack trace or a secret in the answer; the log line carries what an operator needs.
  log.error("Unhandled error", { path: new URL(c.req.url).pathname, error: describeError(error) });
  return c.json({ error: "Internal error" }, 500);
});
