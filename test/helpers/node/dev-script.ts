// Runs the real `npm run dev` script (scripts/dev.ts) in a child process for the e2e tests and
// waits for the console link it prints. The child leads a process group of its own (detached), so
// stopping it reaches npm, tsx and wrangler together: a signal to the child alone would leave
// wrangler holding the port.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** The link `npm run dev` prints once the Worker answers: the token is in the fragment. */
const CONSOLE_LINK = /http:\/\/localhost:\d+\/admin#token=[A-Za-z0-9_-]+/;

/** An unused port on 127.0.0.1 for `--port`: the kernel assigns it, then it is released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface DevScript {
  child: ChildProcess;
  /** `http://localhost:<port>/admin#token=…`, as printed. */
  link: string;
  /** Everything the process has written to stdout and stderr so far. */
  output(): string;
}

/**
 * Starts `command args` in `cwd` with exactly `env` and resolves once its output holds the
 * console link. Rejects with the output so far when the process exits first or `timeoutMs`
 * passes, after stopping what is still running: a caller that never got the child cannot.
 */
export async function startDevScript(options: {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}): Promise<DevScript> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      output += chunk;
    });
  }
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const match = CONSOLE_LINK.exec(output);
    if (match) return { child, link: match[0], output: () => output };
    if (child.exitCode !== null || Date.now() > deadline) {
      const error = new Error(`npm run dev printed no console link:\n${output}`);
      await stopDevScript(child);
      throw error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Sends SIGTERM to the child's process group and waits for the child to exit, 10 s at the most.
 * Does nothing when the child never started or has already exited.
 */
export async function stopDevScript(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
}
