// What `npm run dev` gives a Worker that has no configuration, and how the command line finds it.
// None of it is in wrangler.toml, and the Worker honours it only for requests addressed to a
// loopback host (the request URL's host, i.e. the Host header), so it can never open a deployed
// Worker: Cloudflare routes a request to a Worker by its public host name.

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
