// The "recovered" notes of handlers (docs/operations.md, "Operator alerts"): the consumer ends a
// handler's failing episode with its first success (`handlers.recovered_at`, the episode's start
// in `recovered_after`; store/handlers.ts), and the scheduled run notes each ending once
// (`recovery_noted_at` = the `recovered_at` it was noted for).

/** A handler whose failing episode ended and was not noted yet. */
export interface Recovery {
  handler: string;
  /** The first failure of the episode. */
  failingSince: string | null;
  /** Its first success after it. */
  recoveredAt: string;
  /** Set when it has failed again since (a new episode began). */
  failingAgainSince: string | null;
}

/**
 * Takes every recovery not noted yet and stamps it noted, in one statement: two runs at once never
 * take the same one, and a later episode's recovery (a new `recovered_at`) is taken again.
 */
export async function takeRecoveries(db: D1Database): Promise<Recovery[]> {
  const { results } = await db
    .prepare(
      `UPDATE handlers SET recovery_noted_at = recovered_at
       WHERE recovered_at IS NOT NULL AND recovery_noted_at IS NOT recovered_at
       RETURNING name, recovered_after, recovered_at, failing_since`,
    )
    .all<{ name: string; recovered_after: string | null; recovered_at: string; failing_since: string | null }>();
  return results
    .map((r) => ({
      handler: r.name,
      failingSince: r.recovered_after,
      recoveredAt: r.recovered_at,
      failingAgainSince: r.failing_since,
    }))
    .sort((a, b) => (a.handler < b.handler ? -1 : 1));
}
