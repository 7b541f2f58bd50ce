// `GET /admin/status` lists the events left `accepted` past the retry window (docs/console.md):
// how many, and the oldest with what the console shows of them; never an event still in the
// window, nor one that settled.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { recordAccepted } from "../../src/store/event-log";
import { BASE } from "../helpers/deliveries";
import { callWorker } from "../helpers/worker";

const TOKEN = "admin-token-for-stuck-tests";
const HOUR = 3_600_000;

let n = 0;
/** An event of `status`, its row last changed `hoursAgo` ago. */
async function loggedSince(hoursAgo: number, status = "accepted", lastError: string | null = null): Promise<string> {
  n += 1;
  const id = `stuck-${n}-${hoursAgo}h`;
  const now = Date.now();
  await recordAccepted(env.DB, {
    id,
    type: "workorder.updated",
    sourceType: "WORK_ORDER_CHANGE",
    source: "webhook",
    receivedAt: new Date(now - hoursAgo * HOUR - 60_000).toISOString(),
    data: {},
  });
  await env.DB.prepare("UPDATE events SET status = ?2, attempts = 2, last_error = ?3, updated_at = ?4 WHERE id = ?1")
    .bind(id, status, lastError, new Date(now - hoursAgo * HOUR).toISOString())
    .run();
  return id;
}

interface Stuck {
  afterHours: number;
  changedBefore: string;
  count: number;
  events: Array<{ id: string; type: string; attempts: number; updatedAt: string; lastError?: string }>;
}

async function stuckOfStatus(): Promise<Stuck> {
  const response = await callWorker(
    new Request(`${BASE}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } }),
    { ADMIN_TOKEN: TOKEN },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { stuck: Stuck }).stuck;
}

beforeEach(async () => {
  await env.DB.prepare("DELETE FROM events").run();
});

describe("stuck events in /admin/status", () => {
  it("counts the accepted events unchanged for more than 62 h and lists them, oldest change first", async () => {
    const older = await loggedSince(100, "accepted", "erp-sync: ERP: HTTP 503");
    const old = await loggedSince(63);
    await loggedSince(61);
    await loggedSince(0);
    await loggedSince(200, "processed");
    await loggedSince(200, "dead");

    const stuck = await stuckOfStatus();
    expect(stuck.afterHours).toBe(62);
    expect(Math.abs(Date.parse(stuck.changedBefore) - (Date.now() - 62 * HOUR))).toBeLessThan(60_000);
    expect(stuck.count).toBe(2);
    expect(stuck.events.map((e) => e.id)).toEqual([older, old]);
    expect(stuck.events[0]).toMatchObject({
      type: "workorder.updated",
      attempts: 2,
      lastError: "erp-sync: ERP: HTTP 503",
    });
    expect(stuck.events[1]).not.toHaveProperty("lastError");
    expect(Date.parse(stuck.events[1]?.updatedAt ?? "")).toBeLessThan(Date.now() - 62 * HOUR);
  });

  it("lists the 20 oldest and counts them all", async () => {
    for (let i = 0; i < 23; i++) await loggedSince(70 + i);
    const stuck = await stuckOfStatus();
    expect(stuck.count).toBe(23);
    expect(stuck.events).toHaveLength(20);
    expect(stuck.events[0]?.id).toMatch(/-92h$/);
  });

  it("answers a count of 0 and no events when nothing is stuck", async () => {
    await loggedSince(1);
    expect(await stuckOfStatus()).toMatchObject({ count: 0, events: [] });
  });
});
