// `subscriptions create|list|get|delete|secret`: manages MaintainX webhook subscriptions.
// MaintainX delivers one event type per subscription, each signed with its own secret
// (README, "Command line").

import { DEFAULT_MAINTAINX_API_BASE, MAINTAINX_TYPE_PATTERN } from "../../src/config";
import { HELP_OPTION, parseCommandArgs, requireNoMorePositionals } from "../args";
import { DEV_VARS_FILE, loadCliConfig } from "../env";
import { CommandFailure, ConfigError, runGuarded, UsageError } from "../errors";
import { type CliContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type ExitCode } from "../io";
import {
  type CreatedSubscription,
  createSubscriptionsClient,
  type Subscription,
  type SubscriptionsClient,
} from "../maintainx-api";

const DEFAULT_SUBSCRIPTION_TYPES = ["NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE"] as const;
/** MaintainX refuses longer subscription URLs. */
export const MAX_SUBSCRIPTION_URL_LENGTH = 512;
const WEBHOOK_PATH = "/webhooks/maintainx";

const CONFIG_HELP = `Configuration (the environment first, then ${DEV_VARS_FILE} in the current directory):
  MAINTAINX_API_KEY          required: a MaintainX API key, sent as a Bearer token
  MAINTAINX_API_BASE         default ${DEFAULT_MAINTAINX_API_BASE}
  MAINTAINX_ORGANIZATION_ID  optional: sent as x-organization-id (keys for several organisations)`;

const SUBSCRIPTIONS_HELP = `Usage: npm run cli -- subscriptions <command> [options]

Manages MaintainX webhook subscriptions. MaintainX sends one event type per subscription,
each with its own signing secret.

Commands:
  create --url <base URL> [--type <TYPE> ...]  subscribe the Worker to event types
  list                                         list every subscription
  get <id>                                     show one subscription (without its secret)
  delete <id>                                  delete a subscription
  secret <id>                                  print a subscription's signing secret

${CONFIG_HELP}

Run \`npm run cli -- subscriptions <command> --help\` for a command's options.`;

const COMMAND_HELP: Record<string, string> = {
  create: `Usage: npm run cli -- subscriptions create --url <public base URL> [--type <TYPE> ...]

Creates one MaintainX subscription per event type, delivering to
<base URL>${WEBHOOK_PATH}/<TYPE>, and prints each id, status and signing secret,
then the step that gives the secrets to the Worker.

Options:
  --url <URL>    the Worker's public base URL, e.g. https://maintainx-webhooks.example.workers.dev
  --type <TYPE>  a MaintainX event type; repeat it or separate types with commas
                 (default: ${DEFAULT_SUBSCRIPTION_TYPES.join(", ")})
  -h, --help     show this help

${CONFIG_HELP}`,
  list: `Usage: npm run cli -- subscriptions list

Lists every subscription: id, status, type and URL. Secrets are never listed.

${CONFIG_HELP}`,
  get: `Usage: npm run cli -- subscriptions get <id>

Shows one subscription as JSON, without its secret (use \`subscriptions secret <id>\`).

${CONFIG_HELP}`,
  delete: `Usage: npm run cli -- subscriptions delete <id>

Deletes a subscription; MaintainX stops delivering its events.

${CONFIG_HELP}`,
  secret: `Usage: npm run cli -- subscriptions secret <id>

Prints the subscription's signing secret on its own line, for MAINTAINX_WEBHOOK_SECRET.

${CONFIG_HELP}`,
};

