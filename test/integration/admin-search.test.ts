// Listing, filters, paging and bulk replay of the operator API (docs/console.md), through
// the Worker's own routes with the real local D1, KV and Queue. Storage is shared by the tests of
// this file, so each seeds its own events: in a time window of its own, or under work orders and
// subjects of its own.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/events/canonical";
import type { EventMessage } from "../../src/events/message";
import { createDelivery } from "../../src/ingest/delivery";
import { normaliseDelivery } from "../../src/ingest/normalise";
import { utf8 } from "../../src/lib/bytes";
import { recordAccepted, statusStatement } from "../../src/store/event-log";
import statusDone from "../fixtures/status-change-done.json";
import { BASE, maintainXDelivery, uniqueEventId, uniqueNewWorkOrder } from "../helpers/deliveries";
import { eventStatus, settled } from "../helpers/event-status";
import { deadLetterWithClaimCheck, maintainXEvent } from "../helpers/events";
import { reply, worldErp, worldSlack } from "../helpers/outbound";
import { callWorker, type EnvOverrides, failingQueue, recordingQueue } from "../helpers/worker";

const TOKEN = "admin-search-token";

function admin(path: string, init: RequestInit = {}, overrides: EnvOverrides = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${TOKEN}`);
  return callWorker(new Request(`${BASE}/admin${path}`, { ...init, headers }), { ADMIN_TOKEN: TOKEN, ...overrides });
}

interface Listed {
  id: string;
  type: string;
  status: string;
  receivedAt: string;
  summary?: string;
}
interface Page {
  events: Listed[];
  nextCursor: string | null;
}

async function list(query: string): Promise<Page> {
  const response = await admin(`/events?${query}`);
  expect(response.status, `${query}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as Page;
}

const ids = async (query: string) => (await list(query)).events.map((e) => e.id);

/** Every page of a listing, following nextCursor (100 pages at most). */
async function allPages(query: string): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page: Page = await list(cursor === null ? query : `${query}&cursor=${encodeURIComponent(cursor)}`);
    seen.push(...page.events.map((e) => e.id));
    expect(page.nextCursor === null || typeof page.nextCursor === "string").toBe(true);
    cursor = page.nextCursor;
    if (cursor === null) return seen;
  }
  throw new Error(`${query}: more than 100 pages`);
}

async function bulkReplay(body: unknown, overrides: EnvOverrides = {}): Promise<Response> {
  return admin(
    "/events/replay",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    overrides,
  );
}

let serial = 0;
function uniqueNumber(): number {
  serial += 1;
  return 7_000_000 + serial * 1_000 + Math.floor(Math.random() * 1_000);
}

/** Logs an event received at `receivedAt` with `status`, through the event log's own functions. */
async function logged(event: CanonicalEvent, receivedAt: string, status = "accepted"): Promise<string> {
  await recordAccepted(env.DB, { ...event, receivedAt });
  if (status !== "accepted") await statusStatement(env.DB, event.id, status as "processed", null).run();
  return event.id;
}

/** A MaintainX-format event of `type` with body `body`, logged at `receivedAt`. */
async function loggedMaintainX(type: string, body: Record<string, unknown>, receivedAt: string, status?: string) {
  return logged(await maintainXEvent(type, body, uniqueEventId(type)), receivedAt, status);
}

/** A seed-format event (`{event, data}`), normalised as the receiver does, logged at `receivedAt`. */
async function loggedSeed(body: Record<string, unknown>, receivedAt: string): Promise<string> {
  const delivery = await createDelivery({
    body: utf8.encode(JSON.stringify(body)),
    pathType: undefined,
    scheme: "seed",
    headers: new Headers({ "x-maintainx-event-id": uniqueEventId("seed") }),
    receivedAt: new Date(receivedAt),
  });
  const { event } = await normaliseDelivery(delivery);
  return logged(event, receivedAt);
}

