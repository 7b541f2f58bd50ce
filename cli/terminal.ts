// Printing what the Worker stores for a terminal. Event data comes from outside (MaintainX, or
// anyone who can sign a delivery), so nothing from it reaches the terminal as a control
// character: escape sequences could recolour, retitle, rewrite or hide what the operator reads.

const ESC = "\\u001b";
/** A character that introduces a string ended by BEL or ST: OSC, DCS, SOS, PM, APC (7- and 8-bit). */
const STRING_INTRODUCER = `(?:${ESC}[\\]PX^_]|[\\u009d\\u0090\\u0098\\u009e\\u009f])`;
const STRING_TERMINATOR = `(?:\\u0007|\\u009c|${ESC}\\\\|$)`;
/** CSI (7- and 8-bit): parameters, intermediates, a final byte. */
const CONTROL_SEQUENCE = `(?:${ESC}\\[|\\u009b)[0-?]*[ -/]*[@-~]`;
/** Any other escape: intermediates and a final byte (charset selection, keypad modes…). */
const OTHER_ESCAPE = `${ESC}[ -/]*[0-~]`;

const ESCAPE_SEQUENCES = new RegExp(
  `${STRING_INTRODUCER}[\\s\\S]*?${STRING_TERMINATOR}|${CONTROL_SEQUENCE}|${OTHER_ESCAPE}`,
  "g",
);
/** Whitespace controls and the Unicode line and paragraph separators: a space keeps words apart. */
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u2028\u2029]/g;
/**
 * What is left to neutralise: C0 controls, DEL, C1 controls, and the bidirectional embeddings,
 * overrides and isolates that make text display in another order than it is stored.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const OTHER_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** Shown in place of a control character, so the operator can see that something was there. */
export const REPLACEMENT = "\uFFFD";

/** One line of plain text: escape sequences removed, other controls replaced, line breaks made spaces. */
export function sanitise(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, "").replace(WHITESPACE_CONTROLS, " ").replace(OTHER_CONTROLS, REPLACEMENT);
}

/** What JSON.stringify leaves as it is but a terminal would act on. */
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Indented JSON that is safe to print and means exactly the same: JSON.stringify already writes
 * C0 controls (ESC included) and lone surrogates as `\u` escapes, and the rest is escaped here.
 */
export function safeJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? "null").replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** At most `max` characters (code points), the last one `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

function width(text: string): number {
  return Array.from(text).length;
}

export interface Column {
  header: string;
  /** Longer cells are cut with `…`. */
  max?: number;
}

/**
 * Left-aligned columns two spaces apart; every cell is sanitised and cut to its column's `max`.
 * The last column is not padded.
 */
export function formatTable(columns: Column[], rows: string[][]): string[] {
  const cells = [columns.map((c) => c.header), ...rows].map((row) =>
    columns.map((column, i) => {
      const cell = sanitise(row[i] ?? "");
      return column.max === undefined ? cell : truncate(cell, column.max);
    }),
  );
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => width(row[i] ?? ""))));
  return cells.map((row) =>
    row
      .map((cell, i) => (i < columns.length - 1 ? cell + " ".repeat((widths[i] ?? 0) - width(cell)) : cell))
      .join("  ")
      .trimEnd(),
  );
}

/** The widest a table of these columns gets, except for its last column. */
export function widthBeforeLast(columns: Column[], rows: string[][]): number {
  let total = 0;
  for (let i = 0; i < columns.length - 1; i++) {
    const column = columns[i] as Column;
    const widest = Math.max(width(column.header), ...rows.map((row) => width(sanitise(row[i] ?? ""))));
    total += Math.min(widest, column.max ?? widest) + 2;
  }
  return total;
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A word a POSIX shell reads back as it is: sanitised, and single-quoted unless it is plain. */
export function shellArg(value: string): string {
  const clean = sanitise(value);
  return SHELL_SAFE.test(clean) ? clean : `'${clean.replaceAll("'", `'\\''`)}'`;
}
