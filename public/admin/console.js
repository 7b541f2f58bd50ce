// @ts-check
// The operator console (docs/console.md): plain browser JavaScript, no build step.
// It signs in with the admin token from the address's fragment (`#token=…`, removed at once) or a
// form, keeps it for this tab only (sessionStorage), and sends it only as `Authorization: Bearer`
// to the JSON routes under /admin. Everything that comes from an event is set as text, never HTML.

const TOKEN_KEY = "maintainx-console-token";
/** The page sizes the forms offer besides the Worker's default, up to its maximum. */
const LIST_PAGE_SIZES = [25, 100, 200];
const REPLAY_PAGE_SIZES = [10, 500, 1000];

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const signOutButton = /** @type {HTMLButtonElement} */ (document.getElementById("sign-out"));
const loading = /** @type {HTMLElement} */ (document.getElementById("loading"));

// ---------------------------------------------------------------------------------------------
// Building the page: every value goes in as a text node or an attribute, never as markup.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @param {string} tag
 * @param {Record<string, string | boolean | ((event: Event) => void) | undefined>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A link inside the console: always a fragment route, so no event value can become a URL scheme. */
function routeLink(
  /** @type {string} */ route,
  /** @type {Child | Child[]} */ text,
  /** @type {string} */ className = "",
) {
  return h("a", { href: `#/${route}`, class: className || undefined }, text);
}

function eventLink(/** @type {string} */ id) {
  return routeLink(`event/${encodeURIComponent(id)}`, id, "mono");
}

function badge(/** @type {string} */ status) {
  // The class comes from a fixed alphabet, so a hostile status cannot add classes.
  return h("span", { class: `badge badge-${/^[a-z_]{1,32}$/.test(status) ? status : "other"}` }, status);
}

/** @param {string | null | undefined} iso @param {string} [empty] what to say when there is none */
function timeText(iso, empty = "never") {
  if (!iso) return h("span", { class: "muted" }, empty);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, iso);
  return h("time", { datetime: iso, title: iso }, `${date.toLocaleString()} (${ago(date)})`);
}

function ago(/** @type {Date} */ date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] =
    abs < 90
      ? [abs, "s"]
      : abs < 5400
        ? [Math.round(abs / 60), "min"]
        : abs < 129600
          ? [Math.round(abs / 3600), "h"]
          : [Math.round(abs / 86400), "d"];
  return seconds >= 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

/**
 * A span of whole seconds in its two largest units: 30 → "30 s", 120 → "2 min",
 * 99750 → "27 h 42 min" (the smaller remainder is dropped; the exact count is in the title).
 * @param {number} seconds
 */
function spanText(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  const parts = [
    [Math.floor(whole / 3600), "h"],
    [Math.floor((whole % 3600) / 60), "min"],
    [whole % 60, "s"],
  ]
    .filter(([value]) => value !== 0)
    .map(([value, unit]) => `${value} ${unit}`);
  return parts.length === 0 ? "0 s" : parts.slice(0, 2).join(" ");
}

/** A handler call's duration: "85 ms", "2.4 s", "1 min 5 s". @param {unknown} ms */
function durationText(ms) {
  const value = Number(ms);
  if (!Number.isFinite(value) || value < 0) return "";
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return spanText(value / 1000);
}

/**
 * The retry schedule in force (`retry` of /admin/status) as one line:
 * "30 s, 2 min, …, 12 h — 27 h 42 min in all"; undefined when the answer carries none.
 * @param {any} retry
 */
function scheduleText(retry) {
  /** @type {number[]} */
  const schedule = Array.isArray(retry?.schedule) ? retry.schedule.map(Number) : [];
  if (schedule.length === 0 || !schedule.every((s) => Number.isFinite(s) && s >= 0)) return undefined;
  const total =
    typeof retry.totalSeconds === "number" && Number.isFinite(retry.totalSeconds)
      ? retry.totalSeconds
      : schedule.reduce((sum, s) => sum + s, 0);
  return { line: `${schedule.map(spanText).join(", ")} — ${spanText(total)} in all`, total, count: schedule.length };
}

