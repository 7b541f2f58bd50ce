// The console's page and files, and which admin token applies (docs/console.md):
// the configured ADMIN_TOKEN, else the random local one `npm run dev` makes, on loopback hosts only.

import { describe, expect, it } from "vitest";
import { LOCAL_ADMIN_TOKEN_VAR } from "../../src/local-dev";
import { BASE } from "../helpers/deliveries";
import { callWorker, type EnvOverrides } from "../helpers/worker";

const TOKEN = "console-admin-token";
const LOCAL_TOKEN = "local-console-token-for-tests";
const withLocalToken = { [LOCAL_ADMIN_TOKEN_VAR]: LOCAL_TOKEN } as EnvOverrides;

function get(url: string, overrides: EnvOverrides, token?: string): Promise<Response> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return callWorker(new Request(url, { headers }), overrides);
}

describe("the console's files", () => {
  it("serves the page, script and style without a bearer header, each with the console's CSP", async () => {
    const expected: Record<string, RegExp> = {
      "/admin": /^text\/html/,
      "/admin/console.js": /^text\/javascript/,
      "/admin/console.css": /^text\/css/,
    };
    for (const [path, type] of Object.entries(expected)) {
      const response = await get(`${BASE}${path}`, { ADMIN_TOKEN: TOKEN });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toMatch(type);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      await response.arrayBuffer();
    }
  });

  it("serves a page with no data in it and no inline script", async () => {
    const html = await (await get(`${BASE}/admin`, { ADMIN_TOKEN: TOKEN })).text();
    expect(html).toContain('<script type="module" src="/admin/console.js"></script>');
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/admin/console.js">']);
    expect(html).not.toMatch(/\bon[a-z]+=/i);
    expect(html).not.toContain(TOKEN);
  });

  it("links every view from the page, the Handlers view included", async () => {
    const html = await (await get(`${BASE}/admin`, { ADMIN_TOKEN: TOKEN })).text();
    const views = [...html.matchAll(/<a href="#\/([a-z]+)[^"]*" data-view="([a-z]+)">/g)].map((m) => m[2]);
    expect(views).toEqual(["status", "events", "failed", "dead", "handlers", "replay"]);
  });

  it("serves a script that builds the page from text nodes and attributes only, never from markup", async () => {
    const script = await (await get(`${BASE}/admin/console.js`, { ADMIN_TOKEN: TOKEN })).text();
    expect(script).toContain("document.createTextNode");
    // Every value from the Worker (titles, errors, hold reasons) reaches the page through h(): none
    // of these, which parse a string as HTML or code, may appear.
    for (const sink of [
      "innerHTML",
      "outerHTML",
      "insertAdjacentHTML",
      "document.write",
      "eval(",
      "new Function",
      "setHTMLUnsafe",
      "parseFromString",
      "createContextualFragment",
    ]) {
      expect(script, sink).not.toContain(sink);
    }
  });

  it("answers 404 for the console and its files when no admin token applies", async () => {
    for (const path of ["/admin", "/admin/console.js", "/admin/console.css"]) {
      const response = await get(`${BASE}${path}`, {});
      expect(response.status, path).toBe(404);
      await response.arrayBuffer();
    }
  });

  it("marks every JSON answer under /admin no-store, nosniff and unframeable, errors included", async () => {
    for (const [token, status] of [
      [TOKEN, 200],
      ["wrong", 401],
    ] as const) {
      const response = await get(`${BASE}/admin/status`, { ADMIN_TOKEN: TOKEN }, token);
      expect(response.status).toBe(status);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      await response.arrayBuffer();
    }
  });
});

describe("the local admin token of npm run dev", () => {
  it("opens /admin for requests addressed to a loopback host", async () => {
    for (const origin of ["http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787"]) {
      const status = await get(`${origin}/admin/status`, withLocalToken, LOCAL_TOKEN);
      expect(status.status, origin).toBe(200);
      await status.arrayBuffer();
      const page = await get(`${origin}/admin`, withLocalToken);
      expect(page.status, origin).toBe(200);
      await page.arrayBuffer();
    }
    const wrong = await get("http://localhost:8787/admin/status", withLocalToken, "local-guess");
    expect(wrong.status).toBe(401);
  });

  it("is never honoured on a public host name, where /admin does not exist", async () => {
    for (const origin of [BASE, "https://maintainx-webhooks.example.workers.dev", "http://localhost.example.com"]) {
      for (const path of ["/admin/status", "/admin", "/admin/console.js"]) {
        const response = await get(`${origin}${path}`, withLocalToken, LOCAL_TOKEN);
        expect(response.status, `${origin}${path}`).toBe(404);
        await response.arrayBuffer();
      }
    }
  });

  it("gives way to a configured ADMIN_TOKEN, even on localhost", async () => {
    const overrides = { ...withLocalToken, ADMIN_TOKEN: TOKEN } as EnvOverrides;
    const local = await get("http://localhost:8787/admin/status", overrides, LOCAL_TOKEN);
    expect(local.status).toBe(401);
    await local.arrayBuffer();
    const configured = await get(`${BASE}/admin/status`, overrides, TOKEN);
    expect(configured.status).toBe(200);
    await configured.arrayBuffer();
  });
});
