// `status`: the Worker's health at a glance (GET /admin/status): events by status, the last
// webhook, the poller's last run and cursor, the retry schedule in force, held handlers, and
// malformed settings, with what to do about each.

import { z } from "zod";
import { EVENT_STATUSES, type EventStatus } from "../../src/store/event-status";
import {
  ADMIN_OPTIONS,
  ADMIN_OPTIONS_HELP,
  ADMIN_TOKEN_HELP,
  type AdminTarget,
  adminJson,
  cliCommand,
  resolveAdminTarget,
} from "../admin-api";
import { parseCommandArgs, requireNoMorePositionals } from "../args";
import { printHelp } from "../command-group";
import { DEV_VARS_FILE } from "../env";
import { runGuarded } from "../errors";
import { formatSchedule, plural } from "../format";
import { type CliContext, EXIT_OK, type ExitCode } from "../io";
import { formatTable, safeJson, sanitise } from "../terminal";

const STATUS_HELP = `Usage: npm run cli -- status [--url <URL>] [--json]

Shows the Worker's state (GET /admin/status): how many events are accepted (not yet settled),
retrying (a handler failed for now and is tried again on the retry schedule, or is held),
processed, failed and dead; when the last webhook arrived; the poller's last run, outcome and
cursor; the retry schedule in force (RETRY_SCHEDULE: the delay before each retry, after the last
the event is dead); the held handlers; and settings the Worker found malformed, with the value
it uses instead. Says what to do when events failed, died or are retrying, a handler is held,
or a setting is wrong.

Options:
${ADMIN_OPTIONS_HELP}

${ADMIN_TOKEN_HELP}`;

const count = z.number();
const StatusSchema = z.looseObject({
  poll: z.looseObject({
    cursor: z.string().nullish(),
    lastRunAt: z.string().nullish(),
    outcome: z.string().nullish(),
    pages: z.number().nullish(),
    events: z.number().nullish(),
    skippedUntil: z.string().nullish(),
  }),
  // Each status optional: a Worker older than a status (`retrying`) does not count it.
  events: z.looseObject(
    Object.fromEntries(EVENT_STATUSES.map((status) => [status, count.optional()])) as Record<
      EventStatus,
      z.ZodOptional<typeof count>
    >,
  ),
  // Absent from Workers older than the stuck-event check.
  // `retrying`: of them, retries long overdue (absent from Workers older than the retrying status).
  stuck: z
    .looseObject({ afterHours: z.number(), changedBefore: z.string(), count: count, retrying: count.optional() })
    .optional(),
  lastWebhookAt: z.string().nullish(),
  // Absent from Workers older than the retry schedule and holds.
  retry: z.looseObject({ schedule: z.array(z.number()), totalSeconds: z.number() }).optional(),
  handlers: z.looseObject({ held: z.array(z.string()) }).optional(),
  config: z.array(z.looseObject({ name: z.string(), value: z.string(), used: z.string() })),
});
type Status = z.infer<typeof StatusSchema>;

export async function runStatus(argv: string[], ctx: CliContext): Promise<ExitCode> {
  return runGuarded(ctx.output, "status", async () => {
    const { values, positionals } = parseCommandArgs(argv, ADMIN_OPTIONS);
    if (values.help) return printHelp(STATUS_HELP, ctx);
    requireNoMorePositionals(positionals, 0);
    const target = resolveAdminTarget(values, ctx);
    const { answer, body } = await adminJson(target, { method: "GET", path: "/status" }, StatusSchema, ctx);
    if (values.json) ctx.output.stdout(safeJson(answer.json));
    else printStatus(body, target, ctx);
    return EXIT_OK;
  });
}