/** @param {string} text @param {"error" | "ok" | "info"} [kind] */
function message(text, kind = "info") {
  return h("p", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** @param {string} title @param {...(Child | Child[])} content */
function render(title, ...content) {
  document.title = `${title} · MaintainX webhooks console`;
  const heading = h("h1", { tabindex: "-1" }, title);
  main.replaceChildren(heading, ...content.flat().filter((c) => c instanceof Node));
  heading.focus({ preventScroll: false });
}

/** @param {Array<[string, Child | Child[]]>} rows */
function facts(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
  );
}

/**
 * A table that folds into labelled rows at phone widths (each cell carries its column's name).
 * @param {string} caption @param {string[]} columns @param {Child[][]} rows
 * @param {(index: number) => string | undefined} [rowClass] a class for a row (from a fixed set)
 */
function table(caption, columns, rows, rowClass) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((cells, index) =>
          h(
            "tr",
            { class: rowClass?.(index) },
            cells.map((cell, i) => h("td", { "data-label": columns[i] ?? "" }, cell)),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The token and the JSON routes.

class ApiError extends Error {
  /** @param {number} status @param {string} text @param {any} body */
  constructor(status, text, body) {
    super(text);
    this.status = status;
    this.body = body;
  }
}

function readToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Takes `#token=…` out of the address (without a new history entry) and keeps it for the tab. */
function takeTokenFromFragment() {
  const match = /^#(?:.*&)?token=([^&]*)/.exec(location.hash);
  if (!match) return;
  let token = "";
  try {
    token = decodeURIComponent(match[1] ?? "").trim();
  } catch {
    token = "";
  }
  history.replaceState(null, "", `${location.pathname}${location.search}#/status`);
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
}

/**
 * Calls a JSON route with the bearer token. A 401 signs out and shows the sign-in form.
 * @param {string} path @param {{ method?: string, body?: unknown, accept?: string }} [options]
 * @returns {Promise<any>}
 */
async function api(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${readToken()}`, accept: options.accept ?? "application/json" };
  /** @type {RequestInit} */
  const init = {
    method: options.method ?? "GET",
    headers,
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  };
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  // A newer view cancels this call (its answer must not replace that view), and no call waits
  // for ever on a Worker that does not answer.
  init.signal = AbortSignal.any([routeAbort.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
  let response;
  let text;
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch (error) {
    if (routeAbort.signal.aborted) throw new Superseded();
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw new ApiError(0, `The Worker did not answer within ${REQUEST_TIMEOUT_MS / 1000} s. Try again.`, null);
    }
    throw new ApiError(0, "The Worker could not be reached. Check that it is running, then try again.", null);
  }
  /** @type {any} */
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = undefined;
  }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("That token was not accepted. Enter the Worker's ADMIN_TOKEN (or open the link `npm run dev` printed).");
    throw new ApiError(401, "Signed out", body);
  }
  if (!response.ok) {
    const reason = body && typeof body.error === "string" ? body.error : `The Worker answered ${response.status}.`;
    throw new ApiError(response.status, reason, body);
  }
  if (body === undefined || body === null || typeof body !== "object") {
    throw new ApiError(
      response.status,
      "The answer was not the Worker's JSON: is this page served by the MaintainX webhooks Worker?",
      null,
    );
  }
  return body;
}

/** Thrown into a view whose route was left before its answer came: nothing is shown for it. */
class Superseded extends Error {}

const REQUEST_TIMEOUT_MS = 20_000;
/** Aborted when another route starts, so the calls of the one before cannot render over it. */
let routeAbort = new AbortController();

/** Shows what went wrong where the view would be; a 401 has already shown the sign-in form. */
function showFailure(/** @type {unknown} */ error, /** @type {string} */ title) {
  if (error instanceof Superseded || (error instanceof ApiError && error.status === 401)) return;
  const text = error instanceof Error ? error.message : String(error);
  render(
    title,
    message(text, "error"),
    h("p", {}, h("button", { type: "button", onclick: () => route() }, "Try again")),
  );
}

// ---------------------------------------------------------------------------------------------
// What the Worker's listing takes: its statuses, canonical types, filters and limits, read once from
// GET /admin/vocabulary, so the console offers only names the Worker has.

/**
 * @typedef {{ default: number, max: number }} Limit
 * @typedef {{ statuses: string[], types: string[], filters: string[], limits: { list: Limit, replay: Limit } }} Vocabulary
 */

/** @type {Vocabulary | undefined} */
let vocabulary;

/** The vocabulary, read at the first view after sign-in; a failed read is tried again by the next view. */
async function loadVocabulary() {
  if (vocabulary) return vocabulary;
  /** @type {any} */
  let answer;
  try {
    answer = await api("/admin/vocabulary");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    // A call that got no answer already says what to do; an answer says what the Worker refused.
    const next =
      error.status === 0
        ? ""
        : error.status === 404
          ? " This Worker is older than its console: deploy it again (npm run deploy), then reload this page."
          : " Try again; if it keeps failing, the Worker's logs (npx wrangler tail) say why.";
    const reason = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
    throw new ApiError(
      error.status,
      `The console could not read the event statuses and types it offers from the Worker (GET /admin/vocabulary): ${reason}${next}`,
      error.body,
    );
  }
  const strings = (/** @type {unknown} */ list) =>
    Array.isArray(list) && list.length > 0 && list.every((item) => typeof item === "string") ? list : undefined;
  const limit = (/** @type {any} */ value) =>
    value && Number.isInteger(value.default) && Number.isInteger(value.max) ? value : undefined;
  const statuses = strings(answer.statuses);
  const types = strings(answer.types);
  const filters = strings(answer.filters);
  const list = limit(answer.limits?.list);
  const replay = limit(answer.limits?.replay);
  if (!statuses || !types || !filters || !list || !replay) {
    throw new ApiError(
      0,
      "The Worker's answer to GET /admin/vocabulary lacks the statuses, types, filters or limits this console needs: is the Worker as new as its console? Deploy it again, then reload this page.",
      null,
    );
  }
  vocabulary = { statuses, types, filters, limits: { list, replay } };
  return vocabulary;
}

/** The form's page sizes: the Worker's default, and the console's others within its maximum. */
function pageSizes(/** @type {Limit} */ limit, /** @type {number[]} */ others) {
  const sizes = new Set([limit.default, ...others.filter((n) => n >= 1 && n <= limit.max)]);
  return [...sizes].sort((a, b) => a - b).map(String);
}

// ---------------------------------------------------------------------------------------------
// Sign in and out.

function showSignIn(/** @type {string} */ note = "") {
  nav.hidden = true;
  signOutButton.hidden = true;
  const input = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "token",
      name: "token",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
    })
  );
  const form = h(
    "form",
    { class: "sign-in", onsubmit: (event) => signIn(event, input) },
    h("label", { for: "token" }, "Admin token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
  );
  render(
    "Sign in",
    note ? message(note, "error") : null,
    h(
      "p",
      {},
      "Enter the Worker's ADMIN_TOKEN. It is kept for this tab only and sent only in the Authorization header. Locally, `npm run dev` prints a link that signs you in.",
    ),
    form,
  );
  input.focus();
}

async function signIn(/** @type {Event} */ event, /** @type {HTMLInputElement} */ input) {
  event.preventDefault();
  const token = input.value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", "#/status");
  await route();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  history.replaceState(null, "", `${location.pathname}${location.search}`);
  showSignIn();
}

// ---------------------------------------------------------------------------------------------
// Views.

async function statusView(/** @type {Vocabulary} */ words) {
  const status = await api("/admin/status");
  const counts = status.events ?? {};
  const poll = status.poll ?? {};
  const config = Array.isArray(status.config) ? status.config : [];
  const troubled = (counts.failed ?? 0) + (counts.dead ?? 0);
  const retrying = Number(counts.retrying ?? 0);
  const held = Array.isArray(status.handlers?.held) ? status.handlers.held.map(String) : [];
  const schedule = scheduleText(status.retry);
  render(
    "Status",
    h(
      "section",
      { class: "cards", "aria-label": "Events per status" },
      words.statuses.map((s) =>
        routeLink(
          s === "dead" ? "dead" : `events?status=${s}`,
          [h("span", { class: "count" }, String(counts[s] ?? 0)), badge(s)],
          "card",
        ),
      ),
    ),
    troubled > 0
      ? message(
          `${troubled} event(s) need attention: open them, fix the cause, then replay them (Bulk replay).`,
          "error",
        )
      : null,
    held.length > 0
      ? h(
          "p",
          { class: "message message-warn", role: "status" },
          `Held: ${held.join(", ")}. Events that need ${held.length === 1 ? "it" : "them"} wait as retrying until released. `,
          routeLink("handlers", "Open Handlers"),
        )
      : null,
    retrying > 0
      ? message(
          `${retrying} event(s) are retrying: each is tried again on the schedule below, or, if it waits for a held handler, as soon as that handler is released. Nothing to do unless they stay there.`,
        )
      : null,
    stuckSection(status.stuck),
    h("h2", {}, "Retries"),
    schedule
      ? [
          facts([
            ["Schedule", h("span", { title: `${schedule.total} s in all` }, schedule.line)],
            [
              "After the last",
              `the event is dead (kept for replay), after ${schedule.count} ${schedule.count === 1 ? "retry" : "retries"}`,
            ],
          ]),
          h(
            "p",
            { class: "muted" },
            "Retry n waits the n-th delay plus up to 25 % jitter; a sink's longer Retry-After wins (up to 12 h). Waiting for a held handler uses none of them.",
          ),
        ]
      : h("p", { class: "muted" }, "This Worker does not report its retry schedule: deploy it again (npm run deploy)."),
    h("h2", {}, "Webhooks"),
    facts([["Last webhook", timeText(status.lastWebhookAt)]]),
    h("h2", {}, "Polling fallback"),
    facts([
      ["Outcome", poll.outcome ? badge(String(poll.outcome)) : h("span", { class: "muted" }, "no run yet")],
      ["Last run", timeText(poll.lastRunAt)],
      [
        "Cursor",
        poll.cursor ? h("span", { class: "mono" }, String(poll.cursor)) : h("span", { class: "muted" }, "none"),
      ],
      ["Pages / events", `${poll.pages ?? 0} / ${poll.events ?? 0}`],
      ["Skipped until", timeText(poll.skippedUntil, "not skipped")],
    ]),
    h("h2", {}, "Configuration"),
    config.length === 0
      ? h("p", { class: "muted" }, "No malformed settings.")
      : [
          message(
            "Some settings are malformed; the Worker uses the value shown instead. Fix them in wrangler.toml or the dashboard.",
            "error",
          ),
          table(
            "Malformed settings",
            ["Setting", "Value", "Used instead"],
            config.map((/** @type {any} */ p) => [
              h("span", { class: "mono" }, String(p.name)),
              String(p.value),
              String(p.used),
            ]),
          ),
        ],
    h("p", {}, h("button", { type: "button", onclick: () => route() }, "Refresh")),
  );
}

/**
 * The events left `accepted` longer than the queues retry a message (`stuck` of /admin/status):
 * nothing settles them, so they are listed, oldest change first, with a way to replay them.
 * @param {any} stuck
 */
function stuckSection(stuck) {
  const count = Number(stuck?.count ?? 0);
  if (!(count > 0)) return null;
  const events = Array.isArray(stuck.events) ? stuck.events : [];
  const until = typeof stuck.changedBefore === "string" ? stuck.changedBefore : "";
  return [
    h("h2", {}, "Stuck events"),
    message(
      `${count} event(s) have stayed accepted with no change for more than ${Number(stuck.afterHours)} h: no queue retries them any more, so they will not settle by themselves. Fix the cause if there is one (D1, the queue), then replay them.`,
      "error",
    ),
    table(
      events.length < count
        ? `The ${events.length} oldest of ${count}, oldest change first`
        : `${count} event(s), oldest change first`,
      ["Last change", "Type", "Attempts", "Last error", "Event"],
      events.map((/** @type {any} */ e) => [
        timeText(e.updatedAt),
        h("span", { class: "mono" }, String(e.type)),
        String(e.attempts ?? 0),
        e.lastError ? h("span", { class: "error-text" }, String(e.lastError)) : "",
        eventLink(String(e.id)),
      ]),
    ),
    h(
      "div",
      { class: "row" },
      routeLink(
        `replay${query({ status: "accepted", ...(until ? { until } : {}) })}`,
        "Replay them…",
        "button secondary",
      ),
    ),
  ];
}

/** The filters of a route's query, only the Worker's filter names with a value. */
function filtersOf(/** @type {URLSearchParams} */ params, /** @type {Vocabulary} */ words) {
  /** @type {Record<string, string>} */
  const filters = {};
  for (const name of words.filters) {
    const value = params.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

/**
 * The filter form shared by the events list and bulk replay; its statuses and types are the Worker's.
 * @param {Vocabulary} words @param {Record<string, string>} filters @param {string} limit
 * @param {string[]} limits @param {string} submitText
 * @param {(filters: Record<string, string>, limit: string) => void} onSubmit
 */
function filterForm(words, filters, limit, limits, submitText, onSubmit) {
  /** @param {string} name @param {string} label @param {Record<string, string>} [extra] */
  const field = (name, label, extra = {}) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `f-${name}` }, label),
      h("input", {
        id: `f-${name}`,
        name,
        value: filters[name] ?? "",
        autocomplete: "off",
        spellcheck: "false",
        ...extra,
      }),
    );
  const status = h(
    "select",
    { id: "f-status", name: "status" },
    h("option", { value: "" }, "any"),
    words.statuses.map((s) => h("option", { value: s, selected: filters.status === s }, s)),
  );
  // A type from the address that the Worker does not list (a seed delivery's, or one MaintainX
  // never documented, is logged as it came) is kept, so the form shows the filter the list has.
  const unlisted = filters.type && !words.types.includes(filters.type) ? filters.type : "";
  const type = h(
    "select",
    { id: "f-type", name: "type" },
    h("option", { value: "" }, "any"),
    unlisted ? h("option", { value: unlisted, selected: true }, `${unlisted} (not a known type)`) : null,
    typeGroups(words.types).map(([kind, types]) =>
      h(
        "optgroup",
        { label: kind },
        types.map((t) => h("option", { value: t, selected: filters.type === t }, t)),
      ),
    ),
  );
  const limitSelect = h(
    "select",
    { id: "f-limit", name: "limit" },
    // A page size from the address that the list does not offer is kept, not replaced.
    (limits.includes(limit) ? limits : [limit, ...limits]).map((n) =>
      h("option", { value: n, selected: n === limit }, n),
    ),
  );
  const form = /** @type {HTMLFormElement} */ (
    h(
      "form",
      {
        class: "filters",
        onsubmit: (event) => {
          event.preventDefault();
          const data = new FormData(form);
          /** @type {Record<string, string>} */
          const chosen = {};
          for (const name of words.filters) {
            const value = String(data.get(name) ?? "").trim();
            if (value) chosen[name] = value;
          }
          onSubmit(chosen, String(data.get("limit") ?? limit));
        },
      },
      h("div", { class: "field" }, h("label", { for: "f-status" }, "Status"), status),
      h("div", { class: "field" }, h("label", { for: "f-type" }, "Type"), type),
      field("workOrderId", "Work order", { inputmode: "numeric", placeholder: "123" }),
      field("subject", "Subject", { placeholder: "asset:9" }),
      field("since", "Since", { placeholder: "2026-12-01T09:00:00Z" }),
      field("until", "Until", { placeholder: "2026-12-01T10:00:00Z" }),
      h("div", { class: "field" }, h("label", { for: "f-limit" }, "Per page"), limitSelect),
      h("div", { class: "field actions" }, h("button", { type: "submit" }, submitText)),
    )
  );
  return form;
}

/** The types grouped by what they are about (`workorder.created` → `workorder`), in the given order. */
function typeGroups(/** @type {string[]} */ types) {
  /** @type {Map<string, string[]>} */
  const groups = new Map();
  for (const type of types) {
    const kind = type.split(".")[0] ?? type;
    groups.set(kind, [...(groups.get(kind) ?? []), type]);
  }
  return [...groups];
}

function query(/** @type {Record<string, string>} */ values) {
  const params = new URLSearchParams(values);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** @param {URLSearchParams} params @param {Vocabulary} words @param {{ dead?: boolean }} [options] */
async function eventsView(params, words, options = {}) {
  const filters = filtersOf(params, words);
  if (options.dead) filters.status = "dead";
  const limit = params.get("limit") ?? String(words.limits.list.default);
  const cursor = params.get("cursor") ?? "";
  const title = options.dead
    ? "Dead events"
    : filters.status === "failed"
      ? "Failed events"
      : filters.status === "retrying"
        ? "Retrying events"
        : "Events";
  const sizes = pageSizes(words.limits.list, LIST_PAGE_SIZES);
  const form = filterForm(words, filters, limit, sizes, "Show", (chosen, chosenLimit) => {
    location.hash = `#/events${query({ ...chosen, limit: chosenLimit })}`;
  });
  /** @type {any} */
  let answer;
  try {
    answer = await api(`/admin/events${query({ ...filters, limit, ...(cursor ? { cursor } : {}) })}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      render(title, form, message(`${error.message}. Change the filter and try again.`, "error"));
      return;
    }
    throw error;
  }
  const events = Array.isArray(answer.events) ? answer.events : [];
  const rows = events.map((/** @type {any} */ e) => [
    timeText(e.receivedAt),
    statusCell(e),
    h("span", { class: "mono" }, String(e.type)),
    e.lastError
      ? h(
          "span",
          {},
          e.summary
            ? [String(e.summary), h("br"), h("span", { class: "error-text" }, String(e.lastError))]
            : h("span", { class: "error-text" }, String(e.lastError)),
        )
      : String(e.summary ?? ""),
    String(e.attempts ?? 0),
    eventLink(String(e.id)),
  ]);
  const here = { ...filters, limit };
  const paging = h(
    "nav",
    { class: "paging", "aria-label": "Pages" },
    cursor
      ? routeLink(
          `${options.dead ? "dead" : "events"}${query(options.dead ? { limit } : here)}`,
          "First page",
          "button",
        )
      : null,
    answer.nextCursor
      ? routeLink(
          `${options.dead ? "dead" : "events"}${query({ ...(options.dead ? { limit } : here), cursor: String(answer.nextCursor) })}`,
          "Older events",
          "button",
        )
      : h("span", { class: "muted" }, events.length ? "End of the list." : ""),
  );
  const replayHere = Object.keys(filters).length
    ? routeLink(`replay${query(filters)}`, "Replay these…", "button secondary")
    : null;
  render(
    title,
    options.dead
      ? h("p", {}, "Events whose retries ran out. Fix the cause (a sink, a setting), then replay them.")
      : form,
    events.length === 0
      ? message(
          Object.keys(filters).length
            ? "No events match these filters."
            : "No events yet. Send one: npm run cli -- send NEW_WORK_ORDER",
        )
      : table(
          `${events.length} event(s), newest first`,
          ["Received", "Status", "Type", "Summary", "Attempts", "Event"],
          rows,
        ),
    h("div", { class: "row" }, paging, replayHere),
  );
}

/**
 * An event's status, and for one that is retrying when it is tried next (or that it waits for a
 * held handler: a retrying event with no `nextAttemptAt`).
 * @param {any} event
 */
function statusCell(event) {
  const status = String(event.status);
  if (status !== "retrying") return badge(status);
  return h("span", { class: "status-cell" }, badge(status), " ", nextAttempt(event.nextAttemptAt));
}

/** @param {unknown} iso */
function nextAttempt(iso) {
  if (typeof iso !== "string" || !iso) return h("span", { class: "muted" }, "waits for a held handler");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, `next try ${iso}`);
  return h(
    "time",
    { datetime: iso, title: `${date.toLocaleString()} (${iso})`, class: "muted" },
    `next try ${ago(date)}`,
  );
}

/** @param {string} id */
async function eventView(id) {
  const title = "Event";
  let answer;
  try {
    answer = await api(`/admin/events/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      render(title, message(`No event ${id} in the log (it may be older than the retention period).`, "error"));
      return;
    }
    throw error;
  }
  const event = answer.event ?? {};
  const outcomes = Array.isArray(event.outcomes) ? event.outcomes : [];
  const attempts = Array.isArray(answer.attempts) ? answer.attempts : undefined;
  const waitingFor = outcomes
    .filter((/** @type {any} */ o) => o.held === true)
    .map((/** @type {any} */ o) => String(o.handler));
  const workOrderId = workOrderOf(event);
  const replayResult = h("div", { "aria-live": "polite" });
  const replayButton = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        onclick: async () => {
          replayButton.disabled = true;
          try {
            await api(`/admin/events/${encodeURIComponent(id)}/replay`, { method: "POST" });
            replayResult.replaceChildren(
              message("Queued for replay: failed and skipped handlers run again, done ones stay done.", "ok"),
              h("button", { type: "button", onclick: () => route() }, "Refresh"),
            );
          } catch (error) {
            if (!(error instanceof ApiError && error.status === 401)) {
              replayResult.replaceChildren(message(error instanceof Error ? error.message : String(error), "error"));
            }
          } finally {
            replayButton.disabled = false;
          }
        },
      },
      "Replay this event",
    )
  );
  const related = h("div", { class: "related" });
  render(
    title,
    h("p", { class: "mono event-id" }, id),
    facts([
      ["Status", badge(String(event.status))],
      ["Type", h("span", { class: "mono" }, String(event.type ?? ""))],
      ["MaintainX type", h("span", { class: "mono" }, String(event.sourceType ?? ""))],
      ["Source", String(event.source ?? "")],
      ["Received", timeText(event.receivedAt)],
      ["Attempts", String(event.attempts ?? 0)],
      ...(event.status === "retrying"
        ? /** @type {Array<[string, Child]>} */ ([
            [
              "Next attempt",
              typeof event.nextAttemptAt === "string" && event.nextAttemptAt
                ? timeText(event.nextAttemptAt)
                : h("span", {}, waitingFor.length ? "when the held handler is released" : "not scheduled"),
            ],
          ])
        : []),
      ...(event.summary ? /** @type {Array<[string, Child]>} */ ([["Summary", String(event.summary)]]) : []),
      ...(event.lastError
        ? /** @type {Array<[string, Child]>} */ ([
            ["Last error", h("span", { class: "error-text" }, String(event.lastError))],
          ])
        : []),
    ]),
    h("div", { class: "row" }, replayButton, replayResult),
    waitingFor.length
      ? h(
          "p",
          { class: "message message-warn", role: "status" },
          `This event waits for ${waitingFor.join(", ")}, which ${waitingFor.length === 1 ? "is" : "are"} held: it runs again within a minute of the release. `,
          routeLink("handlers", "Open Handlers"),
        )
      : null,
    h("h2", {}, "Outcomes"),
    outcomes.length === 0
      ? h("p", { class: "muted" }, "No handler has run for this event yet.")
      : table(
          "Outcome per handler",
          ["Handler", "Status", "Attempts", "Error or detail"],
          outcomes.map((/** @type {any} */ o) => [
            h("span", { class: "mono" }, String(o.handler)),
            badge(String(o.status)),
            String(o.attempts ?? 0),
            outcomeText(o),
          ]),
        ),
    h("h2", {}, "Attempt log"),
    attemptLog(attempts),
    workOrderId
      ? [
          h("h2", {}, `Work order ${workOrderId}`),
          h(
            "div",
            { class: "row" },
            h(
              "button",
              { type: "button", class: "secondary", onclick: () => showMirror(workOrderId, related) },
              "Mirror row",
            ),
            h(
              "button",
              { type: "button", class: "secondary", onclick: () => showReport(workOrderId, related) },
              "Completion report",
            ),
            routeLink(`events${query({ workOrderId })}`, "All its events", "button secondary"),
          ),
          related,
        ]
      : null,
    h("h2", {}, "Data"),
    h("pre", { class: "data", tabindex: "0" }, JSON.stringify(event.data ?? {}, null, 2)),
  );
}