async function deliver(type: string, body: Record<string, unknown>, overrides: EnvOverrides = {}): Promise<string> {
  const response = await callWorker(await maintainXDelivery(type, body), overrides);
  expect(response.status).toBe(200);
  return ((await response.json()) as { eventId: string }).eventId;
}

describe("filters", () => {
  // One window of its own (March 2031): each filter is checked inside it, exactly.
  const window = "since=2031-03-01T00:00:00Z&until=2031-03-31T23:59:59.999Z";
  const woA = uniqueNumber();
  const woB = uniqueNumber();
  const assetId = uniqueNumber();
  const partId = uniqueNumber();
  const seedId = `WO-${uniqueNumber()}`;
  const e: Record<string, string> = {};

  it("seeds events of several types, work orders, subjects, statuses and times", async () => {
    e.createdA = await loggedMaintainX(
      "NEW_WORK_ORDER",
      uniqueNewWorkOrder({ workOrderId: woA }),
      "2031-03-01T10:00:00.000Z",
      "processed",
    );
    e.doneA = await loggedMaintainX(
      "WORK_ORDER_STATUS_CHANGE",
      { ...statusDone, workOrderId: woA },
      "2031-03-01T11:00:00.000Z",
      "failed",
    );
    e.createdB = await loggedMaintainX(
      "NEW_WORK_ORDER",
      uniqueNewWorkOrder({ workOrderId: woB, newWorkOrder: { title: "Replace pump seal\non line 2" } }),
      "2031-03-02T09:00:00.000Z",
    );
    e.asset = await loggedMaintainX(
      "NEW_ASSET",
      { assetId, orgId: 1, occurredAt: "2031-03-02T11:59:00.000Z", newAsset: { name: "Conveyor line 3" } },
      "2031-03-02T12:00:00.000Z",
      "dead",
    );
    e.part = await loggedMaintainX(
      "PART_DELETE",
      { partId, orgId: 1, deletedPart: { name: "Conveyor belt 1200 mm" } },
      "2031-03-03T08:00:00.000Z",
      "processed",
    );
    e.seed = await loggedSeed(
      { event: "workorder.created", timestamp: "2031-03-03T09:00:00.000Z", data: { id: seedId, title: "Seed title" } },
      "2031-03-03T09:00:00.000Z",
    );
    e.polled = await logged(
      {
        id: `poll:${woB}:2031-03-03T09:59:00.000Z`,
        type: "workorder.updated",
        sourceType: "WORK_ORDER_POLL",
        source: "poll",
        subject: { kind: "workorder", id: String(woB) },
        workOrderId: String(woB),
        receivedAt: "2031-03-03T10:00:00.000Z",
        data: { id: String(woB), title: "Polled title", status: "OPEN", updatedAt: "2031-03-03T09:59:00.000Z" },
      },
      "2031-03-03T10:00:00.000Z",
    );
    expect(await ids(window)).toEqual([e.polled, e.seed, e.part, e.asset, e.createdB, e.doneA, e.createdA]);
  });

  it("gives each listed event a one-line summary from its data, written when it was logged", async () => {
    const { events } = await list(window);
    const summaries = Object.fromEntries(events.map((event) => [event.id, event.summary]));
    expect(summaries).toEqual({
      [e.createdA as string]: `#${woA} Replace conveyor belt <B7> & check rollers`,
      [e.doneA as string]: `#${woA} Replace conveyor belt <B7> & check rollers`,
      [e.createdB as string]: `#${woB} Replace pump seal on line 2`,
      [e.asset as string]: "Conveyor line 3",
      [e.part as string]: "Conveyor belt 1200 mm",
      [e.seed as string]: `#${seedId} Seed title`,
      [e.polled as string]: `#${woB} Polled title`,
    });
    const one = await admin(`/events/${encodeURIComponent(e.asset as string)}`);
    expect(((await one.json()) as { event: Listed }).event).toMatchObject({
      id: e.asset,
      summary: "Conveyor line 3",
      status: "dead",
    });
  });

  it("filters by status", async () => {
    expect(await ids(`${window}&status=failed`)).toEqual([e.doneA]);
    expect(await ids(`${window}&status=processed`)).toEqual([e.part, e.createdA]);
    expect(await ids(`${window}&status=dead`)).toEqual([e.asset]);
    expect(await ids(`${window}&status=accepted`)).toEqual([e.polled, e.seed, e.createdB]);
    const everywhere = await list("status=dead&limit=1000");
    expect(everywhere.events.every((event) => event.status === "dead")).toBe(true);
    expect(everywhere.events.map((event) => event.id)).toContain(e.asset);
  });

  it("filters by canonical type", async () => {
    expect(await ids(`${window}&type=workorder.created`)).toEqual([e.seed, e.createdB, e.createdA]);
    expect(await ids(`${window}&type=part.deleted`)).toEqual([e.part]);
    expect(await ids(`${window}&type=workorder.updated`)).toEqual([e.polled]);
  });

  it("finds a webhook's status change to DONE by the completion it is routed as, and by its own type", async () => {
    expect(await ids(`${window}&type=workorder.completed`)).toEqual([e.doneA]);
    expect(await ids(`${window}&type=workorder.status_changed`)).toContain(e.doneA);
    expect(await ids(`${window}&type=workorder.completed&status=failed`)).toEqual([e.doneA]);
    expect(await ids(`${window}&type=workorder.canceled`)).toEqual([]);
  });

  it("filters by work order, whatever the event's source or format", async () => {
    expect(await ids(`workOrderId=${woA}`)).toEqual([e.doneA, e.createdA]);
    expect(await ids(`workOrderId=${woB}`)).toEqual([e.polled, e.createdB]);
    expect(await ids(`workOrderId=${seedId}`)).toEqual([e.seed]);
    expect(await ids(`workOrderId=${uniqueNumber()}`)).toEqual([]);
  });

  it("filters by subject, of every kind", async () => {
    expect(await ids(`subject=workorder:${woA}`)).toEqual([e.doneA, e.createdA]);
    expect(await ids(`subject=workorder:${woB}`)).toEqual([e.polled, e.createdB]);
    expect(await ids(`subject=asset:${assetId}`)).toEqual([e.asset]);
    expect(await ids(`subject=part:${partId}`)).toEqual([e.part]);
    expect(await ids(`subject=${encodeURIComponent(`workorder:${seedId}`)}`)).toEqual([e.seed]);
    expect(await ids(`subject=asset:${woA}`)).toEqual([]);
  });

  it("takes since and until as inclusive bounds, with Z, an offset, or a date alone (midnight UTC)", async () => {
    expect(await ids("since=2031-03-02T09:00:00Z&until=2031-03-03T08:00:00.000Z")).toEqual([
      e.part,
      e.asset,
      e.createdB,
    ]);
    // 10:00 at +01:00 is 09:00 UTC, the time createdB was received.
    expect(await ids(`since=${encodeURIComponent("2031-03-02T10:00:00+01:00")}&until=2031-03-02T09:00:00Z`)).toEqual([
      e.createdB,
    ]);
    expect(await ids("since=2031-03-03&until=2031-03-03T23:59:59.999Z")).toEqual([e.polled, e.seed, e.part]);
    // RFC 3339's space between date and time.
    expect(await ids("since=2031-03-03%2009:00:00Z&until=2031-03-03%2009:00:00.000Z")).toEqual([e.seed]);
    expect(await ids("since=2031-03-01&until=2031-03-01")).toEqual([]);
    // Finer than a millisecond: since is rounded up, until down, so both stay inclusive of only what they name.
    expect(await ids("since=2031-03-01T10:00:00.0001Z&until=2031-03-01T11:00:00Z")).toEqual([e.doneA]);
    expect(await ids("since=2031-03-01T10:00:00Z&until=2031-03-01T10:59:59.9999Z")).toEqual([e.createdA]);
  });

  it("combines filters", async () => {
    expect(await ids(`${window}&type=workorder.created&workOrderId=${woB}`)).toEqual([e.createdB]);
    expect(await ids(`subject=workorder:${woA}&status=failed&since=2031-03-01T11:00:00Z`)).toEqual([e.doneA]);
    expect(await ids(`workOrderId=${woA}&status=dead`)).toEqual([]);
  });

  it("answers each bad value with a 400 that names its parameter", async () => {
    const bad: Array<[string, string]> = [
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=abc", "limit"],
      ["limit=", "limit"],
      ["status=weird", "status"],
      ["status=failed&status=dead", "status"],
      ["type=bad%20type", "type"],
      ["workOrderId=", "workOrderId"],
      ["workOrderId=%2012", "workOrderId"],
      ["subject=workorder", "subject"],
      ["subject=robot:12", "subject"],
      ["subject=workorder:", "subject"],
      ["since=yesterday", "since"],
      ["since=2026-12-01T10:00:00", "since"],
      ["since=2026-12-01T25:00:00Z", "since"],
      ["until=2026-02-30", "until"],
      ["until=2026-12-01T10:00:00%2B25:00", "until"],
      ["since=2031-03-02&until=2031-03-01", "since"],
      ["cursor=not-a-cursor", "cursor"],
      ["cursor=", "cursor"],
    ];
    for (const [query, name] of bad) {
      const response = await admin(`/events?${query}`);
      expect(response.status, query).toBe(400);
      const { error } = (await response.json()) as { error: string };
      expect(error.startsWith(`${name} `), `${query}: ${error}`).toBe(true);
    }
    const since = (await (await admin("/events?since=2026-12-01T10:00:00")).json()) as { error: string };
    expect(since.error).toBe("since must be an ISO 8601 date-time, e.g. 2026-12-01T10:00:00Z");
  });

  it("refuses an unknown parameter rather than listing every event as if a misspelt filter matched", async () => {
    for (const query of ["workorderId=123", "work_order_id=123", "status=failed&sujbect=asset:9"]) {
      const response = await admin(`/events?${query}`);
      expect(response.status, query).toBe(400);
      const { error } = (await response.json()) as { error: string };
      expect(error, query).toMatch(/^Unknown parameter \S+: the listing takes status, type, workOrderId, subject/);
    }
  });
});

