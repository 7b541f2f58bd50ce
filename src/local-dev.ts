// What `npm run dev` gives a Worker that has no configuration, and how the command line finds it.
// None of it is in wrangler.toml, and the Worker honours it only for a request made on this
// machine (`isLocalRequest`: addressed to a loopback host and relayed by no proxy), so it can never
// open a deployed Worker, which Cloudflare reaches by its public host name, nor a dev server behind
// a tunnel that rewrites the Host header to `localhost`.

/**
 * The webhook secret that `npm run dev` injects when the local configuration sets none, and that
 * `npm run cli -- send` signs with when no secret is configured.
 */
export const LOCAL_DEV_WEBHOOK_SECRET = "local-dev-only-maintainx-secret";

/**
 * The variable through which `npm run dev` hands the Worker a random admin token, made at each
 * start when no ADMIN_TOKEN is configured. A configured ADMIN_TOKEN replaces it.
 */
export const LOCAL_ADMIN_TOKEN_VAR = "LOCAL_DEV_ADMIN_TOKEN";

/**
 * Where `npm run dev` writes that token for `npm run cli` (JSON `{"token","url"}`, relative to the
 * repository root; `.wrangler/` is git-ignored), removed when the dev server ends.
 */
export const LOCAL_ADMIN_TOKEN_FILE = ".wrangler/local-admin-token.json";

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether a request URL is addressed to this machine. */
export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname);
}

/**
 * What an HTTP proxy or tunnel adds to the requests it relays: ngrok and cloudflared add
 * `X-Forwarded-For`, Caddy the three `X-Forwarded-*`, and nginx whichever its configuration names.
 * No browser or HTTP client sends them of itself, and wrangler dev adds none. A relay that adds
 * none (nginx's bare `proxy_pass`, a TCP forwarder) is not seen here: SECURITY.md, item 14.
 */
const PROXY_HEADERS: readonly string[] = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
];

/**
 * Whether the local development secret and admin token may be honoured for this request: it is
 * addressed to a loopback host, carries none of the headers a proxy adds, and its client address
 * (`CF-Connecting-IP`, which Cloudflare and wrangler dev set from the connection) is absent or a
 * loopback address. The host alone is not enough: a tunnel may rewrite Host to `localhost`
 * (`ngrok http 8787 --host-header=rewrite`), and the request then comes from the internet.
 */
export function isLocalRequest(request: Request): boolean {
  if (!isLoopbackUrl(request.url)) return false;
  const { headers } = request;
  if (PROXY_HEADERS.some((name) => headers.has(name))) return false;
  const client = headers.get("cf-connecting-ip");
  return client === null || isLoopbackAddress(client);
}

/** 127.0.0.0/8 and ::1, in any form URL parsing gives the same address (and IPv4-mapped 127.x). */
function isLoopbackAddress(address: string): boolean {
  const text = address.trim();
  try {
    if (text.includes(":")) {
      const host = new URL(`http://[${text}]/`).hostname;
      return host === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
    }
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) && /^127\./.test(new URL(`http://${text}/`).hostname);
  } catch {
    return false;
  }
}
