// `GET /admin/status` lists the events nothing will settle by themselves (docs/console.md): left
// `accepted` past the retry window, or `retrying` with their next attempt more than an hour
// overdue; how many, and the longest stuck with what the console shows of them; never an event
// still in the window, one waiting for a held handler, nor one that settled.

import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { recordAccepted } from "../../src/store/event-log";
import { STUCK_AFTER_HOURS as W } from "../../src/store/stuck-window";
import { BASE } from "../helpers/deliveries";
import { callWorker } from "../helpers/worker";

const TOKEN = "admin-token-for-stuck-tests";
const HOUR = 3_600_000;

let n = 0;
/** An event of `status`, its row last changed `hoursAgo` ago. */
async function loggedSince(
  hoursAgo: number,
  status = "accepted",
  lastError: string | null = null,
  nextAttemptHoursAgo: number | null = null,
): Promise<string> {
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
  await env.DB.prepare(
    `UPDATE events SET status = ?2, attempts = 2, last_error = ?3, updated_at = ?4, next_attempt_at = ?5,
       retrying_since = CASE WHEN ?2 = 'retrying' THEN ?4 END WHERE id = ?1`,
  )
    .bind(
      id,
      status,
      lastError,
      new Date(now - hoursAgo * HOUR).toISOString(),
      nextAttemptHoursAgo === null ? null : new Date(now - nextAttemptHoursAgo * HOUR).toISOString(),
    )
    .run();
  return id;
}

interface Stuck {
  afterHours: number;
  changedBefore: string;
  count: number;
  events: Array<{
    id: string;
    type: string;
    status: string;
    attempts: number;
    updatedAt: string;
    nextAttemptAt?: string;
    lastError?: string;
  }>;
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
  it("counts the accepted events unchanged for longer than the window and lists them, oldest change first", async () => {
    const older = await loggedSince(W + 38, "accepted", "erp-sync: ERP: HTTP 503");
    const old = await loggedSince(W + 1);
    await loggedSince(W - 1);
    await loggedSince(0);
    await loggedSince(W + 138, "processed");
    await loggedSince(W + 138, "dead");

    const stuck = await stuckOfStatus();
    expect(stuck.afterHours).toBe(W);
    expect(Math.abs(Date.parse(stuck.changedBefore) - (Date.now() - W * HOUR))).toBeLessThan(60_000);
    expect(stuck.count).toBe(2);
    expect(stuck.events.map((e) => e.id)).toEqual([older, old]);
    expect(stuck.events[0]).toMatchObject({
      type: "workorder.updated",
      status: "accepted",
      attempts: 2,
      lastError: "erp-sync: ERP: HTTP 503",
    });
    expect(stuck.events[1]).not.toHaveProperty("lastError");
    expect(stuck.events[1]).not.toHaveProperty("nextAttemptAt");
    expect(Date.parse(stuck.events[1]?.updatedAt ?? "")).toBeLessThan(Date.now() - W * HOUR);
  });

  it("counts a retrying event whose next attempt is more than an hour overdue, never one waiting for a hold", async () => {
    const overdue = await loggedSince(5, "retrying", "erp-sync: ERP: HTTP 503", 2);
    await loggedSince(5, "retrying", "erp-sync: ERP: HTTP 503", 0.5);
    await loggedSince(W + 100, "retrying", "erp-sync: held, waiting for its release", null);
    const accepted = await loggedSince(W + 1);

    const stuck = await stuckOfStatus();
    expect(stuck.count).toBe(2);
    expect(stuck.events.map((e) => e.id)).toEqual([accepted, overdue]);
    expect(stuck.events[1]).toMatchObject({ status: "retrying", nextAttemptAt: expect.any(String) });
    expect(Date.parse(stuck.events[1]?.nextAttemptAt ?? "")).toBeLessThan(Date.now() - HOUR);
  });

  it("lists the 20 oldest and counts them all", async () => {
    for (let i = 0; i < 23; i++) await loggedSince(W + 8 + i);
    const stuck = await stuckOfStatus();
    expect(stuck.count).toBe(23);
    expect(stuck.events).toHaveLength(20);
    expect(stuck.events[0]?.id).toMatch(new RegExp(`-${W + 30}h$`));
  });

  it("answers a count of 0 and no events when nothing is stuck", async () => {
    await loggedSince(1);
    expect(await stuckOfStatus()).toMatchObject({ count: 0, events: [] });
  });
});
