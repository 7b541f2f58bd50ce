// Named leases in D1 (strongly consistent): a cron run holds "poll" so runs never overlap, a bulk
// replay "bulk-replay" so two never queue the same events (ingest/requeue.ts). A lease that
// outlives a crashed holder expires by itself; only the holder that took a lock releases it.

export async function acquireLock(
  db: D1Database,
  name: string,
  holder: string,
  leaseMs: number,
  nowMs: number,
): Promise<boolean> {
  const row = await db
    .prepare(
      `INSERT INTO locks (name, holder, until_ms) VALUES (?1, ?2, ?3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
       WHERE locks.until_ms < ?4
       RETURNING holder`,
    )
    .bind(name, holder, nowMs + leaseMs, nowMs)
    .first<{ holder: string }>();
  return row?.holder === holder;
}

export async function releaseLock(db: D1Database, name: string, holder: string): Promise<void> {
  await db.prepare("DELETE FROM locks WHERE name = ?1 AND holder = ?2").bind(name, holder).run();
}