export async function runSubscriptions(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const asked = command !== undefined;
    (asked ? ctx.output.stdout : ctx.output.stderr)(SUBSCRIPTIONS_HELP);
    return asked ? EXIT_OK : EXIT_USAGE;
  }
  // hasOwn: a command named like an Object.prototype member ("constructor") is unknown too.
  const help = Object.hasOwn(COMMAND_HELP, command) ? COMMAND_HELP[command] : undefined;
  if (help === undefined) {
    return runGuarded(ctx.output, "subscriptions", async () => {
      throw new UsageError(`Unknown subscriptions command "${command}": use create, list, get, delete or secret.`);
    });
  }
  return runGuarded(ctx.output, `subscriptions ${command}`, async () => {
    if (command === "create") {
      const { values, positionals } = parseCommandArgs(rest, CREATE_OPTIONS);
      if (values.help) return printHelp(help, ctx);
      return createSubscriptions(readCreateRequest(values, positionals), clientFromConfig(ctx), ctx);
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

function printHelp(help: string, ctx: CliContext): ExitCode {
  ctx.output.stdout(help);
  return EXIT_OK;
}

const CREATE_OPTIONS = {
  ...HELP_OPTION,
  url: { type: "string" },
  type: { type: "string", multiple: true },
} as const;

interface CreateRequest {
  base: string;
  types: string[];
  insecure: boolean;
}

function readCreateRequest(values: { url?: string; type?: string[] }, positionals: string[]): CreateRequest {
  requireNoMorePositionals(positionals, 0);
  if (!values.url) {
    throw new UsageError(
      "--url is required: the Worker's public base URL, e.g. https://maintainx-webhooks.example.workers.dev",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: ${values.url}`);
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
  const base = values.url.replace(/\/+$/, "");

  const requested = (values.type ?? []).flatMap((t) => t.split(",")).map((t) => t.trim());
  const types = requested.length > 0 ? [...new Set(requested)] : [...DEFAULT_SUBSCRIPTION_TYPES];
  for (const type of types) {
    if (!MAINTAINX_TYPE_PATTERN.test(type)) {
      throw new UsageError(`"${type}" is not a MaintainX event type: they are UPPER_SNAKE, e.g. NEW_WORK_ORDER`);
    }
    const length = deliveryUrl(base, type).length;
    if (length > MAX_SUBSCRIPTION_URL_LENGTH) {
      throw new UsageError(
        `The delivery URL for ${type} would be ${length} characters; MaintainX accepts at most ${MAX_SUBSCRIPTION_URL_LENGTH}. Use a shorter base URL.`,
      );
    }
  }
  return { base, types, insecure: parsed.protocol === "http:" };
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

async function createSubscriptions(
  request: CreateRequest,
  client: SubscriptionsClient,
  ctx: CliContext,
): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  if (request.insecure) {
    stderr("Warning: --url is not HTTPS, so MaintainX deliveries and their signatures would travel unencrypted.");
  }
  const created: Array<CreatedSubscription & { boundType: string }> = [];
  let failure: CommandFailure | undefined;
  for (const type of request.types) {
    try {
      const subscription = await client.createSubscription({ type, url: deliveryUrl(request.base, type) });
      created.push({ ...subscription, boundType: type });
      printCreated(subscription, type, ctx);
    } catch (error) {
      if (!(error instanceof CommandFailure)) throw error;
      failure = error;
      break;
    }
  }

  // Each bound to its type, so a delivery captured on one type's path cannot be re-posted to another's.
  const secrets = created.flatMap((s) => (s.secret ? [`${s.boundType}:${s.secret}`] : []));
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
  if (failure) {
    stderr(`Error: ${failure.message}`);
    // Subscriptions already created stay in MaintainX; their secrets are printed above so they are not lost.
    if (created.length > 0) stderr(`Not created: ${request.types.slice(created.length).join(", ")}.`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

function printCreated(subscription: CreatedSubscription, type: string, ctx: CliContext): void {
  const { stdout, stderr } = ctx.output;
  stdout(`Created subscription ${subscription.id} for ${type}: ${subscription.status}`);
  stdout(`  url:    ${subscription.url ?? "(not in the answer)"}`);
  stdout(
    `  secret: ${subscription.secret ?? `(not in the answer; run \`npm run cli -- subscriptions secret ${subscription.id}\`)`}`,
  );
  if (subscription.status === "PENDING_APPROVAL") {
    stderr(
      `Warning: subscription ${subscription.id} (${type}) is PENDING_APPROVAL: MaintainX will not deliver its events until it is approved. Contact MaintainX support to approve it.`,
    );
  }
}

async function listSubscriptions(client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  const subscriptions = await client.listSubscriptions();
  if (subscriptions.length === 0) {
    ctx.output.stdout("No subscriptions.");
    return EXIT_OK;
  }
  const rows = [["ID", "STATUS", "TYPE", "URL"], ...subscriptions.map(listRow)];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => (row[col] ?? "").length)));
  for (const row of rows) {
    ctx.output.stdout(
      row
        .map((cell, col) => (col < 3 ? cell.padEnd(widths[col] ?? 0) : cell))
        .join("  ")
        .trimEnd(),
    );
  }
  return EXIT_OK;
}

function listRow(subscription: Subscription): string[] {
  return [subscription.id, subscription.status ?? "-", subscription.type ?? "-", subscription.url ?? "-"];
}

async function getSubscription(id: string, client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  // Dropped even if MaintainX includes it: `get` was not asked for the secret.
  const { secret: _secret, ...shown } = await client.getSubscription({ id });
  ctx.output.stdout(JSON.stringify(shown, null, 2));
  return EXIT_OK;
}

async function deleteSubscription(id: string, client: SubscriptionsClient, ctx: CliContext): Promise<ExitCode> {
  await client.deleteSubscription({ id });
  ctx.output.stdout(`Deleted subscription ${id}.`);
  ctx.output.stderr(
    "If its secret is in MAINTAINX_WEBHOOK_SECRET, remove it there too: npx wrangler secret put MAINTAINX_WEBHOOK_SECRET",
  );
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
