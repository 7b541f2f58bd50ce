// Operator routes under /admin (docs/console.md), all behind requireAdminToken.

import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import type { z } from "zod";
import { alertHandlerHold } from "../alerts/handler-holds";
import { readConfig } from "../config";
import type { HandlerRegistry } from "../contract/registry";
import {
  BULK_REPLAY_LEASE_MINUTES,
  replayEvent,
  replayEvents,
  requeueReleased,
  withBulkReplayLock,
} from "../ingest/requeue";
import { EnqueueError } from "../ingest/send";
import { httpError } from "../lib/http-error";
import { describeError, log } from "../lib/log";
import { countEventsByStatus, getEventSummary, lastWebhookAt, listEvents, loadStoredEvent } from "../store/event-log";
import {
  type HandlerState,
  heldHandlerNames,
  holdHandler,
  listAttempts,
  listHandlerStates,
  releaseHandler,
  waitingHandlersOf,
} from "../store/handlers";
import { reportKey } from "../store/keys";
import { readCursor, readPollState } from "../store/poll-state";
import { listSideEffects } from "../store/side-effects";
import { listStuckEvents, STUCK_AFTER_HOURS, stuckCutoffs } from "../store/stuck-events";
import { getMirroredWorkOrder } from "../store/work-orders";
import { requireAdminToken } from "./auth";
import {
  BulkReplayBody,
  CURSOR_FILTERS_MESSAGE,
  CURSOR_MESSAGE,
  decodeCursor,
  EventListQuery,
  encodeCursor,
  filterOf,
  filtersHash,
  NO_FILTER_MESSAGE,
} from "./event-query";
import { MAX_HOLD_REASON_CHARS, VOCABULARY } from "./vocabulary";

const admin = new Hono<{ Bindings: Env }>();

/** Every /admin JSON route behind the bearer token; `registry` names the handlers. */
export function adminRoutes(registry: HandlerRegistry): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();
  routes.use("*", requireAdminToken());
  routes.route("/", admin);
  routes.route("/handlers", handlerRoutes(registry));
  return routes;
}

/** A query that fails its schema is a 400 naming the first problem. */
const validQuery = <T extends z.ZodType>(schema: T) =>
  zValidator("query", schema, (result) => {
    if (!result.success) throw httpError(400, result.error.issues[0]?.message ?? "Malformed query");
  });

/** Newest first, filtered, one page at a time (docs/console.md; ARCHITECTURE.md, "Listing events"). */
admin.get("/events", validQuery(EventListQuery), async (c) => {
  const query = c.req.valid("query");
  const filter = filterOf(query);
  const hash = await filtersHash(filter);
  let after: { receivedAt: string; rowid: number } | undefined;
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    if (!cursor) throw httpError(400, CURSOR_MESSAGE);
    if (cursor.hash !== hash) throw httpError(400, CURSOR_FILTERS_MESSAGE);
    after = cursor.position;
  }
  const page = await listEvents(c.env.DB, filter, { limit: query.limit, after });
  return c.json({ events: page.events, nextCursor: page.next ? encodeCursor(page.next, hash) : null });
});

/**
 * Replays the events that match, newest first, up to `limit`, each as the single replay route
 * does; a dry run only lists them. What was queued before a refusal is in the 503's answer. A run
 * lists and replays holding the bulk replay lock: started while another runs, it is refused (409)
 * before it lists anything, so no event is queued twice.
 */
admin.post("/events/replay", async (c) => {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    body = undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw httpError(400, 'Body must be a JSON object of filters, e.g. {"status":"failed"}');
  }
  const parsed = BulkReplayBody.safeParse(body);
  if (!parsed.success) throw httpError(400, parsed.error.issues[0]?.message ?? "Malformed body");
  const filter = filterOf(parsed.data);
  if (Object.keys(filter).length === 0) throw httpError(400, NO_FILTER_MESSAGE);

  const matching = async () =>
    (await listEvents(c.env.DB, filter, { limit: parsed.data.limit })).events.map((event) => event.id);
  if (parsed.data.dryRun === true) {
    const ids = await matching();
    return c.json({ dryRun: true, matched: ids.length, ids });
  }

  const work = withBulkReplayLock(c.env, async (stopAtMs) => {
    const ids = await matching();
    return { asked: ids.length, ...(await replayEvents(c.env, ids, { stopAtMs })) };
  });
  // A client that gives up (the CLI's timeout) would cancel the replay between a reopen and its
  // send, and leave the lock held until its lease ends; this lets it run on to its end (up to 30 s).
  keepRunning(
    c,
    work.catch(() => {}),
  );
  const outcome = await work;
  if (outcome === "busy") {
    throw httpError(
      409,
      `Another bulk replay is running; try again when it has ended (in ${BULK_REPLAY_LEASE_MINUTES} minutes at most)`,
    );
  }
  if (outcome === "unavailable") throw httpError(503, "Bulk replay could not start: D1 did not answer; try again");
  const { asked, replayed, stopped } = outcome.ran;
  if (stopped !== undefined) {
    const why = {
      budget: "the rest did not fit in one request's subrequests",
      time: `the rest did not fit in the ${BULK_REPLAY_LEASE_MINUTES} minutes a bulk replay may take`,
      unavailable: "the queue or storage refused the rest",
    }[stopped];
    return c.json(
      {
        error: `Replayed ${replayed.length} of ${asked} events: ${why}; the others are unchanged, try again`,
        replayed: replayed.length,
        ids: replayed,
      },
      503,
    );
  }
  return c.json({ replayed: replayed.length, ids: replayed }, 202);
});

