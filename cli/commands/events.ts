// `events list|show|replay`: the Worker's event log through /admin (docs/console.md). What
// an event holds came from outside, so every value is sanitised before it is printed
// (cli/terminal.ts).

import { z } from "zod";
import {
  FILTER_NAMES,
  type FilterName,
  LIST_DEFAULT_LIMIT,
  MAX_LIMIT,
  REPLAY_DEFAULT_LIMIT,
} from "../../src/admin/vocabulary";
import { EVENT_TYPE_PATTERN } from "../../src/events/canonical";
import { EVENT_STATUSES } from "../../src/store/event-status";
import {
  ADMIN_OPTIONS,
  ADMIN_OPTIONS_HELP,
  ADMIN_TOKEN_HELP,
  type AdminCall,
  type AdminTarget,
  adminFailure,
  adminJson,
  callAdmin,
  cliCommand,
  readAnswer,
  resolveAdminTarget,
} from "../admin-api";
import { parseCommandArgs, requireNoMorePositionals } from "../args";
import { printHelp, runCommandGroup } from "../command-group";
import { CommandFailure, UsageError } from "../errors";
import { formatMs, plural, shortTime } from "../format";
import { type CliContext, EXIT_OK, type ExitCode } from "../io";
import { type Column, formatTable, safeJson, sanitise, truncate, widthBeforeLast } from "../terminal";

/** --all stops after this many events, and says how to go on. */
export const MAX_ALL_EVENTS = 10_000;
/** When the terminal's width is unknown (output piped, or a test). */
const DEFAULT_COLUMNS = 120;
const MIN_SUMMARY_WIDTH = 24;

const FILTERS_HELP = `Filters (GET /admin/events and bulk replay):
  --status <status>    ${EVENT_STATUSES.join(", ")}
  --type <type>        a canonical event type, e.g. workorder.completed
  --work-order <id>    the events of one work order
  --subject <kind:id>  the events about one entity, e.g. workorder:42, part:7
  --since <ISO time>   received since this time, e.g. 2026-11-28T09:00:00Z
  --until <ISO time>   received until this time`;

const EVENTS_HELP = `Usage: npm run cli -- events <command> [options]

Reads and replays the Worker's event log through its /admin API.

Commands:
  list [filters] [--limit <n>] [--cursor <c>] [--all]
                        the latest events, newest first
  show <id>             one event: its fields, each handler's outcome, its attempt log,
                        its data
  replay <id>           run one event again: its failed and skipped handlers run again,
                        those that succeeded stay done
  replay <filters> [--limit <n>] [--dry-run]
                        replay every event that matches (at least one filter)

${ADMIN_TOKEN_HELP}

Run \`npm run cli -- events <command> --help\` for a command's options.`;

const COMMAND_HELP: Record<string, string> = {
  list: `Usage: npm run cli -- events list [filters] [--limit <n>] [--cursor <c>] [--all] [--url <URL>] [--json]

Lists events newest first (GET /admin/events): received, status, type, attempts, id, and the
summary or last error; when some are retrying on the schedule, also when each is next tried.
Long cells are cut; --json has them whole. When there are more, the last line says how to get
the next page.

${FILTERS_HELP}

Options:
  --limit <n>          events per page, 1 to ${MAX_LIMIT} (default: the Worker's, ${LIST_DEFAULT_LIMIT}; with --all, ${MAX_LIMIT})
  --cursor <c>         the page after the one that printed this cursor
  --all                follow the pages to the end, at most ${MAX_ALL_EVENTS.toLocaleString("en")} events; with --json,
                       one {"events","nextCursor"} holding them all
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
  show: `Usage: npm run cli -- events show <id> [--url <URL>] [--json]

Shows one event (GET /admin/events/<id>): its fields (for a retrying event, when it is next
tried, or the held handler it waits for), each handler's outcome (with why it skipped, or what
it did), the attempt log (every handler call, oldest first: time, handler, attempt, outcome, the
sink's HTTP status, duration, error; the latest 50) and its data as JSON. Ids may hold colons
(poll:<work order>:<updatedAt>); quote one that holds spaces.

Options:
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
  replay: `Usage: npm run cli -- events replay <id> [--url <URL>] [--json]
       npm run cli -- events replay <filters> [--limit <n>] [--dry-run] [--url <URL>] [--json]

With an id, queues that event again (POST /admin/events/<id>/replay): its failed and skipped
handlers run again, those that succeeded stay done.

With filters instead (at least one), replays every matching event (POST /admin/events/replay)
and prints how many and their ids. Try --dry-run first: it lists what would be replayed.

${FILTERS_HELP}

Options:
  --limit <n>          replay at most this many, 1 to ${MAX_LIMIT} (default: the Worker's, ${REPLAY_DEFAULT_LIMIT})
  --dry-run            list the matching events; replay nothing
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`,
};

