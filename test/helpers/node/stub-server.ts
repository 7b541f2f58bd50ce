// A programmable HTTP sink on 127.0.0.1 that stands in for Slack, the ERP and other outside
// parties in end-to-end tests: it records every request and answers as planned.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query string, as sent. */
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The raw body as UTF-8 text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  receivedAt: Date;
}

export interface PlannedResponse {
  /** Defaults to 200. */
  status?: number;
  /** For example `{ "retry-after": "120" }`. */
  headers?: Record<string, string>;
  /** A string is sent as is (text/plain unless headers say otherwise); anything else as JSON. */
  body?: unknown;
  /** Waits this long before answering, e.g. to trip the Worker's outbound timeout. */
  delayMs?: number;
  /** Destroys the socket instead of answering: the caller sees a dropped connection. */
  dropConnection?: boolean;
}

type Responder = (request: RecordedRequest) => PlannedResponse | Promise<PlannedResponse>;

export interface StubServer {
  name: string;
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** Every request received so far, oldest first. */
  requests: RecordedRequest[];
  /**
   * An array queues one answer per coming request, used up in order before the default answer.
   * A function or a single answer replaces the default answer (initially 200 "ok").
   */
  respondWith(plan: PlannedResponse[] | PlannedResponse | Responder): void;
  /** Resolves with the first `count` requests once that many have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets recorded requests and planned answers; the default goes back to 200 "ok". */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_ANSWER: PlannedResponse = { status: 200, body: "ok" };

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.once("error", reject);
  });
}

export async function startStubServer(name: string): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  let queued: PlannedResponse[] = [];
  let fallback: Responder = () => DEFAULT_ANSWER;
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: request.url ?? "/",
      headers: lowerCaseHeaders(request),
      body,
      json: parseJson(body),
      receivedAt: new Date(),
    };
    // Recorded before answering, so a dropped or delayed answer still counts as a delivery attempt.
    requests.push(recorded);
    for (const waiter of waiters) waiter();

    const planned = queued.shift() ?? (await fallback(recorded));
    if (planned.delayMs) await sleep(planned.delayMs);
    if (planned.dropConnection) {
      request.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...planned.headers };
    let payload = "";
    if (typeof planned.body === "string") {
      payload = planned.body;
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "text/plain";
    } else if (planned.body !== undefined) {
      payload = JSON.stringify(planned.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
        headers["content-type"] = "application/json";
    }
    if (response.destroyed) return;
    response.writeHead(planned.status ?? 200, headers);
    response.end(payload);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent || response.destroyed) return;
      response.writeHead(500, { "content-type": "text/plain" });
      response.end(`stub ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    name,
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith(plan) {
      if (Array.isArray(plan)) queued.push(...plan);
      else if (typeof plan === "function") fallback = plan;
      else fallback = () => plan;
    },
    waitForRequests(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(requests.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`Stub ${name} received ${requests.length} of ${count} expected requests within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    reset() {
      requests.length = 0;
      queued = [];
      fallback = () => DEFAULT_ANSWER;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive and delayed answers would otherwise hold close() open.
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
