// RETENTION_DAYS and FAILED_RETENTION_DAYS (docs/storage.md, "Retention"): every D1 table has a
// rule, and the scheduled run applies them a bounded batch per run.
// - `processed` events once they were received more than RETENTION_DAYS ago;
// - `failed` and `dead` events (unfinished work: they wait for a fix and a replay) only once their
//   last change (`updated_at`) is older than the longer failed period, and a final operator notice
//   named them at least NOTICE_LEAD_MS before (migrations/0010: `expiry_notice_at`);
// - `accepted` and `retrying` events never: they are in flight, retried, waiting for a held
//   handler, replayed or stuck (alerted on their own);
// and with an event, everything kept per event: its own claims, dead letters, attempt log, holds,
// and which change it resolved to (`event_changes`).
//
// Once per real change (ARCHITECTURE.md; store/changes.ts) must hold for a delivery repeated within
// RETENTION_DAYS, retention included. So a change, with the claims keyed by it, goes only once no
// event that resolved to it is left in the log, no event of its work order waits unresolved, and it
// was made more than RETENTION_DAYS ago; a work order's creation and latest ending stay as long as
// its mirror row (an edit of a long-done work order polled without `completedAt` still matches the
// latest ending); the largest change id stays, so an id is never given twice. A reopen goes once it
// is older than RETENTION_DAYS and can no longer separate a kept ending from a later observation.
// The mirror row of a deleted work order goes RETENTION_DAYS after the deletion, once none of its
// events is left. Changes and reopens are swept by id, one slice of the ids a run, so each row is
// read about once a day whatever the tables hold (sweepRange).

/** A failed or dead event is deleted no sooner than this after the notice that named it. */
export const NOTICE_LEAD_MS = 7 * 86_400_000;

/**
 * The oldest processed events first, so each run takes the next slice and a backlog drains over
 * runs. `events_by_status (status, received_at)` gives them in this order.
 */
export const OLD_PROCESSED =
  "SELECT id FROM events WHERE status = 'processed' AND received_at < ?1 ORDER BY received_at, rowid LIMIT ?2";

/**
 * The term of the partial index `events_unfinished` (migrations/0010), word for word: SQLite uses
 * a partial index only for a query that has its condition, and `INDEXED BY` holds it to that one.
 */
const UNFINISHED = "status IN ('failed', 'dead')";

/** A notice concerns the event as it was when it went: it counts until the event changes again. */
const NOTICED = "expiry_notice_at IS NOT NULL AND expiry_notice_at >= updated_at";

/**
 * Failed and dead events whose last change is before ?1 and whose notice went before ?3, the
 * oldest change first.
 */
export const EXPIRED_UNFINISHED = `SELECT id FROM events INDEXED BY events_unfinished
  WHERE ${UNFINISHED} AND updated_at < ?1 AND ${NOTICED} AND expiry_notice_at < ?3
  ORDER BY updated_at, rowid LIMIT ?2`;

/** When an event goes: what retention deletes in one run, as cut-offs in stored ISO text. */
export interface RetentionCutoffs {
  /** Processed events received before this go. */
  processedBefore: string;
  /** Failed and dead events: absent keeps them all (FAILED_RETENTION_DAYS=0). */
  unfinished?: {
    /** Their last change must be before this… */
    changedBefore: string;
    /** …and the notice naming them must have gone before this. */
    noticedBefore: string;
  };
}

interface RetentionRun {
  events: number;
  deadLetters: number;
}

/**
 * What goes with an event, keyed by its id (`?` is the list of ids): each through the index that
 * starts with the event id. A claim keyed by a change (`change_id`) is not among them: it goes
 * with its change (CHANGE_CLAIMS).
 */
export const WITH_EVENT = [
  "DELETE FROM side_effects WHERE event_id IN",
  "DELETE FROM dead_letters WHERE event_id IN",
  "DELETE FROM handler_attempts WHERE event_id IN",
  "DELETE FROM held_events WHERE event_id IN",
  "DELETE FROM event_changes WHERE event_id IN",
] as const;

