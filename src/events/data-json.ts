// Event data kept as JSON text rather than as an object: the raw body of a webhook (exactly as
// signed, never larger than MAX_BODY_BYTES), or the data as serialised. `field` names the member
// that is the data when the text is a whole seed envelope. The claim check in KV and the event
// log's row hold data in this form, so a large event costs its raw size everywhere, however much
// re-serialising would expand it (`1e20` is 21 characters once parsed and written again).

import { isObject } from "./canonical";

export interface DataJson {
  json: Uint8Array | string;
  field?: string;
}

/** The data's JSON, with the member that is the data when the text is a whole envelope. */
export function dataJson(json: Uint8Array | string, field?: string | null): DataJson {
  return field === undefined || field === null ? { json } : { json, field };
}

const decoder = new TextDecoder();

export function dataJsonText(data: DataJson): string {
  return typeof data.json === "string" ? data.json : decoder.decode(data.json);
}

/** The data the text holds, or undefined when it (or its `field`) is not a JSON object. */
export function parseDataJson(data: DataJson): Record<string, unknown> | undefined {
  let parsed: unknown = JSON.parse(dataJsonText(data));
  if (data.field !== undefined) parsed = isObject(parsed) ? parsed[data.field] : undefined;
  return isObject(parsed) ? parsed : undefined;
}
