// Runs before every test file in workerd: applies the D1 migrations, and routes the Worker's
// outbound fetch() (used when the real local queue runs the consumer) to recording sinks.

import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { world } from "./outbound";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
world.install();
