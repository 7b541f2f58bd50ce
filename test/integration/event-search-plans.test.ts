// The event log's search columns and indexes (migrations/0005_event_search.sql) on the real local
// D1: every filter's query is answered from an index, in the listing's order, without sorting
// (ARCHITECTURE.md, "Listing events", shows these plans); and the migration's backfill writes what
// the event log writes for a new row.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../src/events/canonical";
import { createDelivery } from "../../src/ingest/delivery";
import { normaliseDelivery } from "../../src/ingest/normalise";
import { utf8 } from "../../src/lib/bytes";
import { type EventFilter, listEventsQuery, recordAccepted } from "../../src/store/event-log";
import statusDone from "../fixtures/status-change-done.json";
import { uniqueEventId, uniqueNewWorkOrder } from "../helpers/deliveries";
import { maintainXEvent } from "../helpers/events";

async function plan(filter: EventFilter, after = false): Promise<string[]> {
  const page = after ? { limit: 50, after: { receivedAt: "2030-01-01T00:00:00.000Z", rowid: 1000 } } : { limit: 50 };
  const { sql, params } = listEventsQuery(filter, page);
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

const since = "2026-12-01T00:00:00.000Z";
const until = "2026-12-31T23:59:59.999Z";

describe("query plans", () => {
  const single: Array<[string, EventFilter, string]> = [
    ["status", { status: "failed" }, "SEARCH events USING INDEX events_by_status (status=?)"],
    ["type", { type: "workorder.created" }, "SEARCH events USING INDEX events_by_type (type=?)"],
    ["routed type", { type: "workorder.completed" }, "SEARCH events USING INDEX events_by_routed_type (routed_type=?)"],
    [
      "status and type",
      { status: "dead", type: "workorder.status_changed" },
      "SEARCH events USING INDEX events_by_status_type (status=? AND type=?)",
    ],
    [
      "status and routed type",
      { status: "failed", type: "workorder.completed" },
      "SEARCH events USING INDEX events_by_status_routed_type (status=? AND routed_type=?)",
    ],
    ["workOrderId", { workOrderId: "4821337" }, "SEARCH events USING INDEX events_by_work_order (work_order_id=?)"],
    ["subject", { subject: "asset:9" }, "SEARCH events USING INDEX events_by_subject (subject=?)"],
    ["since", { since }, "SEARCH events USING INDEX events_by_received (received_at>?)"],
    ["until", { until }, "SEARCH events USING INDEX events_by_received (received_at<?)"],
    [
      "since and until",
      { since, until },
      "SEARCH events USING INDEX events_by_received (received_at>? AND received_at<?)",
    ],
  ];

  it.each(single)("answers a %s filter from its own index, in order, with no sort", async (_name, filter, expected) => {
    expect(await plan(filter)).toEqual([expected]);
  });

  it.each(single)(
    "answers a next page of a %s filter from the same index, starting at the cursor",
    async (_name, filter) => {
      const [detail, ...rest] = await plan(filter, true);
      expect(rest).toEqual([]);
      const index = single.find(([, f]) => f === filter)?.[2].match(/USING INDEX (\w+)/)?.[1];
      expect(detail).toMatch(new RegExp(`^SEARCH events USING INDEX ${index} \\(.*received_at[<>]\\?`));
    },
  );

  it("reads an unfiltered listing backwards along the received_at index, with no sort", async () => {
    expect(await plan({})).toEqual(["SCAN events USING INDEX events_by_received"]);
    expect(await plan({}, true)).toEqual(["SEARCH events USING INDEX events_by_received (received_at<?)"]);
  });

  it("answers combined filters from one of their indexes, never a scan of the table or a sort", async () => {
    const combined: EventFilter[] = [
      { status: "failed", type: "workorder.status_changed" },
      { status: "failed", since },
      { workOrderId: "4821337", status: "failed" },
      { subject: "workorder:4821337", type: "workorder.created", since, until },
      { status: "dead", type: "asset.created", workOrderId: "1", subject: "asset:1", since, until },
    ];
    for (const filter of combined) {
      for (const after of [false, true]) {
        const details = await plan(filter, after);
        expect(details, JSON.stringify(filter)).toHaveLength(1);
        expect(details[0], JSON.stringify(filter)).toMatch(/^SEARCH events USING INDEX events_by_\w+ \(/);
        expect(details.join("\n")).not.toMatch(/TEMP B-TREE|^SCAN events$/m);
      }
    }
  });
});

describe("backfill of rows logged before the search columns", () => {
  /** The migration's UPDATE statements, which only fill what is still NULL. */
  function backfill(): string[] {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name === "0005_event_search.sql");
    if (!migration) throw new Error("migration 0005 not found");
    const strip = (query: string) =>
      query
        .split("\n")
        .filter((line) => !line.trim().startsWith("--"))
        .join("\n")
        .trim();
    return migration.queries.map(strip).filter((query) => /^(UPDATE|WITH)\b/.test(query));
  }

  async function seedEvent(body: Record<string, unknown>): Promise<{ event: CanonicalEvent; raw: unknown }> {
    const delivery = await createDelivery({
      body: utf8.encode(JSON.stringify(body)),
      pathType: undefined,
      scheme: "seed",
      headers: new Headers({ "x-maintainx-event-id": uniqueEventId("seed") }),
      receivedAt: new Date(),
    });
    const { event, raw } = await normaliseDelivery(delivery);
    return { event, raw };
  }

  it("fills subject and (for work orders) summary as the event log writes them for a new row", async () => {
    const wo = () => Math.floor(Math.random() * 1e9);
    const long = `Replace the\nseal ${"x".repeat(200)}`;
    const seed = await seedEvent({ event: "workorder.created", data: { id: `WO-${wo()}`, title: "Seed\ttitle" } });
    const events: Array<{ event: CanonicalEvent; stored?: Parameters<typeof recordAccepted>[2] }> = [
      { event: await maintainXEvent("NEW_WORK_ORDER", uniqueNewWorkOrder(), uniqueEventId("a")) },
      {
        event: await maintainXEvent(
          "NEW_WORK_ORDER",
          uniqueNewWorkOrder({ newWorkOrder: { title: long } }),
          uniqueEventId("b"),
        ),
      },
      {
        event: await maintainXEvent(
          "WORK_ORDER_STATUS_CHANGE",
          { ...statusDone, workOrderId: wo() },
          uniqueEventId("c"),
        ),
      },
      {
        event: await maintainXEvent(
          "WORK_ORDER_DELETE",
          { workOrderId: wo(), WorkOrder: { title: "Deleted one" } },
          uniqueEventId("d"),
        ),
      },
      {
        event: await maintainXEvent(
          "NEW_COMMENT_ON_WORK_ORDER",
          { workOrderId: wo(), comment: "hi" },
          uniqueEventId("e"),
        ),
      },
      { event: seed.event },
      { event: { ...seed.event, id: uniqueEventId("f") }, stored: seed.raw as Parameters<typeof recordAccepted>[2] },
      {
        event: {
          id: `poll:${wo()}:2026-11-28T10:00:00.000Z`,
          type: "workorder.updated",
          sourceType: "WORK_ORDER_POLL",
          source: "poll",
          receivedAt: new Date().toISOString(),
          data: { id: "77", title: "Polled", status: "OPEN" },
          subject: { kind: "workorder", id: "77" },
          workOrderId: "77",
        },
      },
      {
        event: await maintainXEvent(
          "FUTURE_TYPE",
          { workOrderId: wo(), newWorkOrder: { title: "t" } },
          uniqueEventId("g"),
        ),
      },
      { event: await maintainXEvent("NEW_ASSET", { assetId: wo(), newAsset: { name: "Line" } }, uniqueEventId("h")) },
      { event: await maintainXEvent("WORK_REQUEST_STATUS_CHANGE", { requestId: " WR-9 " }, uniqueEventId("i")) },
      { event: await maintainXEvent("NEW_PART", { partId: wo() }, uniqueEventId("j")) },
      { event: await maintainXEvent("METER_TRIGGER_STATE_CHANGE", { meterId: wo() }, uniqueEventId("k")) },
      { event: await maintainXEvent("PART_TRANSFER", { sourceData: { partId: 1 } }, uniqueEventId("l")) },
      { event: await maintainXEvent("USER_LOGOUT", { userId: 5 }, uniqueEventId("m")) },
    ];
    const columns = async (id: string) =>
      env.DB.prepare("SELECT subject, summary, work_order_id FROM events WHERE id = ?1")
        .bind(id)
        .first<{ subject: string | null; summary: string | null; work_order_id: string | null }>();
    for (const { event, stored } of events) {
      await recordAccepted(env.DB, event, stored);
      // The same row as logged before migration 0005: no subject, no summary.
      await env.DB.prepare(
        `INSERT INTO events (id, type, source_type, source, work_order_id, occurred_at, received_at, status, attempts, data, data_field, updated_at)
         SELECT id || ':legacy', type, source_type, source, work_order_id, occurred_at, received_at, status, attempts, data, data_field, updated_at
         FROM events WHERE id = ?1`,
      )
        .bind(event.id)
        .run();
    }
    for (const query of backfill()) await env.DB.prepare(query).run();
    for (const query of backfill()) await env.DB.prepare(query).run();

    for (const { event } of events) {
      const written = await columns(event.id);
      const filled = await columns(`${event.id}:legacy`);
      expect(filled?.subject, event.sourceType).toBe(written?.subject);
      // Summaries of other kinds than work orders are not backfilled.
      expect(filled?.summary, event.sourceType).toBe(written?.work_order_id === null ? null : written?.summary);
    }
    // What was written in the first place, for the record.
    const summaries = await Promise.all(
      events.slice(0, 2).map(async ({ event }) => (await columns(event.id))?.summary),
    );
    expect(summaries[0]).toMatch(/^#\d+ Replace conveyor belt <B7> & check rollers$/);
    expect(summaries[1]).toMatch(/^#\d+ Replace the seal x+…$/);
    expect(Array.from(summaries[1] as string)).toHaveLength(121);
    expect((await columns(events[10]?.event.id as string))?.subject).toBe("workrequest:WR-9");
    expect((await columns(events[13]?.event.id as string))?.subject).toBeNull();
  });
});
