// The poller's cursor and last-run record in KV (keys in store/keys.ts).

import { POLL_CURSOR_KEY, POLL_STATE_KEY } from "../store/keys";

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

export async function readPollState(kv: KVNamespace): Promise<PollState | null> {
  return kv.get<PollState>(POLL_STATE_KEY, "json");
}

export async function writePollState(kv: KVNamespace, state: PollState): Promise<void> {
  await kv.put(POLL_STATE_KEY, JSON.stringify(state));
}
