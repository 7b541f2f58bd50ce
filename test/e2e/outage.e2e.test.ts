// Outlasting an outage under `wrangler dev` (docs/operations.md, "Retries and holds"), scaled down
// from hours to seconds. Two Workers, each with its own stub ERP and a stub operator alert channel
// on 127.0.0.1, run side by side:
// - an ERP that answers 503 for longer than five retries' worth of a short RETRY_SCHEDULE, and
//   longer than ALERT_RETRYING_MINUTES: the completions stay `retrying` (not `dead`), one alert
//   names them, and once the ERP is back each reaches it once and one "recovered" note goes;
// - erp-sync held for longer than its whole schedule: the completions wait without calling the ERP
//   or using a retry, and after the release each reaches it once; the hold and release are alerted.

import { afterAll, beforeAll, beforeEach, describe, it } from "vitest";
import { startWranglerDev } from "../../tools/wrangler-dev";
import { statusChangeBody } from "../helpers/deliveries";
import { plainRequest, postMaintainXDelivery } from "../helpers/node/http";
import { type RecordedRequest, startStubServer } from "../helpers/node/stub-server";

const SECRET = "e2e-outage-webhook-secret";
const ADMIN_TOKEN = "e2e-outage-admin-token";
const ERP_PATH = "/erp/e2e-outage-erp-token";
/** The schedule's jitter: a retry waits up to 25 % more than its delay. */
const JITTER = 1.25;

/**
 * The outage Worker's schedule: its first five delays add up to 14 s, so five retries (the
 * schedule RETRY_BASE_SECONDS alone gives) would have ended the completions `dead` long before the
 * ERP is back; the whole of it (126 s) outlasts the outage (a little over a minute) with room.
 */
const OUTAGE_SCHEDULE = [2, 2, 3, 3, 4, ...Array.from({ length: 14 }, () => 8)];
/** The hold Worker's schedule: the completions wait longer than all of it. */
const HOLD_SCHEDULE = [1, 1, 2];
const scheduleText = (delays: readonly number[]) => delays.map((seconds) => `${seconds}s`).join(",");
const sum = (delays: readonly number[]) => delays.reduce((a, b) => a + b, 0);
const ALERT_RETRYING_MINUTES = 1;

interface EventDetail {
  event: {
    id: string;
    status: string;
    attempts: number;
    nextAttemptAt?: string;
    lastError?: string;
    outcomes: Array<{ handler: string; status: string; held?: true }>;
  };
  attempts: Array<{ handler: string; attempt: number; at: string; outcome: string; status?: number; error?: string }>;
}

interface HandlerEntry {
  name: string;
  held: boolean;
  heldSince?: string;
  reason?: string;
  waiting: number;
  requeued?: number;
}