const FILTER_OPTIONS = {
  status: { type: "string" },
  type: { type: "string" },
  "work-order": { type: "string" },
  subject: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
} as const;

const LIST_OPTIONS = {
  ...ADMIN_OPTIONS,
  ...FILTER_OPTIONS,
  cursor: { type: "string" },
  all: { type: "boolean" },
} as const;
const REPLAY_OPTIONS = { ...ADMIN_OPTIONS, ...FILTER_OPTIONS, "dry-run": { type: "boolean" } } as const;

type FilterValues = { [K in keyof typeof FILTER_OPTIONS]?: string };

/** The filters as the Worker names them. */
type EventFilter = { [K in FilterName]?: string };

/** The option that sets each filter. */
const FILTER_FLAGS: Record<FilterName, string> = {
  status: "--status",
  type: "--type",
  workOrderId: "--work-order",
  subject: "--subject",
  since: "--since",
  until: "--until",
};

/** The filters GET /admin/events gained with cursors; an older Worker ignores them. */
const NEWER_FILTERS: FilterName[] = ["workOrderId", "subject", "since", "until"];

const PRINTABLE = /^[\x21-\x7e]{1,200}$/;
const SUBJECT = /^[A-Za-z][A-Za-z0-9_-]*:[\x21-\x7e]{1,200}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function readFilter(values: FilterValues): EventFilter {
  const filter: EventFilter = {};
  if (values.status !== undefined) {
    if (!(EVENT_STATUSES as readonly string[]).includes(values.status)) {
      throw new UsageError(`--status must be one of ${EVENT_STATUSES.join(", ")}, not "${sanitise(values.status)}"`);
    }
    filter.status = values.status;
  }
  if (values.type !== undefined) {
    if (!EVENT_TYPE_PATTERN.test(values.type)) {
      throw new UsageError(
        `--type must be a canonical event type such as workorder.completed, not "${sanitise(values.type)}"`,
      );
    }
    filter.type = values.type;
  }
  if (values["work-order"] !== undefined) {
    const id = values["work-order"].trim();
    if (!PRINTABLE.test(id)) throw new UsageError("--work-order must be a work order id, e.g. --work-order 42");
    filter.workOrderId = id;
  }
  if (values.subject !== undefined) {
    if (!SUBJECT.test(values.subject)) {
      throw new UsageError(
        `--subject must be <kind>:<id>, e.g. workorder:42 or part:7, not "${sanitise(values.subject)}"`,
      );
    }
    filter.subject = values.subject;
  }
  for (const key of ["since", "until"] as const) {
    const value = values[key];
    if (value === undefined) continue;
    if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
      throw new UsageError(`--${key} must be an ISO date or time, e.g. 2026-11-28T09:00:00Z, not "${sanitise(value)}"`);
    }
    filter[key] = value;
  }
  if (filter.since !== undefined && filter.until !== undefined && Date.parse(filter.since) > Date.parse(filter.until)) {
    throw new UsageError("--since is later than --until: no event can match");
  }
  return filter;
}

/** Listing and bulk replay alike take 1 to MAX_LIMIT events. */
function readLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const limit = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

/** The filters again as options, in the Worker's order, for a suggested command line. */
function filterArgs(filter: EventFilter): string[] {
  return FILTER_NAMES.flatMap((name) => {
    const value = filter[name];
    return value === undefined ? [] : [FILTER_FLAGS[name], value];
  });
}

