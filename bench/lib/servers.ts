// Starts the servers under test as child processes on 127.0.0.1 and ends them by pid. Each runs
// in its own process group, so a server that spawned children (Miniflare → workerd) is ended whole.
// `wrangler dev` is started by tools/wrangler-dev.ts instead.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { READY_PREFIX } from "./worker-spec";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface RunningServer {
  pid: number;
  /** The JSON the server printed after BENCH_READY (or, for wrangler dev, its URL). */
  ready: Record<string, string>;
  /** Everything it wrote to stderr (and stdout, minus the ready line), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;
const live = new Set<ChildProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

// An interrupted benchmark must not leave a server (and its workerd) running.
process.on("exit", () => {
  for (const child of live) if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(130));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    const timedOut = await Promise.race([exited.then(() => false), delay(STOP_GRACE_MS).then(() => true)]);
    if (timedOut) killGroup(pid, "SIGKILL");
    await exited;
  }
  // Children that outlived their parent (a workerd orphaned by a crash) go too.
  killGroup(pid, "SIGKILL");
  live.delete(child);
}

interface StartOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves the ready JSON from the output so far, or undefined while not ready. */
  isReady?: (output: string) => Record<string, string> | undefined;
  /** Called while waiting (e.g. an HTTP probe); resolving to a value means ready. */
  probe?: () => Promise<Record<string, string> | undefined>;
  timeoutMs: number;
}

async function startServer(options: StartOptions): Promise<RunningServer> {
  const child = spawn(options.command, options.args, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  live.add(child);
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      // Keep the start and the end of the output: enough to explain a failure, bounded in size.
      output = output.length > 200_000 ? output.slice(0, 100_000) + output.slice(-50_000) + chunk : output + chunk;
    });
  }
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      output += `\n[spawn error] ${error.message}`;
      resolve();
    });
  });
  const stop = () => stopChild(child, exited);

  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const fromOutput = options.isReady?.(output);
    const ready = fromOutput ?? (options.probe ? await options.probe() : undefined);
    if (ready && child.pid !== undefined) return { pid: child.pid, ready, output: () => output, stop };
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${options.command} ${options.args.join(" ")} exited before it was ready:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.command} was not ready within ${options.timeoutMs} ms:\n${output}`);
    }
    await delay(100);
  }
}

/** Parses the `BENCH_READY {...}` line the bench's own servers print. */
function readyLine(output: string): Record<string, string> | undefined {
  const start = output.indexOf(READY_PREFIX);
  if (start < 0) return undefined;
  const end = output.indexOf("\n", start);
  if (end < 0) return undefined;
  return JSON.parse(output.slice(start + READY_PREFIX.length, end)) as Record<string, string>;
}

/** Runs a TypeScript file under Node with tsx's loader, in one process (no tsx CLI wrapper). */
export function startTsServer(file: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunningServer> {
  return startServer({
    command: process.execPath,
    args: ["--import", "tsx", file],
    env: { ...process.env, ...env },
    isReady: readyLine,
    timeoutMs,
  });
}
