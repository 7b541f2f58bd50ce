// A command with subcommands (`events list`, `subscriptions create`): the group's help, an
// unknown subcommand, and each subcommand's own help, the same way for every group.

import { runGuarded, UsageError } from "./errors";
import { type CliContext, EXIT_OK, EXIT_USAGE, type ExitCode } from "./io";

interface CommandGroup {
  /** The group's name, as typed: `events`. */
  name: string;
  /** Printed for `<group> --help` (exit 0) and for `<group>` alone (on stderr, exit 2). */
  help: string;
  /** Each subcommand's help text, by name. */
  commands: Record<string, string>;
  /** The usage error for a subcommand not in `commands`. */
  unknown: (command: string) => string;
}

/** Runs `run` for a known subcommand, guarded (usage, configuration and failures become exit codes). */
export async function runCommandGroup(
  group: CommandGroup,
  argv: string[],
  ctx: CliContext,
  run: (command: string, rest: string[], help: string) => Promise<ExitCode>,
): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const asked = command !== undefined;
    (asked ? ctx.output.stdout : ctx.output.stderr)(group.help);
    return asked ? EXIT_OK : EXIT_USAGE;
  }
  // hasOwn: a command named like an Object.prototype member ("constructor") is unknown too.
  const help = Object.hasOwn(group.commands, command) ? group.commands[command] : undefined;
  if (help === undefined) {
    return runGuarded(ctx.output, group.name, async () => {
      throw new UsageError(group.unknown(command));
    });
  }
  return runGuarded(ctx.output, `${group.name} ${command}`, () => run(command, rest, help));
}

/** A subcommand's `--help`: its text on stdout, exit 0. */
export function printHelp(help: string, ctx: CliContext): ExitCode {
  ctx.output.stdout(help);
  return EXIT_OK;
}