/**
 * What an outcome says beside its status: the last error, why the handler skipped (`reason`), what
 * it did (`detail`), or that it waits for a release.
 * @param {any} o
 */
function outcomeText(o) {
  /** @type {Child[]} */
  const parts = [];
  if (o.lastError) parts.push(h("span", { class: "error-text" }, String(o.lastError)));
  if (o.reason) parts.push(h("span", {}, `Skipped: ${String(o.reason)}`));
  if (o.detail) parts.push(h("span", {}, String(o.detail)));
  if (o.held === true) parts.push(h("span", {}, "Held: waits for its release"));
  return parts.length <= 1 ? (parts[0] ?? "") : h("span", { class: "stack" }, parts);
}

/** The attempt log: every handler call of the event, oldest first (the Worker keeps the latest 50). */
function attemptLog(/** @type {any[] | undefined} */ attempts) {
  if (attempts === undefined) {
    return h("p", { class: "muted" }, "This Worker does not report attempts: deploy it again (npm run deploy).");
  }
  if (attempts.length === 0) return h("p", { class: "muted" }, "No handler has been called for this event yet.");
  return table(
    attempts.length >= 50
      ? `The latest ${attempts.length} handler calls, oldest first (older ones are not shown)`
      : `${attempts.length} handler call(s), oldest first`,
    ["Handler", "Attempt", "Time", "Duration", "Outcome", "Sink status", "Error or detail"],
    attempts.map((/** @type {any} */ a) => [
      h("span", { class: "mono" }, String(a.handler)),
      String(a.attempt ?? ""),
      timeText(a.at, ""),
      durationText(a.durationMs),
      badge(String(a.outcome)),
      a.status === undefined || a.status === null ? "" : String(a.status),
      a.error
        ? h("span", { class: "error-text" }, String(a.error))
        : a.detail
          ? String(a.detail)
          : a.outcome === "held"
            ? "held: not called"
            : "",
    ]),
  );
}

