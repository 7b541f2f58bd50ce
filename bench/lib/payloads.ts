// The deliveries the benchmark sends: MaintainX-format NEW_WORK_ORDER bodies of an exact size,
// shaped like the project's fixture, signed the way MaintainX signs them.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { signMaintainX } from "../../src/webhooks/signature";
import type { BenchRequest } from "./load";

export const BENCH_SECRET = "bench-webhook-secret-not-for-production";
const EVENT_TYPE = "NEW_WORK_ORDER";
const MAINTAINX_PATH = `/webhooks/maintainx/${EVENT_TYPE}`;
const SEED_PATH = "/webhooks/maintainx";

interface WorkOrderFixture {
  workOrderId: number;
  orgId: number;
  occurredAt: string;
  userId: number;
  newWorkOrder: Record<string, unknown> & { description: string };
}

const fixture = JSON.parse(
  readFileSync(new URL("../../test/fixtures/new-work-order.json", import.meta.url), "utf8"),
) as WorkOrderFixture;

/** Every body carries this id (8 digits) in two places, so swapping it keeps the size exact. */
const ID_PLACEHOLDER = 10_000_000;
const MAX_ID = 99_999_999;

const DESCRIPTION_FILLER =
  "Belt frayed on the left edge; line 3 stopped. Rollers 4–9 show wear, bearing noise at 1,450 rpm. ";

function checklist(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: 900_000 + i,
    label: `Check roller ${i + 1}: bearing temperature, belt tracking and guard fasteners`,
    type: "NUMBER",
    unit: "°C",
    value: 38 + (i % 17) / 2,
    required: i % 3 === 0,
    completedAt: null,
  }));
}

/**
 * A NEW_WORK_ORDER body of exactly `bytes` UTF-8 bytes: the fixture, a checklist for large sizes
 * (so a big body is many small JSON values, as a real one would be, not one long string), and a
 * description padded to the exact size.
 */
function bodyTemplate(bytes: number): string {
  const base = {
    ...fixture,
    workOrderId: ID_PLACEHOLDER,
    newWorkOrder: {
      ...fixture.newWorkOrder,
      id: ID_PLACEHOLDER,
      description: "",
      ...(bytes > 16 * 1024 ? { procedure: { fields: checklist(Math.floor(bytes / 190)) } } : {}),
    },
  };
  const empty = Buffer.byteLength(JSON.stringify(base));
  if (empty > bytes) {
    // The checklist is an estimate: trim it until the body fits, then pad.
    const fields = (base.newWorkOrder.procedure?.fields ?? []) as unknown[];
    while (fields.length > 0 && Buffer.byteLength(JSON.stringify(base)) > bytes) fields.pop();
  }
  const room = bytes - Buffer.byteLength(JSON.stringify(base));
  if (room < 0) throw new Error(`A delivery cannot be as small as ${bytes} bytes`);
  let description = DESCRIPTION_FILLER.repeat(Math.ceil(room / DESCRIPTION_FILLER.length) + 1);
  // Cut by bytes, never inside a multi-byte character: drop characters until it fits, then pad.
  while (Buffer.byteLength(description) > room) description = description.slice(0, -1);
  description += " ".repeat(room - Buffer.byteLength(description));
  base.newWorkOrder.description = description;
  const text = JSON.stringify(base);
  if (Buffer.byteLength(text) !== bytes) throw new Error(`Built a ${Buffer.byteLength(text)}-byte body, not ${bytes}`);
  return text;
}

/** Bodies of one size that differ only in their work order id: a new event per id. */
export class DeliveryBodies {
  private readonly parts: string[];
  private next: number;

  constructor(readonly bytes: number) {
    this.parts = bodyTemplate(bytes).split(String(ID_PLACEHOLDER));
    if (this.parts.length !== 3) throw new Error("The work order id must appear exactly twice in the body");
    this.next = ID_PLACEHOLDER + 1;
  }

  /** The body with the placeholder id; sent again and again, it is a duplicate after the first time. */
  fixed(): Buffer {
    return this.withId(ID_PLACEHOLDER);
  }

  /** A body never produced before by this instance. */
  fresh(): Buffer {
    if (this.next > MAX_ID) throw new Error("Ran out of 8-digit work order ids");
    return this.withId(this.next++);
  }

  private withId(id: number): Buffer {
    return Buffer.from(this.parts.join(String(id)));
  }
}

/** `t=<seconds>,v1=<hex>`: HMAC-SHA256 of "<t>.<raw body>", synchronous, for per-request signing. */
function maintainXSignature(secret: string, body: Buffer, t: number): string {
  const hex = createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex");
  return `t=${t},v1=${hex}`;
}

/** The seed guide's header: hex HMAC-SHA256 of the raw body. */
function seedSignature(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Fails when this file's signer and the project's own `signMaintainX` ever disagree. */
export async function checkSignerAgreesWithProject(): Promise<void> {
  const body = new DeliveryBodies(2048).fixed();
  const t = nowSeconds();
  const ours = maintainXSignature(BENCH_SECRET, body, t);
  const project = await signMaintainX(BENCH_SECRET, new Uint8Array(body), t);
  if (ours !== project) throw new Error(`Benchmark signer disagrees with signMaintainX: ${ours} vs ${project}`);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A MaintainX delivery signed now; valid for SIGNATURE_TOLERANCE_SECONDS (300 s). */
export function maintainXRequest(body: Buffer, secret = BENCH_SECRET): BenchRequest {
  return {
    method: "POST",
    path: MAINTAINX_PATH,
    headers: {
      "content-type": "application/json",
      "x-maintainx-webhook-body-signature": maintainXSignature(secret, body, nowSeconds()),
    },
    body,
  };
}

/** The same body as the seed guide's Express receiver expects it. */
export function seedRequest(body: Buffer, secret = BENCH_SECRET): BenchRequest {
  return {
    method: "POST",
    path: SEED_PATH,
    headers: { "content-type": "application/json", "x-maintainx-signature": seedSignature(secret, body) },
    body,
  };
}
