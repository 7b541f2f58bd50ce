// The D1 event log: every event, its status and attempts, and its data for inspection and replay.

import { type CanonicalEvent, subjectOf } from "../events/canonical";
import { type DataJson, dataJson, dataJsonText, parseDataJson } from "../events/data-json";
import { subjectKey, subjectOfEvent, summaryOf } from "../events/summary";
import { isEndingType, routedEndingType } from "../events/work-order";
import type { Subrequests } from "../lib/subrequests";
import { EVENT_STATUSES, type EventStatus } from "./event-status";

export type { EventStatus } from "./event-status";

/**
 * Inserts the event as `accepted` unless it is already logged (first writer wins). `stored` is the
 * data's JSON as it came, for an event whose data went by claim check: kept as is, it stays within
 * D1's row limit, where the re-serialised data might not.
 */
export async function recordAccepted(db: D1Database, event: CanonicalEvent, stored?: DataJson): Promise<void> {
  await insertStatement(db, event, stored).run();
}

/** The row's insert; its subject and summary are written with it, once (ARCHITECTURE.md, "Listing events"). */
export function insertStatement(db: D1Database, event: CanonicalEvent, stored?: DataJson): D1PreparedStatement {
  const subject = subjectOfEvent(event);
  return db
    .prepare(
      `INSERT INTO events (id, type, source_type, source, work_order_id, occurred_at, received_at, status, attempts, data, data_field, updated_at, subject, summary, routed_type)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'accepted', 0, ?8, ?9, ?10, ?11, ?12, ?13)
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      event.id,
      event.type,
      event.sourceType,
      event.source,
      event.workOrderId ?? null,
      event.occurredAt ?? null,
      event.receivedAt,
      stored ? dataJsonText(stored) : JSON.stringify(event.data),
      stored?.field ?? null,
      new Date().toISOString(),
      subject ? subjectKey(subject) : null,
      summaryOf(event) ?? null,
      routedEndingType(event) ?? null,
    );
}

/** The event, and its data's JSON as the row keeps it: loadStoredEvents for a batch of one. */
export async function loadStoredEvent(db: D1Database, id: string): Promise<StoredEvent | undefined> {
  return (await loadStoredEvents(db, [id])).found.get(id);
}

/** An event and its data's JSON as the row keeps it (a replay can send that on as it is). */
export interface StoredEvent {
  event: CanonicalEvent;
  stored: DataJson;
}

function storedEventOf(row: EventRow): StoredEvent {
  const stored = dataJson(row.data, row.data_field);
  return { event: rowToEvent(row, parseDataJson(stored) ?? {}), stored };
}

/** D1 binds at most 100 parameters per query: the most ids one of the batch reads below takes. */
export const MAX_IDS_PER_QUERY = 90;
/** Rows whose data is up to this many characters come back with the batch; larger ones are read alone. */
const BATCH_DATA_CHARS = 16 * 1024;

/**
 * The events with these ids, in one D1 call (charged to `calls` when given). One event comes with
 * its data whatever its size; several come with theirs only when it is small, since a batch of
 * rows of up to 1 MB each could outgrow the Worker's memory: `large` lists the ids whose data is
 * to be read as batches of one. Unknown ids are left out.
 */
export async function loadStoredEvents(
  db: D1Database,
  ids: readonly string[],
  calls?: Subrequests,
): Promise<{ found: Map<string, StoredEvent>; large: string[] }> {
  const found = new Map<string, StoredEvent>();
  const large: string[] = [];
  if (ids.length === 0) return { found, large };
  const data = ids.length === 1 ? "data" : `CASE WHEN length(data) <= ${BATCH_DATA_CHARS} THEN data END AS data`;
  const query = db
    .prepare(
      `SELECT id, type, source_type, source, work_order_id, occurred_at, received_at, ${data}, data_field
       FROM events WHERE id IN (${placeholders(ids.length)})`,
    )
    .bind(...checkedIds(ids));
  calls?.charge();
  const { results } = await query.all<Omit<EventRow, "data"> & { data: string | null }>();
  for (const row of results) {
    if (row.data === null) large.push(row.id);
    else found.set(row.id, storedEventOf({ ...row, data: row.data }));
  }
  return { found, large };
}

function placeholders(count: number, from = 1): string {
  return Array.from({ length: count }, (_, i) => `?${from + i}`).join(", ");
}

function checkedIds(ids: readonly string[]): readonly string[] {
  if (ids.length > MAX_IDS_PER_QUERY) throw new RangeError(`At most ${MAX_IDS_PER_QUERY} ids per query`);
  return ids;
}

interface EventRow {
  id: string;
  type: string;
  source_type: string;
  source: "webhook" | "poll";
  work_order_id: string | null;
  occurred_at: string | null;
  received_at: string;
  data: string;
  data_field: string | null;
}

function rowToEvent(row: EventRow, data: Record<string, unknown>): CanonicalEvent {
  const event: CanonicalEvent = {
    id: row.id,
    type: row.type,
    sourceType: row.source_type,
    source: row.source,
    receivedAt: row.received_at,
    data,
  };
  // The subject is not a column: it follows from the type and data (a polled work order's is its id).
  const subject =
    subjectOf(row.source_type, data) ??
    (row.work_order_id !== null ? { kind: "workorder", id: row.work_order_id } : undefined);
  if (subject !== undefined) event.subject = subject;
  if (row.work_order_id !== null) event.workOrderId = row.work_order_id;
  if (row.occurred_at !== null) event.occurredAt = row.occurred_at;
  return event;
}

/** When the last webhook (not poll) event was received, for POLL_MODE=fallback and /admin/status. */
export async function lastWebhookAt(db: D1Database): Promise<string | undefined> {
  const row = await db
    .prepare("SELECT received_at FROM events WHERE source = 'webhook' ORDER BY received_at DESC LIMIT 1")
    .first<{ received_at: string }>();
  return row?.received_at;
}

/**
 * The consumer's first write of an attempt: the event's row (if the receiver's write in waitUntil
 * never landed), one more attempt, and back to `accepted` for a replay. Statements, so they travel
 * with the attempt's claims in one batch (store/attempt.ts); the second returns the attempt's number.
 */
export function beginAttemptStatements(
  db: D1Database,
  event: CanonicalEvent,
  replay: boolean,
  stored?: DataJson,
): D1PreparedStatement[] {
  return [
    insertStatement(db, event, stored),
    db
      .prepare(
        `UPDATE events SET attempts = attempts + 1, updated_at = ?2,
           status = CASE WHEN ?3 = 1 THEN 'accepted' ELSE status END,
           next_attempt_at = CASE WHEN ?3 = 1 THEN NULL ELSE next_attempt_at END,
           retrying_since = CASE WHEN ?3 = 1 THEN NULL ELSE retrying_since END
         WHERE id = ?1
         RETURNING attempts`,
      )
      .bind(event.id, new Date().toISOString(), replay ? 1 : 0),
  ];
}

/** The event settled (`processed`, `failed`): no retry is pending any more. */
export function statusStatement(
  db: D1Database,
  id: string,
  status: EventStatus,
  lastError: string | null,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE events SET status = ?2, last_error = ?3, updated_at = ?4, next_attempt_at = NULL, retrying_since = NULL
       WHERE id = ?1`,
    )
    .bind(id, status, lastError, new Date().toISOString());
}

