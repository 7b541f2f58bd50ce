// Guards /admin/*: 404 everywhere when no admin token applies (the surface does not exist), 401
// without the right bearer token. The token is compared in constant time.

import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import { utf8 } from "../lib/bytes";
import { httpError } from "../lib/http-error";
import { isLocalRequest, LOCAL_ADMIN_TOKEN_VAR } from "../local-dev";

/**
 * The token that opens /admin for this request: the configured ADMIN_TOKEN, else the random one
 * `npm run dev` makes at each start, for requests made on this machine only: addressed to a
 * loopback host and relayed by no proxy or tunnel (`isLocalRequest`; docs/console.md).
 */
export function adminTokenFor(env: Env, request: Request): string | undefined {
  const configured = readConfig(env).adminToken;
  if (configured) return configured;
  const local = (env as unknown as Partial<Record<typeof LOCAL_ADMIN_TOKEN_VAR, unknown>>)[LOCAL_ADMIN_TOKEN_VAR];
  if (typeof local !== "string" || local.trim() === "") return undefined;
  return isLocalRequest(request) ? local.trim() : undefined;
}

export const requireAdminToken = () =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const token = adminTokenFor(c.env, c.req.raw);
    if (!token) throw httpError(404, "Not found");
    const match = /^Bearer\s+(\S+)$/i.exec((c.req.header("authorization") ?? "").trim());
    if (!match || !(await timingSafeEqualStrings(match[1] as string, token))) {
      throw httpError(401, "Unauthorized: send Authorization: Bearer <ADMIN_TOKEN>", {
        "www-authenticate": 'Bearer realm="admin"',
      });
    }
    await next();
  });

/** Constant-time comparison of two strings: both are hashed first, so their lengths do not show. */
async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const digest = (text: string) => crypto.subtle.digest("SHA-256", utf8.encode(text));
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return crypto.subtle.timingSafeEqual(da, db);
}
