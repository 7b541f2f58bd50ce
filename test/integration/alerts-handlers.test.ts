// Operator alerts about handlers (docs/operations.md, "Operator alerts"), through real D1 and the
// Worker: a handler whose events failed and that then succeeds is noted once per failing episode
// (several in one message); holding and releasing a handler through the admin routes is alerted,
// saying since when, why, how many events wait and how to release it, with no secret; a channel
// that fails changes nothing.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { alertHandlerHold } from "../../src/alerts/handler-holds";
import { noteRecoveredHandlers } from "../../src/alerts/handler-notes";
import type { CanonicalEvent } from "../../src/events/canonical";
import { registry } from "../../src/handlers";
import worker from "../../src/index";
import { handleQueue } from "../../src/routing/queues";
import statusDone from "../fixtures/status-change-done.json";
import { batchOf, maintainXEvent, messageFor } from "../helpers/events";
import { ERP_URL, reply, world, worldErp } from "../helpers/outbound";
import { callWorker, testEnv } from "../helpers/worker";

const ALERT_URL = "https://alerts.slack.test/services/T333/B444/handler-alert-token";
const alertSink = world.sink(ALERT_URL);
const TOKEN = "handler-alerts-admin-token";
const overrides = { ALERT_WEBHOOK_URL: ALERT_URL, ADMIN_TOKEN: TOKEN };
const withAlerts = testEnv(overrides);

const texts = () => alertSink.calls.map((c) => String((c.json as { text?: string } | undefined)?.text));

beforeEach(async () => {
  alertSink.calls.length = 0;
  alertSink.fallback = () => new Response("ok");
  worldErp.fallback = () => new Response("ok");
  await env.DB.batch(
    ["events", "handler_attempts", "held_events", "handlers", "side_effects"].map((t) =>
      env.DB.prepare(`DELETE FROM ${t}`),
    ),
  );
});

async function completion(erp: "ok" | "down"): Promise<CanonicalEvent> {
  const workOrderId = 8_000_000 + Math.floor(Math.random() * 1_000_000);
  const event = await maintainXEvent("WORK_ORDER_STATUS_CHANGE", {
    ...statusDone,
    workOrderId,
    occurredAt: new Date().toISOString(),
  });
  worldErp.fallback = erp === "ok" ? () => new Response("ok") : reply(503, "maintenance");
  const ctx = createExecutionContext();
  await handleQueue(batchOf([messageFor(event)]), withAlerts, registry, ctx);
  await waitOnExecutionContext(ctx);
  worldErp.fallback = () => new Response("ok");
  return event;
}

interface HandlerRow {
  failing_since: string | null;
  recovered_after: string | null;
  recovered_at: string | null;
  recovery_noted_at: string | null;
}

const handlerRow = (name: string) =>
  env.DB.prepare("SELECT failing_since, recovered_after, recovered_at, recovery_noted_at FROM handlers WHERE name = ?1")
    .bind(name)
    .first<HandlerRow>();

