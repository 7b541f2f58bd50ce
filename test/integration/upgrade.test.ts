// Upgrading a database written by the schema before changes had ids (migrations 0001–0006): every
// claim keeps its meaning. A claim keyed by an event stays with the event; one keyed by a change's
// text key (`workorder:<id>:created`, `workorder:<id>:ending:<n>`) now references that change, the
// events that reported it still list it, and a new observation of the same change finds it.

import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveChangeStatements } from "../../src/store/changes";
import { claimResultOf, claimStatements, listSideEffects } from "../../src/store/side-effects";

const db = env.UPGRADE_DB;
const T = Date.parse("2026-11-20T10:00:00.000Z");
const AT = new Date(T).toISOString();

/** What the previous schema held: work order 42 created, done, reopened, done again. */
async function writeWithPreviousSchema(): Promise<void> {
  const event = (id: string, type: string) =>
    db
      .prepare(
        `INSERT INTO events (id, type, source_type, source, status, attempts, received_at, updated_at, work_order_id, data)
         VALUES (?1, ?2, 'X', 'webhook', 'processed', 1, ?3, ?3, '42', '{}')`,
      )
      .bind(id, type, AT);
  const claim = (key: string, handler: string, status: string, first: string) =>
    db
      .prepare(
        `INSERT INTO side_effects (event_id, handler, status, attempts, lease_until, updated_at, first_event_id, last_error)
         VALUES (?1, ?2, ?3, 1, 0, ?4, ?5, ?6)`,
      )
      .bind(key, handler, status, AT, first, status === "failed" ? "ERP answered 400" : null);
  await db.batch([
    event("created-hook", "workorder.created"),
    event("poll:42:created", "workorder.created"),
    event("done-hook-1", "workorder.status_changed"),
    event("done-hook-2", "workorder.status_changed"),
    event("poll:42:DONE:2", "workorder.completed"),
    claim("created-hook", "warehouse", "done", "created-hook"),
    claim("workorder:42:created", "slack-alert", "done", "created-hook"),
    claim("workorder:42:ending:1", "erp-sync", "done", "done-hook-1"),
    claim("workorder:42:ending:2", "erp-sync", "failed", "done-hook-2"),
    // A seed delivery's own event id that only looks like a change's key: its claim is its event's.
    claim("workorder:7:created", "forward", "done", "workorder:7:created"),
    db.prepare(
      `INSERT INTO work_order_endings (work_order_id, seq, status, webhook_ms, poll_ms, created_at) VALUES
         ('42', 1, 'DONE', ${T}, NULL, '${AT}'), ('42', 2, 'DONE', ${T + 600_000}, ${T + 599_700}, '${AT}')`,
    ),
    db.prepare(
      `INSERT INTO event_endings (event_id, work_order_id, seq) VALUES
         ('done-hook-1', '42', 1), ('done-hook-2', '42', 2), ('poll:42:DONE:2', '42', 2)`,
    ),
  ]);
}

beforeAll(async () => {
  const previous = env.TEST_MIGRATIONS.filter((m) => m.name < "0007");
  expect(previous.map((m) => m.name)).toContain("0006_operator_alerts.sql");
  await applyD1Migrations(db, previous);
  await writeWithPreviousSchema();
  await applyD1Migrations(db, env.TEST_MIGRATIONS);
});

const outcomes = async (eventId: string) =>
  Object.fromEntries((await listSideEffects(db, eventId)).map((o) => [o.handler, o.status]));

describe("upgrading to changes with ids", () => {
  it("keeps every event's outcomes, its own and its change's", async () => {
    expect(await outcomes("created-hook")).toEqual({ warehouse: "done", "slack-alert": "done" });
    expect(await outcomes("poll:42:created")).toEqual({ "slack-alert": "done" });
    expect(await outcomes("done-hook-1")).toEqual({ "erp-sync": "done" });
    expect(await outcomes("done-hook-2")).toEqual({ "erp-sync": "failed" });
    expect(await outcomes("poll:42:DONE:2")).toEqual({ "erp-sync": "failed" });
  });

  it("keeps the endings in order, with their times, and one creation", async () => {
    const { results } = await db
      .prepare("SELECT kind, webhook_ms, poll_ms FROM changes WHERE work_order_id = '42' ORDER BY id")
      .all();
    expect(results).toEqual([
      { kind: "DONE", webhook_ms: T, poll_ms: null },
      { kind: "DONE", webhook_ms: T + 600_000, poll_ms: T + 599_700 },
      { kind: "created", webhook_ms: null, poll_ms: null },
    ]);
    const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(event_endings|work_order_endings|legacy_change_keys)$/)]),
    );
  });

  it("resolves a new observation of an old change to it, and its claim stays taken", async () => {
    // The poller reads the second completion again, under an event id of its own.
    const observation = {
      eventId: "poll:42:DONE:again",
      workOrderId: "42",
      status: "DONE",
      source: "poll",
      atMs: T + 599_700,
      exact: true,
    } as const;
    const claim = { eventId: observation.eventId, handler: "erp-sync", perChange: true };
    const statements = [
      ...resolveChangeStatements(db, observation),
      ...claimStatements(db, claim, { nowMs: Date.now(), replay: false }),
    ];
    const results = await db.batch(statements);
    const { result } = claimResultOf(results.at(-2), results.at(-1), observation.eventId);
    expect(result).toMatchObject({ claimed: false, status: "failed", lastError: "ERP answered 400" });
    expect(await outcomes(observation.eventId)).toEqual({ "erp-sync": "failed" });

    // A replay takes the failed claim again, under the id of the event that first claimed it.
    const replay = await db.batch(claimStatements(db, claim, { nowMs: Date.now(), replay: true }));
    expect(claimResultOf(replay[0], replay[1], observation.eventId).result).toMatchObject({
      claimed: true,
      attempts: 2,
      effectId: "done-hook-2",
    });
  });

  it("finds the endings logged before by the completion type they were routed as (0008)", async () => {
    const { results } = await db
      .prepare("SELECT id FROM events WHERE routed_type = 'workorder.completed' ORDER BY id")
      .all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual(["done-hook-1", "done-hook-2", "poll:42:DONE:2"]);
  });

  it("leaves the claim of an event whose own id looks like a change's key with that event", async () => {
    const row = await db.prepare("SELECT event_id, change_id FROM side_effects WHERE handler = 'forward'").first();
    expect(row).toEqual({ event_id: "workorder:7:created", change_id: null });
    const { n } = (await db
      .prepare("SELECT count(*) AS n FROM changes WHERE work_order_id = '7'")
      .first<{ n: number }>()) ?? { n: -1 };
    expect(n).toBe(0);
  });

  it("creates no second creation for a work order created before the upgrade", async () => {
    const created = { eventId: "created-again", workOrderId: "42", creation: true } as const;
    await db.batch(resolveChangeStatements(db, created));
    const { n } = (await db
      .prepare("SELECT count(*) AS n FROM changes WHERE work_order_id = '42' AND kind = 'created'")
      .first<{ n: number }>()) ?? { n: 0 };
    expect(n).toBe(1);
    expect(await outcomes("created-again")).toEqual({ "slack-alert": "done" });
  });
});
