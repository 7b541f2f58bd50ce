// Turns a queue message back into the full canonical event, loading claim-checked data from KV.

import type { CanonicalEvent } from "../events/canonical";
import { type DataJson, dataJson, parseDataJson } from "../events/data-json";
import { type EventMessage, isEventMessage } from "../events/message";

/** The message can never be processed (wrong shape); acked and logged, not retried. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
}

/** The claim check is not readable yet (KV is eventually consistent) or has gone; retried. */
export class PayloadUnavailableError extends Error {
  override readonly name = "PayloadUnavailableError";
  constructor(
    message: string,
    /** The event whose data is missing, so its logged copy can stand in. */
    readonly eventId: string,
    /** Whether the message was a replay, which the logged copy then is too. */
    readonly replay: boolean,
  ) {
    super(message);
  }
}

interface ResolvedMessage {
  message: EventMessage;
  event: CanonicalEvent;
  /** The claim check's JSON, when the data came by claim check (the event log keeps it as it is). */
  stored?: DataJson;
}

export async function resolveMessage(kv: KVNamespace, body: unknown): Promise<ResolvedMessage> {
  if (!isEventMessage(body)) throw new MalformedMessageError("Queue message is not an event message");
  if (body.payloadKey === undefined) return { message: body, event: body.event };

  const text = await kv.get(body.payloadKey, "text");
  if (text === null)
    throw new PayloadUnavailableError(`Claim check ${body.payloadKey} not found`, body.event.id, body.replay === true);
  const stored = dataJson(text, body.dataField);
  const data = parseDataJson(stored);
  if (!data) throw new MalformedMessageError(`Claim check ${body.payloadKey} holds no object`);
  return { message: body, event: { ...body.event, data }, stored };
}