/** The work order an event is about, from its answer's fields or its data. @param {any} event */
function workOrderOf(event) {
  if (typeof event.workOrderId === "string" && event.workOrderId) return event.workOrderId;
  if (typeof event.subject === "string" && event.subject.startsWith("workorder:")) return event.subject.slice(10);
  const data = event.data ?? {};
  const id = data.workOrderId ?? (String(event.type ?? "").startsWith("workorder.") ? data.id : undefined);
  return id === undefined || id === null || id === "" ? "" : String(id);
}

/** @param {string} id @param {HTMLElement} into */
async function showMirror(id, into) {
  try {
    const answer = await api(`/admin/work-orders/${encodeURIComponent(id)}`);
    const row = answer.workOrder ?? {};
    into.replaceChildren(
      h("h3", {}, "Mirror row"),
      facts(
        Object.entries(row).map(([name, value]) => [
          name,
          typeof value === "object" && value !== null
            ? h("pre", { class: "data" }, JSON.stringify(value, null, 2))
            : String(value ?? ""),
        ]),
      ),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    const text =
      error instanceof ApiError && error.status === 404
        ? `Work order ${id} is not in the mirror yet.`
        : error instanceof Error
          ? error.message
          : String(error);
    into.replaceChildren(message(text, "error"));
  }
}

/** @param {string} id @param {HTMLElement} into */
async function showReport(id, into) {
  try {
    const report = await api(`/admin/reports/${encodeURIComponent(id)}`);
    into.replaceChildren(
      h("h3", {}, "Completion report"),
      h("pre", { class: "data", tabindex: "0" }, JSON.stringify(report, null, 2)),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    const text =
      error instanceof ApiError && error.status === 404
        ? `No completion report for work order ${id}: reports are written when a work order is completed.`
        : error instanceof Error
          ? error.message
          : String(error);
    into.replaceChildren(message(text, "error"));
  }
}

/** Bulk replay: the filters, then a dry run's count and ids, then the replay once confirmed. */
async function replayView(/** @type {URLSearchParams} */ params, /** @type {Vocabulary} */ words) {
  const filters = filtersOf(params, words);
  const limit = params.get("limit") ?? String(words.limits.replay.default);
  const preview = h("div", { class: "preview", "aria-live": "polite" });
  const sizes = pageSizes(words.limits.replay, REPLAY_PAGE_SIZES);
  const form = filterForm(words, filters, limit, sizes, "Preview", (chosen, chosenLimit) => {
    history.replaceState(null, "", `#/replay${query({ ...chosen, limit: chosenLimit })}`);
    runPreview(chosen, chosenLimit, preview);
  });
  render(
    "Bulk replay",
    h(
      "p",
      {},
      "Choose the events to replay (at least one filter), preview them, then confirm. Each is replayed as by its own Replay button: failed and skipped handlers run again, done ones stay done.",
    ),
    form,
    preview,
  );
  if (Object.keys(filters).length) await runPreview(filters, limit, preview);
}

/** @param {Record<string, string>} filters @param {string} limit @param {HTMLElement} into */
async function runPreview(filters, limit, into) {
  if (Object.keys(filters).length === 0) {
    into.replaceChildren(message("Choose at least one filter (for example Status: failed).", "error"));
    return;
  }
  const body = { ...filters, limit: Number(limit) };
  into.replaceChildren(message("Counting the matching events…"));
  /** @type {any} */
  let dry;
  try {
    dry = await api("/admin/events/replay", { method: "POST", body: { ...body, dryRun: true } });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) into.replaceChildren(message(errorText(error), "error"));
    return;
  }
  const ids = Array.isArray(dry.ids) ? dry.ids.map(String) : [];
  if (ids.length === 0) {
    into.replaceChildren(message("No events match: nothing to replay.", "ok"));
    return;
  }
  const confirm = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      { type: "button", class: "danger", onclick: () => runReplay(body, ids.length, into, confirm) },
      `Replay ${ids.length} event(s)`,
    )
  );
  into.replaceChildren(
    h("h2", {}, "Preview"),
    message(
      `${dry.matched ?? ids.length} event(s) match${ids.length < (dry.matched ?? 0) ? `; the first ${ids.length} will be replayed` : ""}. Nothing has been queued yet.`,
    ),
    idList(ids),
    h(
      "div",
      { class: "row" },
      confirm,
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => into.replaceChildren(message("Cancelled: nothing was replayed.")),
        },
        "Cancel",
      ),
    ),
  );
  // The preview's heading, not the replay button: one stray key press must not replay them.
  const heading = into.querySelector("h2");
  heading?.setAttribute("tabindex", "-1");
  heading?.focus();
}