/**
 * Deletes at most `batch` processed events and at most `batch` failed or dead events that are
 * past `cutoffs`, with what is kept per event (WITH_EVENT), and at most `batch` other dead
 * letters from before `processedBefore` whose event is gone, in one transaction. Each statement
 * of a group selects the same events: none of them changes what the selection reads.
 */
export async function deleteExpired(db: D1Database, cutoffs: RetentionCutoffs, batch: number): Promise<RetentionRun> {
  const groups: D1PreparedStatement[][] = [
    [OLD_PROCESSED, [cutoffs.processedBefore, batch]] as const,
    ...(cutoffs.unfinished
      ? [[EXPIRED_UNFINISHED, [cutoffs.unfinished.changedBefore, batch, cutoffs.unfinished.noticedBefore]] as const]
      : []),
  ].map(([select, bindings]) => [
    ...WITH_EVENT.map((del) => db.prepare(`${del} (${select})`).bind(...bindings)),
    db.prepare(`DELETE FROM events WHERE id IN (${select})`).bind(...bindings),
  ]);
  const results = await db.batch([
    ...groups.flat(),
    // Dead letters whose event is gone already (or was never logged): nothing can replay them.
    db
      .prepare(
        `DELETE FROM dead_letters WHERE seq IN (
           SELECT seq FROM dead_letters WHERE dead_at < ?1
             AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = dead_letters.event_id)
           ORDER BY seq LIMIT ?2)`,
      )
      .bind(cutoffs.processedBefore, batch),
  ]);
  const changes = (i: number) => results[i]?.meta.changes ?? 0;
  let events = 0;
  let deadLetters = changes(results.length - 1);
  const size = WITH_EVENT.length + 1;
  for (let g = 0; g < groups.length; g++) {
    deadLetters += changes(g * size + 1);
    events += changes(g * size + WITH_EVENT.length);
  }
  return { events, deadLetters };
}

/** Slices of the ids per pass of the sweep: one run a minute sweeps every id once a day. */
export const SWEEP_SLICES = 1440;

/**
 * The ids slice `slice` of `slices` covers, for a table whose largest id is `maxId`: the ids up
 * to the next power of two above it, cut in equal slices (the last one open above), so the
 * slices of one pass cover every id and move only when the ids double.
 */
export function sweepRange(slice: number, slices: number, maxId: number): { from: number; to: number } {
  let span = 1;
  while (span <= maxId) span *= 2;
  const width = Math.ceil(span / slices);
  return { from: slice * width, to: slice === slices - 1 ? Number.MAX_SAFE_INTEGER : (slice + 1) * width };
}

/** The largest change id and reopen rowid: the sweep's ranges are cut from them. */
export const SWEEP_MAXIMA =
  "SELECT (SELECT max(id) FROM changes) AS changes, (SELECT max(rowid) FROM work_order_reopens) AS reopens";

/**
 * Links to changes with ids in [?1, ?2) from events no longer in the log (left by retention before
 * a link went with its event), at most ?3. The changes lead: their id range, then each one's
 * links (`event_changes_by_change`), then the event by its id.
 */
export const LINKS_OF_GONE_EVENTS = `SELECT l.event_id FROM changes c CROSS JOIN event_changes l
  WHERE c.id >= ?1 AND c.id < ?2 AND l.change_id = c.id
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = l.event_id)
  LIMIT ?3`;

/**
 * A work order's latest ending (the one an observation without `completedAt` matches) or its
 * creation, as SQL true for the change `c`: kept as long as the work order's mirror row.
 */
const KEPT_WITH_MIRROR = `(c.kind = 'created'
    OR c.id = (SELECT max(n.id) FROM changes n WHERE n.work_order_id = c.work_order_id AND n.kind <> 'created'))
  AND EXISTS (SELECT 1 FROM work_orders w WHERE w.id = c.work_order_id)`;