interface Status {
  events: Record<string, number>;
  retry: { schedule: number[]; totalSeconds: number };
  handlers: { held: string[] };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown by a probe when waiting longer cannot help: `until` fails at once with it. */
class Hopeless extends Error {}

/** Polls `probe` until it returns a value; fails naming `what` and the last error seen. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const found = await probe().catch((error: unknown) => {
      if (error instanceof Hopeless) throw error;
      last = error;
      return undefined;
    });
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    }
    await pause(500);
  }
}

let uniqueBase = 7_300_000 + Math.floor(Math.random() * 1000) * 1000;
const uniqueWorkOrderId = () => {
  uniqueBase += 7;
  return uniqueBase;
};

/** One Worker under `wrangler dev` with its stub ERP (down while `erpDown`) and alert channel. */
async function startSetup(vars: Record<string, string>) {
  const [erp, alerts] = await Promise.all([startStubServer("erp"), startStubServer("alerts")]);
  const state = { erpDown: false, lastAnsweredAt: 0 };
  /** The status each ERP request was answered with. */
  const answered = new WeakMap<RecordedRequest, number>();
  erp.respondWith((request) => {
    const status = state.erpDown ? 503 : 200;
    answered.set(request, status);
    state.lastAnsweredAt = Date.now();
    return status === 503 ? { status, body: "ERP maintenance" } : { status, body: { ok: true } };
  });
  const dev = await startWranglerDev({
    vars: {
      MAINTAINX_WEBHOOK_SECRET: SECRET,
      ERP_WEBHOOK_URL: `${erp.url}${ERP_PATH}`,
      ALERT_WEBHOOK_URL: `${alerts.url}/services/T0/B0/e2e-outage-alerts`,
      ADMIN_TOKEN,
      POLL_MODE: "off",
      ...vars,
    },
  });

  async function admin<T>(path: string, init: { method?: string; body?: string } = {}) {
    const response = await plainRequest(`${dev.url}/admin${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    return { status: response.status, body: JSON.parse(response.text) as T };
  }

  const detail = async (id: string) => {
    const { status, body } = await admin<EventDetail>(`/events/${id}`);
    if (status !== 200) throw new Error(`GET /admin/events/${id}: ${status} ${JSON.stringify(body)}`);
    // No completion may end failed or dead here: a poll for anything else stops at once.
    if (["failed", "dead"].includes(body.event.status)) {
      throw new Hopeless(`event ${id} ended ${body.event.status}: ${body.event.lastError ?? "no error recorded"}`);
    }
    return body;
  };

  return {
    dev,
    erp,
    alerts,
    state,
    admin,
    detail,
    details: (ids: readonly string[]) => Promise.all(ids.map(detail)),
    async status(): Promise<Status> {
      const { status, body } = await admin<Status>("/status");
      if (status !== 200) throw new Error(`GET /admin/status: ${status}`);
      return body;
    },
    /** `/__scheduled` answers once the scheduled run (the alerts' steps included) has finished. */
    async runCron(): Promise<void> {
      const response = await plainRequest(`${dev.url}/__scheduled?cron=*+*+*+*+*`);
      if (response.status !== 200) throw new Error(`/__scheduled answered ${response.status}: ${response.text}`);
    },
    /** Signed WORK_ORDER_STATUS_CHANGE deliveries to DONE, one per id; resolves with the event ids. */
    async complete(workOrderIds: readonly number[]) {
      const bodies = workOrderIds.map((id) => statusChangeBody(id, Date.now(), "DONE"));
      const sent = await Promise.all(
        bodies.map((body) => postMaintainXDelivery(dev.url, SECRET, "WORK_ORDER_STATUS_CHANGE", body)),
      );
      return { bodies, sent };
    },
    /** Every ERP request by its Idempotency-Key, and those of them answered 2xx. */
    erpByKey(key: string) {
      const all = erp.requests.filter((r) => r.headers["idempotency-key"] === key);
      return { all, ok: all.filter((r) => (answered.get(r) ?? 0) < 300) };
    },
    alertTexts: () => alerts.requests.map((r) => String((r.json as { text?: unknown } | undefined)?.text ?? "")),
    async stop() {
      await dev?.stop();
      await Promise.all([erp.close(), alerts.close()]);
    },
  };
}

type Setup = Awaited<ReturnType<typeof startSetup>>;

const erpAttempts = (d: EventDetail, outcome: string) =>
  d.attempts.filter((a) => a.handler === "erp-sync" && a.outcome === outcome);

let outage: Setup;
let hold: Setup;

beforeAll(async () => {
  const started = await Promise.allSettled([
    startSetup({
      RETRY_SCHEDULE: scheduleText(OUTAGE_SCHEDULE),
      ALERT_RETRYING_MINUTES: String(ALERT_RETRYING_MINUTES),
    }),
    // Its retrying alert is off: this Worker's channel gets the hold and release alerts alone.
    startSetup({ RETRY_SCHEDULE: scheduleText(HOLD_SCHEDULE), ALERT_RETRYING_MINUTES: "0" }),
  ]);
  const [first, second] = started;
  if (first?.status === "fulfilled") outage = first.value;
  if (second?.status === "fulfilled") hold = second.value;
  // Both are started before either failure is thrown, so afterAll stops whichever did start.
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}, 180_000);

afterAll(async () => {
  await Promise.all([outage?.stop(), hold?.stop()]);
}, 60_000);

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    for (const [name, setup] of [
      ["outage", outage],
      ["hold", hold],
    ] as const) {
      if (!setup) continue;
      console.error(`${name} Worker's alerts:\n${setup.alertTexts().join("\n---\n")}`);
      console.error(`${name} Worker's wrangler dev logs:\n${setup.dev.logs()}`);
    }
  });
});