/** @param {Record<string, unknown>} body @param {number} previewed @param {HTMLElement} into @param {HTMLButtonElement} button */
async function runReplay(body, previewed, into, button) {
  button.disabled = true;
  try {
    const done = await api("/admin/events/replay", { method: "POST", body });
    const ids = Array.isArray(done.ids) ? done.ids.map(String) : [];
    into.replaceChildren(
      h("h2", {}, "Replayed"),
      message(
        `Replayed ${done.replayed ?? ids.length} event(s)${ids.length !== previewed ? ` (the preview showed ${previewed}: the events matching changed meanwhile)` : ""}. Their outcomes update as the queue runs them.`,
        "ok",
      ),
      idList(ids),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    const partial =
      error instanceof ApiError && error.body && Array.isArray(error.body.ids) ? error.body.ids.map(String) : [];
    into.replaceChildren(
      message(
        `${errorText(error)}${partial.length ? ` ${partial.length} event(s) were replayed before it stopped.` : ""}`,
        "error",
      ),
      ...(partial.length ? [idList(partial)] : []),
    );
  }
}

function idList(/** @type {string[]} */ ids) {
  return h(
    "ol",
    { class: "ids" },
    ids.map((id) => h("li", {}, eventLink(id))),
  );
}

function errorText(/** @type {unknown} */ error) {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Handlers (GET /admin/handlers): held or not, the events waiting for them, and Hold and Release,
// each asked for again before it is sent.

/** The longest hold reason the Worker keeps. */
const MAX_REASON_CHARS = 200;

/**
 * @typedef {{ text: string, kind: "ok" | "error" | "info" }} Notice
 * @param {Notice} [notice] what the last hold or release did, shown above the list
 */
async function handlersView(notice) {
  const title = "Handlers";
  const mine = routeAbort;
  /** @type {any} */
  let answer;
  try {
    answer = await api("/admin/handlers");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      render(
        title,
        message(
          "This Worker does not list its handlers (GET /admin/handlers): it is older than its console. Deploy it again (npm run deploy), then reload this page.",
          "error",
        ),
      );
      return;
    }
    throw error;
  }
  if (routeAbort !== mine) return;
  const handlers = Array.isArray(answer.handlers) ? answer.handlers : [];
  const panel = h("section", { class: "confirm", "aria-label": "Confirm", hidden: true });
  const heldNames = handlers
    .filter((/** @type {any} */ x) => x.held === true)
    .map((/** @type {any} */ x) => String(x.name));
  render(
    title,
    notice ? message(notice.text, notice.kind) : null,
    h(
      "p",
      {},
      "Hold a handler before its destination goes down for maintenance (an ERP upgrade): while held it is not called, and the events that need it run their other handlers, then wait as retrying, using none of their retries. Release it when the destination is back: the waiting events are queued again and each effect still happens once.",
    ),
    heldNames.length
      ? h("p", { class: "message message-warn", role: "status" }, `Held now: ${heldNames.join(", ")}.`)
      : null,
    handlers.length === 0
      ? message("The Worker lists no handlers.")
      : table(
          `${handlers.length} handler(s), in the order the Worker runs them`,
          ["Handler", "Types", "Held", "Waiting", "Last success", "Last failure", "Action"],
          handlers.map((/** @type {any} */ x) => {
            const name = String(x.name);
            const held = x.held === true;
            return [
              h(
                "span",
                { class: "handler-name" },
                h("span", { class: "mono" }, name),
                held ? [" ", badge("held")] : null,
              ),
              h(
                "span",
                { class: "mono types" },
                /** @type {string[]} */ (Array.isArray(x.types) ? x.types.map(String) : []).flatMap((type, i) => [
                  i > 0 ? ", " : "",
                  ...breakable(type),
                ]),
              ),
              held
                ? h(
                    "span",
                    { class: "stack held-since" },
                    h("span", {}, "since ", timeText(x.heldSince, "a moment ago")),
                    x.reason
                      ? h("span", {}, `Reason: ${String(x.reason)}`)
                      : h("span", { class: "muted" }, "No reason given"),
                  )
                : h("span", { class: "muted" }, "no"),
              Number.isInteger(x.waiting) ? String(x.waiting) : "0",
              timeText(x.lastSuccessAt, "none yet"),
              timeText(x.lastFailureAt, "none"),
              actionButton(x, panel),
            ];
          }),
          (i) => (handlers[i]?.held === true ? "held" : undefined),
        ),
    panel,
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => route() }, "Refresh")),
  );
}