/**
 * The statuses, canonical types, subject kinds, filters and limits the two routes above take; the
 * console offers exactly these, read once when it starts.
 */
admin.get("/vocabulary", (c) => c.json(VOCABULARY));

admin.get("/events/:id", async (c) => {
  const id = c.req.param("id");
  const [summary, stored, effects, attempts, waitingFor] = await Promise.all([
    getEventSummary(c.env.DB, id),
    loadStoredEvent(c.env.DB, id),
    listSideEffects(c.env.DB, id),
    listAttempts(c.env.DB, id),
    waitingHandlersOf(c.env.DB, id),
  ]);
  const event = stored?.event;
  if (!summary || !event) throw httpError(404, "Event not found");
  // A skipped handler says why (`reason`), a done one what it did (`detail`); a handler the event
  // waits for while it is held shows as `held`.
  const outcomes: Array<Record<string, unknown> & { handler: string }> = effects.map(({ detail, ...outcome }) => ({
    ...outcome,
    ...(detail === undefined ? {} : outcome.status === "skipped" ? { reason: detail } : { detail }),
  }));
  for (const handler of waitingFor) {
    const outcome = outcomes.find((o) => o.handler === handler);
    if (outcome) Object.assign(outcome, { status: "held", held: true });
    else outcomes.push({ handler, status: "held", attempts: 0, held: true });
  }
  // The work order and subject the event is about, so the console can link its mirror row and report.
  const about = {
    ...(event.workOrderId !== undefined ? { workOrderId: event.workOrderId } : {}),
    ...(event.subject !== undefined ? { subject: `${event.subject.kind}:${event.subject.id}` } : {}),
  };
  // `attempts` beside `event`, whose own `attempts` is the count of the list fields.
  return c.json({ event: { ...summary, ...about, data: event.data, outcomes }, attempts });
});

admin.post("/events/:id/replay", async (c) => {
  const id = c.req.param("id");
  let outcome: Awaited<ReturnType<typeof replayEvent>>;
  try {
    outcome = await replayEvent(c.env, id);
  } catch (error) {
    if (error instanceof EnqueueError) throw httpError(503, "Replay could not be queued; try again");
    throw error;
  }
  if (outcome === "not_found") throw httpError(404, "Event not found");
  return c.json({ status: "replaying", eventId: id }, 202);
});

admin.get("/work-orders/:id", async (c) => {
  const workOrder = await getMirroredWorkOrder(c.env.DB, c.req.param("id"));
  if (!workOrder) throw httpError(404, "Work order not in the mirror");
  return c.json({ workOrder });
});

admin.get("/reports/:workOrderId", async (c) => {
  const wantsJson = (c.req.header("accept") ?? "").includes("application/json");
  const object = await c.env.REPORTS.get(reportKey(c.req.param("workOrderId"), wantsJson ? "json" : "html"));
  if (!object) throw httpError(404, "Report not found");
  return new Response(object.body, {
    headers: {
      "content-type": wantsJson ? "application/json" : "text/html; charset=utf-8",
      "cache-control": "no-store",
    },
  });
});

/** Stuck events `/admin/status` lists one by one, longest stuck first; it counts them all. */
const STUCK_LISTED = 20;

