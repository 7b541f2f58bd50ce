// `subscriptions create|list|get|update|delete|secret`: manages MaintainX webhook subscriptions.
// MaintainX delivers one event type per subscription, each signed with its own secret, and has no
// endpoint that lists subscriptions, so `create` keeps a local record for `list`
// (docs/console.md).

import { DEFAULT_MAINTAINX_API_BASE, MAINTAINX_TYPE_PATTERN } from "../../src/config";
import { closestMaintainXType, MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import { HELP_OPTION, parseCommandArgs, requireNoMorePositionals } from "../args";
import { printHelp, runCommandGroup } from "../command-group";
import { DEV_VARS_FILE, loadCliConfig } from "../env";
import { CommandFailure, ConfigError, UsageError } from "../errors";
import { type CliContext, EXIT_FAILURE, EXIT_OK, type ExitCode } from "../io";
import {
  type CreatedSubscription,
  createSubscriptionsClient,
  isNotFound,
  type Subscription,
  type SubscriptionsClient,
} from "../maintainx-api";
import {
  forgetRecordedSubscription,
  type RecordedSubscription,
  readSubscriptionRecord,
  SUBSCRIPTION_RECORD_FILE,
  saveRecordedSubscription,
} from "../subscription-record";

const DEFAULT_SUBSCRIPTION_TYPES = ["NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE"] as const;
/** MaintainX refuses longer subscription URLs. */
export const MAX_SUBSCRIPTION_URL_LENGTH = 512;
const WEBHOOK_PATH = "/webhooks/maintainx";

const CONFIG_HELP = `Configuration (the environment first, then ${DEV_VARS_FILE} in the current directory):
  MAINTAINX_API_KEY          required: a MaintainX API key, sent as a Bearer token
  MAINTAINX_API_BASE         default ${DEFAULT_MAINTAINX_API_BASE}
  MAINTAINX_ORGANIZATION_ID  optional: sent as x-organization-id (keys for several organisations)`;

const RECORD_HELP = `MaintainX has no endpoint that lists subscriptions, so \`create\` records the ones it makes in
${SUBSCRIPTION_RECORD_FILE} in the current directory (id, type, URL, status, creation
time; never a secret), \`update\` and \`delete\` keep it current, and \`list\` reads it.`;

const SUBSCRIPTIONS_HELP = `Usage: npm run cli -- subscriptions <command> [options]

Manages MaintainX webhook subscriptions. MaintainX sends one event type per subscription,
each with its own signing secret.

Commands:
  create --url <base URL> [--type <TYPE> ...] [--no-entity]
                                    subscribe the Worker to event types
  list                              list the subscriptions this CLI created, refreshed from MaintainX
  get <id>                          show one subscription (without its secret)
  update <id> --url <base URL> [--type <TYPE>]
                                    point a subscription at another base URL (or type)
  delete <id>                       delete a subscription
  secret <id>                       print a subscription's signing secret

${RECORD_HELP}

${CONFIG_HELP}

Run \`npm run cli -- subscriptions <command> --help\` for a command's options.`;

const COMMAND_HELP: Record<string, string> = {
  create: `Usage: npm run cli -- subscriptions create --url <public base URL> [--type <TYPE> ...] [--no-entity]

Creates one MaintainX subscription per event type, delivering to
<base URL>${WEBHOOK_PATH}/<TYPE>, records it in ${SUBSCRIPTION_RECORD_FILE}, and prints
each id, status and signing secret, then the step that gives the secrets to the Worker.

Options:
  --url <URL>    the Worker's public base URL, e.g. https://maintainx-webhooks.example.workers.dev
  --type <TYPE>  a MaintainX event type, e.g. NEW_WORK_ORDER; repeat it or separate types with
                 commas (default: ${DEFAULT_SUBSCRIPTION_TYPES.join(", ")})
  --no-entity    do not ask MaintainX to include the entity (e.g. the work order) in each
                 delivery; by default it is included (for the types whose subscriptions
                 take that option), which saves the Worker API calls
  -h, --help     show this help

${CONFIG_HELP}`,
  list: `Usage: npm run cli -- subscriptions list

Lists the subscriptions recorded in ${SUBSCRIPTION_RECORD_FILE} (those this CLI's \`create\`
made from this directory), each refreshed from MaintainX: id, status, type, creation time and
URL. One MaintainX no longer has is shown as GONE (404); \`delete <id>\` removes it from the
record. Where the API does list subscriptions, those are shown too. Secrets are never listed.

${CONFIG_HELP}`,
  get: `Usage: npm run cli -- subscriptions get <id>

Shows one subscription as JSON, without its secret (use \`subscriptions secret <id>\`).

${CONFIG_HELP}`,
  update: `Usage: npm run cli -- subscriptions update <id> --url <public base URL> [--type <TYPE>]

Points the subscription at <base URL>${WEBHOOK_PATH}/<TYPE>. Without --type, TYPE is the
subscription's own type (from ${SUBSCRIPTION_RECORD_FILE}, else from MaintainX) and only
the URL is changed. The record's entry is updated.

Options:
  --url <URL>    the Worker's public base URL, e.g. https://maintainx-webhooks.example.workers.dev
  --type <TYPE>  change the subscription's event type too
  -h, --help     show this help

${CONFIG_HELP}`,
  delete: `Usage: npm run cli -- subscriptions delete <id>

Deletes a subscription (MaintainX stops delivering its events) and removes it from
${SUBSCRIPTION_RECORD_FILE}. A recorded subscription MaintainX no longer has is just
removed from the record.

${CONFIG_HELP}`,
  secret: `Usage: npm run cli -- subscriptions secret <id>

Prints the subscription's signing secret on its own line, for MAINTAINX_WEBHOOK_SECRET.

${CONFIG_HELP}`,
};

export async function runSubscriptions(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const group = {
    name: "subscriptions",
    help: SUBSCRIPTIONS_HELP,
    commands: COMMAND_HELP,
    unknown: (command: string) =>
      `Unknown subscriptions command "${command}": use create, list, get, update, delete or secret.`,
  };
  return runCommandGroup(group, argv, ctx, async (command, rest, help) => {
    if (command === "create") {
      const { values, positionals } = parseCommandArgs(rest, CREATE_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      return createSubscriptions(readCreateRequest(values, positionals), clientFromConfig(ctx), ctx);
    }
    if (command === "update") {
      const { values, positionals } = parseCommandArgs(rest, UPDATE_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      return updateSubscription(readUpdateRequest(values, positionals), clientFromConfig(ctx), ctx);
    }
    const { values, positionals } = parseCommandArgs(rest, HELP_OPTION);
    if (values.help) return printHelp(help, ctx);
    if (command === "list") {
      requireNoMorePositionals(positionals, 0);
      return listSubscriptions(clientFromConfig(ctx), ctx);
    }
    const id = requireId(command, positionals);
    const client = clientFromConfig(ctx);
    if (command === "get") return getSubscription(id, client, ctx);
    if (command === "delete") return deleteSubscription(id, client, ctx);
    return printSecret(id, client, ctx);
  });
}

const CREATE_OPTIONS = {
  ...HELP_OPTION,
  url: { type: "string" },
  type: { type: "string", multiple: true },
  // Declared under its own name: parseArgs on Node 20 has no negation of booleans.
  "no-entity": { type: "boolean" },
} as const;

const UPDATE_OPTIONS = {
  ...HELP_OPTION,
  url: { type: "string" },
  type: { type: "string" },
} as const;

/**
 * The option that makes MaintainX put the entity in each delivery, for the types whose documented
 * subscription body takes one (`serializeEntity`; purchase-order status changes name it
 * `serializePurchaseOrder`). MaintainX documents no such option for the other types.
 */
const ENTITY_OPTION: Readonly<Record<string, string>> = {
  NEW_ASSET: "serializeEntity",
  NEW_PART: "serializeEntity",
  NEW_PURCHASE_ORDER: "serializeEntity",
  NEW_WORK_ORDER: "serializeEntity",
  PART_CHANGE: "serializeEntity",
  PART_DELETE: "serializeEntity",
  PURCHASE_ORDER_CHANGE: "serializeEntity",
  PURCHASE_ORDER_STATUS_CHANGE: "serializePurchaseOrder",
  WORK_ORDER_CHANGE: "serializeEntity",
  WORK_ORDER_DELETE: "serializeEntity",
  WORK_ORDER_PART_STATUS_CHANGE: "serializeEntity",
  WORK_ORDER_STATUS_CHANGE: "serializeEntity",
};

function entityOptions(type: string, entity: boolean): { options?: Record<string, boolean> } {
  const option = Object.hasOwn(ENTITY_OPTION, type) ? ENTITY_OPTION[type] : undefined;
  return entity && option !== undefined ? { options: { [option]: true } } : {};
}

interface BaseUrl {
  /** Without trailing slashes. */
  base: string;
  insecure: boolean;
}

interface CreateRequest extends BaseUrl {
  types: string[];
  /** Ask MaintainX to put the entity in each delivery (`options.serializeEntity`, where the type takes it). */
  entity: boolean;
}

interface UpdateRequest extends BaseUrl {
  id: string;
  /** Only when --type was given. */
  type?: string;
}

function readCreateRequest(
  values: { url?: string; type?: string[]; "no-entity"?: boolean },
  positionals: string[],
): CreateRequest {
  requireNoMorePositionals(positionals, 0);
  const url = readBaseUrl(values.url);
  const requested = (values.type ?? []).flatMap((t) => t.split(",")).map((t) => t.trim());
  const types = requested.length > 0 ? [...new Set(requested)] : [...DEFAULT_SUBSCRIPTION_TYPES];
  for (const type of types) {
    requireKnownType(type);
    requireShortEnoughUrl(url.base, type);
  }
  return { ...url, types, entity: !values["no-entity"] };
}

function readUpdateRequest(values: { url?: string; type?: string }, positionals: string[]): UpdateRequest {
  const id = requireId("update", positionals);
  const url = readBaseUrl(values.url);
  const type = values.type?.trim();
  if (type === undefined) return { ...url, id };
  requireKnownType(type);
  requireShortEnoughUrl(url.base, type);
  return { ...url, id, type };
}

/** --url of `create` and `update`: the Worker's base URL, to which the CLI appends the webhook path. */
function readBaseUrl(value: string | undefined): BaseUrl {
  if (!value) {
    throw new UsageError(
      "--url is required: the Worker's public base URL, e.g. https://maintainx-webhooks.example.workers.dev",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`--url is not a URL: ${value}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new UsageError(`--url must be an http(s) URL, not ${parsed.protocol}`);
  }
  if (parsed.search || parsed.hash) {
    throw new UsageError("--url must be the Worker's base URL, without a query or fragment");
  }
  // Catches the easy mistake of passing a delivery URL, which would double the path.
  if (parsed.pathname.replace(/\/+$/, "").includes(WEBHOOK_PATH)) {
    throw new UsageError(`--url must be the Worker's base URL; the CLI appends ${WEBHOOK_PATH}/<TYPE> itself`);
  }
  return { base: value.replace(/\/+$/, ""), insecure: parsed.protocol === "http:" };
}

/** Checked before any request, so a typo does not leave a subscription that never delivers. */
function requireKnownType(type: string): void {
  if (!MAINTAINX_EVENT_TYPES.includes(type)) {
    throw new UsageError(`Unknown MaintainX event type "${type}"; did you mean ${closestMaintainXType(type)}?`);
  }
}

function requireShortEnoughUrl(base: string, type: string): void {
  const length = deliveryUrl(base, type).length;
  if (length > MAX_SUBSCRIPTION_URL_LENGTH) {
    throw new UsageError(
      `The delivery URL for ${type} would be ${length} characters; MaintainX accepts at most ${MAX_SUBSCRIPTION_URL_LENGTH}. Use a shorter base URL.`,
    );
  }
}

function deliveryUrl(base: string, type: string): string {
  return `${base}${WEBHOOK_PATH}/${type}`;
}

function requireId(command: string, positionals: string[]): string {
  const id = positionals[0]?.trim();
  if (!id) throw new UsageError(`subscriptions ${command} needs a subscription id: subscriptions ${command} <id>`);
  requireNoMorePositionals(positionals, 1);
  return id;
}

function clientFromConfig(ctx: CliContext): SubscriptionsClient {
  const config = loadCliConfig(ctx);
  const apiKey = config.MAINTAINX_API_KEY;
  if (!apiKey) {
    throw new ConfigError(
      `MAINTAINX_API_KEY is not set. Create an API key in MaintainX, then export MAINTAINX_API_KEY=<key> or add the line MAINTAINX_API_KEY="<key>" to ${DEV_VARS_FILE} in ${ctx.cwd}.`,
    );
  }
  const apiBase = config.MAINTAINX_API_BASE?.value ?? DEFAULT_MAINTAINX_API_BASE;
  if (!/^https?:\/\/[^/]/.test(apiBase) || !URL.canParse(apiBase)) {
    throw new ConfigError(
      `MAINTAINX_API_BASE must be an http(s) URL such as ${DEFAULT_MAINTAINX_API_BASE}, not "${apiBase}".`,
    );
  }
  return createSubscriptionsClient({
    apiKey: apiKey.value,
    apiKeySource: apiKey.source,
    apiBase,
    organizationId: config.MAINTAINX_ORGANIZATION_ID?.value,
    timeoutMs: ctx.timeoutMs,
  });
}

function warnIfInsecure(url: BaseUrl, ctx: CliContext): void {
  if (url.insecure) {
    ctx.output.stderr(
      "Warning: --url is not HTTPS, so MaintainX deliveries and their signatures would travel unencrypted.",
    );
  }
}

interface Created {
  id: string;
  type: string;
  status: string;
  url: string;
  /** Undefined when neither the create answer nor the secret route gave it. */
  secret?: string;
}

async function createSubscriptions(
  request: CreateRequest,
  client: SubscriptionsClient,
  ctx: CliContext,
): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  // Read first: a record this CLI cannot update must stop it before MaintainX has anything to record.
  readSubscriptionRecord(ctx.cwd);
  warnIfInsecure(request, ctx);

  const created: Created[] = [];
  const missingSecrets: Array<{ subscription: Created; reason: string }> = [];
  let recordFailure: CommandFailure | undefined;
  let failure: CommandFailure | undefined;
  for (const type of request.types) {
    const url = deliveryUrl(request.base, type);
    let answer: CreatedSubscription;
    try {
      answer = await client.createSubscription({
        type,
        url,
        ...entityOptions(type, request.entity),
      });
    } catch (error) {
      if (!(error instanceof CommandFailure)) throw error;
      failure = error;
      break;
    }
    const subscription: Created = { id: answer.id, type, status: answer.status, url: answer.url ?? url };
    // Recorded as soon as it exists, so a later failure (or a crash) cannot leave it out of the record.
    try {
      saveRecordedSubscription(ctx.cwd, { ...subscription, createdAt: new Date().toISOString() });
    } catch (error) {
      if (!(error instanceof CommandFailure || error instanceof ConfigError)) throw error;
      recordFailure ??= error;
    }
    // Only id and status are required in MaintainX's create answer; the secret route always has it.
    subscription.secret = answer.secret;
    if (!subscription.secret) {
      try {
        subscription.secret = await client.getSubscriptionSecret({ id: subscription.id });
      } catch (error) {
        if (!(error instanceof CommandFailure)) throw error;
        missingSecrets.push({ subscription, reason: error.message });
      }
    }
    created.push(subscription);
    printCreated(subscription, ctx);
  }

  // Each bound to its type, so a delivery captured on one type's path cannot be re-posted to another's.
  const secrets = created.flatMap((s) => (s.secret ? [`${s.type}:${s.secret}`] : []));
  if (secrets.length > 0) {
    stdout("");
    stdout("Next, give the Worker these secrets (comma-separated, one per subscription, each bound to its");
    stdout("type; keep in the list the secrets of older subscriptions that still deliver):");
    stdout("  npx wrangler secret put MAINTAINX_WEBHOOK_SECRET");
    stdout(`  and paste when prompted: ${secrets.join(",")}`);
    stdout(
      `For \`npm run dev\`, put the same value in ${DEV_VARS_FILE}: MAINTAINX_WEBHOOK_SECRET="${secrets.join(",")}"`,
    );
  }
  for (const { subscription, reason } of missingSecrets) {
    stderr(
      `Error: the secret of subscription ${subscription.id} (${subscription.type}) is missing from the list above: ${reason} Get it with \`npm run cli -- subscriptions secret ${subscription.id}\` and add ${subscription.type}:<secret> to MAINTAINX_WEBHOOK_SECRET.`,
    );
  }
  if (recordFailure) {
    stderr(
      `Error: ${recordFailure.message} The subscriptions were created in MaintainX but \`subscriptions list\` will not show the unrecorded ones; note their ids above.`,
    );
  }
  if (failure) {
    stderr(`Error: ${failure.message}`);
    // Subscriptions already created stay in MaintainX; their secrets are printed above so they are not lost.
    if (created.length > 0) stderr(`Not created: ${request.types.slice(created.length).join(", ")}.`);
  }
  return failure || recordFailure || missingSecrets.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function printCreated(subscription: Created, ctx: CliContext): void {
  const { stdout } = ctx.output;
  stdout(`Created subscription ${subscription.id} for ${subscription.type}: ${subscription.status}`);
  stdout(`  url:    ${subscription.url}`);
  stdout(
    `  secret: ${subscription.secret ?? `(not available; run \`npm run cli -- subscriptions secret ${subscription.id}\`)`}`,
  );
  warnIfPending(subscription, ctx);
}

function warnIfPending(subscription: { id: string; type?: string; status?: string }, ctx: CliContext): void {
  if (subscription.status === "PENDING_APPROVAL") {
    ctx.output.stderr(
      `Warning: subscription ${subscription.id} (${subscription.type ?? "type unknown"}) is PENDING_APPROVAL: MaintainX will not deliver its events until it is approved. Contact MaintainX support to approve it.`,
    );
  }
}

const GONE = "GONE (404)";

async function listSubscriptions(client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const recorded = readSubscriptionRecord(ctx.cwd);
  const listed = await client.listSubscriptions();
  if (recorded.length === 0 && (listed === undefined || listed.length === 0)) {
    stdout(
      listed
        ? "No subscriptions."
        : `No subscriptions recorded in ${SUBSCRIPTION_RECORD_FILE} in ${ctx.cwd}. MaintainX has no endpoint that lists subscriptions, so \`list\` shows those that \`npm run cli -- subscriptions create\` made from this directory; \`subscriptions get <id>\` shows any other by id.`,
    );
    return EXIT_OK;
  }

  const fromList = new Map((listed ?? []).map((s) => [s.id, s]));
  const rows: string[][] = [];
  let gone = 0;
  for (const entry of recorded) {
    // The list answer, where there is one, saves a request per entry.
    const current = fromList.get(entry.id) ?? (await findSubscription(entry.id, client));
    if (current === undefined) gone++;
    rows.push(recordRow(entry, current));
  }
  const recordedIds = new Set(recorded.map((e) => e.id));
  for (const subscription of listed ?? []) {
    if (!recordedIds.has(subscription.id)) rows.push(listRow(subscription, "-"));
  }
  printTable([["ID", "STATUS", "TYPE", "CREATED", "URL"], ...rows], ctx);

  if (listed === undefined) {
    stderr(
      `Listed from ${SUBSCRIPTION_RECORD_FILE}: MaintainX has no endpoint that lists subscriptions, so those not created by this CLI here are not shown.`,
    );
  }
  if (gone > 0) {
    stderr(
      `MaintainX no longer has the subscriptions shown as ${GONE}; \`npm run cli -- subscriptions delete <id>\` removes one from the record.`,
    );
    if (gone === recorded.length) {
      stderr("If they were not deleted, check that MAINTAINX_API_BASE points at the MaintainX API.");
    }
  }
  return EXIT_OK;
}

/** Undefined when MaintainX answers 404; any other failure stops the listing. */
async function findSubscription(id: string, client: SubscriptionsClient): Promise<Subscription | undefined> {
  try {
    return await client.getSubscription({ id });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function recordRow(entry: RecordedSubscription, current: Subscription | undefined): string[] {
  if (current === undefined) return [entry.id, GONE, entry.type, entry.createdAt, entry.url];
  return listRow({ ...entry, ...definedFields(current) }, entry.createdAt);
}

function listRow(subscription: Subscription, createdAt: string): string[] {
  return [subscription.id, subscription.status ?? "-", subscription.type ?? "-", createdAt, subscription.url ?? "-"];
}

/** So a field MaintainX left out keeps the recorded value rather than becoming undefined. */
function definedFields(subscription: Subscription): Partial<Subscription> {
  return Object.fromEntries(Object.entries(subscription).filter(([, value]) => value !== undefined));
}

/** Left-aligned columns; the last (the URL) is not padded. */
function printTable(rows: string[][], ctx: CliContext): void {
  const columns = rows[0]?.length ?? 0;
  const widths = Array.from({ length: columns - 1 }, (_, col) =>
    Math.max(...rows.map((row) => (row[col] ?? "").length)),
  );
  for (const row of rows) {
    ctx.output.stdout(
      row
        .map((cell, col) => (col < columns - 1 ? cell.padEnd(widths[col] ?? 0) : cell))
        .join("  ")
        .trimEnd(),
    );
  }
}

async function getSubscription(id: string, client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  // Dropped even if MaintainX includes it: `get` was not asked for the secret.
  const { secret: _secret, ...shown } = await client.getSubscription({ id });
  ctx.output.stdout(JSON.stringify(shown, null, 2));
  return EXIT_OK;
}

async function updateSubscription(
  request: UpdateRequest,
  client: SubscriptionsClient,
  ctx: CliContext,
): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const entry = readSubscriptionRecord(ctx.cwd).find((e) => e.id === request.id);
  warnIfInsecure(request, ctx);

  let previousType = entry?.type;
  if (previousType === undefined && request.type === undefined) {
    previousType = (await client.getSubscription({ id: request.id })).type;
  }
  const type = request.type ?? previousType;
  // The type becomes a path segment; one MaintainX reports that is not UPPER_SNAKE would not route.
  if (type === undefined || !MAINTAINX_TYPE_PATTERN.test(type)) {
    throw new CommandFailure(
      `MaintainX did not give a usable event type for subscription ${request.id}${type === undefined ? "" : ` ("${type}")`}; name it with --type.`,
    );
  }
  requireShortEnoughUrl(request.base, type);

  const url = deliveryUrl(request.base, type);
  const answer = await client.updateSubscription({ id: request.id, url, type: request.type });
  const updated = { id: request.id, type: answer.type ?? type, url: answer.url ?? url, status: answer.status };
  stdout(`Updated subscription ${updated.id} for ${updated.type}: ${updated.status ?? "(status not in the answer)"}`);
  stdout(`  url:    ${updated.url}`);
  warnIfPending(updated, ctx);

  if (entry) {
    saveRecordedSubscription(ctx.cwd, { ...entry, ...updated, status: updated.status ?? entry.status });
  }
  // A secret in MAINTAINX_WEBHOOK_SECRET is bound to a type; under another type it would not verify.
  if (request.type !== undefined && request.type !== previousType) {
    stderr(
      `If MAINTAINX_WEBHOOK_SECRET binds this subscription's secret to ${previousType ?? "its old type"}, bind it to ${request.type} instead (${request.type}:<secret>; \`npm run cli -- subscriptions secret ${request.id}\` prints it): npx wrangler secret put MAINTAINX_WEBHOOK_SECRET`,
    );
  }
  return EXIT_OK;
}

async function deleteSubscription(id: string, client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  const recorded = readSubscriptionRecord(ctx.cwd).some((e) => e.id === id);
  try {
    await client.deleteSubscription({ id });
  } catch (error) {
    // Already gone from MaintainX: what is left to do is forget it here.
    if (!(recorded && isNotFound(error))) throw error;
    forgetRecordedSubscription(ctx.cwd, id);
    ctx.output.stdout(
      `Subscription ${id} no longer exists in MaintainX (404); removed it from ${SUBSCRIPTION_RECORD_FILE}.`,
    );
    return EXIT_OK;
  }
  ctx.output.stdout(`Deleted subscription ${id}.`);
  ctx.output.stderr(
    "If its secret is in MAINTAINX_WEBHOOK_SECRET, remove it there too: npx wrangler secret put MAINTAINX_WEBHOOK_SECRET",
  );
  // After the lines above, so a record that cannot be written does not hide that the delete happened.
  forgetRecordedSubscription(ctx.cwd, id);
  return EXIT_OK;
}

async function printSecret(id: string, client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  const secret = await client.getSubscriptionSecret({ id });
  // The secret alone on stdout, so it can be piped; the hint goes to stderr.
  ctx.output.stdout(secret);
  ctx.output.stderr(
    "Add it to the comma-separated MAINTAINX_WEBHOOK_SECRET: npx wrangler secret put MAINTAINX_WEBHOOK_SECRET",
  );
  return EXIT_OK;
}