/**
 * Changes with ids in [?1, ?2) that may go, at most ?4: made before ?3 (RETENTION_DAYS), not the
 * largest id, no event resolved to them left in the log, not kept with the mirror, and no event
 * of their work order waiting unresolved (a logged event not yet consumed could resolve to them).
 * The term that reads the work order's events comes last: SQLite tests the terms in turn and
 * stops at the first false one, so it reads them only for a change that may otherwise go.
 */
export const DELETABLE_CHANGES = `SELECT c.id FROM changes c
  WHERE c.id >= ?1 AND c.id < ?2 AND c.created_at < ?3
    AND c.id < (SELECT max(id) FROM changes)
    AND NOT EXISTS (SELECT 1 FROM event_changes l WHERE l.change_id = c.id)
    AND NOT (${KEPT_WITH_MIRROR})
    AND NOT EXISTS (SELECT 1 FROM events e
      WHERE e.work_order_id = c.work_order_id AND e.status IN ('accepted', 'retrying')
        AND NOT EXISTS (SELECT 1 FROM event_changes x WHERE x.event_id = e.id))
  ORDER BY c.id LIMIT ?4`;

/** The claims of the changes DELETABLE_CHANGES selects (`side_effects_of_change`). */
export const CHANGE_CLAIMS = `SELECT id FROM side_effects WHERE change_id IN (${DELETABLE_CHANGES})`;

/** A change's earliest and latest time, as store/changes.ts compares them (one may be NULL). */
const EARLIEST = "min(coalesce(c.webhook_ms, c.poll_ms), coalesce(c.poll_ms, c.webhook_ms))";
const LATEST = "max(coalesce(c.webhook_ms, c.poll_ms), coalesce(c.poll_ms, c.webhook_ms))";

/**
 * Reopens with rowids in [?1, ?2) that may go, at most ?4: seen open before ?3 (epoch ms,
 * RETENTION_DAYS), and neither the first reopen after a kept ending of their work order began nor
 * the last before it ended. store/changes.ts keeps an observation from an ending when a reopen
 * lies strictly between the ending's times and the observation's; whenever any reopen does, one of
 * those two does too, so the others separate nothing. The selection is read whole before a row is
 * deleted, so the reopens it keeps stay first and last.
 */
export const DELETABLE_REOPENS = `SELECT r.rowid FROM work_order_reopens r
  WHERE r.rowid >= ?1 AND r.rowid < ?2 AND r.at_ms < ?3
    AND NOT EXISTS (SELECT 1 FROM changes c
      WHERE c.work_order_id = r.work_order_id AND c.kind <> 'created'
        AND (r.at_ms = (SELECT min(x.at_ms) FROM work_order_reopens x
                        WHERE x.work_order_id = r.work_order_id AND x.at_ms > ${EARLIEST})
          OR r.at_ms = (SELECT max(x.at_ms) FROM work_order_reopens x
                        WHERE x.work_order_id = r.work_order_id AND x.at_ms < ${LATEST})))
  ORDER BY r.rowid LIMIT ?4`;

/**
 * Mirror rows of work orders deleted before ?1 (RETENTION_DAYS) with no event left in the log (a
 * replay of an older version would otherwise bring the row back undeleted), oldest deletion
 * first, at most ?2. `work_orders_deleted` (migrations/0012) holds the deleted rows only.
 */
export const DELETED_WORK_ORDERS = `SELECT w.id FROM work_orders w INDEXED BY work_orders_deleted
  WHERE w.deleted = 1 AND w.deleted_at < ?1
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.work_order_id = w.id)
  ORDER BY w.deleted_at LIMIT ?2`;

export interface SweepRun {
  /** Mirror rows of deleted work orders. */
  workOrders: number;
  /** Links of events no longer in the log to their change. */
  links: number;
  changes: number;
  /** Claims keyed by those changes. */
  changeClaims: number;
  reopens: number;
}

