// HMAC-SHA256 speed at the receiver's body sizes: WebCrypto in workerd and in Node, node:crypto,
// and `openssl speed` as the machine's physical limit.

import { execFile } from "node:child_process";
import { createHmac, randomBytes, webcrypto } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface HmacResult {
  impl: string;
  bytes: number;
  ms_per_op: number;
  mb_per_s: number;
}

export const HMAC_SIZES = [2 * 1024, 64 * 1024, 1024 * 1024];

function result(impl: string, bytes: number, msPerOp: number): HmacResult {
  return { impl, bytes, ms_per_op: msPerOp, mb_per_s: bytes / 1_048_576 / (msPerOp / 1000) };
}

/** How many operations fill roughly `budgetMs` at `msPerOp`, at least a few. */
function iterationsFor(budgetMs: number, msPerOp: number): number {
  return Math.max(5, Math.round(budgetMs / Math.max(msPerOp, 1e-4)));
}

async function timeLoop(iterations: number, step: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await step();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** WebCrypto and node:crypto in this Node process. */
export async function nodeHmac(bytes: number, budgetMs: number): Promise<HmacResult[]> {
  const data = randomBytes(bytes);
  const secret = Buffer.from("bench-hmac-key");
  const key = await webcrypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const subtle = () => webcrypto.subtle.sign("HMAC", key, data);
  const hmac = () => createHmac("sha256", secret).update(data).digest();
  const out: HmacResult[] = [];
  for (const [impl, step] of [
    ["Node WebCrypto", subtle],
    ["Node node:crypto", hmac],
  ] as const) {
    const probe = await timeLoop(3, step);
    const iterations = iterationsFor(budgetMs, probe / 3);
    out.push(result(impl, bytes, (await timeLoop(iterations, step)) / iterations));
  }
  return out;
}

/** WebCrypto in workerd, through GET /__hmac of bench/workers/receiver-instrumented.js at `baseUrl`. */
export async function workerdHmac(baseUrl: string, bytes: number, budgetMs: number): Promise<HmacResult> {
  const ask = async (iterations: number) => {
    const response = await fetch(new URL(`/__hmac?bytes=${bytes}&iterations=${iterations}`, baseUrl));
    const answer = (await response.json()) as { ms?: number; error?: string };
    if (typeof answer.ms !== "number") throw new Error(`/__hmac: ${answer.error ?? response.status}`);
    return answer.ms;
  };
  // Date.now() in workerd has millisecond resolution: size the loop to last about budgetMs.
  const probeIterations = Math.max(10, Math.round(50_000_000 / bytes));
  const probe = Math.max(1, await ask(probeIterations)) / probeIterations;
  const iterations = iterationsFor(budgetMs, probe);
  return result("workerd WebCrypto", bytes, (await ask(iterations)) / iterations);
}

/** `openssl speed -hmac sha256`: the machine's limit. Undefined when openssl is not installed. */
export async function opensslHmac(bytes: number, seconds: number): Promise<HmacResult | undefined> {
  try {
    const { stdout } = await run(
      "openssl",
      ["speed", "-hmac", "sha256", "-bytes", String(bytes), "-seconds", String(seconds)],
      {
        timeout: (seconds + 30) * 1000,
      },
    );
    // The last line is "hmac(sha256)   1385307.27k": thousands of bytes per second.
    const match = /hmac\(sha256\)\s+([\d.]+)k\s*$/m.exec(stdout);
    if (!match) return undefined;
    const bytesPerSecond = Number(match[1]) * 1000;
    return result("openssl speed -hmac sha256", bytes, (bytes / bytesPerSecond) * 1000);
  } catch {
    return undefined;
  }
}
