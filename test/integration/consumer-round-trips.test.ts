// What an event costs the consumer in D1 round trips, counted so the number cannot creep back:
// two per attempt (store/attempt.ts), whatever the handlers, besides a handler's own write (the
// mirror's upsert). A claim is still taken before its handler runs and recorded after it succeeds.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { sampleMaintainXBody } from "../../cli/samples";
import { registry } from "../../src/handlers";
import { consumeEvents } from "../../src/routing/consumer";
import { listSideEffects } from "../../src/store/side-effects";
import newWorkOrder from "../fixtures/new-work-order.json";
import statusDone from "../fixtures/status-change-done.json";
import { countingD1, isMirrorWrite, type RoundTrip } from "../helpers/d1-round-trips";
import { batchOf, maintainXEvent, messageFor, settle } from "../helpers/events";
import { API_BASE, consumerSinks, ERP_URL, SLACK_URL } from "../helpers/outbound";
import { testEnv } from "../helpers/worker";

let { outbound, slack, erp } = consumerSinks();

beforeEach(() => {
  ({ outbound, slack, erp } = consumerSinks());
});

let nextId = 6_700_000 + Math.floor(Math.random() * 100_000) * 10;
const freshId = () => {
  nextId += 1;
  return nextId;
};

/** Consumes one delivery of each event with a D1 that counts; answers the consumer's own round trips. */
async function consumerTrips(bodies: unknown[], attempts = 1): Promise<{ trips: RoundTrip[]; mirror: RoundTrip[] }> {
  const counted = countingD1();
  const environment = testEnv({
    DB: counted.db,
    SLACK_WEBHOOK_URL: SLACK_URL,
    ERP_WEBHOOK_URL: ERP_URL,
    MAINTAINX_API_KEY: "api-key-123",
    MAINTAINX_API_BASE: API_BASE,
  });
  const result = await settle(batchOf(bodies, attempts), (batch) =>
    consumeEvents(batch, environment, { registry, fetch: outbound.fetch, random: () => 0 }),
  );
  expect(result.explicitAcks).toHaveLength(bodies.length);
  return { trips: counted.trips.filter((t) => !isMirrorWrite(t)), mirror: counted.trips.filter(isMirrorWrite) };
}

const statuses = async (eventId: string) =>
  Object.fromEntries((await listSideEffects(env.DB, eventId)).map((o) => [o.handler, o.status]));

describe("D1 round trips per event", () => {
  it("a completion with its three handlers: 2 (open with every claim, then settle), plus the mirror's own write", async () => {
    const id = freshId();
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", { ...statusDone, workOrderId: id });
    const { trips, mirror } = await consumerTrips([messageFor(event)]);

    expect(trips.map((t) => t.kind)).toEqual(["batch", "batch"]);
    expect(mirror.length).toBeGreaterThanOrEqual(1);
    expect(erp.calls).toHaveLength(1);
    expect(await statuses(event.id)).toEqual({ "erp-sync": "done", "completion-report": "done", warehouse: "done" });
    // The first batch claims every handler before any runs; the second records them all.
    const [open, close] = trips;
    expect(open?.statements.filter((sql) => /INSERT INTO side_effects/.test(sql))).toHaveLength(3);
    expect(close?.statements.filter((sql) => /UPDATE side_effects SET status/.test(sql))).toHaveLength(3);
    expect(close?.statements.some((sql) => /UPDATE events SET status/.test(sql))).toBe(true);
  });

  it("a creation: 2", async () => {
    const id = freshId();
    const event = await maintainXEvent("NEW_WORK_ORDER", {
      ...newWorkOrder,
      workOrderId: id,
      newWorkOrder: { ...newWorkOrder.newWorkOrder, id },
    });
    const { trips } = await consumerTrips([messageFor(event)]);
    expect(trips.map((t) => t.kind)).toEqual(["batch", "batch"]);
    expect(slack.calls).toHaveLength(1);
  });

  it("an update: 2", async () => {
    const event = await maintainXEvent(
      "WORK_ORDER_CHANGE",
      sampleMaintainXBody("WORK_ORDER_CHANGE", { id: freshId() }),
    );
    const { trips } = await consumerTrips([messageFor(event)]);
    expect(trips.map((t) => t.kind)).toEqual(["batch", "batch"]);
  });

  it("an event no handler takes: 1", async () => {
    const event = await maintainXEvent("NEW_LOCATION", sampleMaintainXBody("NEW_LOCATION", { id: freshId() }));
    const { trips } = await consumerTrips([messageFor(event)]);
    expect(trips.map((t) => t.kind)).toEqual(["batch"]);
  });

  it("a redelivery of a completion already done: 2, and nothing runs again", async () => {
    const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", { ...statusDone, workOrderId: freshId() });
    await consumerTrips([messageFor(event)]);
    const again = await consumerTrips([messageFor(event)], 2);
    expect(again.trips.map((t) => t.kind)).toEqual(["batch", "batch"]);
    expect(again.mirror).toEqual([]);
    expect(erp.calls).toHaveLength(1);
  });
});