function printStatus(status: Status, target: AdminTarget, ctx: CliContext): void {
  const { stdout, stderr } = ctx.output;
  const { events, poll } = status;
  const rows: string[][] = [
    ["Worker", target.base],
    [
      "Events",
      EVENT_STATUSES.filter((name) => events[name] !== undefined)
        .map((name) => `${events[name]} ${name}`)
        .join(", "),
    ],
    ["Last webhook", status.lastWebhookAt ?? "none yet"],
  ];
  if (status.retry) {
    rows.push(["Retry schedule", `${formatSchedule(status.retry.schedule, status.retry.totalSeconds)}, then dead`]);
  }
  const held = status.handlers?.held ?? [];
  if (status.handlers) {
    rows.push(["Held handlers", held.length === 0 ? "none" : held.join(", ")]);
  }
  if (status.stuck && status.stuck.count > 0) {
    const { count: n, afterHours, retrying = 0 } = status.stuck;
    const parts = [
      ...(n > retrying ? [`${plural(n - retrying, "event")} accepted and unchanged for over ${afterHours} h`] : []),
      ...(retrying > 0 ? [`${plural(retrying, "event")} retrying, the next attempt over an hour late`] : []),
    ];
    rows.push(["Stuck", parts.join("; ")]);
  }
  if (poll.lastRunAt) {
    const outcome = poll.outcome ?? "unknown";
    rows.push([
      "Last poll",
      `${poll.lastRunAt}: ${outcome}, ${plural(poll.pages ?? 0, "page")}, ${plural(poll.events ?? 0, "event")} queued`,
    ]);
  } else {
    rows.push(["Last poll", "never"]);
  }
  rows.push(["Poll cursor", poll.cursor ?? "none yet (the first run looks back POLL_INITIAL_LOOKBACK_SECONDS)"]);
  if (poll.skippedUntil) rows.push(["Polls paused", `until ${poll.skippedUntil} (MaintainX rate limit)`]);
  rows.push([
    "Config",
    status.config.length === 0
      ? "no malformed settings"
      : `${plural(status.config.length, "malformed setting")}, each replaced by the value used:`,
  ]);
  for (const line of formatTable([{ header: "" }, { header: "" }], rows).slice(1)) stdout(line);
  for (const problem of status.config) {
    stdout(`  ${sanitise(problem.name)}=${JSON.stringify(sanitise(problem.value))}: using ${sanitise(problem.used)}`);
  }

  for (const which of ["failed", "dead"] as const) {
    const n = events[which] ?? 0;
    if (n === 0) continue;
    const why = which === "failed" ? "a handler failed for good" : "their retries ran out";
    stderr(`${plural(n, "event")} ${which === "failed" ? "failed" : "dead"} (${why}):`);
    stderr(`  list them:  ${cliCommand(target, ["events", "list", "--status", which])}`);
    stderr(`  see why:    ${cliCommand(target, ["events", "show", { placeholder: "<id>" }])}`);
    stderr(
      `  replay:     ${cliCommand(target, ["events", "replay", "--status", which, "--dry-run"])}, then without --dry-run`,
    );
  }
  const retrying = events.retrying ?? 0;
  if (retrying > 0) {
    const why =
      held.length > 0 ? "tried again on the schedule, or waiting for a held handler" : "tried again on the schedule";
    stderr(`${plural(retrying, "event")} retrying (${why}):`);
    stderr(`  list them:  ${cliCommand(target, ["events", "list", "--status", "retrying"])}`);
    stderr(`  see why:    ${cliCommand(target, ["events", "show", { placeholder: "<id>" }])}`);
  }
  if (held.length > 0) {
    stderr(`${plural(held.length, "handler")} held (not called; the events that need it wait):`);
    stderr(`  see them:   ${cliCommand(target, ["handlers", "list"])}`);
    const example = held.length === 1 ? (held[0] as string) : { placeholder: "<name>" };
    stderr(`  release:    ${cliCommand(target, ["handlers", "release", example])}`);
  }
  const overdue = status.stuck?.retrying ?? 0;
  if (status.stuck && status.stuck.count > overdue) {
    const filter = ["--status", "accepted", "--until", status.stuck.changedBefore];
    stderr(`${plural(status.stuck.count - overdue, "event")} stuck as accepted (no queue retries them any more):`);
    stderr(`  list them:  ${cliCommand(target, ["events", "list", ...filter])}`);
    stderr(`  see why:    ${cliCommand(target, ["events", "show", { placeholder: "<id>" }])}`);
    stderr(`  replay:     ${cliCommand(target, ["events", "replay", ...filter, "--dry-run"])}, then without --dry-run`);
  }
  if (overdue > 0) {
    stderr(
      `${plural(overdue, "event")} retrying with the next attempt over an hour late (the queue did not bring it back):`,
    );
    stderr(`  which:      ${cliCommand(target, ["status", "--json"])} lists them under stuck.events`);
    stderr(`  see why:    ${cliCommand(target, ["events", "show", { placeholder: "<id>" }])}`);
    stderr(`  replay:     ${cliCommand(target, ["events", "replay", { placeholder: "<id>" }])}`);
  }
  if (status.config.length > 0) {
    stderr(
      `Fix the malformed settings: in wrangler.toml [vars] (then deploy), in ${DEV_VARS_FILE} for \`npm run dev\` (then restart it), or with \`npx wrangler secret put <NAME>\`.`,
    );
  }
  const hint = pollHint(poll.outcome ?? undefined, poll.lastRunAt ?? undefined, target);
  if (hint) stderr(hint);
}

function pollHint(outcome: string | undefined, lastRunAt: string | undefined, target: AdminTarget): string | undefined {
  if (!lastRunAt) {
    return `The poller has not run yet: the Cron Trigger runs it every minute once deployed; under \`npm run dev\`, \`curl "${target.base}/__scheduled?cron=*+*+*+*+*"\` runs it.`;
  }
  switch (outcome) {
    case "failed":
      return "The last poll failed; the Worker's logs say why (the `npm run dev` console, or `npx wrangler tail`).";
    case "skipped_no_api_key":
      return "Polling is idle: the Worker has no MAINTAINX_API_KEY (`npx wrangler secret put MAINTAINX_API_KEY`).";
    case "rate_limited":
    case "skipped_rate_limited":
      return "MaintainX rate-limited the poller; it goes on by itself after the pause.";
    default:
      return undefined;
  }
}
