// Guards /admin/*: 404 everywhere when ADMIN_TOKEN is unset (the surface does not exist), 401
// without the right bearer token. The token is compared in constant time.

import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import { timingSafeEqualStrings } from "../lib/bytes";
import { httpError } from "../lib/http-error";

export const requireAdminToken = () =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const token = readConfig(c.env).adminToken;
    if (!token) throw httpError(404, "Not found");
    const match = /^Bearer\s+(\S+)$/i.exec((c.req.header("authorization") ?? "").trim());
    if (!match || !(await timingSafeEqualStrings(match[1] as string, token))) {
      throw httpError(401, "Unauthorized: send Authorization: Bearer <ADMIN_TOKEN>", {
        "www-authenticate": 'Bearer realm="admin"',
      });
    }
    await next();
  });