/** One path segment. `.` and `..` cannot be one: URLs resolve them away. */
function eventPath(id: string, suffix = ""): string {
  if (id === "" || id.trim() === "") throw new UsageError("give an event id, e.g. events show <id>");
  if (id === "." || id === "..") throw new UsageError(`"${id}" cannot be sent as an event id in a URL path`);
  try {
    return `/events/${encodeURIComponent(id)}${suffix}`;
  } catch {
    throw new UsageError("the event id is not valid text (it holds a lone surrogate)");
  }
}

const optionalText = z.string().nullish();

const EventSummarySchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  sourceType: optionalText,
  source: optionalText,
  status: z.string(),
  attempts: z.number(),
  receivedAt: z.string(),
  lastError: optionalText,
  summary: optionalText,
  nextAttemptAt: optionalText,
});
type EventSummary = z.infer<typeof EventSummarySchema>;

const EventPageSchema = z.looseObject({
  events: z.array(EventSummarySchema),
  nextCursor: z.string().nullish(),
});

const OutcomeSchema = z.looseObject({
  handler: z.string(),
  status: z.string(),
  attempts: z.number().nullish(),
  lastError: optionalText,
  /** Why the handler skipped. */
  reason: optionalText,
  /** What the handler said it did. */
  detail: optionalText,
  held: z.boolean().nullish(),
});
type Outcome = z.infer<typeof OutcomeSchema>;

const AttemptSchema = z.looseObject({
  handler: z.string(),
  attempt: z.number(),
  at: z.string(),
  durationMs: z.number(),
  outcome: z.string(),
  status: z.number().nullish(),
  error: optionalText,
  detail: optionalText,
});
type Attempt = z.infer<typeof AttemptSchema>;

/** The most attempts the Worker lists for one event (its latest). */
const MAX_ATTEMPTS_LISTED = 50;

const EventDetailSchema = z.looseObject({
  event: EventSummarySchema.extend({ data: z.unknown(), outcomes: z.array(OutcomeSchema) }),
  // Absent from Workers older than the attempt log.
  attempts: z.array(AttemptSchema).optional(),
});

const ReplayOneSchema = z.looseObject({ status: z.string(), eventId: z.string() });
const ReplayedSchema = z.looseObject({ replayed: z.number(), ids: z.array(z.string()) });
const DryRunSchema = z.looseObject({ dryRun: z.literal(true), matched: z.number(), ids: z.array(z.string()) });
const PartialReplaySchema = ReplayedSchema.extend({ error: z.string() });

export async function runEvents(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const group = {
    name: "events",
    help: EVENTS_HELP,
    commands: COMMAND_HELP,
    unknown: (command: string) => `Unknown events command "${sanitise(command)}": use list, show or replay.`,
  };
  return runCommandGroup(group, argv, ctx, async (command, rest, help) => {
    if (command === "list") {
      const { values, positionals } = parseCommandArgs(rest, LIST_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      requireNoMorePositionals(positionals, 0);
      const filter = readFilter(values);
      const limit = readLimit(values.limit);
      if (values.cursor !== undefined && values.cursor === "") throw new UsageError("--cursor is empty");
      const request = { filter, limit, cursor: values.cursor, all: values.all === true, json: values.json === true };
      return listEvents(request, resolveAdminTarget(values, ctx), ctx);
    }
    if (command === "show") {
      const { values, positionals } = parseCommandArgs(rest, ADMIN_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      const id = positionals[0];
      if (id === undefined) throw new UsageError("events show needs an event id: events show <id>");
      requireNoMorePositionals(positionals, 1);
      const path = eventPath(id);
      return showEvent(id, path, values.json === true, resolveAdminTarget(values, ctx), ctx);
    }
    const { values, positionals } = parseCommandArgs(rest, REPLAY_OPTIONS);
    if (values.help) return printHelp(help, ctx);
    requireNoMorePositionals(positionals, 1);
    const filter = readFilter(values);
    const id = positionals[0];
    const json = values.json === true;
    if (id !== undefined) {
      if (Object.keys(filter).length > 0 || values.limit !== undefined || values["dry-run"]) {
        throw new UsageError("events replay takes an event id or filters, not both");
      }
      const path = eventPath(id, "/replay");
      return replayOne(id, path, json, resolveAdminTarget(values, ctx), ctx);
    }
    if (Object.keys(filter).length === 0) {
      throw new UsageError(
        `events replay needs an event id, or at least one filter for a bulk replay (${FILTER_NAMES.map((name) => FILTER_FLAGS[name]).join(", ")}), e.g. events replay --status failed --dry-run`,
      );
    }
    const limit = readLimit(values.limit);
    const bulk = { filter, limit, dryRun: values["dry-run"] === true, json };
    return replayMany(bulk, resolveAdminTarget(values, ctx), ctx);
  });
}

interface ListRequest {
  filter: EventFilter;
  limit?: number;
  cursor?: string;
  all: boolean;
  json: boolean;
}

function listQuery(filter: EventFilter, limit: number | undefined, cursor: string | undefined): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) query.set(key, value);
  if (limit !== undefined) query.set("limit", String(limit));
  if (cursor !== undefined) query.set("cursor", cursor);
  return query;
}

