// Builds deliveries signed exactly as MaintainX (or the seed guide) signs them, with the
// project's own signing functions, so fixtures and the verifier can never drift apart.

import { signMaintainX, signSeed } from "../../src/webhooks/signature";
import newWorkOrder from "../fixtures/new-work-order.json";

export const SECRET = "test-secret-current";
export const PREVIOUS_SECRET = "test-secret-previous";
export const BASE = "https://hooks.example.com";

let counter = 0;
/** A unique, realistic NEW_WORK_ORDER body; storage is shared within a test file. */
export function uniqueNewWorkOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  const id = 5_000_000 + counter * 7 + Math.floor(Math.random() * 1_000_000) * 10_000;
  // The id travels as workOrderId only: MaintainX's newWorkOrder has no id.
  return { ...newWorkOrder, workOrderId: id, ...overrides };
}

export interface MaintainXOptions {
  secret?: string;
  /** Unix time (seconds, or milliseconds when ≥ 10^12); defaults to now. */
  timestamp?: number;
  headers?: Record<string, string>;
  /** Overrides the signature header entirely. */
  signature?: string;
}

export async function maintainXDelivery(
  type: string | undefined,
  body: string | Record<string, unknown> | Uint8Array,
  options: MaintainXOptions = {},
): Promise<Request> {
  const raw = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = options.signature ?? (await signMaintainX(options.secret ?? SECRET, raw, timestamp));
  const path = type === undefined ? "/webhooks/maintainx" : `/webhooks/maintainx/${type}`;
  return new Request(`${BASE}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-maintainx-webhook-body-signature": signature,
      ...options.headers,
    },
    body: raw,
  });
}

export interface SeedOptions {
  secret?: string;
  eventId?: string;
  headers?: Record<string, string>;
  signature?: string;
  path?: string;
}

export async function seedDelivery(
  body: string | Record<string, unknown>,
  options: SeedOptions = {},
): Promise<Request> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const signature = options.signature ?? (await signSeed(options.secret ?? SECRET, raw));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-maintainx-signature": signature,
    ...options.headers,
  };
  if (options.eventId !== undefined) headers["x-maintainx-event-id"] = options.eventId;
  return new Request(`${BASE}${options.path ?? "/webhooks/maintainx"}`, { method: "POST", headers, body: raw });
}

export function uniqueEventId(prefix = "evt"): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A WORK_ORDER_STATUS_CHANGE body as MaintainX delivers it, at `atMs`: no id, status, updatedAt or
 * completedAt in `newWorkOrder` (those are REST's).
 */
export function statusChangeBody(id: number, atMs: number, newStatus: string, newSubStatus?: string) {
  return {
    workOrderId: id,
    orgId: 99411,
    occurredAt: new Date(atMs).toISOString(),
    oldStatus: "IN_PROGRESS",
    newStatus,
    ...(newSubStatus === undefined ? {} : { newSubStatus }),
    userId: 551877,
    newWorkOrder: { sequentialId: 1042, title: `Pump ${id}`, priority: "MEDIUM" },
  };
}
