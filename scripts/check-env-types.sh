#!/usr/bin/env bash
# Fails when worker-configuration.d.ts no longer matches what `npm run types` generates from
# wrangler.toml, .dev.vars.example, the compatibility date and the pinned runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! npx wrangler types --check --env-interface Env --strict-vars=false --env-file .dev.vars.example >/dev/null 2>&1; then
  echo "worker-configuration.d.ts is out of date: run 'npm run types' and commit it." >&2
  exit 1
fi
echo "worker-configuration.d.ts matches wrangler.toml and the runtime"
