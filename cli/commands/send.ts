// `send <TYPE>`: signs a realistic delivery exactly as MaintainX would (or as the earlier seed
// guide did) and posts it to a running Worker, so the whole pipeline can be tried end to end.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MAINTAINX_TYPE_PATTERN, parseSecrets, parseWebhookSecrets } from "../../src/config";
import { canonicalType, EVENT_TYPE_PATTERN } from "../../src/events/canonical";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import { EVENT_ID_HEADER } from "../../src/ingest/delivery";
import { LOCAL_DEV_WEBHOOK_SECRET } from "../../src/local-dev";
import {
  MAINTAINX_SIGNATURE_HEADER,
  SEED_SIGNATURE_HEADER,
  signMaintainX,
  signSeed,
} from "../../src/webhooks/signature";
import { HELP_OPTION, parseCommandArgs, requireNoMorePositionals } from "../args";
import { printHelp } from "../command-group";
import { DEV_VARS_FILE, loadCliConfig } from "../env";
import { ConfigError, runGuarded, UsageError } from "../errors";
import { type HttpAnswer, NoAnswerError, parseJson, sendRequest } from "../http";
import { type CliContext, EXIT_FAILURE, EXIT_OK, type ExitCode } from "../io";
import { freshId, hasSample, sampleMaintainXBody, sampleSeedBody } from "../samples";

const DEFAULT_WORKER_URL = "http://127.0.0.1:8787";
const WEBHOOK_PATH = "/webhooks/maintainx";
const URI_SIGNATURE_HEADER = "x-maintainx-webhook-uri-signature";
/** Enough of a non-JSON answer (an HTML error page) to see what it is. */
const MAX_PRINTED_ANSWER = 2000;

const SEND_HELP = `Usage: npm run cli -- send <TYPE> [--url <Worker URL>] [--format maintainx|seed] [--minimal] [--secret <secret>] [--data <file.json>]

Signs a realistic delivery exactly as MaintainX would, posts it to the Worker, and prints the
Worker's status and answer. Exits 1 unless the Worker answers 2xx. Every sample carries a fresh
id for its subject (the work order, part, asset…), so repeated sends are new events.

Arguments:
  <TYPE>             any of MaintainX's ${MAINTAINX_EVENT_TYPES.length} event types, e.g. NEW_WORK_ORDER (the sample is HIGH
                     priority), WORK_ORDER_CHANGE, WORK_ORDER_STATUS_CHANGE (the sample completes the
                     work order: DONE), WORK_ORDER_DELETE, NEW_PART, PART_TRANSFER, USER_LOGIN_FAILURE;
                     each sample is what a subscription created by \`subscriptions create\` delivers,
                     entity included (newWorkOrder, newPart…)

Options:
  --url <URL>        the Worker's base URL (default ${DEFAULT_WORKER_URL})
  --format <format>  maintainx (default): the flat MaintainX body, posted to <url>${WEBHOOK_PATH}/<TYPE>
                       with ${MAINTAINX_SIGNATURE_HEADER}: t=<seconds>,v1=<hex>
                     seed: {"event","data","timestamp"} with the dotted type name
                       (NEW_WORK_ORDER is sent as ${canonicalType("NEW_WORK_ORDER")}), posted to <url>${WEBHOOK_PATH}
                       with ${SEED_SIGNATURE_HEADER} and a fresh ${EVENT_ID_HEADER}
  --minimal          send only the fields every delivery of the type has, without the entity: what
                     a subscription created without serializeEntity delivers (maintainx format)
  --secret <secret>  the webhook secret to sign with; default MAINTAINX_WEBHOOK_SECRET from the
                     environment, then ${DEV_VARS_FILE} (the first of a comma-separated list), else the
                     local-only secret \`npm run dev\` uses when there is no ${DEV_VARS_FILE}
  --data <file>      send this file's bytes as the body instead of a sample
  -h, --help         show this help`;

const SEND_OPTIONS = {
  ...HELP_OPTION,
  url: { type: "string" },
  format: { type: "string" },
  secret: { type: "string" },
  data: { type: "string" },
  minimal: { type: "boolean" },
} as const;

type Format = "maintainx" | "seed";

interface SendRequest {
  type: string;
  format: Format;
  base: string;
  /** Only the type's required fields. */
  minimal: boolean;
  dataFile?: { path: string; bytes: Uint8Array<ArrayBuffer> };
}

