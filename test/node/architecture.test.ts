// The layering of src/ (ARCHITECTURE.md, "Which folder may import which"), checked on the imports
// themselves, so a dependency that runs back up the layers fails here rather than in review.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** What each part of src/ may import, besides itself. Top-level files count as parts of their own. */
const ALLOWED: Record<string, string[]> = {
  lib: [],
  "local-dev": [],
  config: ["lib"],
  events: ["lib"],
  store: ["lib", "events"],
  maintainx: ["lib", "config"],
  contract: ["lib", "config", "events"],
  ingest: ["lib", "config", "events", "store", "maintainx"],
  alerts: ["lib", "config", "events", "store"],
  handlers: ["lib", "config", "events", "store", "maintainx", "contract"],
  routing: ["lib", "config", "events", "store", "maintainx", "contract", "alerts"],
  polling: ["lib", "config", "events", "store", "maintainx", "ingest", "alerts"],
  webhooks: ["lib", "config", "events", "ingest", "local-dev"],
  admin: ["lib", "config", "events", "store", "ingest", "alerts", "contract", "local-dev"],
  app: ["lib", "webhooks", "admin", "contract"],
  index: ["app", "handlers", "polling", "routing"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `webhooks/receive.ts` → "webhooks"; `config.ts` → "config". */
function partOf(path: string): string {
  const [first = ""] = relative(SRC, path).split("/");
  return first.replace(/\.ts$/, "");
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1] ?? "");
  const bare = [...text.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((m) => m[1] ?? "");
  return [...specifiers, ...bare];
}

const files = sourceFiles(SRC);
const edges = files.flatMap((file) =>
  importsOf(file)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => ({
      file: relative(SRC, file),
      from: partOf(file),
      to: partOf(resolve(dirname(file), specifier)),
    })),
);

describe("imports in src/ point down the layers only", () => {
  it("finds the imports it checks (the rule cannot pass by reading nothing)", () => {
    expect(files.length).toBeGreaterThan(30);
    expect(edges.some((e) => e.from === "webhooks" && e.to === "ingest")).toBe(true);
    expect(edges.some((e) => e.from === "handlers" && e.to === "contract")).toBe(true);
  });

  it("knows every part of src/", () => {
    expect([...new Set(files.map(partOf))].filter((part) => !(part in ALLOWED))).toEqual([]);
  });

  it("has no import that the table does not allow", () => {
    const forbidden = edges
      .filter((e) => e.from !== e.to && !(ALLOWED[e.from] ?? []).includes(e.to))
      .map((e) => `${e.file} imports ${e.to}/`);
    expect(forbidden).toEqual([]);
  });

  it("keeps the rules a newcomer relies on", () => {
    // Spelled out, so loosening the table above cannot quietly drop them.
    const never: Array<[string, string]> = [
      ["handlers", "webhooks"],
      ["handlers", "ingest"],
      ["handlers", "admin"],
      ["handlers", "routing"],
      ["routing", "handlers"],
      // The admin routes are handed the registry, as the consumer is.
      ["admin", "handlers"],
      ["webhooks", "store"],
      ["store", "handlers"],
    ];
    for (const [from, to] of never) {
      expect(ALLOWED[from], `${from} may import ${to}`).not.toContain(to);
      expect(edges.filter((e) => e.from === from && e.to === to).map((e) => e.file)).toEqual([]);
    }
  });

  it("sends to the queue from ingest/ only", () => {
    const senders = files
      .filter((file) => /\bEVENTS_QUEUE\b|\.sendBatch\(|\bQueue\b.*\.send\(/.test(readFileSync(file, "utf8")))
      .map((file) => relative(SRC, file));
    expect(senders.length).toBeGreaterThan(0);
    expect(senders.filter((file) => !file.startsWith("ingest/"))).toEqual([]);
  });

  it("keeps SQL in store/ only", () => {
    const withSql = files.filter((file) => /\.prepare\(/.test(readFileSync(file, "utf8"))).map((f) => relative(SRC, f));
    expect(withSql.length).toBeGreaterThan(0);
    expect(withSql.filter((file) => !file.startsWith("store/"))).toEqual([]);
  });
});
