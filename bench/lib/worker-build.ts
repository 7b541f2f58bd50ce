// Builds the receiver exactly as it would be deployed (`wrangler deploy --dry-run`, offline) and
// derives the Miniflare setup from wrangler.toml: vars, compatibility, binding names, migrations.

import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { promisify } from "node:util";
import { unstable_readConfig, unstable_splitSqlQuery } from "wrangler";
import { REPO_ROOT, WRANGLER_BIN, wranglerEnv } from "../../tools/wrangler-env";
import type { WorkerSpec } from "./worker-spec";

const run = promisify(execFile);

/**
 * Bundles a Worker entry (by default wrangler.toml's `main`, src/index.ts) as `wrangler deploy`
 * would, into `outDir`; answers the path of the bundled module.
 */
export async function bundleWorker(outDir: string, configHome: string, entry?: string): Promise<string> {
  await run(WRANGLER_BIN, ["deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", outDir], {
    cwd: REPO_ROOT,
    env: wranglerEnv(configHome),
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return join(outDir, `${basename(entry ?? "index.ts", extname(entry ?? "index.ts"))}.js`);
}

/** The parts of wrangler's parsed config used here (its own types do not resolve under Node's tsconfig). */
interface WranglerConfig {
  compatibility_date?: string;
  compatibility_flags: string[];
  vars?: Record<string, unknown>;
  kv_namespaces: { binding: string }[];
  queues: {
    producers?: { binding: string; queue?: string }[];
    consumers?: {
      queue: string;
      max_batch_size?: number;
      max_batch_timeout?: number;
      max_retries?: number;
      dead_letter_queue?: string;
    }[];
  };
  d1_databases: { binding: string; migrations_dir?: string }[];
  r2_buckets: { binding: string }[];
}

function migrationStatements(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  return files.flatMap((name): string[] => unstable_splitSqlQuery(readFileSync(join(dir, name), "utf8")));
}

function readWranglerConfig(): WranglerConfig {
  return unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml") });
}

/** The receiver's Miniflare setup: wrangler.toml's bindings, without queue consumers or crons. */
export function receiverSpec(scriptPath: string, secret: string): WorkerSpec {
  const config = readWranglerConfig();
  const vars = Object.fromEntries(
    Object.entries(config.vars ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  const d1Setup: Record<string, string[]> = {};
  for (const db of config.d1_databases) {
    d1Setup[db.binding] = migrationStatements(join(REPO_ROOT, db.migrations_dir ?? "migrations"));
  }
  if (!config.compatibility_date) throw new Error("wrangler.toml has no compatibility_date");
  return {
    scriptPath,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: { ...vars, MAINTAINX_WEBHOOK_SECRET: secret },
    kvNamespaces: config.kv_namespaces.map((kv) => kv.binding),
    queueProducers: Object.fromEntries((config.queues.producers ?? []).map((p) => [p.binding, p.queue ?? p.binding])),
    d1Databases: config.d1_databases.map((db) => db.binding),
    r2Buckets: config.r2_buckets.map((r2) => r2.binding),
    d1Setup,
  };
}

/** Another Worker served exactly like the receiver (same runtime settings and bindings). */
export function sameSetupAs(like: WorkerSpec, scriptPath: string): WorkerSpec {
  return { ...like, scriptPath, d1Setup: {} };
}

/**
 * The whole Worker as wrangler.toml sets it up, queue consumers included (no crons: the burst
 * measures deliveries, not the poller), with the admin token set so the bench can read
 * `/admin/status`, and Slack and the ERP pointed at the host's stub sink.
 */
export function fullWorkerSpec(scriptPath: string, secret: string, adminToken: string): WorkerSpec {
  const receiver = receiverSpec(scriptPath, secret);
  const consumers = readWranglerConfig().queues.consumers ?? [];
  return {
    ...receiver,
    bindings: { ...receiver.bindings, ADMIN_TOKEN: adminToken },
    queueConsumers: Object.fromEntries(
      consumers.map((c) => [
        c.queue,
        {
          ...(c.max_batch_size !== undefined ? { maxBatchSize: c.max_batch_size } : {}),
          ...(c.max_batch_timeout !== undefined ? { maxBatchTimeout: c.max_batch_timeout } : {}),
          ...(c.max_retries !== undefined ? { maxRetries: c.max_retries } : {}),
          ...(c.dead_letter_queue !== undefined ? { deadLetterQueue: c.dead_letter_queue } : {}),
        },
      ]),
    ),
    sinkVars: ["SLACK_WEBHOOK_URL", "ERP_WEBHOOK_URL"],
  };
}