/**
 * A dotted name that may break after its dots and underscores (`meter.` `trigger_` `state_changed`)
 * rather than anywhere, so a narrow column still reads.
 * @param {string} text @returns {Child[]}
 */
function breakable(text) {
  return text.split(/(?<=[._])/).flatMap((piece, i) => (i === 0 ? [piece] : [h("wbr"), piece]));
}

/** The list read again after a hold or release, with what it did; a list that cannot be read says so. */
async function afterAction(/** @type {Notice} */ notice) {
  try {
    await handlersView(notice);
  } catch (error) {
    if (error instanceof Superseded || (error instanceof ApiError && error.status === 401)) return;
    render(
      "Handlers",
      message(notice.text, notice.kind),
      message(`The list of handlers could not be read again: ${errorText(error)}`, "error"),
      h("p", {}, h("button", { type: "button", onclick: () => route() }, "Try again")),
    );
  }
}

/** The row's Hold… or Release… button: it opens the confirmation, it sends nothing itself. */
function actionButton(/** @type {any} */ handler, /** @type {HTMLElement} */ panel) {
  const name = String(handler.name);
  const held = handler.held === true;
  const button = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        class: held ? "action" : "action secondary",
        onclick: () => (held ? confirmRelease(handler, panel, button) : confirmHold(handler, panel, button)),
      },
      // The handler's name in the button itself, so its name says which one on its own.
      `${held ? "Release" : "Hold"} ${name}…`,
    )
  );
  return button;
}

