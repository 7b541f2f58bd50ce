// An event's status in the D1 event log, and waiting for the consumer to settle it, as the tests
// inside workerd observe them (the local queue delivers in about a second).

import { env } from "cloudflare:workers";

export async function eventStatus(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1").bind(id).first<{ status: string }>();
  return row?.status;
}

/** Polls until the event has one of `statuses`, and returns it; fails after 20 s. */
export async function settled(id: string, statuses: string[] = ["processed", "failed", "dead"]): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await eventStatus(id);
    if (status !== undefined && statuses.includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`event ${id} still ${status ?? "unknown"}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
