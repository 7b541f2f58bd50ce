// The one way the end-to-end tests, the soak and the benchmarks run the Worker under a real
// `wrangler dev`: on 127.0.0.1 only, with fresh local state and the D1 migrations applied, secrets
// passed as `--var`, its output captured, and every process it started ended by that process's id.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, WRANGLER_BIN, wranglerEnv } from "./wrangler-env";

interface WranglerDevOptions {
  /** Passed as `--var KEY:VALUE`; this is how secrets reach the Worker (no .dev.vars here). */
  vars?: Record<string, string>;
  /** A fixed port; by default a free one is picked (and picked again if it was taken meanwhile). */
  port?: number;
  /**
   * Keeps at most about this many characters of output: the start and the latest, with the middle
   * dropped (for a run that sends enough requests for wrangler's request lines to pile up). By
   * default everything is kept. `waitForLog` sees only what is kept.
   */
  maxLogChars?: number;
}

export interface WranglerDev {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  port: number;
  /** The wrangler process: the root of the process tree (wrangler and its workerd) serving `url`. */
  pid: number;
  /** The folder holding the local KV, Queue, D1 and R2 state (`--persist-to`). */
  persistTo: string;
  /** Everything wrangler and the Worker printed so far (stdout and stderr, colours stripped). */
  logs(): string;
  /** Resolves once the logs match `pattern`; rejects with the logs on timeout or if wrangler exits. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Ends wrangler and its workerd children, then deletes the temporary state. Safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 45_000;
const HEALTH_POLL_INTERVAL_MS = 200;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;
const MIGRATIONS_TIMEOUT_MS = 45_000;

// Every process group this module started and every temporary folder it made, so that an exit
// of the calling process (a failing hook, Ctrl-C) can still clean up synchronously.
const liveGroups = new Set<number>();
const liveTempDirs = new Set<string>();
let cleanupRegistered = false;

function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function cleanupSync(): void {
  for (const pid of liveGroups) killGroupSync(pid, "SIGKILL");
  liveGroups.clear();
  for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.on("exit", cleanupSync);
  // The children run in their own process group (so the whole group can be signalled), which also
  // means a terminal's Ctrl-C no longer reaches them: forward the end of this process to them.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      cleanupSync();
      // Re-raise only when nobody else handles the signal, so the default (exit) still happens.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Asks the kernel for an unused port on 127.0.0.1 by listening on port 0, then releases it.
 * Another process can still take it before wrangler binds it: startWranglerDev then tries again.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("Could not read the port the kernel assigned on 127.0.0.1"));
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}

const DROPPED_OUTPUT = "\n[… output dropped …]\n";

/** The first half of `limit` and its latest quarter once `text` outgrows it. */
function bounded(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, Math.floor(limit / 2))}${DROPPED_OUTPUT}${text.slice(-Math.floor(limit / 4))}`;
}

const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, "");
}

function withoutStatefulFlags(pattern: RegExp): RegExp {
  // A `g` or `y` regex keeps lastIndex between calls and would skip matches on the next check.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a short wrangler command to completion, failing with its output. */
function runWrangler(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER_BIN, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const pid = child.pid;
    if (pid !== undefined) liveGroups.add(pid);
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      // Decoding per stream keeps a multi-byte character split across chunks intact.
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        output += chunk;
      });
    }
    const timer = setTimeout(() => {
      if (pid !== undefined) killGroupSync(pid, "SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      if (pid !== undefined) liveGroups.delete(pid);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) {
        killGroupSync(pid, "SIGKILL");
        liveGroups.delete(pid);
      }
      if (code === 0) resolve();
      else
        reject(
          new Error(`wrangler ${args.join(" ")} failed (${signal ?? `exit code ${code}`}):\n${stripAnsi(output)}`),
        );
    });
  });
}

interface DevProcess {
  child: ChildProcess;
  /** Resolves when the wrangler process has exited. */
  exited: Promise<void>;
  hasExited(): boolean;
  logs(): string;
  onOutput(listener: () => void): () => void;
}

function spawnDev(args: string[], env: NodeJS.ProcessEnv, maxLogChars: number): DevProcess {
  // detached: wrangler and its workerd children get their own process group, so stop() can
  // signal all of them at once with kill(-pid) and nothing else.
  const child = spawn(WRANGLER_BIN, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  let raw = "";
  let exited = false;
  const listeners = new Set<() => void>();
  const append = (chunk: string) => {
    raw = bounded(raw + chunk, maxLogChars);
    for (const listener of listeners) listener();
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", append);
  }
  const exitedPromise = new Promise<void>((resolve) => {
    const done = () => {
      if (exited) return;
      exited = true;
      for (const listener of listeners) listener();
      resolve();
    };
    child.once("exit", done);
    child.once("error", (error) => {
      raw += `\n[spawn error] ${error.message}\n`;
      done();
    });
  });
  return {
    child,
    exited: exitedPromise,
    hasExited: () => exited,
    logs: () => stripAnsi(raw),
    onOutput(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

async function stopDev(dev: DevProcess): Promise<void> {
  const pid = dev.child.pid;
  if (pid === undefined) return;
  if (!dev.hasExited()) {
    // SIGTERM to wrangler alone lets it dispose of its workerd children in order; the whole
    // group is killed only if it hangs.
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    const timedOut = await Promise.race([dev.exited.then(() => false), delay(STOP_GRACE_MS).then(() => true)]);
    if (timedOut) {
      killGroupSync(pid, "SIGKILL");
      await dev.exited;
    }
  }
  // A workerd child that outlived wrangler would keep its ports and files busy.
  killGroupSync(pid, "SIGKILL");
  await waitForGroupToVanish(pid);
  liveGroups.delete(pid);
}

/** Children orphaned by wrangler are reaped by init a moment later; wait so none is seen after stop(). */
async function waitForGroupToVanish(pid: number): Promise<void> {
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await delay(50);
  }
}

async function waitUntilHealthy(dev: DevProcess, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (dev.hasExited()) throw new Error(`wrangler dev exited before answering GET /health:\n${dev.logs()}`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await delay(HEALTH_POLL_INTERVAL_MS);
  }
  throw new Error(`wrangler dev did not answer GET /health with 200 within ${READY_TIMEOUT_MS} ms:\n${dev.logs()}`);
}

/**
 * wrangler dev watches the sources and restarts workerd when one changes (there is no flag to
 * stop it), which drops messages still waiting in the local queue: say so when it happened.
 */
function reloadHint(logs: string): string {
  return /Reloading local server/.test(logs)
    ? " wrangler dev reloaded the Worker during the run because a source file changed; messages still in the local queue are lost on reload."
    : "";
}

function isAddressInUse(logs: string): boolean {
  return /Address already in use|EADDRINUSE/i.test(logs);
}

/** One run's temporary folder: the local state, wrangler's config home and an empty env file. */
interface RunFolder {
  /** The local KV, Queue, D1 and R2 state (`--persist-to`). */
  persistTo: string;
  configHome: string;
  emptyEnvFile: string;
  /** Deletes the folder. */
  remove: () => void;
}

function makeRunFolder(): RunFolder {
  const tempRoot = mkdtempSync(join(tmpdir(), "maintainx-wrangler-dev-"));
  liveTempDirs.add(tempRoot);
  // Naming an env file stops wrangler from reading the repository's .dev.vars (a developer's real
  // secrets must not leak into a test or a benchmark); this one is empty, so only --var values count.
  const emptyEnvFile = join(tempRoot, "empty.env");
  writeFileSync(emptyEnvFile, "");
  return {
    persistTo: join(tempRoot, "state"),
    configHome: join(tempRoot, "config"),
    emptyEnvFile,
    remove: () => {
      rmSync(tempRoot, { recursive: true, force: true });
      liveTempDirs.delete(tempRoot);
    },
  };
}

function applyMigrations(persistTo: string, env: NodeJS.ProcessEnv): Promise<void> {
  return runWrangler(
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    env,
    MIGRATIONS_TIMEOUT_MS,
  );
}

function devArgs(port: number, inspectorPort: number, folder: RunFolder, vars: Record<string, string>): string[] {
  return [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    folder.persistTo,
    "--env-file",
    folder.emptyEnvFile,
    // As `npm run dev` runs it: GET /__scheduled fires the cron handler.
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    // wrangler's default, pinned so that a WRANGLER_LOG in the environment cannot change it:
    // at "info" wrangler drops the Worker's console.log lines, and the tests read them.
    "--log-level",
    "log",
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
}

/** A wrangler dev that answered GET /health. */
interface HealthyDev {
  dev: DevProcess;
  url: string;
  port: number;
  pid: number;
}

/**
 * Starts wrangler dev and waits for GET /health. On a picked port taken by another process
 * between freePort() and wrangler binding it, tries again on a new one.
 */
async function startUntilHealthy(
  options: WranglerDevOptions,
  folder: RunFolder,
  env: NodeJS.ProcessEnv,
): Promise<HealthyDev> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    // wrangler dev has no flag to turn the inspector off; a free port keeps parallel runs apart.
    const inspectorPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = devArgs(port, inspectorPort, folder, options.vars ?? {});
    const dev = spawnDev(args, env, options.maxLogChars ?? Number.POSITIVE_INFINITY);
    try {
      await waitUntilHealthy(dev, url);
    } catch (error) {
      await stopDev(dev);
      if (options.port === undefined && attempt < START_ATTEMPTS && isAddressInUse(dev.logs())) continue;
      throw error;
    }
    const pid = dev.child.pid;
    if (pid === undefined) {
      // Unreachable: a process that failed to spawn cannot answer /health.
      await stopDev(dev);
      throw new Error("wrangler dev answered, yet its process id is unknown");
    }
    return { dev, url, port, pid };
  }
}

/** Resolves once the kept logs match `pattern`; rejects with them on timeout or if wrangler exits. */
function waitForDevLog(dev: DevProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const regex = withoutStatefulFlags(pattern);
  return new Promise<void>((resolve, reject) => {
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      if (regex.test(dev.logs())) {
        finish();
        resolve();
      } else if (dev.hasExited()) {
        finish();
        reject(new Error(`wrangler dev exited before logging ${regex}:\n${dev.logs()}`));
      }
    };
    const finish = () => {
      unsubscribe();
      clearTimeout(timer);
    };
    timer = setTimeout(() => {
      finish();
      const logs = dev.logs();
      reject(new Error(`No log line matched ${regex} within ${timeoutMs} ms.${reloadHint(logs)} Logs:\n${logs}`));
    }, timeoutMs);
    unsubscribe = dev.onOutput(check);
    check();
  });
}

export async function startWranglerDev(options: WranglerDevOptions = {}): Promise<WranglerDev> {
  registerCleanup();
  const folder = makeRunFolder();
  const env = wranglerEnv(folder.configHome);
  let healthy: HealthyDev;
  try {
    await applyMigrations(folder.persistTo, env);
    healthy = await startUntilHealthy(options, folder, env);
  } catch (error) {
    folder.remove();
    throw error;
  }

  const { dev, url, port, pid } = healthy;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    pid,
    persistTo: folder.persistTo,
    logs: dev.logs,
    waitForLog: (pattern, timeoutMs = 10_000) => waitForDevLog(dev, pattern, timeoutMs),
    stop() {
      stopping ??= stopDev(dev).finally(folder.remove);
      return stopping;
    },
  };
}