/** Closes the confirmation and gives focus back to the button that opened it. */
function closePanel(/** @type {HTMLElement} */ panel, /** @type {HTMLButtonElement} */ opener) {
  panel.hidden = true;
  panel.replaceChildren();
  opener.focus();
}

/**
 * Shows a confirmation in `panel`; Escape or Cancel closes it.
 * @param {HTMLElement} panel @param {HTMLButtonElement} opener @param {string} heading
 * @param {...(Child | Child[])} content
 */
function openPanel(panel, opener, heading, ...content) {
  const title = h("h2", { tabindex: "-1" }, heading);
  panel.replaceChildren(title, ...content.flat().filter((c) => c instanceof Node));
  panel.hidden = false;
  panel.onkeydown = (event) => {
    if (event.key === "Escape") closePanel(panel, opener);
  };
  return title;
}

function confirmHold(
  /** @type {any} */ handler,
  /** @type {HTMLElement} */ panel,
  /** @type {HTMLButtonElement} */ opener,
) {
  const name = String(handler.name);
  const types = Array.isArray(handler.types) ? handler.types.map(String).join(", ") : "";
  const result = h("div", { "aria-live": "polite" });
  const reason = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "hold-reason",
      name: "reason",
      maxlength: String(MAX_REASON_CHARS),
      autocomplete: "off",
      placeholder: "ERP maintenance until 14:00",
    })
  );
  const submit = /** @type {HTMLButtonElement} */ (h("button", { type: "submit", class: "danger" }, `Hold ${name}`));
  const form = h(
    "form",
    {
      class: "hold-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const text = reason.value.trim();
        submit.disabled = true;
        /** @type {any} */
        let answer;
        try {
          answer = await api(`/admin/handlers/${encodeURIComponent(name)}/hold`, {
            method: "POST",
            body: text ? { reason: text } : {},
          });
        } catch (error) {
          showActionError(error, name, result, "hold");
          submit.disabled = false;
          return;
        }
        const kept = typeof answer.reason === "string" && answer.reason ? ` (reason: ${answer.reason})` : "";
        await afterAction({
          text: `${name} is held${kept}. Events that need it now wait as retrying; release it when its destination is back.`,
          kind: "ok",
        });
      },
    },
    h(
      "label",
      { for: "hold-reason" },
      `Reason (optional, at most ${MAX_REASON_CHARS} characters; shown here and in the alert)`,
    ),
    reason,
    h(
      "div",
      { class: "row" },
      submit,
      h("button", { type: "button", class: "secondary", onclick: () => closePanel(panel, opener) }, "Cancel"),
    ),
  );
  openPanel(
    panel,
    opener,
    `Hold ${name}?`,
    h(
      "p",
      {},
      `While it is held, ${name} is not called. Events of its types (${types || "none"}) run their other handlers, then wait as retrying until you release it; they use none of their retries and never become dead.`,
    ),
    form,
    result,
  );
  reason.focus();
}

