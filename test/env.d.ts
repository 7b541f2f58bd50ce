import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** An empty database, migrated step by step by the upgrade test. */
      UPGRADE_DB: D1Database;
    }
  }
}
