// Configuration for the command line: the environment first, then `.dev.vars` in the current
// directory (the file `wrangler dev` reads), so one file configures both the Worker and the CLI.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "./errors";

export const DEFAULT_API_BASE = "https://api.getmaintainx.com/v1";
export const DEV_VARS_FILE = ".dev.vars";

const CONFIG_KEYS = [
  "MAINTAINX_API_KEY",
  "MAINTAINX_API_BASE",
  "MAINTAINX_ORGANIZATION_ID",
  "MAINTAINX_WEBHOOK_SECRET",
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number];

export interface ConfigValue {
  value: string;
  /** Named in messages, so a wrong key can be traced without printing it. */
  source: "the environment" | typeof DEV_VARS_FILE;
}

export type CliConfig = Partial<Record<ConfigKey, ConfigValue>>;

/**
 * Reads dotenv-style lines: `KEY=value`, `KEY="value"`, `KEY='value'`, optional `export `,
 * `#` comments. Lines that are not assignments are skipped, as wrangler does.
 */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    vars[match[1]] = unquote(match[2] ?? "");
  }
  return vars;
}

function unquote(raw: string): string {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    const end = raw.indexOf(quote, 1);
    if (end > 0) return raw.slice(1, end);
  }
  // Unquoted values end where a ` #` comment starts, as in dotenv.
  return raw.replace(/\s+#.*$/, "").trim();
}

function readDevVarsFile(cwd: string): Record<string, string> {
  const path = join(cwd, DEV_VARS_FILE);
  try {
    return parseDevVars(readFileSync(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ConfigError(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Empty values count as unset: `.dev.vars.example` ships every key as `""`. */
export function loadCliConfig(input: { env: Readonly<Record<string, string | undefined>>; cwd: string }): CliConfig {
  const fromFile = readDevVarsFile(input.cwd);
  const config: CliConfig = {};
  for (const key of CONFIG_KEYS) {
    const fromEnv = input.env[key]?.trim();
    const fileValue = fromFile[key]?.trim();
    if (fromEnv) config[key] = { value: fromEnv, source: "the environment" };
    else if (fileValue) config[key] = { value: fileValue, source: DEV_VARS_FILE };
  }
  return config;
}

/** Both the Worker and the CLI accept several secrets separated by commas (rotation). */
export function splitSecrets(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
