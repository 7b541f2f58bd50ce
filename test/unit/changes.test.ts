// How change observations resolve to changes of a work order (ARCHITECTURE.md, "Once per real
// change"): ending observations (a webhook's status change to DONE, or a polled REST record in DONE /
// CANCELED / SKIPPED) to its endings, numbered here in the order they were made, and creation
// observations to its one creation.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChangeObservation, EndingObservation } from "../../src/events/changes";
import { ENDING_MATCH_TOLERANCE_MS, reopenStatement, resolveChangeStatements } from "../../src/store/changes";

/** The change's id an observation resolves to, its statements run alone in one batch. */
async function resolveChange(db: D1Database, o: ChangeObservation): Promise<number> {
  await db.batch(resolveChangeStatements(db, o));
  const row = await db
    .prepare("SELECT change_id FROM event_changes WHERE event_id = ?1")
    .bind(o.eventId)
    .first<{ change_id: number }>();
  if (!row) throw new Error(`Change of event ${o.eventId} not resolved`);
  return row.change_id;
}

/** Which of its work order's endings (1, 2, …) an observation resolves to. */
async function resolveEnding(db: D1Database, o: EndingObservation): Promise<number> {
  const id = await resolveChange(db, o);
  const row = await db
    .prepare("SELECT count(*) AS n FROM changes WHERE work_order_id = ?1 AND kind <> 'created' AND id <= ?2")
    .bind(o.workOrderId, id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function recordReopen(db: D1Database, workOrderId: string, atMs: number): Promise<void> {
  await reopenStatement(db, workOrderId, atMs).run();
}

let seq = 0;
const T = Date.parse("2026-11-28T15:42:09.880Z");

function workOrder(): string {
  seq += 1;
  return `wo-${Date.now()}-${seq}`;
}

function webhook(workOrderId: string, atMs: number, eventId = `hash-${workOrderId}-${atMs}-${Math.random()}`) {
  return { eventId, workOrderId, status: "DONE", source: "webhook", atMs, exact: true } satisfies EndingObservation;
}

function poll(
  workOrderId: string,
  atMs: number,
  options: { exact?: boolean; status?: EndingObservation["status"] } = {},
) {
  const status = options.status ?? "DONE";
  return {
    eventId: `poll:${workOrderId}:${status}:${atMs}`,
    workOrderId,
    status,
    source: "poll",
    atMs,
    exact: options.exact ?? true,
  } satisfies EndingObservation;
}

const endingsOf = async (workOrderId: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM changes WHERE work_order_id = ?1 AND kind <> 'created'")
      .bind(workOrderId)
      .first<{ n: number }>()
  )?.n;

describe("resolving an ending", () => {
  it("resolves the same event to the same ending every time", async () => {
    const wo = workOrder();
    const event = webhook(wo, T + 300);
    expect(await resolveEnding(env.DB, event)).toBe(1);
    expect(await resolveEnding(env.DB, event)).toBe(1);
    expect(await endingsOf(wo)).toBe(1);
  });

  it("matches a poll to the webhook of the same ending a few hundred ms apart, in either order", async () => {
    const first = workOrder();
    expect(await resolveEnding(env.DB, webhook(first, T + 300))).toBe(1);
    expect(await resolveEnding(env.DB, poll(first, T))).toBe(1);
    const second = workOrder();
    expect(await resolveEnding(env.DB, poll(second, T))).toBe(1);
    expect(await resolveEnding(env.DB, webhook(second, T + 300))).toBe(1);
    expect(await endingsOf(first)).toBe(1);
    expect(await endingsOf(second)).toBe(1);
  });

  it("never matches two different webhook deliveries to one ending", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, webhook(wo, T + 300))).toBe(1);
    expect(await resolveEnding(env.DB, webhook(wo, T + 400))).toBe(2);
  });

  it("does not match a poll and a webhook further apart than the tolerance", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, webhook(wo, T))).toBe(1);
    expect(await resolveEnding(env.DB, poll(wo, T + ENDING_MATCH_TOLERANCE_MS + 1))).toBe(2);
  });

  it("matches a poll that reads the same completedAt again, and not one with another completedAt", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, poll(wo, T))).toBe(1);
    expect(await resolveEnding(env.DB, { ...poll(wo, T), eventId: "another poll event" })).toBe(1);
    expect(await resolveEnding(env.DB, poll(wo, T + 30_000))).toBe(2);
  });

  it("does not match an ending the work order was reopened after", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, webhook(wo, T + 300))).toBe(1);
    await recordReopen(env.DB, wo, T + 10_000);
    // Done again 20 s later, its webhook lost: the poll's completedAt is inside the tolerance.
    expect(await resolveEnding(env.DB, poll(wo, T + 20_000))).toBe(2);
    // The webhook of the first ending, late, still finds its own.
    const late = workOrder();
    expect(await resolveEnding(env.DB, poll(late, T))).toBe(1);
    await recordReopen(env.DB, late, T + 10_000);
    expect(await resolveEnding(env.DB, webhook(late, T + 300))).toBe(1);
  });

  it("ignores a reopen dated before the ending (a stale poll of the open work order)", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, webhook(wo, T + 300))).toBe(1);
    await recordReopen(env.DB, wo, T - 60_000);
    expect(await resolveEnding(env.DB, poll(wo, T))).toBe(1);
  });

  it("without completedAt, takes a later edit of a done work order as the same ending until it reopens", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, poll(wo, T, { exact: false }))).toBe(1);
    expect(await resolveEnding(env.DB, poll(wo, T + 600_000, { exact: false }))).toBe(1);
    await recordReopen(env.DB, wo, T + 700_000);
    expect(await resolveEnding(env.DB, poll(wo, T + 800_000, { exact: false }))).toBe(2);
  });

  it("matches a webhook processed after an inexact poll of the same ending, unless a reopen came between", async () => {
    const wo = workOrder();
    // REST had no completedAt and the work order was edited 10 minutes after it was done.
    expect(await resolveEnding(env.DB, poll(wo, T + 600_000, { exact: false }))).toBe(1);
    expect(await resolveEnding(env.DB, webhook(wo, T + 300))).toBe(1);
    expect(await endingsOf(wo)).toBe(1);

    const reopened = workOrder();
    expect(await resolveEnding(env.DB, poll(reopened, T + 600_000, { exact: false }))).toBe(1);
    await recordReopen(env.DB, reopened, T + 60_000);
    expect(await resolveEnding(env.DB, webhook(reopened, T + 300))).toBe(2);

    // A later poll that reads the completedAt is the inexactly polled ending too.
    const later = workOrder();
    expect(await resolveEnding(env.DB, webhook(later, T + 300))).toBe(1);
    expect(await resolveEnding(env.DB, poll(later, T + 600_000, { exact: false }))).toBe(1);
    expect(await resolveEnding(env.DB, poll(later, T + 200))).toBe(1);
    const polledOnly = workOrder();
    expect(await resolveEnding(env.DB, poll(polledOnly, T + 600_000, { exact: false }))).toBe(1);
    expect(await resolveEnding(env.DB, poll(polledOnly, T))).toBe(1);
    expect(await resolveEnding(env.DB, { ...poll(polledOnly, T), eventId: "the same completedAt again" })).toBe(1);
    expect(await endingsOf(polledOnly)).toBe(1);

    // An exact poll far from the webhook stays another ending.
    const exact = workOrder();
    expect(await resolveEnding(env.DB, poll(exact, T + 600_000))).toBe(1);
    expect(await resolveEnding(env.DB, webhook(exact, T + 300))).toBe(2);
  });

  it("splits endings at a reopen that was processed before the ending it closes", async () => {
    const wo = workOrder();
    // Queues are not FIFO: the poll that saw the work order open again ran first.
    await recordReopen(env.DB, wo, T + 600_000);
    expect(await resolveEnding(env.DB, poll(wo, T, { exact: false }))).toBe(1);
    expect(await resolveEnding(env.DB, poll(wo, T + 1_200_000, { exact: false }))).toBe(2);
    // And a webhook and a poll of one ending still match across a reopen recorded after both.
    const other = workOrder();
    await recordReopen(env.DB, other, T + 60_000);
    expect(await resolveEnding(env.DB, webhook(other, T + 300))).toBe(1);
    expect(await resolveEnding(env.DB, poll(other, T))).toBe(1);
  });

  it("keeps endings of different statuses apart", async () => {
    const wo = workOrder();
    expect(await resolveEnding(env.DB, { ...webhook(wo, T + 300), status: "CANCELED" })).toBe(1);
    expect(await resolveEnding(env.DB, poll(wo, T))).toBe(2);
  });

  it("resolves 20 concurrent copies mixing webhook and poll events of one ending to exactly one", async () => {
    const wo = workOrder();
    const hook = webhook(wo, T + 350);
    const polled = poll(wo, T);
    const seqs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => resolveEnding(env.DB, i % 2 === 0 ? hook : polled)),
    );
    expect(new Set(seqs)).toEqual(new Set([1]));
    expect(await endingsOf(wo)).toBe(1);
    const row = await env.DB.prepare("SELECT webhook_ms, poll_ms FROM changes WHERE work_order_id = ?1")
      .bind(wo)
      .first();
    expect(row).toEqual({ webhook_ms: T + 350, poll_ms: T });
  });
});

describe("resolving a creation", () => {
  it("resolves every creation event of a work order, from either path, to its one creation", async () => {
    const wo = workOrder();
    const created = (eventId: string) => ({ eventId, workOrderId: wo, creation: true }) as const;
    const ids = await Promise.all(
      ["webhook-hash", `poll:${wo}:created`, "webhook-hash"].map((id) => resolveChange(env.DB, created(id))),
    );
    expect(new Set(ids).size).toBe(1);
    const ending = await resolveChange(env.DB, webhook(wo, T));
    expect(ending).not.toBe(ids[0]);
    expect(await endingsOf(wo)).toBe(1);
  });
});
