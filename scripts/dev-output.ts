// The filter `npm run dev` puts on wrangler's output, so that the console's link is not pushed
// out of sight by the bindings table: its variable rows are dropped (a line says how many), and a
// table printed again unchanged is dropped whole. The line naming a secrets file `npm run dev`
// wrote for wrangler names the file it stands for, or goes. Every other line passes as it is.

import { resolve } from "node:path";
import { Transform } from "node:stream";

const TABLE_START = /Your Worker has access to the following bindings:/;
// A row of the table: `env.NAME …  Type  local|remote`.
const ROW = /^\s*env\.\S+/;
const VARIABLE_ROW = /Environment Variable/;
const HEADER_ROW = /^\s*Binding\s+Resource/;
const SECRETS_FILE = /^Using secrets defined in (.+)$/;
// Colours, when the terminal has them, are left in what is printed and ignored when matching.
// biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI escape starts with ESC.
const COLOUR = /\u001b\[[0-9;]*m/g;

export interface QuietOptions {
  /** Files `npm run dev` wrote (absolute paths) → the file each stands for, or undefined to say nothing. */
  secretFiles?: ReadonlyMap<string, string | undefined>;
}

/** A Transform that reads wrangler's output line by line and passes on the quiet version. */
export function quietBindings(options: QuietOptions = {}): Transform {
  let pending = "";
  let table: string[] | undefined;
  let variables = 0;
  const printed = new Set<string>();

  const endTable = (): string => {
    if (!table) return "";
    const key = table.join("\n").replace(COLOUR, "");
    const lines = printed.has(key) ? [] : [...table];
    if (lines.length > 0 && variables > 0) {
      lines.push(`(${variables} variables and secrets not listed: wrangler.toml [vars], .dev.vars)`);
    }
    printed.add(key);
    table = undefined;
    variables = 0;
    return lines.map((line) => `${line}\n`).join("");
  };

  const take = (line: string): string => {
    const plain = line.replace(COLOUR, "");
    const secrets = SECRETS_FILE.exec(plain.trim());
    if (secrets && options.secretFiles?.has(resolve(secrets[1] as string))) {
      const standsFor = options.secretFiles.get(resolve(secrets[1] as string));
      return `${endTable()}${standsFor === undefined ? "" : `Using secrets defined in ${standsFor}\n`}`;
    }
    if (TABLE_START.test(plain)) {
      const before = endTable();
      table = [line];
      return before;
    }
    if (table && (HEADER_ROW.test(plain) || ROW.test(plain))) {
      if (VARIABLE_ROW.test(plain)) variables += 1;
      else table.push(line);
      return "";
    }
    return `${endTable()}${line}\n`;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const lines = (pending + chunk.toString("utf8")).split("\n");
      pending = lines.pop() ?? "";
      done(null, lines.map(take).join(""));
    },
    flush(done) {
      done(null, `${pending ? take(pending) : ""}${endTable()}`);
    },
  });
}