/**
 * The event waits: for the queue to bring it back at `nextAttemptAt`, or (null) for a held
 * handler's release. `retrying_since` keeps the start of an unbroken retrying spell; a wait for a
 * hold ends one (the hold was the operator's choice), so a failure after the release starts anew.
 */
export function retryingStatement(
  db: D1Database,
  id: string,
  lastError: string,
  nextAttemptAt: string | null,
): D1PreparedStatement {
  const now = new Date().toISOString();
  return db
    .prepare(
      `UPDATE events SET status = 'retrying', last_error = ?2, next_attempt_at = ?3, updated_at = ?4,
         retrying_since = CASE WHEN status = 'retrying' AND next_attempt_at IS NOT NULL
                               THEN coalesce(retrying_since, ?4) ELSE ?4 END
       WHERE id = ?1`,
    )
    .bind(id, lastError, nextAttemptAt, now);
}

interface StatusSnapshot {
  status: EventStatus;
  lastError: string | null;
}

/**
 * Puts the events back to `accepted` (a replay is about to be sent) in one D1 call (charged to
 * `calls` when given), at most MAX_IDS_PER_QUERY of them; returns what each was.
 */
export async function reopenEvents(
  db: D1Database,
  ids: readonly string[],
  calls?: Subrequests,
): Promise<Map<string, StatusSnapshot>> {
  const before = new Map<string, StatusSnapshot>();
  if (ids.length === 0) return before;
  const statements = [
    db
      .prepare(`SELECT id, status, last_error FROM events WHERE id IN (${placeholders(ids.length)})`)
      .bind(...checkedIds(ids)),
    db
      .prepare(
        `UPDATE events SET status = 'accepted', last_error = NULL, updated_at = ?1 WHERE id IN (${placeholders(ids.length, 2)})`,
      )
      .bind(new Date().toISOString(), ...ids),
  ];
  calls?.charge();
  const [rows] = await db.batch<{ id: string; status: EventStatus; last_error: string | null }>(statements);
  for (const row of rows?.results ?? []) before.set(row.id, { status: row.status, lastError: row.last_error });
  return before;
}

/**
 * Undoes reopenEvents for the events of a replay that could not be sent, each unless it has moved
 * on since, in one D1 call (charged to `calls` when given).
 */
export async function restoreEventStatuses(
  db: D1Database,
  previous: ReadonlyMap<string, StatusSnapshot>,
  calls?: Subrequests,
): Promise<void> {
  if (previous.size === 0) return;
  const statements = [...previous].map(([id, snapshot]) => restoreStatement(db, id, snapshot));
  calls?.charge();
  await db.batch(statements);
}

function restoreStatement(db: D1Database, id: string, previous: StatusSnapshot): D1PreparedStatement {
  return db
    .prepare("UPDATE events SET status = ?2, last_error = ?3 WHERE id = ?1 AND status = 'accepted'")
    .bind(id, previous.status, previous.lastError);
}

