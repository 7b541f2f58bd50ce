// What the event log keeps about an event besides its data, so that listings never read the data
// (docs/console.md): its subject as `<kind>:<id>`, and one line about it, such as
// `#4821337 Replace pump seal` for a work order or an asset's or a part's name.

import { type CanonicalEvent, type EventSubject, isObject, subjectOf } from "./canonical";
import { workOrderFromEvent } from "./work-order";

/** Longer summaries are cut to this many characters and end in `…`. */
const SUMMARY_MAX_CHARS = 120;

/**
 * The event's subject: the one it carries, else the one its data names, else its work order (a
 * type nobody documented may still name one). The same rule the event log reads events back by.
 */
export function subjectOfEvent(event: CanonicalEvent): EventSubject | undefined {
  return (
    event.subject ??
    subjectOf(event.sourceType, event.data) ??
    (event.workOrderId !== undefined ? { kind: "workorder", id: event.workOrderId } : undefined)
  );
}

/** `workorder:4821337`, as the event log's `subject` column and the `subject` filter spell it. */
export function subjectKey(subject: EventSubject): string {
  return `${subject.kind}:${subject.id}`;
}

/**
 * One line about the event, from its data: a work order's `#<id> <title>` (`#<id>` when the
 * payload has no title), else the name (or title) of the entity the payload carries (`newAsset`,
 * `newPart`, `deletedPart`, `newPurchaseOrder`…; a seed body's data itself). Undefined when the
 * data names nothing.
 */
export function summaryOf(event: CanonicalEvent): string | undefined {
  const subject = subjectOfEvent(event);
  if (subject?.kind === "workorder") {
    const title = workOrderFromEvent(event)?.title;
    return oneLine(title === undefined ? `#${subject.id}` : `#${subject.id} ${title}`);
  }
  const name = entityName(event);
  return name === undefined ? undefined : oneLine(name);
}

/** A MaintainX payload's entity member: `newAsset`, `newPart`, `deletedPart`, `newPurchaseOrder`… */
const ENTITY_MEMBER = /^(?:new|deleted)[A-Z]/;

function entityName(event: CanonicalEvent): string | undefined {
  const { data } = event;
  // Seed deliveries carry the entity as `data` itself.
  if (event.sourceType.includes(".")) return nameIn(data);
  for (const [key, value] of Object.entries(data)) {
    if (!ENTITY_MEMBER.test(key) || !isObject(value)) continue;
    const name = nameIn(value);
    if (name !== undefined) return name;
  }
  return undefined;
}

function nameIn(entity: Record<string, unknown>): string | undefined {
  for (const key of ["name", "title"]) {
    const value = entity[key];
    if (typeof value === "string" && value.trim() !== "") return value;
  }
  return undefined;
}

/** Printable ASCII in words with one space between them: a text `oneLine` gives back as it is. */
const PLAIN_LINE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/** Line breaks, tabs and other control characters become spaces; runs of spaces one; cut at the limit. */
export function oneLine(text: string): string | undefined {
  // Most titles are plain: one ASCII test instead of the Unicode replace and the split into characters.
  if (text.length <= SUMMARY_MAX_CHARS && PLAIN_LINE.test(text)) return text;
  // Only the start of a very long text can end up in the line.
  const window = SUMMARY_MAX_CHARS * 8;
  const flat = text
    .slice(0, window)
    .replace(/[\s\p{Cc}\u2028\u2029]+/gu, " ")
    .trim();
  if (flat === "") return undefined;
  const chars = Array.from(flat);
  if (chars.length <= SUMMARY_MAX_CHARS && text.length <= window) return flat;
  // A pair split by the window above leaves half a character at its end.
  const kept = chars
    .slice(0, SUMMARY_MAX_CHARS)
    .join("")
    .replace(/[\uD800-\uDBFF]$/, "")
    .trimEnd();
  return `${kept}…`;
}
