// The poller's cursor (KV `poll:cursor`, see keys.ts) and its last-run record (D1
// `poll_state`, written every minute, which would exhaust KV's free daily writes).

import { POLL_CURSOR_KEY, POLL_READ_AT_CURSOR_KEY } from "./keys";

export type PollOutcome =
  | "ok"
  | "partial"
  | "empty"
  | "failed"
  | "rate_limited"
  | "skipped_rate_limited"
  | "skipped_webhooks_flowing"
  | "skipped_overlap"
  | "skipped_no_api_key"
  | "off";

export interface PollState {
  lastRunAt: string;
  outcome: PollOutcome;
  pages: number;
  events: number;
  /** ISO time before which runs are skipped (after a 429). */
  skippedUntil: string | null;
  error?: string;
}

export async function readCursor(kv: KVNamespace): Promise<string | null> {
  return kv.get(POLL_CURSOR_KEY);
}

export async function writeCursor(kv: KVNamespace, cursor: string): Promise<void> {
  await kv.put(POLL_CURSOR_KEY, cursor);
}

/**
 * The work orders whose version at exactly the cursor's `updatedAt` a query has read. Every later
 * query reads them again (`updatedAt[gte]=<cursor>`), after their dedupe keys and event rows may
 * be gone: the poller skips them, so a version read is never an event twice.
 */
export interface ReadAtCursor {
  at: string;
  ids: string[];
}

export async function readReadAtCursor(kv: KVNamespace): Promise<ReadAtCursor | null> {
  const read = await kv.get<Partial<ReadAtCursor>>(POLL_READ_AT_CURSOR_KEY, "json");
  return typeof read?.at === "string" && Array.isArray(read.ids) ? { at: read.at, ids: read.ids.map(String) } : null;
}

export async function writeReadAtCursor(kv: KVNamespace, read: ReadAtCursor): Promise<void> {
  await kv.put(POLL_READ_AT_CURSOR_KEY, JSON.stringify(read));
}

export async function readPollState(db: D1Database): Promise<PollState | null> {
  const row = await db
    .prepare("SELECT last_run_at, outcome, pages, events, skipped_until, error FROM poll_state WHERE id = 1")
    .first<{
      last_run_at: string;
      outcome: PollOutcome;
      pages: number;
      events: number;
      skipped_until: string | null;
      error: string | null;
    }>();
  if (!row) return null;
  const state: PollState = {
    lastRunAt: row.last_run_at,
    outcome: row.outcome,
    pages: row.pages,
    events: row.events,
    skippedUntil: row.skipped_until,
  };
  if (row.error !== null) state.error = row.error;
  return state;
}

export async function writePollState(db: D1Database, state: PollState): Promise<void> {
  await db
    .prepare(
      `INSERT INTO poll_state (id, last_run_at, outcome, pages, events, skipped_until, error)
       VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (id) DO UPDATE SET last_run_at = excluded.last_run_at, outcome = excluded.outcome,
         pages = excluded.pages, events = excluded.events, skipped_until = excluded.skipped_until,
         error = excluded.error`,
    )
    .bind(state.lastRunAt, state.outcome, state.pages, state.events, state.skippedUntil, state.error ?? null)
    .run();
}

/** Where an unfinished polling query goes on (D1 `poll_resume`; see the migration for why). */
export interface PollResume {
  /** The query's `updatedAt[gte]`: the cursor it started from. */
  since: string;
  /** MaintainX's `nextCursor` for the query's next page. */
  pageCursor: string;
  /** The newest `updatedAt` the query has queued so far. */
  newest: string | null;
  /** When the place was last saved (set on write). */
  savedAt?: string;
}

export async function readPollResume(db: D1Database): Promise<PollResume | null> {
  const row = await db
    .prepare("SELECT since, page_cursor, newest, saved_at FROM poll_resume WHERE id = 1")
    .first<{ since: string; page_cursor: string; newest: string | null; saved_at: string }>();
  return row ? { since: row.since, pageCursor: row.page_cursor, newest: row.newest, savedAt: row.saved_at } : null;
}

export async function writePollResume(db: D1Database, resume: PollResume | null): Promise<void> {
  if (resume === null) {
    await db.prepare("DELETE FROM poll_resume WHERE id = 1").run();
    return;
  }
  await db
    .prepare(
      `INSERT INTO poll_resume (id, since, page_cursor, newest, saved_at) VALUES (1, ?1, ?2, ?3, ?4)
       ON CONFLICT (id) DO UPDATE SET since = excluded.since, page_cursor = excluded.page_cursor,
         newest = excluded.newest, saved_at = excluded.saved_at`,
    )
    .bind(resume.since, resume.pageCursor, resume.newest, new Date().toISOString())
    .run();
}
