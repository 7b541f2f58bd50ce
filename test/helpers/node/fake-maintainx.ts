// A fake MaintainX REST API for Node tests: a node:http server on 127.0.0.1 (random free port)
// that records every request and answers from routes the test programs. A request no route
// matches gets the 404 MaintainX would give, so a wrong path fails the test visibly.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const FAKE_API_PREFIX = "/v1";

interface RecordedRequest {
  method: string;
  /** The path as received, not decoded, e.g. `/v1/subscriptions/42`. */
  path: string;
  /** Query parameters; a repeated key becomes an array. */
  query: Record<string, string | string[]>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  /** The JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
}

interface RouteRequest extends RecordedRequest {
  /** Decoded values of the pattern's `:name` segments. */
  params: Record<string, string>;
}

export interface FakeAnswer {
  /** Default 200. */
  status?: number;
  /** Sent as JSON; nothing is sent when both this and rawBody are undefined. */
  body?: unknown;
  /** Sent as is, instead of `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Returning a promise that never settles makes the fake hang, to exercise client timeouts. */
type FakeHandler = (request: RouteRequest) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeMaintainX {
  /** The API base, for MAINTAINX_API_BASE: `http://127.0.0.1:<port>/v1`. */
  url: string;
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Every request received, oldest first; recorded before its handler runs. */
  readonly requests: RecordedRequest[];
  /**
   * Answers requests with this method whose whole path matches `pattern`, e.g.
   * `/v1/subscriptions/:id` (`:name` matches one segment). A later route for the same method
   * and pattern replaces the earlier one.
   */
  route(method: string, pattern: string, answer: FakeAnswer | FakeHandler): void;
  /** Forgets every route and recorded request. */
  reset(): void;
  /** Stops the server, dropping open connections (a hanging handler included). */
  close(): Promise<void>;
}

interface Route {
  method: string;
  matcher: RegExp;
  names: string[];
  handler: FakeHandler;
}

export async function startFakeMaintainX(): Promise<FakeMaintainX> {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Route>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendAnswer(res, { status: 500, body: { message: `Fake MaintainX failed: ${error}` } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded = await record(req);
    requests.push(recorded);
    const match = findRoute(recorded);
    if (!match) {
      sendAnswer(res, {
        status: 404,
        body: { message: `Fake MaintainX has no route for ${recorded.method} ${recorded.path}` },
      });
      return;
    }
    sendAnswer(res, await match.route.handler({ ...recorded, params: match.params }));
  }

  function findRoute(request: RecordedRequest): { route: Route; params: Record<string, string> } | undefined {
    for (const route of routes.values()) {
      if (route.method !== request.method) continue;
      const found = route.matcher.exec(request.path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1] ?? "");
      });
      return { route, params };
    }
    return undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${FAKE_API_PREFIX}`,
    origin,
    requests,
    route(method, pattern, answer) {
      const names: string[] = [];
      const source = pattern
        .split("/")
        .map((segment) => {
          if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(segment.slice(1));
          return "([^/]+)";
        })
        .join("/");
      const handler = typeof answer === "function" ? answer : () => answer;
      routes.set(`${method.toUpperCase()} ${pattern}`, {
        method: method.toUpperCase(),
        matcher: new RegExp(`^${source}$`),
        names,
        handler,
      });
    },
    reset() {
      routes.clear();
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString("utf8");
  const url = new URL(req.url ?? "/", "http://fake.invalid");

  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  let body: unknown;
  try {
    body = rawBody === "" ? undefined : JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  return { method: req.method ?? "GET", path: url.pathname, query, headers, rawBody, body };
}

function sendAnswer(res: ServerResponse, answer: FakeAnswer): void {
  const status = answer.status ?? 200;
  const headers: Record<string, string> = { ...answer.headers };
  let payload: string | undefined = answer.rawBody;
  if (payload === undefined && answer.body !== undefined) {
    payload = JSON.stringify(answer.body);
    headers["content-type"] ??= "application/json";
  }
  // A 204 carries no body by definition.
  res.writeHead(status, headers);
  res.end(status === 204 ? undefined : payload);
}
