// Type patterns, as handlers are registered under and as FORWARD_TYPES lists them: an exact type
// (`asset.status_changed`, or a MaintainX type such as `ASSET_STATUS_CHANGE`), every type under a
// prefix (`workorder.*`), or every type (`*`).

/** `*`, `prefix.*`, or a type name (letters, digits, `_`, `-`, dot-separated). */
const PATTERN = /^(?:\*|[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*(?:\.\*)?)$/;

/** The pattern as written (trimmed), or undefined when it is not one. */
export function parseTypePattern(text: string): string | undefined {
  const pattern = text.trim();
  return pattern.length <= 100 && PATTERN.test(pattern) ? pattern : undefined;
}

export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === "*") return true;
  return pattern.endsWith(".*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

/**
 * True when any of `patterns` matches any of `types`, whatever the case: canonical types are
 * lower case and MaintainX's upper case, and a setting may be typed either way.
 */
export function matchesAnyPattern(patterns: readonly string[], types: readonly string[]): boolean {
  const lower = types.map((type) => type.toLowerCase());
  return patterns.some((pattern) => lower.some((type) => matchesPattern(pattern.toLowerCase(), type)));
}
