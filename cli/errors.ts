// The three ways a command ends early, and the exit code each maps to (see io.ts).

import { EXIT_FAILURE, EXIT_USAGE, type ExitCode, type OutputSink } from "./io";

/** The command line was wrong; the message says what to change. Exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Configuration is missing or invalid, so no request was made. Exit 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** MaintainX, the Worker or the network failed. Exit 1. */
export class CommandFailure extends Error {
  override readonly name: string = "CommandFailure";
}

/**
 * Runs a command body and turns the expected errors into a message and an exit code.
 * Anything else is a bug and propagates with its stack.
 */
export async function runGuarded(
  output: OutputSink,
  helpCommand: string,
  body: () => Promise<ExitCode>,
): Promise<ExitCode> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      output.stderr(`Error: ${error.message}`);
      output.stderr(`Run \`npm run cli -- ${helpCommand} --help\` for usage.`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      output.stderr(`Error: ${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof CommandFailure) {
      output.stderr(`Error: ${error.message}`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}