async function listEvents(request: ListRequest, target: AdminTarget, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const limit = request.limit ?? (request.all ? MAX_LIMIT : undefined);
  const events: EventSummary[] = [];
  const rawEvents: unknown[] = [];
  const seenCursors = new Set<string>();
  let cursor = request.cursor;
  let nextCursor: string | null = null;
  let knowsCursors = true;
  let stopped: string | undefined;
  let raw: unknown;
  for (;;) {
    const call: AdminCall = { method: "GET", path: "/events", query: listQuery(request.filter, limit, cursor) };
    const { answer, body } = await adminJson(target, call, EventPageSchema, ctx);
    raw = answer.json;
    events.push(...body.events);
    rawEvents.push(...(raw as { events: unknown[] }).events);
    knowsCursors &&= Object.hasOwn(raw as object, "nextCursor");
    nextCursor = body.nextCursor ?? null;
    if (!request.all || nextCursor === null) break;
    if (seenCursors.has(nextCursor) || nextCursor === cursor) {
      stopped = "Stopped: the Worker gave a cursor it had given before, so the pages would repeat.";
      nextCursor = null;
      break;
    }
    if (events.length >= MAX_ALL_EVENTS) {
      stopped = `Stopped after ${events.length.toLocaleString("en")} events, the most --all reads.`;
      break;
    }
    seenCursors.add(nextCursor);
    cursor = nextCursor;
    // Progress on stderr while --all reads on (stdout stays the table, or the JSON).
    if (!request.json) stderr(`Read ${events.length.toLocaleString("en")} events; reading the next page…`);
  }

  const ignored = NEWER_FILTERS.filter((name) => request.filter[name] !== undefined).map((name) => FILTER_FLAGS[name]);
  if (request.cursor !== undefined) ignored.push("--cursor");
  if (request.all) ignored.push("--all");
  if (!knowsCursors && ignored.length > 0) {
    stderr(
      `Warning: the Worker at ${target.base} is older than ${ignored.join(", ")} (its answer has no nextCursor) and ignored ${ignored.length > 1 ? "them" : "it"}: below is its plain list, newest first.`,
    );
  }

  if (request.json) {
    stdout(safeJson(request.all ? { events: rawEvents, nextCursor } : raw));
  } else if (events.length === 0) {
    stdout(request.cursor === undefined ? "No events match." : "No more events.");
  } else {
    for (const line of eventTable(events, ctx.columns ?? DEFAULT_COLUMNS)) stdout(line);
  }
  if (stopped) stderr(stopped);
  if (nextCursor !== null) {
    const args = ["events", "list", ...filterArgs(request.filter)];
    if (request.limit !== undefined) args.push("--limit", String(request.limit));
    args.push("--cursor", nextCursor);
    if (request.all) args.push("--all");
    const more = request.all ? "For the rest" : "More events; for the next page";
    stderr(`${more}: ${cliCommand(target, args)}`);
  }
  return EXIT_OK;
}

