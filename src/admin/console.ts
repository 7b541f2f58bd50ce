// The operator console (docs/console.md): a page, a script and a style from public/admin,
// served only where an admin token applies. The page carries no data: its script signs in with the
// token the operator gives it and calls the JSON routes with `Authorization: Bearer`.

import { Hono } from "hono";
import { httpError } from "../lib/http-error";
import { adminTokenFor } from "./auth";

/** Scripts, styles and calls from the Worker alone; no inline script, no eval, no framing. */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface ConsoleFile {
  asset: string;
  type: string;
}

const PAGE: ConsoleFile = { asset: "/admin/console.html", type: "text/html; charset=utf-8" };
const SCRIPT: ConsoleFile = { asset: "/admin/console.js", type: "text/javascript; charset=utf-8" };
const STYLE: ConsoleFile = { asset: "/admin/console.css", type: "text/css; charset=utf-8" };

export const adminConsole = new Hono<{ Bindings: Env }>();

async function serve(env: Env, request: Request, file: ConsoleFile): Promise<Response> {
  if (!adminTokenFor(env, request)) throw httpError(404, "Not found");
  const asset = await env.ASSETS.fetch(new URL(file.asset, request.url));
  if (!asset.ok) throw httpError(500, "The console's files are missing from this deployment; redeploy the Worker");
  return new Response(asset.body, {
    headers: {
      "content-type": file.type,
      "content-security-policy": CONSOLE_CSP,
      // The page is tiny and changes with each deploy: always ask again.
      "cache-control": "no-cache",
    },
  });
}

adminConsole.get("/", (c) => serve(c.env, c.req.raw, PAGE));
adminConsole.get("/console.js", (c) => serve(c.env, c.req.raw, SCRIPT));
adminConsole.get("/console.css", (c) => serve(c.env, c.req.raw, STYLE));
