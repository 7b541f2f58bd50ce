// The command line's side of the Worker's /admin API (docs/console.md): which Worker, which
// token (the environment, then .dev.vars, then the token a local `npm run dev` wrote), one
// request, and every failure as a sentence saying what to do next. The token goes out in the
// Authorization header to the chosen Worker only: never printed, never sent on a redirect.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { z } from "zod";
import { isLoopbackUrl, LOCAL_ADMIN_TOKEN_FILE } from "../src/local-dev";
import { DEV_VARS_FILE, loadCliConfig } from "./env";
import { CommandFailure, ConfigError, UsageError } from "./errors";
import { type HttpAnswer, NoAnswerError, parseJson, sendRequest } from "./http";
import type { CliContext } from "./io";
import { sanitise, shellArg, truncate } from "./terminal";

export const DEFAULT_ADMIN_URL = "http://127.0.0.1:8787";
const ADMIN_PATH = "/admin";
/** What an HTTP header can carry as it is; the Worker takes `Bearer <non-space>`. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;
/** Enough of an error answer to recognise it. */
const MAX_ERROR_TEXT = 300;

/** `--url`, `--insecure` and `--json`, with `--help`: the options every /admin command takes. */
export const ADMIN_OPTIONS = {
  help: { type: "boolean", short: "h" },
  url: { type: "string" },
  insecure: { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const ADMIN_OPTIONS_HELP = `  --url <URL>  the Worker's base URL (default: the url in ${LOCAL_ADMIN_TOKEN_FILE} when a
               local \`npm run dev\` wrote one, else ${DEFAULT_ADMIN_URL}); an http:// URL must
               name this machine (localhost, 127.0.0.1, [::1]) unless --insecure is given
  --insecure   send the admin token over plain http:// to another machine; anyone on the
               way can read it, so only on a network you trust
  --json       print the Worker's answer as JSON instead
  -h, --help   show this help`;

export const ADMIN_TOKEN_HELP = `The admin token is ADMIN_TOKEN from the environment, else from ${DEV_VARS_FILE} in the current
directory, else, for a Worker on this machine (localhost, 127.0.0.1, [::1]) only, the token
\`npm run dev\` writes to ${LOCAL_ADMIN_TOKEN_FILE} when no ADMIN_TOKEN is configured.`;

interface LocalDevToken {
  token: string;
  /** A loopback base URL, or undefined when the file named none usable. */
  url?: string;
  path: string;
}

export interface AdminTarget {
  /** Without trailing slashes. */
  base: string;
  /** Whether --url named it: then suggested commands repeat it. */
  fromFlag: boolean;
  token: string;
  /** Where the token was read, for messages; never the token. */
  tokenSource: string;
  tokenKind: "environment" | "dev-vars" | "local-file";
  /** The local dev token file, when one was found (used or not). */
  localFile?: string;
}

/** --url: the Worker's base URL, to which the commands append /admin/... themselves. */
export function readAdminUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${sanitise(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--url must be an http(s) URL, not ${sanitise(url.protocol)}`);
  }
  if (url.username || url.password) throw new UsageError("--url must not carry a user name or password");
  if (url.search || url.hash || url.pathname.replace(/\/+$/, "").split("/").includes("admin")) {
    throw new UsageError(
      `--url must be the Worker's base URL, e.g. ${DEFAULT_ADMIN_URL}; the CLI appends ${ADMIN_PATH}/…`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The file `npm run dev` writes, or undefined (with a warning when it is there but unusable). */
function readLocalDevToken(ctx: CliContext): LocalDevToken | undefined {
  const path = resolve(ctx.cwd, LOCAL_ADMIN_TOKEN_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      ctx.output.stderr(`Warning: ignoring ${path}: ${(error as Error).message}`);
    }
    return undefined;
  }
  const json = parseJson(text) as { token?: unknown; url?: unknown } | undefined;
  const token = typeof json?.token === "string" ? json.token.trim() : "";
  if (!TOKEN_PATTERN.test(token)) {
    ctx.output.stderr(
      `Warning: ignoring ${path}: it holds no usable token (restart \`npm run dev\` to write it again).`,
    );
    return undefined;
  }
  // Only a loopback URL may become the default target: a file that named another host would
  // otherwise send an ADMIN_TOKEN from the environment there.
  return { token, path, ...loopbackBase(json?.url) };
}

function loopbackBase(url: unknown): { url?: string } {
  if (typeof url !== "string" || !URL.canParse(url) || !isLoopbackUrl(url)) return {};
  try {
    return { url: readAdminUrl(url) };
  } catch {
    return {};
  }
}

export function resolveAdminTarget(values: { url?: string; insecure?: boolean }, ctx: CliContext): AdminTarget {
  const local = readLocalDevToken(ctx);
  const fromFlag = values.url !== undefined;
  const base = fromFlag ? readAdminUrl(values.url as string) : (local?.url ?? DEFAULT_ADMIN_URL);
  const localFile = local ? { localFile: local.path } : {};
  // Only --url can name another machine: the local file's url is taken on loopback only.
  if (base.startsWith("http:") && !isLoopbackUrl(base)) {
    if (values.insecure !== true) {
      throw new UsageError(
        `--url ${sanitise(base)} is plain HTTP to another machine, so the admin token would travel unencrypted and anyone on the way could read it and use it. Use the Worker's https:// URL (a deployed Worker has one), or, on a network you trust, add --insecure.`,
      );
    }
    ctx.output.stderr(`Warning: --insecure: the admin token travels unencrypted to ${sanitise(base)}.`);
  }

  const configured = loadCliConfig(ctx).ADMIN_TOKEN;
  if (configured) {
    const tokenSource = `ADMIN_TOKEN from ${configured.source}`;
    if (!TOKEN_PATTERN.test(configured.value)) {
      throw new ConfigError(
        `${tokenSource} holds spaces or characters an HTTP header cannot carry; set it to the Worker's ADMIN_TOKEN.`,
      );
    }
    const tokenKind = configured.source === DEV_VARS_FILE ? "dev-vars" : "environment";
    return { base, fromFlag, token: configured.value, tokenSource, tokenKind, ...localFile };
  }
  if (local && isLoopbackUrl(base)) {
    return {
      base,
      fromFlag,
      token: local.token,
      tokenSource: `the local dev token in ${LOCAL_ADMIN_TOKEN_FILE}`,
      tokenKind: "local-file",
      ...localFile,
    };
  }
  const localNote = local
    ? ` (${LOCAL_ADMIN_TOKEN_FILE} holds the token of a local \`npm run dev\`, which is sent only to a Worker on this machine, not to ${base})`
    : "";
  throw new ConfigError(
    `No admin token${localNote}. Set ADMIN_TOKEN to the Worker's ADMIN_TOKEN: export ADMIN_TOKEN=<token>, or add the line ADMIN_TOKEN="<token>" to ${DEV_VARS_FILE} in ${ctx.cwd}. For a local Worker, start it with \`npm run dev\`, which writes a token for this CLI to ${LOCAL_ADMIN_TOKEN_FILE} when no ADMIN_TOKEN is configured.`,
  );
}

/** A suggested command line, with the same --url when one was given; `{ placeholder }` is printed as it is. */
export function cliCommand(target: AdminTarget, args: Array<string | { placeholder: string }>): string {
  const url = target.fromFlag ? ["--url", target.base] : [];
  const words = [...args, ...url].map((arg) => (typeof arg === "string" ? shellArg(arg) : arg.placeholder));
  return `npm run cli -- ${words.join(" ")}`;
}

export interface AdminCall {
  method: "GET" | "POST";
  /** Under /admin, already percent-encoded, e.g. `/events/poll%3A1`. */
  path: string;
  query?: URLSearchParams;
  /** Sent as JSON. */
  body?: unknown;
}

export interface AdminAnswer extends HttpAnswer {
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

export async function callAdmin(target: AdminTarget, call: AdminCall, ctx: CliContext): Promise<AdminAnswer> {
  const query = call.query?.toString() ?? "";
  const url = `${target.base}${ADMIN_PATH}${call.path}${query ? `?${query}` : ""}`;
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}`, accept: "application/json" };
  if (call.body !== undefined) headers["content-type"] = "application/json";
  let answer: HttpAnswer;
  try {
    answer = await sendRequest({
      party: "the Worker",
      method: call.method,
      url,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      timeoutMs: ctx.timeoutMs,
      redirect: "manual",
    });
  } catch (error) {
    if (!(error instanceof NoAnswerError)) throw error;
    const next = isLoopbackUrl(target.base)
      ? `Is \`npm run dev\` running at ${target.base}? Start it, or pass the Worker's address with --url.`
      : `Check --url (${target.base}) and that the Worker is reachable from here.`;
    throw new CommandFailure(`${sanitise(error.message)} ${next}`);
  }
  return { ...answer, json: parseJson(answer.text) };
}

/** The `error` of a JSON error answer. */
export function answerError(answer: AdminAnswer): string | undefined {
  const error = (answer.json as { error?: unknown } | undefined)?.error;
  return typeof error === "string" ? error : undefined;
}

export interface FailureHints {
  /** The message for a 404 that names something missing (a JSON error other than "Not found"). */
  notFound?: string;
  /** The route is newer than the others: an older Worker answers 404 to it. */
  newRoute?: boolean;
}

/** A non-2xx answer as a sentence saying what to do next. */
export function adminFailure(
  target: AdminTarget,
  call: AdminCall,
  answer: AdminAnswer,
  hints: FailureHints = {},
): CommandFailure {
  const what = `${call.method} ${ADMIN_PATH}${call.path}`;
  const error = answerError(answer);
  if (answer.status === 401) return new CommandFailure(unauthorised(target));
  if (answer.status === 404 && error !== undefined && error !== "Not found" && hints.notFound) {
    return new CommandFailure(hints.notFound);
  }
  if (answer.status === 404) {
    const older = hints.newRoute ? `, or the Worker is older than this command (${what} is a newer route)` : "";
    return new CommandFailure(
      `The Worker at ${target.base} answered ${what} with 404: /admin is off on that Worker (it has no ADMIN_TOKEN; set one with \`npx wrangler secret put ADMIN_TOKEN\`, or in ${DEV_VARS_FILE} for \`npm run dev\`), or ${target.base} is not the Worker's URL (check --url)${older}.`,
    );
  }
  if (answer.status >= 300 && answer.status <= 399) {
    const location = answer.headers.get("location");
    return new CommandFailure(
      `The Worker at ${target.base} answered ${what} with a redirect (HTTP ${answer.status}${location ? ` to ${truncate(sanitise(location), 200)}` : ""}); the admin token is not sent on redirects. Pass the address it redirects to with --url.`,
    );
  }
  const detail = error ?? (answer.text === "" ? answer.statusText : answer.text);
  const next =
    answer.status >= 500
      ? " Try again; the Worker's logs (the `npm run dev` console, or `npx wrangler tail`) say more."
      : "";
  return new CommandFailure(
    `The Worker answered ${what} with HTTP ${answer.status}${detail ? `: ${truncate(sanitise(detail), MAX_ERROR_TEXT)}` : ""}.${next}`,
  );
}

function unauthorised(target: AdminTarget): string {
  const refused = `The Worker at ${target.base} refused the admin token (HTTP 401): ${target.tokenSource} is not that Worker's ADMIN_TOKEN.`;
  if (target.tokenKind === "local-file") {
    return `${refused} The file may be left from an earlier \`npm run dev\`, or ${target.base} is another Worker: restart \`npm run dev\`, or set ADMIN_TOKEN to that Worker's token.`;
  }
  const where =
    target.tokenKind === "environment"
      ? "Set ADMIN_TOKEN in the environment to the Worker's ADMIN_TOKEN (for a deployed Worker, the value given to `npx wrangler secret put ADMIN_TOKEN`)."
      : `Set ADMIN_TOKEN in ${DEV_VARS_FILE} to the Worker's ADMIN_TOKEN; \`npm run dev\` reads ${DEV_VARS_FILE} only when it starts.`;
  const local =
    target.localFile && isLoopbackUrl(target.base)
      ? ` ${LOCAL_ADMIN_TOKEN_FILE} holds the token of a local \`npm run dev\`; it is used only when ADMIN_TOKEN is set neither in the environment nor in ${DEV_VARS_FILE}.`
      : "";
  return `${refused} ${where}${local}`;
}

/** A 2xx answer's body read with `schema`, or a failure saying the Worker's answer is not understood. */
export function readAnswer<S extends z.ZodType>(
  target: AdminTarget,
  call: AdminCall,
  answer: AdminAnswer,
  schema: S,
): z.output<S> {
  const parsed = schema.safeParse(answer.json);
  if (!parsed.success) {
    throw new CommandFailure(
      `The Worker at ${target.base} answered ${call.method} ${ADMIN_PATH}${call.path} with a body this CLI does not understand; is ${target.base} this project's Worker, as new as this CLI?`,
    );
  }
  return parsed.data;
}

/** One call that must succeed: its body read with `schema`. */
export async function adminJson<S extends z.ZodType>(
  target: AdminTarget,
  call: AdminCall,
  schema: S,
  ctx: CliContext,
  hints?: FailureHints,
): Promise<{ answer: AdminAnswer; body: z.output<S> }> {
  const answer = await callAdmin(target, call, ctx);
  if (answer.status < 200 || answer.status > 299) throw adminFailure(target, call, answer, hints);
  return { answer, body: readAnswer(target, call, answer, schema) };
}
