// The command line's top level: picks the command and prints the program's help.

import { LOCAL_ADMIN_TOKEN_FILE } from "../src/local-dev";
import { DEFAULT_ADMIN_URL } from "./admin-api";
import { runEvents } from "./commands/events";
import { runHandlers } from "./commands/handlers";
import { runSend } from "./commands/send";
import { runStatus } from "./commands/status";
import { runSubscriptions } from "./commands/subscriptions";
import { type CliContext, EXIT_OK, EXIT_USAGE, type ExitCode } from "./io";

const PROGRAM_HELP = `Usage: npm run cli -- <command> [options]

Operator tools for the MaintainX webhooks Worker.

Commands:
  subscriptions create --url <base URL> [--type <TYPE> ...] [--no-entity]
                     subscribe the Worker to MaintainX event types; prints the secrets
  subscriptions list | get <id> | delete <id> | secret <id>
                     manage MaintainX webhook subscriptions (list shows those create recorded
                     in .maintainx-subscriptions.json: MaintainX cannot list them)
  subscriptions update <id> --url <base URL> [--type <TYPE>]
                     point a subscription at another base URL (or type)
  send <TYPE> [--url <Worker URL>] [--format maintainx|seed] [--secret <secret>] [--data <file>]
                     sign and post a sample delivery to a running Worker
  events list [--status <S>] [--type <T>] [--work-order <id>] [--subject <kind:id>]
              [--since <ISO>] [--until <ISO>] [--limit <n>] [--cursor <c>] [--all]
                     the Worker's latest events, newest first
  events show <id>   one event: its fields, handler outcomes, attempt log and data
  events replay <id> | events replay <filters> [--limit <n>] [--dry-run]
                     run one event again, or every event that matches
  handlers list | hold <name> [--reason <R>] | release <name>
                     the handlers, held or not; hold one through a sink's outage (its
                     events wait, using no retries), release it to queue them again
  status             events by status, last webhook, the poller, retry schedule, held
                     handlers, malformed settings

The events, handlers and status commands call the Worker's /admin API: --url <Worker URL>
(default ${DEFAULT_ADMIN_URL}), --json for its answer as JSON.

Configuration comes from the environment, then .dev.vars in the current directory:
MAINTAINX_API_KEY, MAINTAINX_API_BASE, MAINTAINX_ORGANIZATION_ID, MAINTAINX_WEBHOOK_SECRET,
ADMIN_TOKEN (else, for a Worker on this machine, the token \`npm run dev\` writes to
${LOCAL_ADMIN_TOKEN_FILE}).

Exit codes: 0 success; 1 MaintainX, the Worker or the network failed;
2 the command could not run as given (arguments or configuration).

Run \`npm run cli -- <command> --help\` for a command's options.`;

const COMMANDS: Record<string, (argv: string[], ctx: CliContext) => Promise<ExitCode>> = {
  subscriptions: runSubscriptions,
  send: runSend,
  events: runEvents,
  handlers: runHandlers,
  status: runStatus,
};

export async function runCli(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    ctx.output.stdout(PROGRAM_HELP);
    return EXIT_OK;
  }
  // hasOwn: a command named like an Object.prototype member ("constructor") is unknown too.
  const run = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    if (command !== undefined) ctx.output.stderr(`Error: unknown command "${command}".`);
    ctx.output.stderr(PROGRAM_HELP);
    return EXIT_USAGE;
  }
  return run(rest, ctx);
}
