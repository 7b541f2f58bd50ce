// The operator console in a real Chromium against a real `wrangler dev` with stub Slack and ERP
// servers on 127.0.0.1: sign-in through the fragment, the lists, filters and paging, an event's
// outcomes and attempt log, a retrying event, hostile titles staying text, replay and bulk replay
// reaching the ERP, holding and releasing a handler, the retry schedule, a wrong token, phone
// widths and the keyboard. Each main view is saved as a screenshot (test/helpers/node/browser.ts).

import type { Browser, BrowserContext, Request as BrowserRequest, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../tools/wrangler-dev";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { browserForTests, launchChromium, screenshot } from "../helpers/node/browser";
import { type FakeMaintainX, startFakeMaintainX } from "../helpers/node/fake-maintainx";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { type StubServer, startStubServer } from "../helpers/node/stub-server";

const SECRET = "browser-console-secret";
const ADMIN_TOKEN = "browser-console-admin-token-3f9a";
const HOSTILE_TITLE = `<img src=x onerror="document.title='pwned'">`;

const chromiumPath = browserForTests();

let dev: WranglerDev;
let slack: StubServer;
let erp: StubServer;
let maintainx: FakeMaintainX;
let browser: Browser;

let sequence = 0;
function uniqueId(): number {
  sequence += 1;
  return 7_000_000 + sequence * 13 + Math.floor(Math.random() * 1000) * 100_000;
}

const deliver = (type: string, body: unknown) => postMaintainXDelivery(dev.url, SECRET, type, body);

async function adminJson<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await plainRequest(`${dev.url}/admin${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return JSON.parse(response.text) as T;
}

/** Waits until the consumer has settled the event with one of `statuses`. */
async function settled(eventId: string, statuses = ["processed", "failed", "dead"]): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await adminJson<{ event?: { status: string } }>(`/events/${encodeURIComponent(eventId)}`);
    if (answer.event && statuses.includes(answer.event.status)) return answer.event.status;
    if (Date.now() > deadline) throw new Error(`event ${eventId} not settled: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function created(id: number, title: string) {
  return {
    ...newWorkOrder,
    workOrderId: id,
    newWorkOrder: { ...newWorkOrder.newWorkOrder, title, priority: "HIGH" },
  };
}

function completed(id: number) {
  return { ...statusDone, workOrderId: id, occurredAt: new Date().toISOString() };
}

const erpPostsFor = (eventId: string) => erp.requests.filter((r) => r.headers["idempotency-key"] === eventId);

/** A fresh tab with no stored token, recording every request the page makes. */
async function openTab(viewport = { width: 1280, height: 860 }): Promise<{
  context: BrowserContext;
  page: Page;
  requests: BrowserRequest[];
  problems: string[];
}> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const requests: BrowserRequest[] = [];
  const problems: string[] = [];
  page.on("request", (request) => requests.push(request));
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  return { context, page, requests, problems };
}

async function signedIn(viewport?: { width: number; height: number }) {
  const tab = await openTab(viewport);
  await tab.page.goto(`${dev.url}/admin#token=${encodeURIComponent(ADMIN_TOKEN)}`);
  await tab.page.getByRole("heading", { level: 1, name: "Status" }).waitFor();
  return tab;
}

/** Every status an event can have, in the Worker's order (GET /admin/vocabulary). */
const STATUSES = ["accepted", "retrying", "processed", "failed", "dead"];

/** The statuses of the Status view's cards, in order. */
function cardStatuses(page: Page): Promise<string[]> {
  return page.locator(".card .badge").allTextContents();
}

/** The ids in the events table, top to bottom. */
async function listedIds(page: Page): Promise<string[]> {
  await page.locator("table, .message").first().waitFor();
  return page.locator("tbody td[data-label='Event'] a").allTextContents();
}

describe.skipIf(!chromiumPath)("operator console in Chromium", () => {
  const createdIds: number[] = [];
  const createdEvents: string[] = [];
  let hostileEvent = "";
  let hostileWorkOrder = 0;

  beforeAll(async () => {
    [slack, erp, maintainx] = await Promise.all([
      startStubServer("slack"),
      startStubServer("erp"),
      startFakeMaintainX(),
    ]);
    dev = await startWranglerDev({
      vars: {
        MAINTAINX_WEBHOOK_SECRET: SECRET,
        SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/console-slack-path`,
        ERP_WEBHOOK_URL: `${erp.url}/maintainx/completed`,
        MAINTAINX_API_BASE: maintainx.url,
        MAINTAINX_API_KEY: "browser-api-key",
        ADMIN_TOKEN,
        POLL_MODE: "off",
      },
    });
    browser = await launchChromium(chromiumPath as string);

    // Seven creations (one with a hostile title), settled before any view is opened.
    for (let i = 0; i < 6; i++) {
      const id = uniqueId();
      createdIds.push(id);
      const { eventId } = await deliver("NEW_WORK_ORDER", created(id, `Replace pump seal ${i}`));
      createdEvents.push(eventId);
    }
    hostileWorkOrder = uniqueId();
    hostileEvent = (await deliver("NEW_WORK_ORDER", created(hostileWorkOrder, HOSTILE_TITLE))).eventId;
    for (const eventId of [...createdEvents, hostileEvent]) await settled(eventId);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
    await Promise.all([slack?.close(), erp?.close(), maintainx?.close()]);
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`wrangler dev logs:\n${dev?.logs()}`));
  });

  it("serves the page with a CSP that allows only the Worker's own scripts and styles, and no framing", async () => {
    const page = await plainRequest(`${dev.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    // The page carries no data, and no inline script.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toContain(ADMIN_TOKEN);
    for (const file of ["console.js", "console.css"]) {
      const asset = await plainRequest(`${dev.url}/admin/${file}`);
      expect(asset.status).toBe(200);
      expect(asset.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("takes the token from the fragment, removes it from the address bar, and sends it only as a bearer header", async () => {
    const { context, page, requests, problems } = await openTab();
    await page.goto(`${dev.url}/admin#token=${encodeURIComponent(ADMIN_TOKEN)}`);
    await page.getByRole("heading", { level: 1, name: "Status" }).waitFor();
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(page.url()).not.toContain("token=");
    expect(await page.evaluate("sessionStorage.length")).toBe(1);
    expect(await page.evaluate("localStorage.length")).toBe(0);
    await expect.poll(() => cardStatuses(page)).toEqual(STATUSES);
    await screenshot(page, "status");

    const apiCalls = requests.filter(
      (r) => new URL(r.url()).pathname.startsWith("/admin/") && r.resourceType() === "fetch",
    );
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const request of requests) expect(request.url()).not.toContain(ADMIN_TOKEN);
    for (const call of apiCalls) expect(await call.headerValue("authorization")).toBe(`Bearer ${ADMIN_TOKEN}`);
    // The page, script and style are fetched without it.
    for (const request of requests.filter((r) => r.resourceType() !== "fetch")) {
      expect(await request.headerValue("authorization")).toBeNull();
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows a clear message for a wrong token and signs in from the form with the right one", async () => {
    const { context, page, problems } = await openTab();
    await page.goto(`${dev.url}/admin#token=not-the-token`);
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
    expect(page.url()).not.toContain("not-the-token");
    await screenshot(page, "sign-in-wrong-token");
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Status" }).waitFor();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    // The browser's own 401 for the wrong token is the only console error.
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
    await context.close();
  });

  it("lists the seeded events with their summaries, and filters by type and work order", async () => {
    const { context, page, problems } = await signedIn();
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
    const ids = await listedIds(page);
    for (const eventId of createdEvents) expect(ids).toContain(eventId);
    await expect.poll(() => page.locator("tbody").textContent()).toContain("Replace pump seal 3");
    await screenshot(page, "events");

    await page.getByLabel("Work order").fill(String(createdIds[2]));
    await page.getByLabel("Type").selectOption("workorder.created");
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => listedIds(page)).toEqual([createdEvents[2]]);

    await page.getByLabel("Work order").fill("");
    await page.getByLabel("Since").fill("not a date");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("alert").filter({ hasText: "since" }).waitFor();
    expect(problems.filter((p) => !p.includes("400"))).toEqual([]);
    await context.close();
  });

  it("offers exactly the Worker's statuses and canonical types (GET /admin/vocabulary), in both forms", async () => {
    const vocabulary = await adminJson<{ statuses: string[]; types: string[] }>("/vocabulary");
    expect(vocabulary.types).toContain("meter.trigger_state_changed");
    expect(vocabulary.statuses).toEqual(STATUSES);
    const { context, page, problems } = await signedIn();
    const offered = (select: string) =>
      page
        .locator(`${select} option:not([value=""])`)
        .evaluateAll((options) => options.map((o) => o.getAttribute("value")));
    for (const [route, heading] of [
      ["events", "Events"],
      ["replay", "Bulk replay"],
    ]) {
      await page.goto(`${dev.url}/admin#/${route}`);
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      expect(await offered("#f-type"), route).toEqual(vocabulary.types);
      expect(await offered("#f-status"), route).toEqual(vocabulary.statuses);
    }
    // A type from the address that the Worker does not list stays selected, marked as such.
    await page.goto(`${dev.url}/admin#/events?type=custom.thing`);
    await expect.poll(() => page.locator("#f-type").inputValue()).toBe("custom.thing");
    expect(await page.locator("#f-type option:checked").textContent()).toBe("custom.thing (not a known type)");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("says what to do when the Worker's vocabulary cannot be read, and recovers on Try again", async () => {
    const { context, page } = await openTab();
    let refuse = true;
    await page.route("**/admin/vocabulary", async (route) => {
      if (refuse) await route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"Busy"}' });
      else await route.continue();
    });
    await page.goto(`${dev.url}/admin#token=${encodeURIComponent(ADMIN_TOKEN)}`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      "The console could not read the event statuses and types it offers from the Worker (GET /admin/vocabulary): Busy. Try again; if it keeps failing, the Worker's logs (npx wrangler tail) say why.",
    );
    refuse = false;
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("heading", { level: 1, name: "Status" }).waitFor();
    await expect.poll(() => cardStatuses(page)).toEqual(STATUSES);
    await context.close();
  });

  it("pages through every created event exactly once, newest first", async () => {
    const { context, page } = await signedIn();
    await page.goto(`${dev.url}/admin#/events?type=workorder.created&limit=2`);
    // Each page is read once it shows rows none of which the page before showed: the table of
    // the page just left stays in place until the next one has rendered.
    const rowsAfter = async (previous: string[]): Promise<string[]> => {
      let ids: string[] = [];
      await expect
        .poll(async () => {
          ids = await page.locator("tbody td[data-label='Event'] a").allTextContents();
          return ids.length > 0 && ids.every((id) => !previous.includes(id));
        })
        .toBe(true);
      return ids;
    };
    const seen: string[] = [];
    let shown: string[] = [];
    for (let pageNumber = 0; pageNumber < 20; pageNumber++) {
      shown = await rowsAfter(shown);
      seen.push(...shown);
      const older = page.getByRole("link", { name: "Older events" });
      if ((await older.count()) === 0) break;
      await older.click();
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const eventId of [...createdEvents, hostileEvent]) expect(seen).toContain(eventId);
    // Newest first: the last created is listed before the first.
    expect(seen.indexOf(hostileEvent)).toBeLessThan(seen.indexOf(createdEvents[0] as string));
    await context.close();
  });

  it("renders a hostile work-order title as text in the list and the detail, running nothing", async () => {
    const { context, page, problems } = await signedIn();
    await page.goto(`${dev.url}/admin#/events?workOrderId=${hostileWorkOrder}`);
    await expect.poll(() => listedIds(page)).toEqual([hostileEvent]);
    await expect.poll(() => page.locator("tbody").textContent()).toContain(HOSTILE_TITLE);
    await page.locator("tbody td[data-label='Event'] a").first().click();
    await page.getByRole("heading", { level: 2, name: "Outcomes" }).waitFor();
    // Literally in the summary, and as JSON text (quotes escaped) in the data.
    await expect.poll(() => page.locator("main dl").first().textContent()).toContain(HOSTILE_TITLE);
    await expect.poll(() => page.locator("pre.data").textContent()).toContain(JSON.stringify(HOSTILE_TITLE));
    expect(await page.locator("main img").count()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await page.title()).not.toBe("pwned");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("lists the events stuck in accepted on the status view, as text, each a link to its event, with their bulk replay", async () => {
    const { context, page, problems } = await signedIn();
    // Nothing is stuck in a fresh Worker: no section.
    expect(await page.getByRole("heading", { level: 2, name: "Stuck events" }).count()).toBe(0);

    // Stuck means 35 h without a change, which a test cannot wait for: the Worker's own answer is
    // given a `stuck` naming a real event (test/integration/stuck-events.test.ts covers the Worker).
    const changedBefore = new Date(Date.now() - 35 * 3_600_000).toISOString();
    const stuckId = createdEvents[0] as string;
    await page.route("**/admin/status", async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as Record<string, unknown>;
      body.stuck = {
        afterHours: 35,
        changedBefore,
        count: 3,
        events: [
          {
            id: stuckId,
            type: "workorder.created",
            attempts: 4,
            updatedAt: "2026-11-28T09:00:00.000Z",
            lastError: HOSTILE_TITLE,
          },
          { id: HOSTILE_TITLE, type: "workorder.updated", attempts: 1, updatedAt: "2026-11-28T10:00:00.000Z" },
        ],
      };
      await route.fulfill({ response, json: body });
    });
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("heading", { level: 2, name: "Stuck events" }).waitFor();
    expect(await cardStatuses(page)).toEqual(STATUSES);
    const warning = page.getByRole("alert").filter({ hasText: "stayed accepted" });
    expect(await warning.textContent()).toContain(
      "3 event(s) have stayed accepted with no change for more than 35 h: no queue retries them any more",
    );
    const table = page.locator("table").filter({ hasText: "The 2 oldest of 3, oldest change first" });
    expect(await table.locator("td[data-label='Event'] a").allTextContents()).toEqual([stuckId, HOSTILE_TITLE]);
    expect(await table.locator("td[data-label='Last error']").first().textContent()).toBe(HOSTILE_TITLE);
    expect(await table.locator("td[data-label='Attempts']").allTextContents()).toEqual(["4", "1"]);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.title()).not.toBe("pwned");

    const replay = page.getByRole("link", { name: "Replay them…" });
    expect(await replay.getAttribute("href")).toBe(
      `#/replay?${new URLSearchParams({ status: "accepted", until: changedBefore })}`,
    );
    await replay.click();
    await page.getByRole("heading", { level: 1, name: "Bulk replay" }).waitFor();
    expect(await page.locator("#f-status").inputValue()).toBe("accepted");
    expect(await page.locator("#f-until").inputValue()).toBe(changedBefore);
    await page.getByRole("heading", { level: 2, name: "Preview" }).or(page.getByText("No events match")).waitFor();

    await page.goto(`${dev.url}/admin#/status`);
    await page.getByRole("link", { name: stuckId }).click();
    await page.getByRole("heading", { level: 2, name: "Outcomes" }).waitFor();
    expect(await page.locator("p.event-id").textContent()).toBe(stuckId);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows an event's outcome per handler, its mirror row and its report", async () => {
    const id = uniqueId();
    const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", completed(id));
    expect(await settled(eventId)).toBe("processed");
    const { context, page, problems } = await signedIn();
    await page.goto(`${dev.url}/admin#/event/${encodeURIComponent(eventId)}`);
    await page.getByRole("heading", { level: 2, name: "Outcomes" }).waitFor();
    const outcomes = page.getByRole("table", { name: "Outcome per handler" });
    for (const handler of ["erp-sync", "completion-report", "warehouse"]) {
      await expect.poll(() => outcomes.textContent()).toContain(handler);
    }
    await screenshot(page, "event");
    await page.getByRole("button", { name: "Mirror row" }).click();
    await expect.poll(() => page.locator(".related").textContent()).toContain("DONE");
    await page.getByRole("button", { name: "Completion report" }).click();
    await expect.poll(() => page.locator(".related").textContent()).toContain(String(id));
    expect(problems).toEqual([]);
    await context.close();
  });

  it("replays one failed completion from its page and it reaches the ERP again", async () => {
    const id = uniqueId();
    erp.respondWith([{ status: 400, body: { error: "unknown work order" } }]);
    const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", completed(id));
    expect(await settled(eventId)).toBe("failed");
    expect(erpPostsFor(eventId)).toHaveLength(1);

    const { context, page } = await signedIn();
    await page.goto(`${dev.url}/admin#/event/${encodeURIComponent(eventId)}`);
    await expect
      .poll(() => page.getByRole("table", { name: "Outcome per handler" }).textContent())
      .toContain("unknown work order");
    await page.getByRole("button", { name: "Replay this event" }).click();
    await page.getByText("Queued for replay").waitFor();
    expect(await settled(eventId, ["processed"])).toBe("processed");
    expect(erpPostsFor(eventId)).toHaveLength(2);
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => page.locator("main dl").first().textContent()).toContain("processed");
    await context.close();
  });

  it("bulk-replays what failed during an ERP outage: preview first, then confirm, and the ERP gets each once more", async () => {
    const outage = Array.from({ length: 3 }, () => uniqueId());
    erp.respondWith(() => ({ status: 400, body: { error: "ERP down for maintenance" } }));
    const failed: string[] = [];
    for (const id of outage) failed.push((await deliver("WORK_ORDER_STATUS_CHANGE", completed(id))).eventId);
    for (const eventId of failed) expect(await settled(eventId)).toBe("failed");
    erp.respondWith({ status: 200, body: { ok: true } });

    const { context, page, problems } = await signedIn();
    await page.getByRole("link", { name: "Failed", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Failed events" }).waitFor();
    for (const eventId of failed) await expect.poll(() => listedIds(page)).toContain(eventId);
    await screenshot(page, "failed");
    await page.getByRole("link", { name: "Replay these…" }).click();
    await page.getByRole("heading", { level: 1, name: "Bulk replay" }).waitFor();

    // The preview lists them and queues nothing.
    await page.getByRole("heading", { level: 2, name: "Preview" }).waitFor();
    const previewIds = await page.locator("ol.ids a").allTextContents();
    for (const eventId of failed) expect(previewIds).toContain(eventId);
    await screenshot(page, "bulk-replay-preview");
    await new Promise((r) => setTimeout(r, 1500));
    for (const eventId of failed) expect(erpPostsFor(eventId)).toHaveLength(1);

    await page.getByRole("button", { name: /^Replay \d+ event/ }).click();
    await page.getByRole("heading", { level: 2, name: "Replayed" }).waitFor();
    for (const eventId of failed) {
      expect(await settled(eventId, ["processed"])).toBe("processed");
      expect(erpPostsFor(eventId)).toHaveLength(2);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows the attempt log of an event, and why a handler skipped", async () => {
    // A LOW creation: the mirror takes it, the Slack alert skips it for its priority.
    const id = uniqueId();
    const { eventId } = await deliver("NEW_WORK_ORDER", {
      ...created(id, "Lubricate gearbox"),
      newWorkOrder: { ...newWorkOrder.newWorkOrder, title: "Lubricate gearbox", priority: "LOW" },
    });
    expect(await settled(eventId)).toBe("processed");
    const api = await adminJson<{
      event: { outcomes: Array<{ handler: string; status: string; reason?: string }> };
      attempts: Array<{ handler: string; attempt: number; outcome: string; detail?: string }>;
    }>(`/events/${encodeURIComponent(eventId)}`);
    const skip = api.event.outcomes.find((o) => o.handler === "slack-alert");
    expect(skip).toMatchObject({ status: "skipped", reason: "priority is LOW; SLACK_ALERT_PRIORITIES is HIGH" });
    expect(api.attempts.map((a) => [a.handler, a.outcome])).toEqual([
      ["slack-alert", "skipped"],
      ["warehouse", "ok"],
    ]);

    const { context, page, problems } = await signedIn();
    await page.goto(`${dev.url}/admin#/event/${encodeURIComponent(eventId)}`);
    await page.getByRole("heading", { level: 2, name: "Attempt log" }).waitFor();
    const outcomes = page.getByRole("table", { name: "Outcome per handler" });
    const slackRow = outcomes.locator("tbody tr").filter({ hasText: "slack-alert" });
    expect(await slackRow.locator("td[data-label='Error or detail']").textContent()).toBe(
      "Skipped: priority is LOW; SLACK_ALERT_PRIORITIES is HIGH",
    );

    const log = page.getByRole("table", { name: "2 handler call(s), oldest first" });
    const column = (label: string) => log.locator(`td[data-label='${label}']`).allTextContents();
    expect(await column("Handler")).toEqual(api.attempts.map((a) => a.handler));
    expect(await column("Attempt")).toEqual(api.attempts.map((a) => String(a.attempt)));
    expect(await column("Outcome")).toEqual(["skipped", "ok"]);
    expect(await column("Sink status")).toEqual(["", ""]);
    expect((await column("Error or detail"))[0]).toBe("priority is LOW; SLACK_ALERT_PRIORITIES is HIGH");
    for (const duration of await column("Duration")) expect(duration).toMatch(/^\d+ ms$|^\d+\.\d s$/);
    for (const time of await column("Time")) expect(time).toMatch(/ago\)$/);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows a retrying event, when it is tried next and its attempt's sink answer, and lists it under the retrying filter", async () => {
    const id = uniqueId();
    // One 503 asking for an hour: the event waits on the queue well past this test.
    erp.respondWith([{ status: 503, headers: { "retry-after": "3600" }, body: { error: "ERP in maintenance" } }]);
    const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", completed(id));
    expect(await settled(eventId, ["retrying"])).toBe("retrying");
    const api = await adminJson<{ event: { nextAttemptAt?: string } }>(`/events/${encodeURIComponent(eventId)}`);
    const next = Date.parse(api.event.nextAttemptAt ?? "");
    expect(next - Date.now()).toBeGreaterThan(50 * 60_000);

    const { context, page, problems } = await signedIn();
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
    await page.getByLabel("Status").selectOption("retrying");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByRole("heading", { level: 1, name: "Retrying events" }).waitFor();
    await expect.poll(() => listedIds(page)).toContain(eventId);
    expect(page.url()).toContain("status=retrying");
    const statuses = await page.locator("tbody td[data-label='Status'] .badge").allTextContents();
    expect(new Set(statuses)).toEqual(new Set(["retrying"]));
    const row = page.locator("tbody tr").filter({ hasText: eventId });
    expect(await row.locator("td[data-label='Status'] time").getAttribute("datetime")).toBe(api.event.nextAttemptAt);
    expect(await row.locator("td[data-label='Status']").textContent()).toMatch(/next try in \d+ min$/);
    await screenshot(page, "events-retrying");

    await row.locator("td[data-label='Event'] a").click();
    await page.getByRole("heading", { level: 2, name: "Attempt log" }).waitFor();
    const facts = page.locator("main dl").first();
    expect(await facts.locator("dt").allTextContents()).toContain("Next attempt");
    expect(await facts.locator(`time[datetime='${api.event.nextAttemptAt}']`).count()).toBe(1);
    const log = page.locator("table").filter({ hasText: "oldest first" });
    const erpRow = log.locator("tbody tr").filter({ hasText: "erp-sync" });
    expect(await erpRow.locator("td[data-label='Outcome']").textContent()).toBe("retry");
    expect(await erpRow.locator("td[data-label='Sink status']").textContent()).toBe("503");
    expect(await erpRow.locator("td[data-label='Error or detail']").textContent()).toContain("503");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("lists every handler, and holds then releases one through its buttons, after asking each time", async () => {
    const handlers = (await adminJson<{ handlers: Array<{ name: string; held: boolean }> }>("/handlers")).handlers;
    const state = async (name: string) =>
      (
        await adminJson<{ handlers: Array<{ name: string; held: boolean; reason?: string; waiting: number }> }>(
          "/handlers",
        )
      ).handlers.find((x) => x.name === name);
    const { context, page, problems } = await signedIn();
    try {
      await page.getByRole("link", { name: "Handlers", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Handlers" }).waitFor();
      const names = () => page.locator("tbody td[data-label='Handler'] .mono").allTextContents();
      await expect.poll(names).toEqual(handlers.map((x) => x.name));
      expect(await names()).toContain("erp-sync");
      const erpRow = page.locator("tbody tr").filter({ has: page.locator(".mono", { hasText: /^erp-sync$/ }) });
      expect(await erpRow.locator("td[data-label='Types']").textContent()).toBe("workorder.completed");
      expect(await page.locator("tr.held").count()).toBe(0);

      // Hold asks first: Escape leaves it unheld, focus back on its button.
      const holdButton = page.getByRole("button", { name: "Hold erp-sync…" });
      await holdButton.click();
      await page.getByRole("heading", { level: 2, name: "Hold erp-sync?" }).waitFor();
      expect(await page.evaluate("document.activeElement.id")).toBe("hold-reason");
      await page.keyboard.press("Escape");
      await expect.poll(() => page.getByRole("heading", { level: 2, name: "Hold erp-sync?" }).count()).toBe(0);
      expect(await page.evaluate("document.activeElement.textContent")).toBe("Hold erp-sync…");
      expect((await state("erp-sync"))?.held).toBe(false);

      // Then held, with a reason typed and Enter pressed; the reason is shown as text.
      await page.keyboard.press("Enter");
      await page.getByLabel(/^Reason/).fill(`ERP upgrade until 18:00 ${HOSTILE_TITLE}`);
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "erp-sync is held" }).waitFor();
      expect(await state("erp-sync")).toMatchObject({ held: true, reason: `ERP upgrade until 18:00 ${HOSTILE_TITLE}` });
      expect((await adminJson<{ handlers: { held: string[] } }>("/status")).handlers.held).toEqual(["erp-sync"]);
      expect(await page.locator("tr.held").count()).toBe(1);
      expect(await page.locator("tr.held .mono").first().textContent()).toBe("erp-sync");
      expect(await page.locator("tr.held td[data-label='Handler'] .badge").textContent()).toBe("held");
      expect(await page.locator("tr.held td[data-label='Held']").textContent()).toContain(
        `Reason: ERP upgrade until 18:00 ${HOSTILE_TITLE}`,
      );
      expect(await page.locator("main img").count()).toBe(0);

      // A completion now waits for it, as retrying, and its page says so.
      const id = uniqueId();
      const { eventId } = await deliver("WORK_ORDER_STATUS_CHANGE", completed(id));
      expect(await settled(eventId, ["retrying"])).toBe("retrying");
      expect(erpPostsFor(eventId)).toHaveLength(0);
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect.poll(() => page.locator("tr.held td[data-label='Waiting']").textContent()).toBe("1");
      await screenshot(page, "handlers");
      await page.goto(`${dev.url}/admin#/event/${encodeURIComponent(eventId)}`);
      await page.getByRole("status").filter({ hasText: "This event waits for erp-sync, which is held" }).waitFor();
      const outcomes = page.getByRole("table", { name: "Outcome per handler" });
      const heldOutcome = outcomes.locator("tbody tr").filter({ hasText: "erp-sync" });
      expect(await heldOutcome.locator("td[data-label='Status']").textContent()).toBe("held");
      expect(await page.locator("main dl").first().textContent()).toContain("when the held handler is released");

      // Release, from the keyboard: the question takes focus, not the button.
      await page.goto(`${dev.url}/admin#/handlers`);
      await page.getByRole("heading", { level: 1, name: "Handlers" }).waitFor();
      await page.getByRole("button", { name: "Release erp-sync…" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 2, name: "Release erp-sync?" }).waitFor();
      expect(await page.evaluate("document.activeElement.textContent")).toBe("Release erp-sync?");
      expect((await state("erp-sync"))?.held).toBe(true);
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.textContent")).toBe("Release erp-sync");
      await page.keyboard.press("Enter");
      const done = page.getByRole("status").filter({ hasText: "erp-sync is released" });
      await done.waitFor();
      expect(await done.textContent()).toBe("erp-sync is released: 1 waiting event(s) queued again now.");
      expect(await state("erp-sync")).toMatchObject({ held: false, waiting: 0 });
      expect(await page.locator("tr.held").count()).toBe(0);
      expect(await settled(eventId, ["processed"])).toBe("processed");
      expect(erpPostsFor(eventId)).toHaveLength(1);
      expect(problems).toEqual([]);
    } finally {
      await adminJson("/handlers/erp-sync/release", { method: "POST" });
      await context.close();
    }
  });

  it("says in words why a hold was refused and what to do next", async () => {
    const { context, page } = await signedIn();
    await page.route("**/admin/handlers/erp-sync/hold", (route) =>
      route.fulfill({
        status: 404,
        contentType: "application/json",
        body: '{"error":"No handler is named \\"erp-sync\\"; GET /admin/handlers lists them"}',
      }),
    );
    await page.goto(`${dev.url}/admin#/handlers`);
    await page.getByRole("button", { name: "Hold erp-sync…" }).click();
    await page.getByRole("button", { name: "Hold erp-sync", exact: true }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'The hold of erp-sync did not go through: No handler is named "erp-sync"; GET /admin/handlers lists them. The Worker has no handler named erp-sync any more (it was deployed without it): refresh the list.',
    );
    expect(await page.getByRole("button", { name: "Hold erp-sync", exact: true }).isEnabled()).toBe(true);
    await context.close();
  });

  it("shows the retry schedule in force and the count of retrying events on the status view", async () => {
    const status = await adminJson<{
      retry: { schedule: number[]; totalSeconds: number };
      events: Record<string, number>;
    }>("/status");
    expect(status.retry).toEqual({
      schedule: [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200],
      totalSeconds: 99750,
    });
    const { context, page, problems } = await signedIn();
    await page.getByRole("heading", { level: 2, name: "Retries" }).waitFor();
    const schedule = page.locator("dt", { hasText: /^Schedule$/ }).locator("xpath=following-sibling::dd[1]");
    expect(await schedule.textContent()).toBe(
      "30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h — 27 h 42 min in all",
    );
    const retrying = page.locator(".card").filter({ has: page.locator(".badge", { hasText: /^retrying$/ }) });
    expect(status.events.retrying).toBeGreaterThan(0);
    expect(await retrying.locator(".count").textContent()).toBe(String(status.events.retrying));
    await screenshot(page, "status");
    await retrying.click();
    await page.getByRole("heading", { level: 1, name: "Retrying events" }).waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  it("reads at phone width without sideways scrolling, and the status cards link to the lists", async () => {
    const { context, page } = await signedIn({ width: 390, height: 844 });
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await page.locator(".card").filter({ hasText: "processed" }).click();
    await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
    await page.locator("tbody").waitFor();
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await screenshot(page, "events-phone");

    // The handlers (with a hold's question open) and an event's attempt log fold the same way.
    await page.goto(`${dev.url}/admin#/handlers`);
    await page.getByRole("heading", { level: 1, name: "Handlers" }).waitFor();
    await page.getByRole("button", { name: "Hold erp-sync…" }).click();
    await page.getByRole("heading", { level: 2, name: "Hold erp-sync?" }).waitFor();
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await screenshot(page, "handlers-phone");
    await page.keyboard.press("Escape");
    await page.goto(`${dev.url}/admin#/event/${encodeURIComponent(createdEvents[0] as string)}`);
    await page.getByRole("heading", { level: 2, name: "Attempt log" }).waitFor();
    await page.locator("table").nth(1).waitFor();
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await context.close();
  });

  it("never lets a slow answer for a view that was left replace the view that is open", async () => {
    const { context, page } = await signedIn();
    // Hold the events list's answer back, leave for Status meanwhile, then let it through.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/admin/events?*", async (route) => {
      await held;
      await route.continue().catch(() => {});
    });
    await page.goto(`${dev.url}/admin#/events`);
    await page.goto(`${dev.url}/admin#/status`);
    await page.getByRole("heading", { level: 1, name: "Status" }).waitFor();
    release();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Status");
    expect(await page.locator("nav a[aria-current='page']").textContent()).toBe("Status");
    await context.close();
  });

  it("shows neither the navigation nor Sign out while signed out", async () => {
    const { context, page } = await openTab();
    await page.goto(`${dev.url}/admin`);
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await page.locator("#nav").isVisible()).toBe(false);
    expect(await page.getByRole("button", { name: "Sign out" }).isVisible()).toBe(false);
    await context.close();
  });

  it("works from the keyboard: tab to a view's link, open it, and focus lands on its heading", async () => {
    const { context, page } = await signedIn();
    // Tab from the top of the page until the Dead link has focus, then follow it with Enter.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate("document.activeElement && document.activeElement.textContent")) === "Dead") break;
    }
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Dead");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Dead events" }).waitFor();
    expect(await page.evaluate("document.activeElement.tagName")).toBe("H1");
    await context.close();
  });
});
