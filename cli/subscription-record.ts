// The local record of the subscriptions this CLI created, `.maintainx-subscriptions.json` in the
// current directory (the repository root under `npm run cli`). MaintainX has no endpoint that lists
// subscriptions, so without this record `subscriptions list` would have nothing to show.
// It never holds a secret: entries are rebuilt field by field before they are written.

import { randomUUID } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CommandFailure, ConfigError } from "./errors";

export const SUBSCRIPTION_RECORD_FILE = ".maintainx-subscriptions.json";

const RecordedSubscriptionSchema = z.object({
  // MaintainX ids are numbers; a hand-edited file may have written one as such.
  id: z.union([z.string().min(1), z.number()]).transform(String),
  type: z.string(),
  url: z.string(),
  status: z.string(),
  /** ISO 8601, when `create` made it. */
  createdAt: z.string(),
});
export type RecordedSubscription = z.output<typeof RecordedSubscriptionSchema>;

const RecordFileSchema = z.object({ subscriptions: z.array(RecordedSubscriptionSchema) });

function recordPath(dir: string): string {
  return join(dir, SUBSCRIPTION_RECORD_FILE);
}

/**
 * The recorded subscriptions, oldest first; none when the file does not exist yet. A file that
 * cannot be read or is not a record stops the command (exit 2) with what to do about it.
 */
export function readSubscriptionRecord(dir: string): RecordedSubscription[] {
  const path = recordPath(dir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new ConfigError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corruptRecord(path, "it is not JSON");
  }
  const parsed = RecordFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw corruptRecord(path, `it does not look like a subscription record${where}`);
  }
  return parsed.data.subscriptions;
}

function corruptRecord(path: string, reason: string): ConfigError {
  return new ConfigError(
    `${path} cannot be used: ${reason}. Repair it (a JSON object {"subscriptions": [{"id", "type", "url", "status", "createdAt"}, ...]}) or move it aside to start a new record; the subscriptions themselves stay in MaintainX, and \`npm run cli -- subscriptions get <id>\` still shows one by id.`,
  );
}

/** Adds the entry, or replaces the one with the same id in place. */
export function saveRecordedSubscription(dir: string, entry: RecordedSubscription): void {
  const entries = readSubscriptionRecord(dir);
  const index = entries.findIndex((e) => e.id === entry.id);
  if (index === -1) entries.push(entry);
  else entries[index] = entry;
  writeSubscriptionRecord(dir, entries);
}

/** Removes the entry with this id; false when there was none (the file is then left as it is). */
export function forgetRecordedSubscription(dir: string, id: string): boolean {
  const entries = readSubscriptionRecord(dir);
  const kept = entries.filter((e) => e.id !== id);
  if (kept.length === entries.length) return false;
  writeSubscriptionRecord(dir, kept);
  return true;
}

/**
 * Writes a temporary file beside the record and renames it over the record, so an interrupted
 * write leaves the old record whole rather than half a file.
 */
function writeSubscriptionRecord(dir: string, entries: RecordedSubscription[]): void {
  const path = recordPath(dir);
  // Only the known fields: whatever else an entry object carries (a secret) is not written.
  const subscriptions = entries.map(({ id, type, url, status, createdAt }) => ({ id, type, url, status, createdAt }));
  const text = `${JSON.stringify({ subscriptions }, null, 2)}\n`;
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    writeFileSync(temporary, text, { flag: "wx" });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CommandFailure(`Could not write ${path}: ${(error as Error).message}`);
  }
}