/**
 * One slice of the sweep: deleted work orders, then the links, claims and changes, then the
 * reopens that may go (above), at most `batch` of each, in one transaction after one read of the
 * largest ids. `before` is RETENTION_DAYS before now.
 */
export async function sweepChanges(
  db: D1Database,
  options: { before: string; slice: number; slices: number; batch: number },
): Promise<SweepRun> {
  const { before, slice, slices, batch } = options;
  const maxima = await db.prepare(SWEEP_MAXIMA).first<{ changes: number | null; reopens: number | null }>();
  const statements = [db.prepare(`DELETE FROM work_orders WHERE id IN (${DELETED_WORK_ORDERS})`).bind(before, batch)];
  const changes = maxima?.changes == null ? undefined : sweepRange(slice, slices, maxima.changes);
  if (changes) {
    const range = [changes.from, changes.to] as const;
    statements.push(
      db.prepare(`DELETE FROM event_changes WHERE event_id IN (${LINKS_OF_GONE_EVENTS})`).bind(...range, batch),
      db.prepare(`DELETE FROM side_effects WHERE id IN (${CHANGE_CLAIMS})`).bind(...range, before, batch),
      db.prepare(`DELETE FROM changes WHERE id IN (${DELETABLE_CHANGES})`).bind(...range, before, batch),
    );
  }
  const reopens = maxima?.reopens == null ? undefined : sweepRange(slice, slices, maxima.reopens);
  if (reopens) {
    statements.push(
      db
        .prepare(`DELETE FROM work_order_reopens WHERE rowid IN (${DELETABLE_REOPENS})`)
        .bind(reopens.from, reopens.to, Date.parse(before), batch),
    );
  }
  const results = await db.batch(statements);
  const changed = (i: number) => results[i]?.meta.changes ?? 0;
  return {
    workOrders: changed(0),
    links: changes ? changed(1) : 0,
    changeClaims: changes ? changed(2) : 0,
    changes: changes ? changed(3) : 0,
    reopens: reopens ? changed(changes ? 4 : 1) : 0,
  };
}

/** Failed and dead events changed last before ?1 that no notice has named since. */
export const NOTICE_DUE = `${UNFINISHED} AND updated_at < ?1 AND NOT (${NOTICED})`;

/** A failed or dead event named by a final notice before retention deletes it. */
export interface ExpiringEvent {
  id: string;
  type: string;
  status: "failed" | "dead";
  lastError: string | null;
  /** Its last change: the time the failed period is counted from. */
  updatedAt: string;
}

/**
 * Takes up to `limit` failed or dead events changed last before `changedBefore` that no notice
 * has named since their last change, oldest change first, and stamps them noticed at `nowIso`, in
 * one statement: two runs at once never take the same event. `remaining` counts those left.
 */
export async function takeExpiryNotices(
  db: D1Database,
  changedBefore: string,
  nowIso: string,
  limit: number,
): Promise<{ events: ExpiringEvent[]; remaining: number }> {
  const [taken, left] = await db.batch<{
    id: string;
    type: string;
    status: ExpiringEvent["status"];
    last_error: string | null;
    updated_at: string;
    n: number;
  }>([
    db
      .prepare(
        `UPDATE events SET expiry_notice_at = ?2
         WHERE id IN (SELECT id FROM events INDEXED BY events_unfinished WHERE ${NOTICE_DUE} ORDER BY updated_at LIMIT ?3)
         RETURNING id, type, status, last_error, updated_at`,
      )
      .bind(changedBefore, nowIso, limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events INDEXED BY events_unfinished WHERE ${NOTICE_DUE}`).bind(changedBefore),
  ]);
  const events = (taken?.results ?? [])
    .map((r) => ({ id: r.id, type: r.type, status: r.status, lastError: r.last_error, updatedAt: r.updated_at }))
    .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  return { events, remaining: left?.results[0]?.n ?? 0 };
}