admin.get("/status", async (c) => {
  const { changedBefore, overdueBefore } = stuckCutoffs(Date.now());
  const config = readConfig(c.env);
  const [cursor, state, events, lastWebhook, stuck, held] = await Promise.all([
    readCursor(c.env.IDEMPOTENCY),
    readPollState(c.env.DB),
    countEventsByStatus(c.env.DB),
    lastWebhookAt(c.env.DB),
    listStuckEvents(c.env.DB, changedBefore, STUCK_LISTED, overdueBefore),
    heldHandlerNames(c.env.DB),
  ]);
  return c.json({
    poll: {
      cursor,
      lastRunAt: state?.lastRunAt ?? null,
      outcome: state?.outcome ?? null,
      pages: state?.pages ?? 0,
      events: state?.events ?? 0,
      skippedUntil: state?.skippedUntil ?? null,
    },
    events,
    // Accepted with no change for longer than the queues retry a message, or retrying with the
    // next attempt long overdue: nothing will settle them by themselves (docs/operations.md).
    stuck: {
      afterHours: STUCK_AFTER_HOURS,
      changedBefore,
      overdueBefore,
      count: stuck.count,
      retrying: stuck.retrying,
      events: stuck.events.map(({ lastError, ...event }) => ({ ...event, ...(lastError ? { lastError } : {}) })),
    },
    lastWebhookAt: lastWebhook ?? null,
    // The schedule in force: retry n waits the n-th delay (plus jitter), then the event is dead.
    retry: { schedule: config.retry.schedule, totalSeconds: config.retry.totalSeconds },
    handlers: { held },
    config: config.problems,
  });
});

/** Events a release queues again before it answers; the scheduled run queues the rest within a minute. */
const RELEASE_NOW = 2000;

/**
 * Handlers held and released (docs/operations.md, "Retries and holds"): a held handler is not
 * called; the events that need it wait as `retrying`, and its release queues them again.
 */
function handlerRoutes(registry: HandlerRegistry): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();
  const known = registry.handlers();
  const typesOf = (name: string) => known.find((h) => h.name === name)?.types ?? [];
  // Keys in the order the API lists them: name, types, then the state.
  const entry = ({ name, ...state }: HandlerState) => ({ name, types: typesOf(name), ...state });
  const named = (name: string) => {
    if (!known.some((h) => h.name === name)) {
      throw httpError(404, `No handler is named "${name}"; GET /admin/handlers lists them`);
    }
    return name;
  };

  routes.get("/", async (c) => {
    const states = await listHandlerStates(
      c.env.DB,
      known.map((h) => h.name),
    );
    return c.json({ handlers: states.map(entry) });
  });

  routes.post("/:name/hold", async (c) => {
    const name = named(c.req.param("name"));
    const reason = holdReason(await c.req.text());
    const state = await holdHandler(c.env.DB, name, reason ?? null);
    log.warn("Handler held", { handler: name, reason });
    const answer = entry(state);
    keepRunning(c, alertHandlerHold(c.env, answer, "held"));
    return c.json(answer);
  });

  routes.post("/:name/release", async (c) => {
    const name = named(c.req.param("name"));
    const wasHeld = await releaseHandler(c.env.DB, name);
    let requeued = 0;
    try {
      requeued = await requeueReleased(c.env, { handler: name, limit: RELEASE_NOW });
    } catch (error) {
      log.error("Events waiting for a released handler not queued yet; the scheduled run tries again", {
        handler: name,
        error: describeError(error),
      });
    }
    const [state] = await listHandlerStates(c.env.DB, [name]);
    if (!state) throw new Error(`No state read for handler ${name}`);
    const answer = { ...entry(state), requeued };
    if (wasHeld) {
      log.info("Handler released", { handler: name, requeued });
      keepRunning(c, alertHandlerHold(c.env, answer, "released"));
    }
    return c.json(answer);
  });
  return routes;
}

/**
 * Lets `work` run on after the answer (and after a client that gave up). Without an execution
 * context (app.request) the promise runs anyway, awaited by whoever holds it.
 */
function keepRunning(c: Context, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context: nothing to extend.
  }
}

/** The optional `{"reason"}` of a hold: an empty body is none, anything else must be that JSON. */
function holdReason(text: string): string | undefined {
  if (text.trim() === "") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw httpError(400, 'Body must be empty or JSON like {"reason":"ERP maintenance until 14:00"}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw httpError(400, 'Body must be empty or JSON like {"reason":"ERP maintenance until 14:00"}');
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== "string") throw httpError(400, "reason must be a string");
  const trimmed = reason.trim();
  if (Array.from(trimmed).length > MAX_HOLD_REASON_CHARS) {
    throw httpError(400, `reason must be at most ${MAX_HOLD_REASON_CHARS} characters`);
  }
  return trimmed === "" ? undefined : trimmed;
}
