// Request failures as Hono HTTPExceptions carrying the JSON body `{"error": "..."}` of docs/receiving.md's answer table.

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export function httpError(
  status: ContentfulStatusCode,
  message: string,
  headers: Record<string, string> = {},
): HTTPException {
  return new HTTPException(status, {
    message,
    res: Response.json({ error: message }, { status, headers }),
  });
}
