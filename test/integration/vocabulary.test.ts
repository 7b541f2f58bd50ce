// `GET /admin/vocabulary` (docs/console.md): the statuses, canonical types, filters and limits the
// console offers. Checked against the type table itself, against what the listing and the bulk
// replay take, and against the console's script, which must take its choices from this route.

import { describe, expect, it } from "vitest";
import { canonicalType } from "../../src/events/canonical";
import { MAINTAINX_EVENT_TYPES } from "../../src/events/maintainx-types";
import { ENDING_TYPE } from "../../src/events/work-order";
import { EVENT_STATUSES } from "../../src/store/event-status";
import { BASE } from "../helpers/deliveries";
import { callWorker } from "../helpers/worker";

const TOKEN = "vocabulary-admin-token";

interface Vocabulary {
  statuses: string[];
  types: string[];
  subjectKinds: string[];
  filters: string[];
  limits: { list: { default: number; max: number }; replay: { default: number; max: number } };
}

function admin(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return callWorker(new Request(`${BASE}/admin${path}`, { ...init, headers }), { ADMIN_TOKEN: TOKEN });
}

async function vocabulary(): Promise<Vocabulary> {
  const response = await admin("/vocabulary");
  expect(response.status).toBe(200);
  return (await response.json()) as Vocabulary;
}

async function listingStatus(query: Record<string, string>): Promise<number> {
  const response = await admin(`/events?${new URLSearchParams(query)}`);
  await response.arrayBuffer();
  return response.status;
}

async function dryRunStatus(body: Record<string, unknown>): Promise<number> {
  const response = await admin("/events/replay", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, dryRun: true }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("GET /admin/vocabulary", () => {
  it("is behind the admin token like every other JSON route", async () => {
    const missing = await admin("/vocabulary", { token: null });
    expect(missing.status).toBe(401);
    await missing.arrayBuffer();
    const off = await callWorker(new Request(`${BASE}/admin/vocabulary`, { headers: { authorization: "Bearer x" } }));
    expect(off.status).toBe(404);
    await off.arrayBuffer();
  });

  it("lists every canonical type of the table and the poller's endings, and nothing else", async () => {
    const { types } = await vocabulary();
    const expected = [...new Set([...MAINTAINX_EVENT_TYPES.map(canonicalType), ...Object.values(ENDING_TYPE)])].sort();
    expect(types).toEqual(expected);
    expect(types).toHaveLength(49);
    expect(types).toContain("meter.trigger_state_changed");
    expect(types).not.toContain("meter.trigger_status_changed");
  });

  it("lists the log's statuses, the same ones /admin/status counts", async () => {
    const { statuses } = await vocabulary();
    expect(statuses).toEqual([...EVENT_STATUSES]);
    const status = (await (await admin("/status")).json()) as { events: Record<string, number> };
    expect(Object.keys(status.events).sort()).toEqual([...statuses].sort());
  });

  it("names only filters, statuses and types that the listing and the bulk replay take", async () => {
    const words = await vocabulary();
    const sample: Record<string, string> = {
      status: "failed",
      type: "workorder.created",
      workOrderId: "4821337",
      subject: `${words.subjectKinds[0]}:1`,
      since: "2026-12-01T00:00:00Z",
      until: "2026-12-02T00:00:00Z",
    };
    expect(Object.keys(sample).sort()).toEqual([...words.filters].sort());
    for (const name of words.filters) {
      expect(await listingStatus({ [name]: sample[name] as string }), name).toBe(200);
      expect(await dryRunStatus({ [name]: sample[name] }), name).toBe(200);
    }
    for (const status of words.statuses) expect(await listingStatus({ status }), status).toBe(200);
    for (const type of words.types) expect(await listingStatus({ type }), type).toBe(200);
    for (const kind of words.subjectKinds) expect(await listingStatus({ subject: `${kind}:7` }), kind).toBe(200);
    expect(await listingStatus({ status: "pending" })).toBe(400);
  });

  it("gives the limits the listing and the bulk replay enforce", async () => {
    const { limits } = await vocabulary();
    expect(limits).toEqual({ list: { default: 50, max: 1000 }, replay: { default: 100, max: 1000 } });
    expect(await listingStatus({ limit: String(limits.list.max) })).toBe(200);
    expect(await listingStatus({ limit: String(limits.list.max + 1) })).toBe(400);
    expect(await dryRunStatus({ status: "failed", limit: limits.replay.max })).toBe(200);
    expect(await dryRunStatus({ status: "failed", limit: limits.replay.max + 1 })).toBe(400);
  });
});

describe("the console's choices", () => {
  it("come from the route: its script names no canonical type of its own", async () => {
    const { types } = await vocabulary();
    const response = await callWorker(new Request(`${BASE}/admin/console.js`), { ADMIN_TOKEN: TOKEN });
    expect(response.status).toBe(200);
    const script = await response.text();
    expect(script).toContain('"/admin/vocabulary"');
    for (const type of [...types, "meter.trigger_status_changed"]) expect(script, type).not.toContain(`"${type}"`);
  });
});
