// Configuration for the command line: the environment first, then `.dev.vars` in the current
// directory (the file `wrangler dev` reads), so one file configures both the Worker and the CLI.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { ConfigError } from "./errors";

export const DEV_VARS_FILE = ".dev.vars";

const CONFIG_KEYS = [
  "MAINTAINX_API_KEY",
  "MAINTAINX_API_BASE",
  "MAINTAINX_ORGANIZATION_ID",
  "MAINTAINX_WEBHOOK_SECRET",
  /** The Worker's /admin token, for `events` and `status`. */
  "ADMIN_TOKEN",
] as const;

type ConfigKey = (typeof CONFIG_KEYS)[number];

interface ConfigValue {
  value: string;
  /** Named in messages, so a wrong key can be traced without printing it. */
  source: "the environment" | typeof DEV_VARS_FILE;
}

type CliConfig = Partial<Record<ConfigKey, ConfigValue>>;

/** `KEY=value` or `export KEY=value`: the lines parseDevVars keeps. */
const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/;

/**
 * Reads dotenv-style lines with Node's parseEnv (quotes, `export `, `#` comments, CRLF). Lines
 * that are not assignments are skipped, as wrangler does; parseEnv alone would fold such a line
 * into the next key's name.
 */
export function parseDevVars(text: string): Record<string, string> {
  const assignments = text.split(/\r?\n/).filter((line) => ASSIGNMENT.test(line));
  return parseEnv(assignments.join("\n")) as Record<string, string>;
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
