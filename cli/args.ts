// Argument parsing on node:util parseArgs, with its errors turned into usage errors (exit 2).

import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandArgs<T extends OptionsConfig>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs throws TypeErrors with a `code` (ERR_PARSE_ARGS_*); anything else is a bug.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/** `--help` / `-h`, shared by every command. */
export const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

export function requireNoMorePositionals(positionals: string[], expected: number): void {
  if (positionals.length > expected) {
    throw new UsageError(`Unexpected argument: ${positionals[expected]}`);
  }
}
