// The polling fallback: lists work orders updated since the cursor and queues each as a
// `workorder.updated` event (plus its creation or ending inside the window, ingest/accept-polled.ts),
// deduped exactly like webhooks, so a missed webhook is never lost.
// The cursor moves only once a query was read to its end; a failed run leaves it.

import { type Config, readConfig } from "../config";
import { acceptPolledWorkOrders, type PolledWorkOrder } from "../ingest/accept-polled";
import { describeError, log } from "../lib/log";
import { type FetchLike, PermanentError } from "../lib/outbound";
import { type MaintainXClient, maintainXClientFor, RateLimitedError } from "../maintainx/client";
import { lastWebhookAt } from "../store/event-log";
import { acquireLock, releaseLock } from "../store/locks";
import {
  type PollOutcome,
  type PollResume,
  type PollState,
  readCursor,
  readPollResume,
  readPollState,
  readReadAtCursor,
  writeCursor,
  writePollResume,
  writePollState,
  writeReadAtCursor,
} from "../store/poll-state";

const LOCK_NAME = "poll";
/** Longer than any run can take (POLL_MAX_PAGES × OUTBOUND_TIMEOUT_SECONDS), shorter than forever. */
const LOCK_LEASE_MS = 15 * 60 * 1000;

interface PollDeps {
  fetch?: FetchLike;
  now?: () => number;
}

export async function pollWorkOrders(env: Env, deps: PollDeps = {}): Promise<PollState> {
  const config = readConfig(env);
  const now = deps.now ?? Date.now;
  const started = now();
  const record = async (outcome: PollOutcome, extra: Partial<PollState> = {}): Promise<PollState> => {
    const previous = await readPollState(env.DB).catch(() => null);
    const state: PollState = {
      lastRunAt: new Date(started).toISOString(),
      outcome,
      pages: 0,
      events: 0,
      skippedUntil:
        previous?.skippedUntil && Date.parse(previous.skippedUntil) > started ? previous.skippedUntil : null,
      ...extra,
    };
    await writePollState(env.DB, state).catch((error: unknown) =>
      log.warn("Poll state write failed", { error: describeError(error) }),
    );
    return state;
  };

  if (config.pollMode === "off")
    return { lastRunAt: new Date(started).toISOString(), outcome: "off", pages: 0, events: 0, skippedUntil: null };
  const client = maintainXClientFor(config, deps.fetch);
  if (!client) {
    log.info("Polling skipped: MAINTAINX_API_KEY is not set");
    return record("skipped_no_api_key");
  }

  const previous = await readPollState(env.DB);
  if (previous?.skippedUntil && Date.parse(previous.skippedUntil) > started) {
    log.info("Polling skipped: MaintainX rate limit in force", { skippedUntil: previous.skippedUntil });
    return record("skipped_rate_limited", { skippedUntil: previous.skippedUntil });
  }

  if (config.pollMode === "fallback" && (await webhooksFlowing(env.DB, config, started))) {
    log.info("Polling skipped: webhooks are arriving", { pollMode: "fallback" });
    return record("skipped_webhooks_flowing");
  }

  const holder = crypto.randomUUID();
  if (!(await acquireLock(env.DB, LOCK_NAME, holder, LOCK_LEASE_MS, started))) {
    log.info("Polling skipped: the previous run is still going");
    return record("skipped_overlap");
  }
  try {
    const saved = await readPollResume(env.DB);
    // Without a cursor (the first runs after installing), an unfinished first query still goes on.
    const cursor =
      (await readCursor(env.IDEMPOTENCY)) ??
      saved?.since ??
      new Date(started - config.pollInitialLookbackSeconds * 1000).toISOString();
    return await runPages(env, config, client, cursor, saved, started, record);
  } finally {
    await releaseLock(env.DB, LOCK_NAME, holder).catch((error: unknown) =>
      log.warn("Poll lock release failed; it expires by itself", { error: describeError(error) }),
    );
  }
}

async function webhooksFlowing(db: D1Database, config: Config, nowMs: number): Promise<boolean> {
  const last = await lastWebhookAt(db);
  return last !== undefined && nowMs - Date.parse(last) < config.pollFallbackAfterSeconds * 1000;
}

/**
 * A saved place not moved on for this long is dropped and the query read again from the cursor:
 * MaintainX's cursors are opaque and may expire in ways that do not answer with a 4xx.
 */
const SAVED_PLACE_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Reads one query (`updatedAt[gte]=<cursor>`) page by page. A run that stops early (POLL_MAX_PAGES,
 * or the rate-limit budget used up) saves its place, and the next run goes on from there; only a
 * query read to its end moves the cursor, so nothing is skipped however long the list, however
 * many work orders share one `updatedAt`, and whether or not the API honours the filter.
 */