describe("recovered notes", () => {
  it("notes a handler delivering again once per failing episode, with when it failed and recovered, and what to replay", async () => {
    await completion("down");
    const failing = await handlerRow("erp-sync");
    expect(failing?.failing_since).toEqual(expect.any(String));
    expect(await noteRecoveredHandlers(withAlerts)).toBe(0);

    await completion("ok");
    const recovered = await handlerRow("erp-sync");
    expect(recovered).toMatchObject({ failing_since: null, recovered_after: failing?.failing_since });
    expect(await noteRecoveredHandlers(withAlerts)).toBe(1);
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain(
      `:white_check_mark: Handler erp-sync is delivering again (failing since ${failing?.failing_since}, recovered at ${recovered?.recovered_at}, after`,
    );
    expect(text).toContain("npm run cli -- events replay --status dead --dry-run");
    expect(text).toContain("--status failed --dry-run");
    expect((await handlerRow("erp-sync"))?.recovery_noted_at).toBe(recovered?.recovered_at);

    // Once: more successes, and later runs, note nothing more.
    await completion("ok");
    expect(await noteRecoveredHandlers(withAlerts)).toBe(0);
    expect(texts()).toHaveLength(1);

    // A second episode is a second note.
    await new Promise((r) => setTimeout(r, 5));
    await completion("down");
    await completion("ok");
    const second = await handlerRow("erp-sync");
    expect(second?.recovered_at).not.toBe(recovered?.recovered_at);
    expect(await noteRecoveredHandlers(withAlerts)).toBe(1);
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain(`recovered at ${second?.recovered_at}`);
  });

  it("notes nothing for a handler that never failed", async () => {
    await completion("ok");
    expect((await handlerRow("erp-sync"))?.recovered_at).toBeNull();
    expect(await noteRecoveredHandlers(withAlerts)).toBe(0);
    expect(texts()).toEqual([]);
  });

  it("puts the handlers recovered since the last run in one message, and two runs at once send it once", async () => {
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO handlers (name, recovered_after, recovered_at, failing_since) VALUES
           ('erp-sync', '2026-12-01T08:00:00.000Z', '2026-12-01T11:30:00.000Z', NULL),
           ('slack-alert', '2026-12-01T09:00:00.000Z', '2026-12-01T09:00:45.000Z', '2026-12-01T11:40:00.000Z'),
           ('warehouse', NULL, NULL, '2026-12-01T10:00:00.000Z')`,
      ),
    ]);
    const runs = await Promise.all([noteRecoveredHandlers(withAlerts), noteRecoveredHandlers(withAlerts)]);
    expect(runs.sort()).toEqual([0, 2]);
    expect(texts()).toHaveLength(1);
    const [text] = texts();
    expect(text).toContain(":white_check_mark: 2 handlers are delivering again:");
    expect(text).toContain(
      "• erp-sync (failing since 2026-12-01T08:00:00.000Z, recovered at 2026-12-01T11:30:00.000Z, after 3 h 30 min)",
    );
    expect(text).toContain(
      "• slack-alert (failing since 2026-12-01T09:00:00.000Z, recovered at 2026-12-01T09:00:45.000Z, after 45 s); it has failed again since 2026-12-01T11:40:00.000Z",
    );
    expect(text).not.toContain("warehouse");
  });

  it("runs from the Cron Trigger", async () => {
    await env.DB.prepare(
      "INSERT INTO handlers (name, recovered_after, recovered_at) VALUES ('erp-sync', '2026-12-01T08:00:00.000Z', '2026-12-01T09:00:00.000Z')",
    ).run();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }),
      testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, POLL_MODE: "off" }),
    );
    expect(texts().filter((t) => t.includes("is delivering again"))).toHaveLength(1);
  });
});

describe("hold and release alerts", () => {
  const admin = (path: string, body?: unknown) =>
    callWorker(
      new Request(`https://worker.test/admin${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
      overrides,
    );

  it("alerts a hold with since when, the reason, the waiting events and how to release, and the release with what it queued; no secret", async () => {
    const reason = "ERP upgrade, see https://erp.example.com/status/secret-token-123?key=abc <b>14:00</b>";
    const held = await admin("/handlers/erp-sync/hold", { reason });
    expect(held.status).toBe(200);
    const entry = (await held.json()) as { heldSince: string };
    expect(texts()).toHaveLength(1);
    const [holdText] = texts();
    expect(holdText).toContain(`:pause_button: Handler \`erp-sync\` is held since ${entry.heldSince}`);
    expect(holdText).toContain('"ERP upgrade, see https://erp.example.com/… &lt;b&gt;14:00&lt;/b&gt;"');
    expect(holdText).toContain("0 events wait for it now");
    expect(holdText).toContain("`npm run cli -- handlers release erp-sync`");
    expect(holdText).toContain("console's Handlers view");

    // An event that needs it waits; holding again (a new reason) says so.
    const waiting = await completion("ok");
    expect(
      await env.DB.prepare("SELECT handler FROM held_events WHERE event_id = ?1").bind(waiting.id).first(),
    ).toEqual({ handler: "erp-sync" });
    expect((await admin("/handlers/erp-sync/hold")).status).toBe(200);
    expect(texts()[1]).toContain("is held since");
    expect(texts()[1]).toContain("(no reason given)");
    expect(texts()[1]).toContain("1 event waits for it now");

    const released = await admin("/handlers/erp-sync/release");
    expect(released.status).toBe(200);
    expect(((await released.json()) as { requeued: number }).requeued).toBe(1);
    expect(texts()).toHaveLength(3);
    expect(texts()[2]).toBe(
      ":arrow_forward: Handler `erp-sync` was released and is called again: 1 event that waited for it queued again now.",
    );

    // Releasing a handler not held is no news.
    expect((await admin("/handlers/erp-sync/release")).status).toBe(200);
    expect(texts()).toHaveLength(3);

    for (const text of texts()) {
      for (const secret of ["secret-token-123", "key=abc", "handler-alert-token", TOKEN, new URL(ERP_URL).pathname]) {
        expect(text).not.toContain(secret);
      }
    }
  });

  it("says how many still wait for the scheduled run after a release", async () => {
    await alertHandlerHold(withAlerts, { name: "erp-sync", held: false, waiting: 2500, requeued: 2000 }, "released");
    expect(texts()[0]).toContain("2000 events that waited for it queued again now.");
    expect(texts()[0]).toContain("The scheduled run queues the other 2500 events still waiting within minutes.");
  });

  it("never throws when the alert channel fails or hangs", async () => {
    const entry = { name: "erp-sync", held: true, heldSince: new Date().toISOString(), waiting: 3 };
    alertSink.plan(reply(500, "slack down"));
    await expect(alertHandlerHold(withAlerts, entry, "held")).resolves.toBeUndefined();
    alertSink.plan("hang");
    await expect(
      alertHandlerHold(testEnv({ ALERT_WEBHOOK_URL: ALERT_URL, OUTBOUND_TIMEOUT_SECONDS: "1" }), entry, "held"),
    ).resolves.toBeUndefined();
    alertSink.plan("network-error");
    await expect(alertHandlerHold(withAlerts, entry, "released")).resolves.toBeUndefined();
    expect(alertSink.calls).toHaveLength(3);
  });
});