export async function runSend(argv: string[], ctx: CliContext): Promise<ExitCode> {
  return runGuarded(ctx.output, "send", async () => {
    const { values, positionals } = parseCommandArgs(argv, SEND_OPTIONS);
    if (values.help) return printHelp(SEND_HELP, ctx);
    const request = readSendRequest(values, positionals, ctx);
    const signing = resolveSecret(values.secret, request, ctx);
    return deliver(request, signing, ctx);
  });
}

function readSendRequest(
  values: { url?: string; format?: string; data?: string; minimal?: boolean },
  positionals: string[],
  ctx: CliContext,
): SendRequest {
  const type = positionals[0];
  if (!type) throw new UsageError("send needs an event type, e.g. send NEW_WORK_ORDER");
  requireNoMorePositionals(positionals, 1);

  const format = values.format ?? "maintainx";
  if (format !== "maintainx" && format !== "seed") {
    throw new UsageError(`--format must be maintainx or seed, not "${format}"`);
  }
  // A MaintainX type travels in the path; the seed format also takes a dotted name as it is.
  const typeOk = format === "maintainx" ? MAINTAINX_TYPE_PATTERN.test(type) : EVENT_TYPE_PATTERN.test(type);
  if (!typeOk) {
    throw new UsageError(
      `"${type}" is not a MaintainX event type: they are UPPER_SNAKE, e.g. ${MAINTAINX_EVENT_TYPES.slice(0, 3).join(", ")}`,
    );
  }

  const minimal = values.minimal === true;
  if (minimal && format !== "maintainx") throw new UsageError("--minimal is for the maintainx format only");
  if (minimal && values.data !== undefined) throw new UsageError("--minimal and --data cannot be combined");
  const request: SendRequest = { type, format, minimal, base: readWorkerUrl(values.url ?? DEFAULT_WORKER_URL) };
  if (values.data !== undefined) {
    const path = resolve(ctx.cwd, values.data);
    try {
      request.dataFile = { path, bytes: new Uint8Array(readFileSync(path)) };
    } catch (error) {
      throw new UsageError(`Cannot read --data file ${path}: ${(error as Error).message}`);
    }
  }
  return request;
}

function readWorkerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url must be an http(s) URL, not ${url.protocol}`);
  }
  if (url.search || url.hash || url.pathname.replace(/\/+$/, "").includes(WEBHOOK_PATH)) {
    throw new UsageError(`--url must be the Worker's base URL; the CLI appends ${WEBHOOK_PATH}[/<TYPE>] itself`);
  }
  return raw.replace(/\/+$/, "");
}

interface Signing {
  secret: string;
  /** Where the secret came from, for messages; never the secret itself. */
  origin: string;
  localDefault: boolean;
}

/**
 * The secret the Worker will check this delivery against: one bound to its type (`TYPE:secret`) or
 * an unbound one; the seed format posts to the untyped path, which only unbound secrets verify.
 */
function pickSecret(list: string, request: SendRequest): { secret: string; label: string } | undefined {
  const secrets = parseWebhookSecrets(list);
  const typed = request.format === "maintainx" ? request.type : undefined;
  const usable = secrets.filter((s) => s.type === undefined || s.type === typed);
  const chosen = usable.find((s) => s.type === typed) ?? usable[0];
  if (!chosen) return undefined;
  const which = chosen.type !== undefined ? `the one bound to ${chosen.type}` : "the first";
  return { secret: chosen.secret, label: secrets.length > 1 ? ` (${which} of ${secrets.length})` : "" };
}

function resolveSecret(flag: string | undefined, request: SendRequest, ctx: CliContext): Signing {
  const where = request.format === "maintainx" ? `bound to ${request.type} or to no type` : "bound to no type";
  if (flag !== undefined) {
    if (parseSecrets(flag).length === 0) throw new UsageError("--secret is empty");
    const picked = pickSecret(flag, request);
    if (!picked) throw new UsageError(`--secret holds no secret ${where}`);
    return { secret: picked.secret, origin: "--secret", localDefault: false };
  }
  const configured = loadCliConfig(ctx).MAINTAINX_WEBHOOK_SECRET;
  if (configured) {
    const picked = pickSecret(configured.value, request);
    if (!picked) {
      throw new ConfigError(`MAINTAINX_WEBHOOK_SECRET from ${configured.source} holds no secret ${where}.`);
    }
    return {
      secret: picked.secret,
      origin: `MAINTAINX_WEBHOOK_SECRET from ${configured.source}${picked.label}`,
      localDefault: false,
    };
  }
  return {
    secret: LOCAL_DEV_WEBHOOK_SECRET,
    origin: `the local-only secret of \`npm run dev\` (MAINTAINX_WEBHOOK_SECRET is not set)`,
    localDefault: true,
  };
}

