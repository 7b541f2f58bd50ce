// `handlers list|hold|release`: the Worker's handlers through /admin (docs/operations.md,
// "Retries and holds"). A held handler is not called; the events that need it wait as `retrying`
// until its release queues them again, so a planned sink outage uses up no event's retries.

import { z } from "zod";
import { MAX_HOLD_REASON_CHARS as MAX_REASON_CHARS } from "../../src/admin/vocabulary";
import {
  ADMIN_OPTIONS,
  ADMIN_OPTIONS_HELP,
  ADMIN_TOKEN_HELP,
  type AdminCall,
  type AdminTarget,
  adminFailure,
  adminJson,
  answerError,
  callAdmin,
  cliCommand,
  readAnswer,
  resolveAdminTarget,
} from "../admin-api";
import { parseCommandArgs, requireNoMorePositionals } from "../args";
import { printHelp, runCommandGroup } from "../command-group";
import { CommandFailure, UsageError } from "../errors";
import { plural, shortTime } from "../format";
import { type CliContext, EXIT_OK, type ExitCode } from "../io";
import { type Column, formatTable, safeJson, sanitise, truncate, widthBeforeLast } from "../terminal";

/** When the terminal's width is unknown (output piped, or a test). */
const DEFAULT_COLUMNS = 120;
const MIN_REASON_WIDTH = 24;
/** A handler's name as `handlers list` prints it: `erp-sync`, `route:north-site`. */
const HANDLER_NAME = /^[\x21-\x7e]{1,200}$/;

const HANDLERS_HELP = `Usage: npm run cli -- handlers <command> [options]

Lists, holds and releases the Worker's handlers through its /admin API. A held handler is not
called: each event that needs it runs its other handlers, then waits as retrying (using none of
its retries) until the handler is released, which queues those events again. Hold a handler
before a planned outage of its sink (an ERP upgrade), release it afterwards.

Commands:
  list                         every handler: its types, whether it is held (since when, why),
                               how many events wait for it, its last success and failure
  hold <name> [--reason <R>]   stop calling it; its events wait
  release <name>               call it again; the events waiting for it are queued again

${ADMIN_TOKEN_HELP}

Run \`npm run cli -- handlers <command> --help\` for a command's options.`;

const COMMAND_HELP: Record<string, string> = {
  list: `Usage: npm run cli -- handlers list [--url <URL>] [--json]

Lists every handler the Worker has (GET /admin/handlers), in the order it runs them: the event
types it listens to, whether it is held (since when, and why), how many events wait for it, and
when it last succeeded and failed (to the minute).

Options:
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
  hold: `Usage: npm run cli -- handlers hold <name> [--reason <text>] [--url <URL>] [--json]

Holds a handler (POST /admin/handlers/<name>/hold): the Worker stops calling it, and each event
that needs it waits as retrying, using none of its retries, until \`handlers release <name>\`.
Holding a held handler keeps the time it was held since and replaces the reason. The Worker
alerts its operator channel.

Options:
  --reason <text>  why, shown by \`handlers list\` (at most ${MAX_REASON_CHARS} characters), e.g.
                   --reason "ERP upgrade until 18:00"; without it the hold has none
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
  release: `Usage: npm run cli -- handlers release <name> [--url <URL>] [--json]

Releases a held handler (POST /admin/handlers/<name>/release): the Worker calls it again and
queues the events waiting for it again at once (up to 2,000; the scheduled run queues the rest
within a minute). Each effect still happens once. Prints the handler and how many events were
queued again. Releasing a handler that is not held changes nothing.

Options:
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
};

const HOLD_OPTIONS = { ...ADMIN_OPTIONS, reason: { type: "string" } } as const;

const optionalText = z.string().nullish();

const HandlerSchema = z.looseObject({
  name: z.string(),
  types: z.array(z.string()),
  held: z.boolean(),
  heldSince: optionalText,
  reason: optionalText,
  waiting: z.number(),
  lastSuccessAt: optionalText,
  lastFailureAt: optionalText,
});
type Handler = z.infer<typeof HandlerSchema>;

const HandlerListSchema = z.looseObject({ handlers: z.array(HandlerSchema) });
const ReleasedSchema = HandlerSchema.extend({ requeued: z.number() });

