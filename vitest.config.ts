import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: "workers" runs inside workerd through Miniflare (real KV, Queue, D1, R2);
// "node" drives a real `wrangler dev` and the command line from Node, and runs the contract tests
// against MaintainX's OpenAPI description (README, "Development").
export default defineConfig({
  test: {
    // The Worker logs a JSON line per step; show them only for failing tests.
    silent: "passed-only",
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // A database of its own for the upgrade test (test/integration/upgrade.test.ts).
              d1Databases: { UPGRADE_DB: "upgrade-test" },
              bindings: {
                MAINTAINX_WEBHOOK_SECRET: "test-secret-current, test-secret-previous",
                // Sinks recorded by test/helpers/outbound.ts (the `world` fake).
                MAINTAINX_API_BASE: "https://maintainx.test/v1",
                MAINTAINX_API_KEY: "test-api-key",
                SLACK_WEBHOOK_URL: "https://hooks.slack.test/services/T000/B000/secret-slack-token",
                ERP_WEBHOOK_URL: "https://erp.test/maintainx/completed",
                // Retries through the real local queue come back at once (unit tests set 10).
                // Five doubling retries from RETRY_BASE_SECONDS, not the day-long default schedule.
                RETRY_SCHEDULE: "",
                RETRY_BASE_SECONDS: "0",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          testTimeout: 30_000,
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          setupFiles: ["./test/helpers/setup.ts"],
        },
      },
      {
        test: {
          name: "node",
          include: [
            "test/e2e/**/*.test.ts",
            "test/node/**/*.test.ts",
            "test/contract/**/*.test.ts",
            "test/browser/**/*.test.ts",
          ],
          environment: "node",
          // One line when the contract tests cannot find MaintainX's OpenAPI description, or the browser tests Chromium.
          globalSetup: ["./test/helpers/node/node-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