function sampleBytes(request: SendRequest, id: number): Uint8Array<ArrayBuffer> {
  const sample =
    request.format === "maintainx"
      ? sampleMaintainXBody(request.type, { id, minimal: request.minimal })
      : sampleSeedBody(request.type, { id });
  return new TextEncoder().encode(JSON.stringify(sample));
}

/** What the sample's fresh id names, for the progress line. */
function sampleSubject(request: SendRequest, id: number): string {
  if (request.format === "seed" || request.type.includes("WORK_ORDER")) return ` for work order ${id}`;
  return hasSample(request.type) ? "" : " (a generic body: not one of MaintainX's types)";
}

async function deliver(request: SendRequest, signing: Signing, ctx: CliContext): Promise<ExitCode> {
  const { stdout, stderr } = ctx.output;
  const id = freshId();
  const body = request.dataFile?.bytes ?? sampleBytes(request, id);
  const url =
    request.format === "maintainx"
      ? `${request.base}${WEBHOOK_PATH}/${request.type}`
      : `${request.base}${WEBHOOK_PATH}`;

  const headers: Record<string, string> = { "content-type": "application/json" };
  if (request.format === "maintainx") {
    const timestamp = Math.floor(Date.now() / 1000);
    headers[MAINTAINX_SIGNATURE_HEADER] = await signMaintainX(signing.secret, body, timestamp);
    // MaintainX also signs the full delivery URI; the Worker may check it.
    headers[URI_SIGNATURE_HEADER] = await signMaintainX(signing.secret, url, timestamp);
  } else {
    headers[SEED_SIGNATURE_HEADER] = await signSeed(signing.secret, body);
    // The Worker dedupes on this id, so each send needs a fresh one.
    headers[EVENT_ID_HEADER] = `cli-${randomUUID()}`;
  }

  const what = request.dataFile
    ? `body from ${request.dataFile.path}`
    : `${request.minimal ? "minimal " : ""}sample ${request.format === "seed" ? canonicalType(request.type) : request.type}${sampleSubject(request, id)}`;
  stderr(`POST ${url}`);
  stderr(`  ${request.format} format, ${what}, signed with ${signing.origin}`);
  if (request.dataFile && parseJson(new TextDecoder().decode(body)) === undefined) {
    stderr("Warning: the --data file is not valid JSON; the Worker will refuse it with 400.");
  }

  let answer: HttpAnswer;
  try {
    answer = await sendRequest({ party: "the Worker", method: "POST", url, headers, body, timeoutMs: ctx.timeoutMs });
  } catch (error) {
    if (!(error instanceof NoAnswerError)) throw error;
    stderr(`Error: ${error.message}`);
    stderr(`Is the Worker running? Start it with \`npm run dev\`, or pass its address with --url.`);
    return EXIT_FAILURE;
  }
  stdout(`HTTP ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ""}`);
  const json = parseJson(answer.text);
  if (json !== undefined) stdout(JSON.stringify(json, null, 2));
  else if (answer.text !== "") stdout(answer.text.slice(0, MAX_PRINTED_ANSWER));

  if (answer.status >= 200 && answer.status <= 299) return EXIT_OK;
  stderr(`Error: the Worker did not accept the event (HTTP ${answer.status}).`);
  if (answer.status === 401) {
    stderr(
      signing.localDefault
        ? "The local-only secret is accepted only by a Worker started with `npm run dev` without .dev.vars, on a loopback host. Pass --secret or set MAINTAINX_WEBHOOK_SECRET to one of the Worker's secrets."
        : `The secret used (${signing.origin}) must be one of the Worker's MAINTAINX_WEBHOOK_SECRET values; pass --secret or fix MAINTAINX_WEBHOOK_SECRET.`,
    );
  }
  return EXIT_FAILURE;
}
