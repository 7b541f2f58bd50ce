// One HTTP request on a connection of its own. Reusing idle keep-alive connections to
// `wrangler dev` races with its proxy closing them and surfaces as ECONNRESET on a busy machine.

import { request as httpRequest } from "node:http";
import { signMaintainX } from "../../../src/webhooks/signature";

interface PlainResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function plainRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? "GET", headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.on("error", reject);
    req.end(init.body);
  });
}

/** Posts `body` to `<base>/webhooks/maintainx/<type>` signed as MaintainX signs it (`t=<now>,v1=`). */
export async function postMaintainXDelivery(
  base: string,
  secret: string,
  type: string,
  body: unknown,
): Promise<{ status: number; eventId: string; text: string }> {
  const raw = JSON.stringify(body);
  const response = await plainRequest(`${base}/webhooks/maintainx/${type}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-maintainx-webhook-body-signature": await signMaintainX(secret, raw, Math.floor(Date.now() / 1000)),
    },
    body: raw,
  });
  const json = JSON.parse(response.text) as { eventId: string };
  return { status: response.status, eventId: json.eventId, text: response.text };
}
