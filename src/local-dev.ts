// The webhook secret that `npm run dev` injects when no .dev.vars exists, and that
// `npm run cli -- send` signs with when no secret is configured. It is never in wrangler.toml,
// and the receiver honours it only for requests addressed to a loopback host.
export const LOCAL_DEV_WEBHOOK_SECRET = "local-dev-only-maintainx-secret";
