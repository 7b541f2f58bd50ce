// The event ids an unsigned seed header may not name (src/ingest/delivery.ts `isReservedEventId`)
// cover every id the Worker makes itself, whatever the work order, status or body.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pollEvents } from "../../src/ingest/accept-polled";
import { contentEventId, isReservedEventId } from "../../src/ingest/delivery";
import { utf8 } from "../../src/lib/bytes";
import { effectMarkerKey } from "../../src/store/keys";

const instant = fc
  .integer({ min: Date.parse("2000-01-01T00:00:00Z"), max: Date.parse("2099-12-31T23:59:59Z") })
  .map((ms) => new Date(ms).toISOString());

describe("reserved event ids", () => {
  it("include every id the poller makes: a version, a creation and an ending", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1 }).map(String), fc.string({ minLength: 1, maxLength: 20 })),
        fc.constantFrom("OPEN", "IN_PROGRESS", "ON_HOLD", "DONE", "CANCELED", "SKIPPED", "done"),
        instant,
        instant,
        (id, status, createdAt, updatedAt) => {
          const events = pollEvents({ id, status, createdAt, updatedAt, completedAt: updatedAt }, updatedAt, 0);
          expect(events.length).toBeGreaterThanOrEqual(2);
          for (const event of events) expect(isReservedEventId(event.id), event.id).toBe(true);
        },
      ),
    );
  });

  it("include every content id, and no id of another length or case", async () => {
    for (const body of ["{}", '{"workOrderId":42}', "x".repeat(1000)]) {
      const id = await contentEventId("NEW_WORK_ORDER", utf8.encode(body));
      expect(isReservedEventId(id)).toBe(true);
      expect(isReservedEventId(id.toUpperCase())).toBe(false);
      expect(isReservedEventId(id.slice(1))).toBe(false);
      expect(isReservedEventId(`${id}0`)).toBe(false);
    }
  });

  it("include change:<n>, which as an event's id would name that change's effect marker", () => {
    const changeMarker = effectMarkerKey({ eventId: "poll:1:created", changeId: 7 }, "erp-sync");
    // An event named `change:7` would have had the change's marker as its own.
    expect(effectMarkerKey({ eventId: "change:7", changeId: undefined }, "erp-sync")).toBe(changeMarker);
    expect(isReservedEventId("change:7")).toBe(true);
  });

  it("leave the sender's own ids alone", () => {
    for (const id of ["evt-1", "seed-2026-11-28", "Poll:1:created", "1234", "a".repeat(63), "x:poll:1"]) {
      expect(isReservedEventId(id), id).toBe(false);
    }
  });
});
