// The D1 work-order mirror ("warehouse"). Each write carries a version (epoch ms of the work
// order's updatedAt, else the event's occurredAt); a write older than the row is ignored, so
// redelivered or out-of-order events never make the mirror stale. A deleted row stays deleted
// unless a strictly newer version says otherwise: a snapshot of the same version cannot undelete it.

import type { WorkOrderSnapshot } from "../events/work-order";
import { utf8 } from "../lib/bytes";
import { log } from "../lib/log";

/**
 * The most of a work order's fields the row keeps as JSON. D1 refuses a row over 2 MB, and a seed
 * or polled payload can re-serialise to several times its raw size; past this the row keeps its
 * columns (title, status, priority, updatedAt) and the data it had, so the write still succeeds.
 */
const MIRROR_DATA_LIMIT_BYTES = 1_000_000;

interface MirrorWrite {
  workOrder: WorkOrderSnapshot;
  versionMs: number;
  deleted: boolean;
  eventId: string;
}

/** True when the row was written (new, newer than what was there, or the same version's deletion). */
export async function upsertWorkOrder(db: D1Database, write: MirrorWrite): Promise<boolean> {
  const { workOrder: wo } = write;
  const now = new Date().toISOString();
  let data = JSON.stringify(wo.fields);
  if (data.length > MIRROR_DATA_LIMIT_BYTES / 3 && utf8.encode(data).byteLength > MIRROR_DATA_LIMIT_BYTES) {
    log.warn("Work-order fields too large for the mirror row; columns kept, data left as it was", {
      workOrderId: wo.id,
      eventId: write.eventId,
      bytes: utf8.encode(data).byteLength,
    });
    data = "{}";
  }
  const result = await db
    .prepare(
      `INSERT INTO work_orders (id, title, status, priority, updated_at, version_ms, deleted, deleted_at, data, last_event_id, synced_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
       ON CONFLICT (id) DO UPDATE SET
         title = COALESCE(excluded.title, work_orders.title),
         status = COALESCE(excluded.status, work_orders.status),
         priority = COALESCE(excluded.priority, work_orders.priority),
         updated_at = COALESCE(excluded.updated_at, work_orders.updated_at),
         version_ms = excluded.version_ms,
         deleted = excluded.deleted,
         deleted_at = COALESCE(excluded.deleted_at, work_orders.deleted_at),
         data = json_patch(work_orders.data, excluded.data),
         last_event_id = excluded.last_event_id,
         synced_at = excluded.synced_at
       WHERE excluded.version_ms > work_orders.version_ms
          OR (excluded.version_ms = work_orders.version_ms AND (excluded.deleted = 1 OR work_orders.deleted = 0))`,
    )
    .bind(
      wo.id,
      wo.title ?? null,
      wo.status ?? null,
      wo.priority ?? null,
      wo.updatedAt ?? null,
      write.versionMs,
      write.deleted ? 1 : 0,
      write.deleted ? new Date(write.versionMs).toISOString() : null,
      data,
      write.eventId,
      now,
    )
    .run();
  return result.meta.changes > 0;
}

interface MirroredWorkOrder {
  id: string;
  title: string | null;
  status: string | null;
  priority: string | null;
  updatedAt: string | null;
  deleted: boolean;
  deletedAt: string | null;
  lastEventId: string | null;
  syncedAt: string;
  data: Record<string, unknown>;
}

export async function getMirroredWorkOrder(db: D1Database, id: string): Promise<MirroredWorkOrder | undefined> {
  const row = await db
    .prepare(
      "SELECT id, title, status, priority, updated_at, deleted, deleted_at, last_event_id, synced_at, data FROM work_orders WHERE id = ?1",
    )
    .bind(id)
    .first<{
      id: string;
      title: string | null;
      status: string | null;
      priority: string | null;
      updated_at: string | null;
      deleted: number;
      deleted_at: string | null;
      last_event_id: string | null;
      synced_at: string;
      data: string;
    }>();
  if (!row) return undefined;
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    priority: row.priority,
    updatedAt: row.updated_at,
    deleted: row.deleted === 1,
    deletedAt: row.deleted_at,
    lastEventId: row.last_event_id,
    syncedAt: row.synced_at,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