function eventTable(events: EventSummary[], columns: number): string[] {
  // The next attempt's column only when an event on the page has one (it is retrying on the
  // schedule); a retrying event that waits for a held handler has none.
  const next = events.some((event) => event.nextAttemptAt);
  const head: Column[] = [
    { header: "RECEIVED", max: 24 },
    { header: "STATUS", max: 10 },
    ...(next ? [{ header: "NEXT ATTEMPT", max: 24 }] : []),
    { header: "TYPE", max: 32 },
    { header: "ATTEMPTS", max: 8 },
    // Long enough for a content hash (64) or a poll id; an id cut short could not be shown.
    { header: "ID", max: 80 },
  ];
  const rows = events.map((event) => [
    shortTime(event.receivedAt),
    event.status,
    ...(next ? [event.nextAttemptAt ? shortTime(event.nextAttemptAt) : ""] : []),
    event.type,
    String(event.attempts),
    event.id,
    [event.summary, event.lastError ? `error: ${event.lastError}` : undefined].filter(Boolean).join(" | "),
  ]);
  const last: Column = {
    header: "SUMMARY / LAST ERROR",
    max: Math.max(MIN_SUMMARY_WIDTH, columns - widthBeforeLast([...head, { header: "" }], rows)),
  };
  return formatTable([...head, last], rows);
}

async function showEvent(
  id: string,
  path: string,
  json: boolean,
  target: AdminTarget,
  ctx: CliContext,
): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const call: AdminCall = { method: "GET", path };
  const { answer, body } = await adminJson(target, call, EventDetailSchema, ctx, { notFound: noEvent(id, target) });
  if (json) {
    stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  const { data, outcomes, ...fields } = body.event;
  const held = outcomes.filter((o) => o.held === true || o.status === "held").map((o) => o.handler);
  const known = [
    "id",
    "type",
    "sourceType",
    "source",
    "status",
    "nextAttemptAt",
    "attempts",
    "receivedAt",
    "summary",
    "lastError",
  ];
  const rows: string[][] = [];
  for (const key of [...known, ...Object.keys(fields).filter((k) => !known.includes(k))]) {
    const value = (fields as Record<string, unknown>)[key];
    if (key === "nextAttemptAt" && (value === undefined || value === null)) {
      // Retrying with no next attempt: it waits for a held handler's release instead.
      if (fields.status === "retrying" && held.length > 0) {
        rows.push([key, `none: waits for ${held.join(", ")} (held) to be released`]);
      }
      continue;
    }
    if (value === undefined || value === null) continue;
    rows.push([key, typeof value === "string" ? value : JSON.stringify(value)]);
  }
  for (const line of formatTable([{ header: "" }, { header: "" }], rows).slice(1)) stdout(line);

  stdout("");
  for (const line of outcomeLines(outcomes)) stdout(line);
  if (body.attempts !== undefined) {
    stdout("");
    for (const line of attemptLines(body.attempts)) stdout(line);
  }
  stdout("");
  stdout("Data:");
  stdout(safeJson(data));
  if (body.event.status === "failed" || body.event.status === "dead") {
    stderr(`Replay it: ${cliCommand(target, ["events", "replay", id])}`);
  }
  for (const handler of held) {
    stderr(
      `It waits for ${sanitise(handler)}, which is held; release it: ${cliCommand(target, ["handlers", "release", handler])}`,
    );
  }
  return EXIT_OK;
}

/** Each handler's outcome, with its last error, why it skipped (`reason`) or what it did (`detail`). */
function outcomeLines(outcomes: Outcome[]): string[] {
  if (outcomes.length === 0) return ["Outcomes: none (no handler has run for it yet, or none listens to its type)"];
  const rows = outcomes.map((o) => [
    o.handler,
    o.status,
    String(o.attempts ?? "-"),
    [o.lastError, o.reason, o.detail].filter(Boolean).join(" | "),
  ]);
  const table = formatTable(
    [
      { header: "HANDLER", max: 40 },
      { header: "STATUS", max: 12 },
      { header: "ATTEMPTS", max: 8 },
      { header: "ERROR / REASON / DETAIL" },
    ],
    rows,
  );
  return ["Outcomes:", ...table.map((line) => `  ${line}`)];
}