describe("paging", () => {
  it("lists every matching event exactly once, newest first, with ties in the order they were logged", async () => {
    const wo = uniqueNumber();
    const times = [
      "2032-01-01T00:00:01.000Z",
      "2032-01-01T00:00:02.000Z",
      "2032-01-01T00:00:02.000Z",
      "2032-01-01T00:00:02.000Z",
      "2032-01-01T00:00:03.000Z",
      "2032-01-01T00:00:04.000Z",
      "2032-01-01T00:00:04.000Z",
    ];
    const logged: string[] = [];
    for (const at of times)
      logged.push(await loggedMaintainX("NEW_WORK_ORDER", uniqueNewWorkOrder({ workOrderId: wo }), at));
    const newestFirst = [...logged].reverse();
    for (const limit of [1, 2, 3, 7, 8]) {
      expect(await allPages(`workOrderId=${wo}&limit=${limit}`), `limit ${limit}`).toEqual(newestFirst);
    }
    // A last page that is exactly full says so: no further, empty page.
    const full = await list(`workOrderId=${wo}&limit=7`);
    expect(full.nextCursor).toBeNull();
    const first = await list(`workOrderId=${wo}&limit=6`);
    expect(first.nextCursor).not.toBeNull();
  });

  it("neither repeats nor misses an event while events are logged between pages, older, newer and tied", async () => {
    const window = "since=2033-01-01T00:00:00Z&until=2033-01-01T23:59:59.999Z";
    const at = (second: number) => `2033-01-01T00:00:${String(second).padStart(2, "0")}.000Z`;
    const wo = () => uniqueNumber();
    const log = (second: number) =>
      loggedMaintainX("NEW_WORK_ORDER", uniqueNewWorkOrder({ workOrderId: wo() }), at(second));
    // At the start: seconds 10, 20, 20, 30, 40, 40, 50, 55.
    const initial: string[] = [];
    for (const second of [10, 20, 20, 30, 40, 40, 50, 55]) initial.push(await log(second));

    const seen: string[] = [];
    const addedBelow: string[] = [];
    let page = await list(`${window}&limit=3`);
    seen.push(...page.events.map((e) => e.id));
    let round = 0;
    while (typeof page.nextCursor === "string" && round < 100) {
      const boundary = page.events.at(-1) as Listed;
      const boundarySecond = Number(boundary.receivedAt.slice(17, 19));
      round += 1;
      // Newer than every page so far, tied with the page's last event, and older than it.
      await log(58);
      await log(boundarySecond);
      if (boundarySecond > 10) addedBelow.push(await log(boundarySecond - 1));
      page = await list(`${window}&limit=3&cursor=${encodeURIComponent(page.nextCursor)}`);
      seen.push(...page.events.map((e) => e.id));
    }
    expect(round).toBeGreaterThan(1);
    expect(addedBelow.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length);
    // Everything there was at the start, and what was logged below a page's boundary (the pages
    // still to come cover it); not what was logged above it (newer, or tied and logged later).
    expect(new Set(seen)).toEqual(new Set([...initial, ...addedBelow]));
    // And the whole listing is newest first.
    const times = await Promise.all(
      seen.map(
        async (id) =>
          (await env.DB.prepare("SELECT received_at AS t FROM events WHERE id = ?1").bind(id).first<{ t: string }>())
            ?.t,
      ),
    );
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("refuses a garbage or tampered cursor, and one made for other filters, with a 400 naming cursor", async () => {
    const wo = uniqueNumber();
    for (const second of [1, 2, 3]) {
      await loggedMaintainX(
        "NEW_WORK_ORDER",
        uniqueNewWorkOrder({ workOrderId: wo }),
        `2034-01-01T00:00:0${second}.000Z`,
      );
    }
    const { nextCursor } = await list(`workOrderId=${wo}&limit=1`);
    expect(nextCursor).not.toBeNull();
    const cursor = nextCursor as string;
    const decoded = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const encode = (value: unknown) =>
      btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const bad = [
      "garbage!",
      `${cursor.slice(0, -2)}x`,
      encode({ ...decoded, r: "yesterday" }),
      encode({ ...decoded, i: "1" }),
      encode({ ...decoded, f: undefined }),
      encode([1, 2, 3]),
      btoa("not json"),
    ];
    for (const value of bad) {
      const response = await admin(`/events?workOrderId=${wo}&limit=1&cursor=${encodeURIComponent(value)}`);
      expect(response.status, value).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^cursor /);
    }
    // The right cursor with other filters (or none) is refused too; with the same filters and another limit, taken.
    for (const query of [`workOrderId=${wo}&status=failed`, "", `workOrderId=${uniqueNumber()}`]) {
      const response = await admin(`/events?${query}&cursor=${encodeURIComponent(cursor)}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(
        /^cursor belongs to a listing with other filters/,
      );
    }
    expect((await list(`workOrderId=${wo}&limit=5&cursor=${encodeURIComponent(cursor)}`)).events).toHaveLength(2);
  });
});

describe("bulk replay", () => {
  /** A completion delivered while the ERP refuses it for good: its erp-sync fails, the rest succeeds. */
  async function failedCompletion(): Promise<{ eventId: string; workOrderId: number }> {
    const workOrderId = uniqueNumber();
    worldErp.plan(reply(400, "rejected"));
    const body = {
      ...statusDone,
      workOrderId,
      occurredAt: new Date().toISOString(),
      newWorkOrder: { ...statusDone.newWorkOrder, id: workOrderId },
    };
    const eventId = await deliver("WORK_ORDER_STATUS_CHANGE", body);
    expect(await settled(eventId)).toBe("failed");
    return { eventId, workOrderId };
  }

  const erpCalls = (eventId: string) => worldErp.calls.filter((c) => c.headers["idempotency-key"] === eventId);

  async function outcomes(eventId: string) {
    const { event } = (await (await admin(`/events/${encodeURIComponent(eventId)}`)).json()) as {
      event: { outcomes: Array<{ handler: string; status: string; attempts: number }> };
    };
    return Object.fromEntries(event.outcomes.map((o) => [o.handler, { status: o.status, attempts: o.attempts }]));
  }

  it("refuses a body without a filter, naming the filters there are", async () => {
    for (const body of [{}, { limit: 5 }, { dryRun: true }, { limit: 5, dryRun: false }]) {
      const response = await bulkReplay(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe(
        "A bulk replay needs at least one filter: status, type, workOrderId, subject, since, until",
      );
    }
  });

  it("refuses a body that is not a JSON object, an unknown field, and bad values as the listing does", async () => {
    for (const body of ["", "not json", "[]", '"failed"', "null", "42"]) {
      const response = await bulkReplay(body);
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^Body must be a JSON object/);
    }
    const unknown = await bulkReplay({ status: "failed", workorderId: "12" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/^Unknown field workorderId/);

    const bad: Array<[Record<string, unknown>, string]> = [
      [{ status: "weird" }, "status must be one of accepted, retrying, processed, failed, dead"],
      [{ type: "bad type" }, "type must be a canonical event type such as workorder.created"],
      [{ since: "2026-12-01T10:00:00" }, "since must be an ISO 8601 date-time, e.g. 2026-12-01T10:00:00Z"],
      [{ until: 20261201 }, "until must be an ISO 8601 date-time, e.g. 2026-12-01T10:00:00Z"],
      [{ subject: "robot:1" }, "subject must be"],
      [{ workOrderId: "" }, "workOrderId must be"],
      [{ workOrderId: 1.5 }, "workOrderId must be"],
      [{ status: "failed", limit: 0 }, "limit must be a whole number from 1 to 1000"],
      [{ status: "failed", limit: 1001 }, "limit must be a whole number from 1 to 1000"],
      [{ status: "failed", limit: "10" }, "limit must be a whole number from 1 to 1000"],
      [{ status: "failed", dryRun: "yes" }, "dryRun must be true or false"],
    ];
    for (const [body, message] of bad) {
      const response = await bulkReplay(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: string }).error.startsWith(message), JSON.stringify(body)).toBe(true);
    }
    // The listing says the same of the same values.
    const listed = await admin("/events?status=weird");
    expect(((await listed.json()) as { error: string }).error).toBe(
      "status must be one of accepted, retrying, processed, failed, dead",
    );
  });

  it("finds failed webhook completions by type=workorder.completed", async () => {
    const { eventId, workOrderId } = await failedCompletion();
    const response = await bulkReplay({ status: "failed", type: "workorder.completed", workOrderId, dryRun: true });
    expect(await response.json()).toEqual({ dryRun: true, matched: 1, ids: [eventId] });
  });

  it("lists on a dry run what it would replay, and queues nothing", async () => {
    const { eventId, workOrderId } = await failedCompletion();
    const before = erpCalls(eventId).length;
    const queue = recordingQueue();
    const response = await bulkReplay({ workOrderId, dryRun: true }, { EVENTS_QUEUE: queue });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ dryRun: true, matched: 1, ids: [eventId] });
    expect(queue.sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await eventStatus(eventId)).toBe("failed");
    expect(erpCalls(eventId)).toHaveLength(before);
  });

  it("re-queues the failed events that match, newest first up to limit: their failed handler runs again and reaches the ERP once, done ones do not run again", async () => {
    const since = new Date().toISOString();
    const first = await failedCompletion();
    const second = await failedCompletion();
    const third = await failedCompletion();
    // This test's window: the other tests of this file log events at other times.
    const until = new Date().toISOString();
    for (const { eventId } of [first, second, third]) expect(erpCalls(eventId)).toHaveLength(1);

    const queue = recordingQueue();
    const limited = await bulkReplay({ status: "failed", since, until, limit: 2 }, { EVENTS_QUEUE: queue });
    expect(limited.status).toBe(202);
    expect(await limited.json()).toEqual({ replayed: 2, ids: [third.eventId, second.eventId] });
    expect((queue.sent as EventMessage[]).map((m) => [m.event.id, m.replay])).toEqual([
      [third.eventId, true],
      [second.eventId, true],
    ]);
    for (const { eventId } of [third, second]) {
      expect(await settled(eventId, ["processed"])).toBe("processed");
      // The ERP got it once more, and this time took it; the handlers that had succeeded stayed done.
      expect(erpCalls(eventId)).toHaveLength(2);
      expect(await outcomes(eventId)).toEqual({
        "erp-sync": { status: "done", attempts: 2 },
        "completion-report": { status: "done", attempts: 1 },
        warehouse: { status: "done", attempts: 1 },
      });
    }
    expect(await eventStatus(first.eventId)).toBe("failed");
    expect(erpCalls(first.eventId)).toHaveLength(1);

    // The rest: only the one still failed matches now.
    const rest = await bulkReplay({ status: "failed", since, until });
    expect(await rest.json()).toEqual({ replayed: 1, ids: [first.eventId] });
    expect(await settled(first.eventId, ["processed"])).toBe("processed");
    expect(erpCalls(first.eventId)).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300));
    for (const { eventId } of [first, second, third]) expect(erpCalls(eventId)).toHaveLength(2);
  });

  it("answers 503 with what it replayed when the queue refuses, and leaves the events as they were", async () => {
    const { eventId, workOrderId } = await failedCompletion();
    const response = await bulkReplay({ workOrderId }, { EVENTS_QUEUE: failingQueue() });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: string; replayed: number; ids: string[] };
    expect(body).toMatchObject({ replayed: 0, ids: [] });
    expect(body.error).toMatch(/try again$/);
    expect(await eventStatus(eventId)).toBe("failed");
  });

  it("replays an event whose data is large through a claim check of its own", async () => {
    const created = uniqueNewWorkOrder({
      newWorkOrder: { title: "Large", priority: "LOW", description: "x".repeat(150_000) },
    });
    const eventId = await deliver("NEW_WORK_ORDER", created);
    expect(await settled(eventId)).toBe("processed");
    const queue = recordingQueue();
    const response = await bulkReplay({ subject: `workorder:${created.workOrderId}` }, { EVENTS_QUEUE: queue });
    expect(await response.json()).toEqual({ replayed: 1, ids: [eventId] });
    const message = queue.sent[0] as EventMessage;
    expect(message.payloadKey).toMatch(new RegExp(`^payload:${eventId}:replay:`));
    expect(message.event.data).toEqual({});
    expect(await env.IDEMPOTENCY.get(message.payloadKey as string)).toContain("x".repeat(1000));
    expect(await settled(eventId, ["processed"])).toBe("processed");
  });

  it("replays an event whose only record is a dead letter carrying a claim check, from that claim check", async () => {
    const body = uniqueNewWorkOrder();
    const eventId = `dead-claim-${uniqueEventId()}`;
    await deadLetterWithClaimCheck(body, eventId);
    expect(await eventStatus(eventId)).toBe("dead");
    const queue = recordingQueue();
    const response = await bulkReplay(
      { workOrderId: String(body.workOrderId), status: "dead" },
      { EVENTS_QUEUE: queue },
    );
    expect(await response.json()).toEqual({ replayed: 1, ids: [eventId] });
    expect(queue.sent[0]).toMatchObject({ payloadKey: `payload:${eventId}`, replay: true });
    expect(await settled(eventId, ["processed"])).toBe("processed");
    expect(
      worldSlack.calls.some((c) => (c.json as { text?: string } | undefined)?.text?.includes(`#${body.workOrderId}:`)),
    ).toBe(true);
  });
});
