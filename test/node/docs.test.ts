// The documentation stays true to the code: every setting the Worker reads, wrangler.toml sets or
// .dev.vars.example lists is in the README's configuration table (with wrangler.toml's value as
// its default), and every relative link in the README and docs/ resolves, anchors included.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/wrangler-env";

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

/** `KEY = "value"` lines of wrangler.toml's `[vars]` table. */
function wranglerVars(): Map<string, string> {
  const section =
    read("wrangler.toml")
      .split(/^\[vars\]\s*$/m)[1]
      ?.split(/^\s*\[/m)[0] ?? "";
  return new Map([...section.matchAll(/^([A-Z][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]));
}

/** The uncommented `KEY=` lines of .dev.vars.example. */
function devVarsExample(): string[] {
  return [...read(".dev.vars.example").matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? "");
}

/** Every setting src/config.ts reads: `env.NAME` and the `settings.*("NAME", …)` readers. */
function configReaderSettings(): string[] {
  const source = read("src/config.ts");
  const direct = [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] ?? "");
  const checked = [...source.matchAll(/settings\.\w+\(\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1] ?? "");
  return [...new Set([...direct, ...checked])];
}

/** The README's configuration table: name → default, as written (backticks removed). */
function configurationTable(): Map<string, string> {
  const section =
    read("README.md")
      .split(/^## Configuration\s*$/m)[1]
      ?.split(/^## /m)[0] ?? "";
  const rows = section.split("\n").filter((line) => /^\| `[A-Z]/.test(line));
  return new Map(
    rows.map((row) => {
      const [name = "", , value = ""] = row
        .split("|")
        .slice(1)
        .map((cell) => cell.trim().replace(/^`|`$/g, ""));
      return [name, value];
    }),
  );
}

describe("the README's configuration table", () => {
  const table = configurationTable();

  it("is there, one row a setting", () => {
    expect(table.size).toBeGreaterThan(20);
  });

  it.each([
    ["wrangler.toml [vars]", () => [...wranglerVars().keys()]],
    [".dev.vars.example", devVarsExample],
    ["src/config.ts", configReaderSettings],
  ])("lists every setting of %s", (_source, names) => {
    const listed = names();
    expect(listed.length).toBeGreaterThan(5);
    expect(listed.filter((name) => !table.has(name))).toEqual([]);
  });

  it("gives each variable wrangler.toml's value as its default", () => {
    for (const [name, value] of wranglerVars()) {
      expect([name, table.get(name)]).toEqual([name, value === "" ? "empty" : value]);
    }
  });
});

/** The user documents: the README, every page under docs/, and the repository's other guides. */
function documents(): string[] {
  const docs = readdirSync(join(REPO_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", "ARCHITECTURE.md", "SECURITY.md", "CHANGELOG.md", "bench/README.md", ...docs];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(path: string): Set<string> {
  const text = readFileSync(path, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] ?? "")));
}

/** Every relative link target of a Markdown file, outside code blocks. */
function relativeLinks(path: string): string[] {
  const text = read(path).replace(/^```[\s\S]*?^```/gm, "");
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? "")
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe("links in the README and docs/", () => {
  it.each(documents())("every relative link in %s resolves", (document) => {
    expect(existsSync(join(REPO_ROOT, document))).toBe(true);
    const broken = relativeLinks(document).filter((target) => {
      const [file = "", anchor] = target.split("#");
      const path = file === "" ? join(REPO_ROOT, document) : resolve(dirname(join(REPO_ROOT, document)), file);
      if (!path.startsWith(REPO_ROOT) || !existsSync(path)) return true;
      return anchor !== undefined && path.endsWith(".md") && !anchors(path).has(anchor);
    });
    expect(broken, `${relative(REPO_ROOT, join(REPO_ROOT, document))}`).toEqual([]);
  });

  it("covers the pages a reader is sent to", () => {
    const pages = documents().filter((path) => path.startsWith("docs/"));
    for (const page of [
      "receiving",
      "events",
      "forwarding",
      "polling",
      "console",
      "storage",
      "operations",
      "performance",
    ]) {
      expect(pages).toContain(`docs/${page}.md`);
      expect(relativeLinks("README.md")).toContain(`docs/${page}.md`);
    }
  });
});

describe("the README", () => {
  it("is a front door: at most 300 lines, deploying within the first 120", () => {
    const lines = read("README.md").split("\n");
    expect(lines.length).toBeLessThanOrEqual(300);
    const deploy = lines.findIndex((line) => /^## Deploy/.test(line));
    expect(deploy).toBeGreaterThan(0);
    expect(deploy).toBeLessThan(120);
  });
});