export interface EventSummary {
  id: string;
  type: string;
  sourceType: string;
  source: "webhook" | "poll";
  status: EventStatus;
  attempts: number;
  receivedAt: string;
  lastError?: string;
  /** One line about the event from its data, written with the row (events/summary.ts). */
  summary?: string;
  /** While `retrying` on the schedule: when the queue brings it back. */
  nextAttemptAt?: string;
}

interface SummaryRow {
  id: string;
  type: string;
  source_type: string;
  source: "webhook" | "poll";
  status: EventStatus;
  attempts: number;
  received_at: string;
  last_error: string | null;
  summary: string | null;
  next_attempt_at: string | null;
}

function rowToSummary(row: SummaryRow): EventSummary {
  const out: EventSummary = {
    id: row.id,
    type: row.type,
    sourceType: row.source_type,
    source: row.source,
    status: row.status,
    attempts: row.attempts,
    receivedAt: row.received_at,
  };
  if (row.last_error !== null) out.lastError = row.last_error;
  if (row.summary !== null) out.summary = row.summary;
  if (row.next_attempt_at !== null) out.nextAttemptAt = row.next_attempt_at;
  return out;
}

/** Never `data`: a listing reads only these columns, whatever the size of the events' data. */
const SUMMARY_COLUMNS =
  "id, type, source_type, source, status, attempts, received_at, last_error, summary, next_attempt_at";

/** What a listing matches; every field is ANDed, every time is a `toISOString()` text (both bounds inclusive). */
export interface EventFilter {
  status?: EventStatus | undefined;
  type?: string | undefined;
  workOrderId?: string | undefined;
  /** `<kind>:<id>`, e.g. `workorder:4821337`. */
  subject?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** Where a page ended in the listing's order (`received_at DESC, rowid DESC`); the next starts after it. */
export interface EventPosition {
  receivedAt: string;
  rowid: number;
}

interface EventPage {
  events: EventSummary[];
  /** The last event's position when more events match after it, else null. */
  next: EventPosition | null;
}

/**
 * The listing's SQL: newest first, keyset-paged on (received_at, rowid), so a page never skips or
 * repeats a row however many rows are inserted meanwhile. Each filter's column leads an index
 * (migrations/0005_event_search.sql); ARCHITECTURE.md, "Listing events", has the query plans.
 * One row more than the limit is read to know whether another page follows.
 */
export function listEventsQuery(
  filter: EventFilter,
  page: { limit: number; after?: EventPosition | undefined },
): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(clause(params.length));
  };
  if (filter.status !== undefined) add((n) => `status = ?${n}`, filter.status);
  // An ending type is found by what events were routed as: webhook status changes and poll endings.
  if (filter.type !== undefined) {
    add((n) => `${isEndingType(filter.type) ? "routed_type" : "type"} = ?${n}`, filter.type);
  }
  if (filter.workOrderId !== undefined) add((n) => `work_order_id = ?${n}`, filter.workOrderId);
  if (filter.subject !== undefined) add((n) => `subject = ?${n}`, filter.subject);
  if (filter.since !== undefined) add((n) => `received_at >= ?${n}`, filter.since);
  if (filter.until !== undefined) add((n) => `received_at <= ?${n}`, filter.until);
  if (page.after !== undefined) {
    params.push(page.after.receivedAt, page.after.rowid);
    where.push(`(received_at, rowid) < (?${params.length - 1}, ?${params.length})`);
  }
  params.push(page.limit + 1);
  const sql = `SELECT rowid AS seq, ${SUMMARY_COLUMNS} FROM events${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
    ORDER BY received_at DESC, rowid DESC LIMIT ?${params.length}`;
  return { sql, params };
}

/** One page of the events that match, newest first. */
export async function listEvents(
  db: D1Database,
  filter: EventFilter,
  page: { limit: number; after?: EventPosition | undefined },
): Promise<EventPage> {
  const { sql, params } = listEventsQuery(filter, page);
  const { results } = await db
    .prepare(sql)
    .bind(...params)
    .all<SummaryRow & { seq: number }>();
  const rows = results.slice(0, page.limit);
  const last = rows.at(-1);
  return {
    events: rows.map(rowToSummary),
    next: results.length > page.limit && last ? { receivedAt: last.received_at, rowid: last.seq } : null,
  };
}

export async function getEventSummary(db: D1Database, id: string): Promise<EventSummary | undefined> {
  const row = await db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM events WHERE id = ?1`).bind(id).first<SummaryRow>();
  return row ? rowToSummary(row) : undefined;
}

export async function countEventsByStatus(db: D1Database): Promise<Record<EventStatus, number>> {
  const { results } = await db
    .prepare("SELECT status, COUNT(*) AS n FROM events GROUP BY status")
    .all<{ status: EventStatus; n: number }>();
  const counts = Object.fromEntries(EVENT_STATUSES.map((status) => [status, 0])) as Record<EventStatus, number>;
  for (const row of results) counts[row.status] = row.n;
  return counts;
}
