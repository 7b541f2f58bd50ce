// What every command receives and returns, so commands run the same in-process (tests) and
// from the real process (cli/index.ts).

export const EXIT_OK = 0;
/** MaintainX, the Worker or the network failed. */
export const EXIT_FAILURE = 1;
/** The command could not run as given: bad arguments or missing configuration. */
export const EXIT_USAGE = 2;

export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILURE | typeof EXIT_USAGE;

export interface OutputSink {
  /** Results: what a script piping the command would want. */
  stdout(line: string): void;
  /** Warnings, hints and errors. */
  stderr(line: string): void;
}

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Where `.dev.vars` is looked for. */
  cwd: string;
  output: OutputSink;
  /** Per outbound request; tests shorten it. */
  timeoutMs?: number;
  /** The terminal's width, when output goes to one: tables fit their last column to it. */
  columns?: number;
}

export function processOutput(): OutputSink {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  };
}

/** Collects output in memory: for tests, and for callers that want the text rather than a terminal. */
export function bufferOutput(): OutputSink & { lines: { stdout: string[]; stderr: string[] }; text(): string } {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  return {
    lines,
    stdout: (line) => lines.stdout.push(line),
    stderr: (line) => lines.stderr.push(line),
    text: () => [...lines.stdout, ...lines.stderr].join("\n"),
  };
}