// The two Workers are independent, so their scenarios run at the same time.
describe.concurrent("an ERP outage under wrangler dev", () => {
  it("completions outlast an ERP outage as retrying, are alerted once, and each reaches the ERP once", async ({
    expect,
  }) => {
    const s = outage;
    const statusBefore = await s.status();
    expect(statusBefore.retry).toEqual({
      schedule: OUTAGE_SCHEDULE,
      totalSeconds: sum(OUTAGE_SCHEDULE),
    });
    // The scenario's premise: five retries end well within the outage (over ALERT_RETRYING_MINUTES),
    // the whole schedule well after it.
    expect(sum(OUTAGE_SCHEDULE.slice(0, 5)) * JITTER).toBeLessThan(ALERT_RETRYING_MINUTES * 30);
    expect(statusBefore.retry.totalSeconds).toBeGreaterThan(ALERT_RETRYING_MINUTES * 60 * 2);

    s.state.erpDown = true;
    const { bodies, sent } = await s.complete([
      uniqueWorkOrderId(),
      uniqueWorkOrderId(),
      uniqueWorkOrderId(),
      uniqueWorkOrderId(),
    ]);
    for (const delivery of sent) expect(delivery.status).toBe(200);
    const ids = sent.map((d) => d.eventId);
    expect(new Set(ids).size).toBe(4);
    // MaintainX delivers one of them again: the same event, answered 200.
    const again = await postMaintainXDelivery(s.dev.url, SECRET, "WORK_ORDER_STATUS_CHANGE", bodies[0]);
    expect(again.status).toBe(200);
    expect(again.eventId).toBe(ids[0]);

    // While the ERP is down each is `retrying`, with its next attempt and the 503s in its log.
    const first = await until(
      "every completion retrying after a 503",
      async () => {
        const details = await s.details(ids);
        return details.every((d) => d.event.status === "retrying" && erpAttempts(d, "retry").length > 0)
          ? details
          : undefined;
      },
      60_000,
    );
    for (const d of first) {
      expect(d.event.nextAttemptAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
      expect(erpAttempts(d, "retry")[0]).toMatchObject({ handler: "erp-sync", outcome: "retry", status: 503 });
      expect(d.event.lastError).toMatch(/erp-sync.*503/);
      // The completion's other handlers went through on the first attempt, and are not run again.
      expect(d.attempts.filter((a) => a.handler === "completion-report")).toEqual([
        expect.objectContaining({ outcome: "ok", attempt: 1 }),
      ]);
    }
    const listed = await s.admin<{ events: Array<{ id: string; status: string; nextAttemptAt?: string }> }>(
      "/events?status=retrying&limit=100",
    );
    expect(listed.status).toBe(200);
    expect(listed.body.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    for (const e of listed.body.events) expect(e.status).toBe("retrying");
    const during = await s.status();
    expect(during.events).toMatchObject({ retrying: 4, dead: 0, failed: 0, processed: 0 });

    // Before the minute is up nothing is alerted.
    await s.runCron();
    expect(s.alertTexts()).toEqual([]);

    // More than five retries, and still retrying: the old five would have made them dead by now.
    await until(
      "more than five retries of every completion",
      async () => {
        const details = await s.details(ids);
        return details.every((d) => d.event.status === "retrying" && erpAttempts(d, "retry").length >= 7)
          ? details
          : undefined;
      },
      90_000,
    );
    expect((await s.status()).events).toMatchObject({ retrying: 4, dead: 0 });

    // ALERT_RETRYING_MINUTES after each became retrying (its first failed attempt), the cron alerts.
    const retryingSince = Math.max(...first.map((d) => Date.parse(erpAttempts(d, "retry")[0]?.at ?? "")));
    expect(Number.isFinite(retryingSince)).toBe(true);
    await pause(Math.max(0, retryingSince + ALERT_RETRYING_MINUTES * 60_000 + 2_000 - Date.now()));
    await s.runCron();
    const retryingAlerts = () => s.alertTexts().filter((text) => ids.some((id) => text.includes(id)));
    const [alert] = await until(
      "the retrying alert",
      async () => (retryingAlerts().length > 0 ? retryingAlerts() : undefined),
      30_000,
    );
    for (const id of ids) expect(alert).toContain(id);
    expect(alert).toMatch(/retrying/i);
    expect(alert).toContain("erp-sync");
    expect(alert).not.toContain("e2e-outage-erp-token");
    await s.runCron();
    expect(retryingAlerts()).toHaveLength(1);
    expect(s.alertTexts()).toHaveLength(1);
    for (const d of await s.details(ids)) expect(d.event.status).toBe("retrying");

    // The ERP comes back, at a quiet moment: no 503 is on its way to being recorded then, so its
    // recovery is one episode's end.
    await until(
      "a quiet moment at the ERP",
      async () => (Date.now() - s.state.lastAnsweredAt > 1_500 ? true : undefined),
      30_000,
    );
    s.state.erpDown = false;
    const recovered = await until(
      "every completion processed",
      async () => {
        const details = await s.details(ids);
        return details.every((d) => d.event.status === "processed") ? details : undefined;
      },
      60_000,
    );
    for (const d of recovered) {
      expect(erpAttempts(d, "ok")).toHaveLength(1);
      expect(d.event.nextAttemptAt).toBeUndefined();
    }
    expect((await s.status()).events).toMatchObject({ processed: 4, retrying: 0, dead: 0, failed: 0, accepted: 0 });

    // One "recovered" note for erp-sync, after a cron run; another run sends no second one.
    await s.runCron();
    const notes = () => s.alertTexts().filter((text) => /recover/i.test(text) && text.includes("erp-sync"));
    await until("the recovered note", async () => (notes().length > 0 ? notes() : undefined), 30_000);
    await s.runCron();
    expect(notes()).toHaveLength(1);
    expect(retryingAlerts()).toHaveLength(1);
    expect(s.alertTexts()).toHaveLength(2);

    // Each completion reached the ERP once, under its own Idempotency-Key; every 503 carried it too.
    for (const id of ids) {
      const { all, ok } = s.erpByKey(id);
      expect(ok, `ERP successes for ${id}`).toHaveLength(1);
      expect(all.length).toBeGreaterThanOrEqual(8);
    }
    expect(s.erp.requests.every((r) => ids.includes(r.headers["idempotency-key"] ?? ""))).toBe(true);
    expect(s.erp.requests.filter((r) => r.path !== ERP_PATH)).toEqual([]);
  }, 170_000);

  it("a held erp-sync waits past the whole schedule without a call or a retry; released, each completion reaches the ERP once", async ({
    expect,
  }) => {
    const s = hold;
    const held = await s.admin<HandlerEntry>("/handlers/erp-sync/hold", {
      method: "POST",
      body: JSON.stringify({ reason: "ERP upgrade until 18:00" }),
    });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ name: "erp-sync", held: true, reason: "ERP upgrade until 18:00", waiting: 0 });
    expect(held.body.heldSince).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    const holdAlerts = () => s.alertTexts().filter((text) => text.includes("erp-sync") && /\bheld\b/.test(text));
    await until("the hold alert", async () => (holdAlerts().length > 0 ? true : undefined), 30_000);
    expect(holdAlerts()[0]).toContain("ERP upgrade until 18:00");

    const { sent } = await s.complete([uniqueWorkOrderId(), uniqueWorkOrderId(), uniqueWorkOrderId()]);
    for (const delivery of sent) expect(delivery.status).toBe(200);
    const ids = sent.map((d) => d.eventId);

    const waiting = await until(
      "every completion waiting for erp-sync",
      async () => {
        const details = await s.details(ids);
        return details.every((d) => d.event.status === "retrying" && erpAttempts(d, "held").length > 0)
          ? details
          : undefined;
      },
      60_000,
    );
    for (const d of waiting) {
      expect(d.event.nextAttemptAt).toBeUndefined();
      expect(d.event.outcomes).toContainEqual(
        expect.objectContaining({ handler: "erp-sync", status: "held", held: true }),
      );
      expect(d.attempts.filter((a) => a.handler === "completion-report")).toEqual([
        expect.objectContaining({ outcome: "ok" }),
      ]);
    }
    const handlers = await s.admin<{ handlers: HandlerEntry[] }>("/handlers");
    expect(handlers.body.handlers.find((h) => h.name === "erp-sync")).toMatchObject({ held: true, waiting: 3 });
    expect((await s.status()).handlers.held).toEqual(["erp-sync"]);

    // Longer than the whole schedule (and its jitter): a hold uses no retry and makes nothing dead.
    await pause(sum(HOLD_SCHEDULE) * JITTER * 1000 + 4_000);
    for (const d of await s.details(ids)) {
      expect(d.event.status).toBe("retrying");
      expect(d.event.attempts).toBe(1);
      expect(erpAttempts(d, "held")).toHaveLength(1);
      expect(erpAttempts(d, "retry")).toHaveLength(0);
    }
    expect((await s.status()).events).toMatchObject({ retrying: 3, dead: 0, failed: 0 });
    expect(s.erp.requests).toEqual([]);

    const released = await s.admin<HandlerEntry>("/handlers/erp-sync/release", { method: "POST" });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ name: "erp-sync", held: false, requeued: 3 });
    await until(
      "every completion processed after the release",
      async () => {
        const details = await s.details(ids);
        return details.every((d) => d.event.status === "processed") ? details : undefined;
      },
      60_000,
    );
    for (const id of ids) {
      const { all, ok } = s.erpByKey(id);
      expect(all, `ERP requests for ${id}`).toHaveLength(1);
      expect(ok).toHaveLength(1);
    }
    expect(s.erp.requests).toHaveLength(3);
    const releaseAlerts = () => s.alertTexts().filter((text) => text.includes("erp-sync") && /released/.test(text));
    await until("the release alert", async () => (releaseAlerts().length > 0 ? true : undefined), 30_000);
    expect(holdAlerts()).toHaveLength(1);
    expect(releaseAlerts()).toHaveLength(1);
    const after = await s.admin<{ handlers: HandlerEntry[] }>("/handlers");
    expect(after.body.handlers.find((h) => h.name === "erp-sync")).toMatchObject({ held: false, waiting: 0 });
  }, 120_000);
});