export async function runHandlers(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const group = {
    name: "handlers",
    help: HANDLERS_HELP,
    commands: COMMAND_HELP,
    unknown: (command: string) => `Unknown handlers command "${sanitise(command)}": use list, hold or release.`,
  };
  return runCommandGroup(group, argv, ctx, async (command, rest, help) => {
    if (command === "list") {
      const { values, positionals } = parseCommandArgs(rest, ADMIN_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      requireNoMorePositionals(positionals, 0);
      return listHandlers(values.json === true, resolveAdminTarget(values, ctx), ctx);
    }
    if (command === "hold") {
      const { values, positionals } = parseCommandArgs(rest, HOLD_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      const name = readName(positionals, "hold");
      const reason = readReason(values.reason);
      return holdHandler(name, reason, values.json === true, resolveAdminTarget(values, ctx), ctx);
    }
    const { values, positionals } = parseCommandArgs(rest, ADMIN_OPTIONS);
    if (values.help) return printHelp(help, ctx);
    const name = readName(positionals, "release");
    return releaseHandler(name, values.json === true, resolveAdminTarget(values, ctx), ctx);
  });
}

function readName(positionals: string[], command: "hold" | "release"): string {
  const name = positionals[0];
  if (name === undefined) {
    throw new UsageError(
      `handlers ${command} needs a handler's name, e.g. handlers ${command} erp-sync (\`npm run cli -- handlers list\` shows them)`,
    );
  }
  requireNoMorePositionals(positionals, 1);
  // `.` and `..` would be resolved away as URL path segments, and no handler is named so.
  if (!HANDLER_NAME.test(name) || name === "." || name === "..") {
    throw new UsageError(
      `"${truncate(sanitise(name), 80)}" is not a handler's name; \`npm run cli -- handlers list\` shows them (e.g. erp-sync)`,
    );
  }
  return name;
}

/** The reason as the Worker keeps it (trimmed), or undefined for none. */
function readReason(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const reason = value.trim();
  if (reason === "") return undefined;
  if (Array.from(reason).length > MAX_REASON_CHARS) {
    throw new UsageError(`--reason must be at most ${MAX_REASON_CHARS} characters`);
  }
  return reason;
}

function handlerPath(name: string, action: "hold" | "release"): string {
  return `/handlers/${encodeURIComponent(name)}/${action}`;
}

async function listHandlers(json: boolean, target: AdminTarget, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const call: AdminCall = { method: "GET", path: "/handlers" };
  const { answer, body } = await adminJson(target, call, HandlerListSchema, ctx, { newRoute: true });
  if (json) {
    stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  if (body.handlers.length === 0) {
    stdout("The Worker has no handlers.");
    return EXIT_OK;
  }
  for (const line of handlerTable(body.handlers, ctx.columns ?? DEFAULT_COLUMNS)) stdout(line);

  const held = body.handlers.filter((h) => h.held);
  const waiting = body.handlers.reduce((sum, h) => sum + h.waiting, 0);
  if (held.length > 0) {
    const names = held.map((h) => sanitise(h.name)).join(", ");
    stderr(`${plural(held.length, "handler")} held (${names}): not called until released.`);
    const example = held.length === 1 ? (held[0] as Handler).name : { placeholder: "<name>" };
    stderr(`  release:        ${cliCommand(target, ["handlers", "release", example])}`);
  }
  if (waiting > 0) {
    stderr(`  events waiting: ${cliCommand(target, ["events", "list", "--status", "retrying"])}`);
  }
  return EXIT_OK;
}

/** A minute is what the Worker records last successes and failures to. */
function minute(iso: string | null | undefined): string {
  if (!iso) return "-";
  return iso.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z$/, "$1Z");
}

function handlerTable(handlers: Handler[], columns: number): string[] {
  const head: Column[] = [
    { header: "HANDLER", max: 40 },
    { header: "TYPES", max: 40 },
    { header: "HELD", max: 30 },
    { header: "WAITING", max: 8 },
    { header: "LAST SUCCESS", max: 18 },
    { header: "LAST FAILURE", max: 18 },
  ];
  const rows = handlers.map((h) => [
    h.name,
    h.types.join(", "),
    h.held ? (h.heldSince ? `since ${shortTime(h.heldSince)}` : "yes") : "no",
    String(h.waiting),
    minute(h.lastSuccessAt),
    minute(h.lastFailureAt),
    h.held ? (h.reason ?? "") : "",
  ]);
  // The reason, free text, comes last and takes the rest of the line.
  const last: Column = {
    header: "REASON",
    max: Math.max(MIN_REASON_WIDTH, columns - widthBeforeLast([...head, { header: "" }], rows)),
  };
  return formatTable([...head, last], rows);
}

/** The lines that describe one handler after a hold or a release. */
function describeHandler(handler: Handler): string[] {
  const rows: string[][] = [
    ["handler", handler.name],
    ["types", handler.types.join(", ")],
    ["held", handler.held ? (handler.heldSince ? `yes, since ${handler.heldSince}` : "yes") : "no"],
  ];
  if (handler.held && handler.reason) rows.push(["reason", handler.reason]);
  rows.push(["waiting", plural(handler.waiting, "event")]);
  rows.push(["last success", handler.lastSuccessAt ?? "-"]);
  rows.push(["last failure", handler.lastFailureAt ?? "-"]);
  return formatTable([{ header: "" }, { header: "" }], rows).slice(1);
}

async function holdHandler(
  name: string,
  reason: string | undefined,
  json: boolean,
  target: AdminTarget,
  ctx: CliContext,
): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  // No body at all without a reason: the route takes an empty body as "no reason".
  const call: AdminCall = {
    method: "POST",
    path: handlerPath(name, "hold"),
    ...(reason === undefined ? {} : { body: { reason } }),
  };
  const answer = await call404Aware(target, call, name, ctx);
  const held = readAnswer(target, call, answer, HandlerSchema);
  if (json) {
    stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  stdout(`Held ${sanitise(held.name)}: the Worker does not call it; events that need it wait as retrying.`);
  for (const line of describeHandler(held)) stdout(`  ${line}`);
  stderr(`Release it: ${cliCommand(target, ["handlers", "release", held.name])}`);
  return EXIT_OK;
}

async function releaseHandler(name: string, json: boolean, target: AdminTarget, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const call: AdminCall = { method: "POST", path: handlerPath(name, "release") };
  const answer = await call404Aware(target, call, name, ctx);
  const released = readAnswer(target, call, answer, ReleasedSchema);
  if (json) {
    stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  const queued =
    released.requeued > 0
      ? `${plural(released.requeued, "waiting event")} queued again.`
      : "no waiting events were queued again.";
  // Held again meanwhile (another hold came in after this release): say so rather than claim it runs.
  const now = released.held ? "but it is held again (a hold came in after the release)" : "the Worker calls it again";
  stdout(`Released ${sanitise(released.name)}: ${now}; ${queued}`);
  for (const line of describeHandler(released)) stdout(`  ${line}`);
  if (released.waiting > 0 && !released.held) {
    stderr(
      `${plural(released.waiting, "more event")} ${released.waiting === 1 ? "waits" : "wait"} for it; the Worker's scheduled run queues ${released.waiting === 1 ? "it" : "them"} within a minute.`,
    );
  }
  if (released.requeued > 0 || released.waiting > 0) {
    stderr(`Those still retrying: ${cliCommand(target, ["events", "list", "--status", "retrying"])}`);
  }
  return EXIT_OK;
}

/**
 * One hold or release; a 404 naming the handler as unknown becomes a sentence with the handlers
 * the Worker has (read with one more request, when it answers), anything else not 2xx a failure.
 */
async function call404Aware(target: AdminTarget, call: AdminCall, name: string, ctx: CliContext) {
  const answer = await callAdmin(target, call, ctx);
  if (answer.status >= 200 && answer.status <= 299) return answer;
  const error = answerError(answer);
  if (answer.status === 404 && error !== undefined && error !== "Not found") {
    throw new CommandFailure(await unknownHandler(name, target, ctx));
  }
  throw adminFailure(target, call, answer, { newRoute: true });
}

async function unknownHandler(name: string, target: AdminTarget, ctx: CliContext): Promise<string> {
  const list = `\`${cliCommand(target, ["handlers", "list"])}\``;
  const unknown = `The Worker at ${target.base} has no handler named "${truncate(sanitise(name), 80)}"`;
  try {
    const answer = await callAdmin(target, { method: "GET", path: "/handlers" }, ctx);
    const parsed = HandlerListSchema.safeParse(answer.json);
    if (answer.status === 200 && parsed.success && parsed.data.handlers.length > 0) {
      const names = parsed.data.handlers.map((h) => sanitise(h.name)).join(", ");
      return `${unknown}; it has ${names}. Give one of those names; ${list} shows what each handles.`;
    }
  } catch {
    // The names are a courtesy: the sentence below still says what to do.
  }
  return `${unknown}. Run ${list} to see the names it has.`;
}