async function runPages(
  env: Env,
  config: Config,
  client: MaintainXClient,
  cursor: string,
  saved: PollResume | null,
  started: number,
  record: (outcome: PollOutcome, extra?: Partial<PollState>) => Promise<PollState>,
): Promise<PollState> {
  const cursorMs = Date.parse(cursor);
  const receivedAt = new Date(started).toISOString();
  const stale = saved?.savedAt !== undefined && started - Date.parse(saved.savedAt) > SAVED_PLACE_MAX_AGE_MS;
  if (saved && stale) log.warn("Polling: the saved place is over an hour old; reading the query again from the cursor");
  const resumed = saved !== null && saved.since === cursor && !stale;
  let pageCursor = resumed ? saved.pageCursor : undefined;
  let newest = resumed && saved.newest ? { text: saved.newest, ms: Date.parse(saved.newest) } : undefined;
  let onSavedPlace = resumed;
  let pages = 0;
  let queued = 0;
  // Versions at exactly the cursor that an earlier query read: read again, never queued again.
  const stored = await readReadAtCursor(env.IDEMPOTENCY);
  const readBefore = new Set(stored?.at === cursor ? stored.ids : []);
  // The work orders read at the newest updatedAt so far: where the cursor will stand.
  let atNewest = new Set<string>();

  const savePlace = (next: string) =>
    writePollResume(env.DB, { since: cursor, pageCursor: next, newest: newest?.text ?? null });
  const stopHere = async (next: string, extra: Partial<PollState>): Promise<PollState> => {
    await savePlace(next);
    return record("partial", { pages, events: queued, ...extra });
  };

  try {
    for (;;) {
      let page: Awaited<ReturnType<MaintainXClient["listWorkOrders"]>>;
      try {
        page = await client.listWorkOrders({ updatedSince: cursor, limit: config.pollPageSize, cursor: pageCursor });
      } catch (error) {
        // A saved place can go stale (MaintainX's cursors are opaque and may expire): start the
        // query again from the cursor; what was queued already is deduped.
        if (!onSavedPlace || !(error instanceof PermanentError)) throw error;
        log.warn("Polling: MaintainX refused the saved place; reading the query again from the cursor", {
          error: describeError(error),
        });
        onSavedPlace = false;
        pageCursor = undefined;
        continue;
      }
      onSavedPlace = false;
      pages += 1;
      // Older API versions ignore updatedAt[gte]: filter here as well.
      const fresh = page.workOrders.filter(
        (wo): wo is PolledWorkOrder => typeof wo.updatedAt === "string" && Date.parse(wo.updatedAt) >= cursorMs,
      );
      const unread = fresh.filter((wo) => Date.parse(wo.updatedAt) !== cursorMs || !readBefore.has(String(wo.id)));
      queued += await acceptPolledWorkOrders(env, unread, receivedAt, cursor);
      for (const wo of fresh) {
        const ms = Date.parse(wo.updatedAt);
        if (!newest || ms > newest.ms) {
          newest = { text: wo.updatedAt, ms };
          atNewest = new Set();
        }
        if (ms === newest.ms) atNewest.add(String(wo.id));
      }
      pageCursor = page.nextCursor ?? undefined;
      if (!pageCursor) break;
      if (page.rateLimit.remaining === 0) {
        // Out of budget: stop here and go on from this page once the window has reset.
        const wait = page.rateLimit.resetSeconds ?? 60;
        const skippedUntil = new Date(started + wait * 1000).toISOString();
        log.warn("Polling paused: MaintainX rate limit budget used up", { pages, events: queued, skippedUntil });
        return await stopHere(pageCursor, { skippedUntil });
      }
      if (pages >= config.pollMaxPages) {
        log.info("Polling run stopped at POLL_MAX_PAGES; the next run goes on from here", { pages, events: queued });
        return await stopHere(pageCursor, {});
      }
    }
  } catch (error) {
    // What this run read is queued: the next run goes on after it, not from the old place again.
    if (pages > 0 && pageCursor) {
      await savePlace(pageCursor).catch((saveError: unknown) =>
        log.warn("Polling: could not save the place", { error: describeError(saveError) }),
      );
    }
    if (error instanceof RateLimitedError) {
      const skippedUntil = new Date(started + (error.retryAfterSeconds ?? 60) * 1000).toISOString();
      log.warn("Polling stopped: MaintainX answered 429", { pages, skippedUntil });
      return record("rate_limited", { pages, events: queued, skippedUntil, error: describeError(error) });
    }
    log.error("Polling run failed; cursor kept", { pages, error: describeError(error) });
    return record("failed", { pages, events: queued, error: describeError(error) });
  }

  // The query was read to its end: every work order updated at or after the cursor was queued.
  // The cursor never passes the run's start: a work order dated in the future (a skewed clock)
  // would otherwise carry it past changes made between now and then, which would never be read.
  let moved = cursor;
  if (newest) {
    const target = newest.ms > started ? new Date(started).toISOString() : newest.text;
    const ms = Date.parse(target);
    // Written before the cursor moves onto it, and only when it changed (KV writes are counted).
    const read = ms === newest.ms ? new Set([...atNewest, ...(ms === cursorMs ? readBefore : [])]) : new Set<string>();
    if (ms !== cursorMs || read.size > readBefore.size) {
      await writeReadAtCursor(env.IDEMPOTENCY, { at: target, ids: [...read] });
    }
    if (ms > cursorMs) {
      await writeCursor(env.IDEMPOTENCY, target);
      moved = target;
    }
    if (newest.ms > started) {
      log.warn("Polling: a work order is updated in the future; cursor held at the run's start", {
        newest: newest.text,
      });
    }
  }
  if (saved !== null) await writePollResume(env.DB, null);
  const outcome: PollOutcome = queued === 0 && !newest ? "empty" : "ok";
  log.info("Polling run finished", { outcome, pages, events: queued, cursor: moved });
  return record(outcome, { pages, events: queued });
}
