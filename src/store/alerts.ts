// What the operator alerts remember (README, "Observability"): which events were alerted in
// which status, and which webhook silence was.

export interface EndedEvent {
  id: string;
  type: string;
  status: "failed" | "dead";
  lastError: string | null;
}

/**
 * Takes up to `limit` events that ended failed or dead and were not alerted in that status at
 * that attempt, oldest first, and marks them alerted, in one statement: two runs at once never
 * take the same event. `remaining` counts those left for the next run.
 */
export async function takeUnalertedEndings(
  db: D1Database,
  limit: number,
): Promise<{ events: EndedEvent[]; remaining: number }> {
  const unalerted = "status IN ('failed', 'dead') AND alerted IS NOT (status || ':' || attempts)";
  const [taken, left] = await db.batch<{
    id: string;
    type: string;
    status: EndedEvent["status"];
    last_error: string | null;
    n: number;
  }>([
    db
      .prepare(
        `UPDATE events SET alerted = status || ':' || attempts
         WHERE id IN (SELECT id FROM events WHERE ${unalerted} ORDER BY updated_at, rowid LIMIT ?1)
         RETURNING id, type, status, last_error`,
      )
      .bind(limit),
    db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${unalerted}`),
  ]);
  const events = (taken?.results ?? []).map((r) => ({
    id: r.id,
    type: r.type,
    status: r.status,
    lastError: r.last_error,
  }));
  return { events, remaining: left?.results[0]?.n ?? 0 };
}

/** The last webhook's time the silence alert was sent for, if any. */
export async function readSilenceAlertedFor(db: D1Database): Promise<string | undefined> {
  const row = await db
    .prepare("SELECT silence_for FROM alert_state WHERE id = 1")
    .first<{ silence_for: string | null }>();
  return row?.silence_for ?? undefined;
}

export async function saveSilenceAlertedFor(db: D1Database, lastWebhookAt: string | null): Promise<void> {
  await db
    .prepare(
      "INSERT INTO alert_state (id, silence_for) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET silence_for = excluded.silence_for",
    )
    .bind(lastWebhookAt)
    .run();
}

/** When the work orders the poller logged after `sinceIso` changed (their REST `updatedAt`), newest logged first. */
export async function polledChangesSince(db: D1Database, sinceIso: string, limit = 50): Promise<string[]> {
  const { results } = await db
    .prepare(
      "SELECT occurred_at FROM events WHERE source = 'poll' AND received_at > ?1 AND occurred_at IS NOT NULL ORDER BY received_at DESC LIMIT ?2",
    )
    .bind(sinceIso, limit)
    .all<{ occurred_at: string }>();
  return results.map((r) => r.occurred_at);
}
