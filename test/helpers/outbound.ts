// Stands in for the outside world inside workerd: every outbound fetch() goes to a sink chosen
// by URL prefix, which records the request and answers as the test planned. An unplanned
// destination fails the test (the equivalent of MSW's onUnhandledRequest: "error").

import { vi } from "vitest";

export interface RecordedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  json: unknown;
}

export type PlannedAnswer = Response | ((request: Request) => Response | Promise<Response>) | "network-error" | "hang";

export interface Sink {
  calls: RecordedCall[];
  /** Answers to give, in order; after they run out, `fallback` answers. */
  plan(...answers: PlannedAnswer[]): Sink;
  fallback: PlannedAnswer;
}

export const SLACK_URL = "https://hooks.slack.test/services/T000/B000/secret-slack-token";
export const ERP_URL = "https://erp.test/maintainx/completed";
export const API_BASE = "https://maintainx.test/v1";

export function createOutbound() {
  const sinks = new Map<string, Sink>();

  function sink(prefix: string, fallback: PlannedAnswer = () => new Response("ok")): Sink {
    const planned: PlannedAnswer[] = [];
    const s: Sink = {
      calls: [],
      fallback,
      plan(...answers) {
        planned.push(...answers);
        return s;
      },
    };
    (s as Sink & { next(): PlannedAnswer }).next = () => planned.shift() ?? s.fallback;
    sinks.set(prefix, s);
    return s;
  }

  async function fakeFetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const entry = [...sinks.entries()].find(([prefix]) => request.url.startsWith(prefix));
    if (!entry) throw new Error(`Unexpected outbound request to ${request.url}`);
    const [, target] = entry;
    const body = await request.text();
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    target.calls.push({
      url: request.url,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      body,
      json,
    });
    const answer = (target as Sink & { next(): PlannedAnswer }).next();
    if (answer === "network-error") throw new TypeError("Network connection lost.");
    if (answer === "hang") {
      return new Promise((_, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason));
      });
    }
    return typeof answer === "function" ? answer(request) : answer.clone();
  }

  return {
    sink,
    fetch: fakeFetch,
    /** Routes the global fetch (used by the Worker's own queue handler) through the sinks. */
    install() {
      return vi.spyOn(globalThis, "fetch").mockImplementation(fakeFetch as typeof fetch);
    },
  };
}

/**
 * An answer built fresh on each call: a Response made in a test cannot be handed to the Worker's
 * own queue handler (workerd forbids I/O objects crossing request contexts).
 */
export function reply(status: number, body = "", headers: Record<string, string> = {}): () => Response {
  return () => new Response(body, { status, headers });
}

export function workOrderAnswer(workOrder: Record<string, unknown>): Response {
  return Response.json({ workOrder });
}

/**
 * The sinks the Worker's own queue consumer talks to in pool tests (installed by setup.ts):
 * SLACK_WEBHOOK_URL, ERP_WEBHOOK_URL and MAINTAINX_API_BASE in vitest.config.ts point here.
 * Slack and the ERP answer 200; the MaintainX API answers 404 unless a test plans otherwise.
 */
export const world = createOutbound();
export const worldSlack = world.sink(SLACK_URL);
export const worldErp = world.sink(ERP_URL);
export const worldApi = world.sink(API_BASE, () => new Response('{"error":"not found"}', { status: 404 }));

/**
 * Fresh recording sinks for a test that runs the consumer itself: Slack and the ERP answer 200,
 * the MaintainX API 500 unless the test plans otherwise (so an unplanned lookup fails visibly).
 */
export function consumerSinks() {
  const outbound = createOutbound();
  return {
    outbound,
    slack: outbound.sink(SLACK_URL),
    erp: outbound.sink(ERP_URL),
    api: outbound.sink(API_BASE, () => new Response('{"message":"no plan"}', { status: 500 })),
  };
}