function confirmRelease(
  /** @type {any} */ handler,
  /** @type {HTMLElement} */ panel,
  /** @type {HTMLButtonElement} */ opener,
) {
  const name = String(handler.name);
  const waiting = Number(handler.waiting ?? 0);
  const result = h("div", { "aria-live": "polite" });
  const release = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        class: "danger",
        onclick: async () => {
          release.disabled = true;
          /** @type {any} */
          let answer;
          try {
            answer = await api(`/admin/handlers/${encodeURIComponent(name)}/release`, { method: "POST" });
          } catch (error) {
            showActionError(error, name, result, "release");
            release.disabled = false;
            return;
          }
          const requeued = Number(answer.requeued ?? 0);
          const rest = Number(answer.waiting ?? 0);
          await afterAction({
            text:
              `${name} is released: ${requeued} waiting event(s) queued again now` +
              (rest > 0 ? `; the other ${rest} within a minute (the scheduled run queues them).` : "."),
            kind: "ok",
          });
        },
      },
      `Release ${name}`,
    )
  );
  const title = openPanel(
    panel,
    opener,
    `Release ${name}?`,
    h(
      "p",
      {},
      `${name} will be called again. ${waiting} event(s) wait for it: they are queued again now, and each effect still happens once. Release it only when its destination is back, or they fail and are retried again.`,
    ),
    h(
      "div",
      { class: "row" },
      release,
      h("button", { type: "button", class: "secondary", onclick: () => closePanel(panel, opener) }, "Cancel"),
    ),
    result,
  );
  // The question, not the button: one stray key press must not release it.
  title.focus();
}

/**
 * Says why a hold or release was refused, and what to do next.
 * @param {unknown} error @param {string} name @param {HTMLElement} into @param {"hold" | "release"} action
 */
function showActionError(error, name, into, action) {
  if (error instanceof Superseded || (error instanceof ApiError && error.status === 401)) return;
  const text = errorText(error);
  const sentence = /[.!?]$/.test(text) ? text : `${text}.`;
  const next =
    !(error instanceof ApiError) || error.status === 0
      ? ""
      : error.status === 404
        ? ` The Worker has no handler named ${name} any more (it was deployed without it): refresh the list.`
        : error.status === 400
          ? " Change the reason and try again."
          : ` Nothing was ${action === "hold" ? "held" : "released"}: try again; if it keeps failing, the Worker's logs (npx wrangler tail) say why.`;
  into.replaceChildren(message(`The ${action} of ${name} did not go through: ${sentence}${next}`, "error"));
}

// ---------------------------------------------------------------------------------------------
// Routing by fragment: #/status, #/events?…, #/event/<id>, #/dead, #/handlers, #/replay?…

async function route() {
  if (!readToken()) {
    showSignIn();
    return;
  }
  nav.hidden = false;
  signOutButton.hidden = false;
  const hash = location.hash.startsWith("#/") ? location.hash.slice(2) : "status";
  const [path = "", search = ""] = hash.split(/\?(.*)/s);
  const params = new URLSearchParams(search);
  const [view = "status", ...rest] = path.split("/");
  markCurrent(view);
  routeAbort.abort();
  const mine = new AbortController();
  routeAbort = mine;
  main.setAttribute("aria-busy", "true");
  loading.hidden = false;
  try {
    // Every view offers or counts the Worker's statuses, types and filters: none is shown without them.
    const words = vocabulary ?? (await loadVocabulary());
    if (routeAbort !== mine) return;
    if (view === "events" && params.get("status") === "failed" && Object.keys(filtersOf(params, words)).length === 1) {
      markCurrent("failed");
    }
    if (view === "events") await eventsView(params, words);
    else if (view === "dead") await eventsView(params, words, { dead: true });
    else if (view === "event") await eventView(decodedId(rest.join("/")));
    else if (view === "replay") await replayView(params, words);
    else if (view === "handlers") await handlersView();
    else await statusView(words);
  } catch (error) {
    if (routeAbort === mine) showFailure(error, "Something went wrong");
  } finally {
    if (routeAbort === mine) {
      main.removeAttribute("aria-busy");
      loading.hidden = true;
    }
  }
}

/** Marks the navigation's link to `view` as the current page. */
function markCurrent(/** @type {string} */ view) {
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** The event id in `#/event/<id>`; an address that does not decode names none. */
function decodedId(/** @type {string} */ encoded) {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new Error("This address names no event (its id is not valid percent-encoding). Open the event from a list.");
  }
}

signOutButton.addEventListener("click", signOut);
window.addEventListener("hashchange", () => {
  takeTokenFromFragment();
  route();
});
takeTokenFromFragment();
route();