/** The attempt log: every handler call (and held turn), oldest first. */
function attemptLines(attempts: Attempt[]): string[] {
  if (attempts.length === 0) return ["Attempts: none logged yet"];
  const cut = attempts.length >= MAX_ATTEMPTS_LISTED ? ` (the latest ${attempts.length}, oldest first)` : "";
  const rows = attempts.map((a) => [
    shortTime(a.at),
    a.handler,
    String(a.attempt),
    a.outcome,
    a.status === undefined || a.status === null ? "-" : String(a.status),
    a.outcome === "held" ? "-" : formatMs(a.durationMs),
    [a.error, a.detail].filter(Boolean).join(" | "),
  ]);
  const table = formatTable(
    [
      { header: "TIME", max: 24 },
      { header: "HANDLER", max: 40 },
      { header: "ATTEMPT", max: 8 },
      { header: "OUTCOME", max: 8 },
      { header: "HTTP", max: 4 },
      { header: "DURATION", max: 10 },
      { header: "ERROR / DETAIL" },
    ],
    rows,
  );
  return [`Attempts${cut}:`, ...table.map((line) => `  ${line}`)];
}

function noEvent(id: string, target: AdminTarget): string {
  return `No event ${truncate(sanitise(id), 200)} on the Worker at ${target.base}; \`${cliCommand(target, ["events", "list"])}\` shows the latest.`;
}

async function replayOne(
  id: string,
  path: string,
  json: boolean,
  target: AdminTarget,
  ctx: CliContext,
): Promise<ExitCode> {
  const call: AdminCall = { method: "POST", path };
  const { answer } = await adminJson(target, call, ReplayOneSchema, ctx, { notFound: noEvent(id, target) });
  if (json) {
    ctx.output.stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  ctx.output.stdout(
    `Replaying ${sanitise(id)}: its failed and skipped handlers run again; those that succeeded stay done.`,
  );
  ctx.output.stderr(`See how it ends: ${cliCommand(target, ["events", "show", id])}`);
  return EXIT_OK;
}

interface BulkReplay {
  filter: EventFilter;
  limit?: number;
  dryRun: boolean;
  json: boolean;
}

async function replayMany(request: BulkReplay, target: AdminTarget, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const body: Record<string, unknown> = { ...request.filter };
  if (request.limit !== undefined) body.limit = request.limit;
  if (request.dryRun) body.dryRun = true;
  const call: AdminCall = { method: "POST", path: "/events/replay", body };
  const answer = await callAdmin(target, call, ctx);
  const again = ["events", "replay", ...filterArgs(request.filter)];
  if (request.limit !== undefined) again.push("--limit", String(request.limit));

  if (answer.status === 503) {
    const partial = PartialReplaySchema.safeParse(answer.json);
    if (partial.success) {
      if (request.json) stdout(safeJson(answer.json));
      else if (partial.data.replayed > 0)
        printIds(
          `Replayed ${plural(partial.data.replayed, "event")} before the Worker stopped:`,
          partial.data.ids,
          ctx,
        );
      throw new CommandFailure(
        `The Worker answered POST /admin/events/replay with HTTP 503: ${truncate(sanitise(partial.data.error), 300)}. See what is left with \`${cliCommand(target, [...again, "--dry-run"])}\`, then run it again without --dry-run.`,
      );
    }
  }
  if (answer.status < 200 || answer.status > 299) throw adminFailure(target, call, answer, { newRoute: true });

  if (request.dryRun) {
    const dry = readAnswer(target, call, answer, DryRunSchema);
    if (request.json) {
      stdout(safeJson(answer.json));
      return EXIT_OK;
    }
    if (dry.matched === 0) {
      stdout("No events match: nothing would be replayed.");
      return EXIT_OK;
    }
    const shown = dry.ids.length < dry.matched ? ` (the first ${dry.ids.length} listed)` : "";
    printIds(`${plural(dry.matched, "event")} would be replayed${shown}:`, dry.ids, ctx);
    stderr(`Replay them: ${cliCommand(target, again)}`);
    return EXIT_OK;
  }
  const done = readAnswer(target, call, answer, ReplayedSchema);
  if (request.json) {
    stdout(safeJson(answer.json));
    return EXIT_OK;
  }
  if (done.replayed === 0) {
    stdout("No events match: nothing was replayed.");
    return EXIT_OK;
  }
  printIds(`Replaying ${plural(done.replayed, "event")}:`, done.ids, ctx);
  stderr(`See how they end: ${cliCommand(target, ["status"])}, or events show <id>`);
  return EXIT_OK;
}

function printIds(heading: string, ids: string[], ctx: CliContext): void {
  ctx.output.stdout(heading);
  for (const id of ids) ctx.output.stdout(`  ${sanitise(id)}`);
}
