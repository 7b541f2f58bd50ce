// A fallback record of a finished side effect, in KV, for when D1 would not take the outcome.
// The consumer reads it before it runs a handler whose claim it took over after the lease ran
// out: a success that D1 could not record is then recorded, not repeated. The lease (120 s) is
// longer than KV takes to show a write everywhere (up to 60 s), so the marker is visible by then.

import { effectMarkerKey, PAYLOAD_TTL_SECONDS } from "./keys";

/** What a claim is keyed by: the change it is per, else its event. */
type MarkedClaim = { eventId: string; changeId: number | undefined };

/** Only a success leaves a marker: a skip has no effect to protect. */
interface EffectMarker {
  status: "done";
  detail?: string;
}

export async function writeEffectMarker(
  kv: KVNamespace,
  claim: MarkedClaim,
  handler: string,
  marker: EffectMarker,
): Promise<void> {
  await kv.put(effectMarkerKey(claim, handler), JSON.stringify(marker), { expirationTtl: PAYLOAD_TTL_SECONDS });
}

export async function readEffectMarker(
  kv: KVNamespace,
  claim: MarkedClaim,
  handler: string,
): Promise<EffectMarker | undefined> {
  const text = await kv.get(effectMarkerKey(claim, handler), "text");
  if (text === null) return undefined;
  const parsed = JSON.parse(text) as Partial<EffectMarker>;
  if (parsed.status !== "done") return undefined;
  return parsed.detail === undefined ? { status: parsed.status } : { status: parsed.status, detail: parsed.detail };
}
