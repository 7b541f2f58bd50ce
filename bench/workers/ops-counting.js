// The whole Worker, with every binding call counted: what an event costs on Cloudflare is the
// number of these calls it makes end to end (receiver, waitUntil, queue consumer), each of which
// is billed. Served like the burst's Worker (queue consumers, stub sinks); `GET /__ops` answers
// the counts so far and `POST /__ops/reset` starts them again. `GET /__ops/status?id=` reads an
// event's status without being counted.
//
// Counted: KV reads (get, getWithMetadata), writes (put), deletes and lists; queue messages sent
// and their 64 KB units; consumer invocations and the messages they were handed; D1 round trips
// (a statement's first/run/all/raw, or a whole batch) with the rows each wrote and read, by the
// consumer apart, and those that only write the mirror (`work_orders`) apart; R2 writes (put,
// delete) and reads (get, head).

import worker from "../../src/index";
import { noOps } from "../lib/ops-fields";

let counts = noOps();
const UNIT = 64 * 1024;
const encoder = new TextEncoder();

function units(body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return Math.max(1, Math.ceil(encoder.encode(text).length / UNIT));
}

/** The binding, each call of a method `kinds` names adding one to that method's counter. */
function countCalls(binding, kinds) {
  return new Proxy(binding, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      const kind = kinds.get(prop);
      return (...args) => {
        if (kind) counts[kind] += 1;
        return value.apply(target, args);
      };
    },
  });
}

const KV_CALLS = new Map([
  ["get", "kv_reads"],
  ["getWithMetadata", "kv_reads"],
  ["put", "kv_writes"],
  ["delete", "kv_deletes"],
  ["list", "kv_lists"],
]);
const R2_CALLS = new Map([
  ["put", "r2_writes"],
  ["delete", "r2_writes"],
  ["get", "r2_reads"],
  ["head", "r2_reads"],
]);

function countQueue(queue) {
  return {
    send(body, options) {
      counts.queue_messages += 1;
      counts.queue_units_64kb += units(body);
      return queue.send(body, options);
    },
    sendBatch(messages, options) {
      counts.queue_messages += messages.length;
      for (const message of messages) counts.queue_units_64kb += units(message.body);
      return queue.sendBatch(messages, options);
    },
  };
}

/** `inConsumer` says whose round trips these are: the queue consumer's are also counted apart. */
function countD1(db, inConsumer) {
  const originals = new WeakMap();
  const tally = (statements, results) => {
    counts.d1_round_trips += 1;
    const mirrorOnly = statements.every((sql) => /\bwork_orders\b/.test(sql));
    if (inConsumer) counts[mirrorOnly ? "consumer_mirror_round_trips" : "consumer_d1_round_trips"] += 1;
    for (const result of results) {
      counts.d1_rows_written += result?.meta?.rows_written ?? 0;
      counts.d1_rows_read += result?.meta?.rows_read ?? 0;
    }
  };
  const wrap = (sql, statement) => {
    const wrapped = {
      bind: (...values) => wrap(sql, statement.bind(...values)),
      async first(column) {
        // `first` answers no meta: its rows are counted through `all`, which reads the same.
        const result = await statement.all();
        tally([sql], [result]);
        const row = result.results[0] ?? null;
        return column === undefined || row === null ? row : row[column];
      },
      async run() {
        const result = await statement.run();
        tally([sql], [result]);
        return result;
      },
      async all() {
        const result = await statement.all();
        tally([sql], [result]);
        return result;
      },
      async raw(options) {
        counts.d1_round_trips += 1;
        if (inConsumer) counts.consumer_d1_round_trips += 1;
        return statement.raw(options);
      },
    };
    originals.set(wrapped, { sql, statement });
    return wrapped;
  };
  return {
    prepare: (sql) => wrap(sql, db.prepare(sql)),
    async batch(statements) {
      const unwrapped = statements.map((s) => originals.get(s) ?? { sql: "", statement: s });
      const results = await db.batch(unwrapped.map((s) => s.statement));
      tally(
        unwrapped.map((s) => s.sql),
        results,
      );
      return results;
    },
    exec: (sql) => db.exec(sql),
    withSession: (...args) => db.withSession(...args),
    dump: () => db.dump(),
  };
}

function counted(env, inConsumer) {
  return {
    ...env,
    IDEMPOTENCY: countCalls(env.IDEMPOTENCY, KV_CALLS),
    EVENTS_QUEUE: countQueue(env.EVENTS_QUEUE),
    DB: countD1(env.DB, inConsumer),
    REPORTS: countCalls(env.REPORTS, R2_CALLS),
  };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__ops") return Response.json(counts);
    if (url.pathname === "/__ops/reset" && request.method === "POST") {
      counts = noOps();
      return Response.json(counts);
    }
    if (url.pathname === "/__ops/status") {
      const row = await env.DB.prepare("SELECT status FROM events WHERE id = ?1")
        .bind(url.searchParams.get("id"))
        .first();
      return Response.json({ status: row?.status ?? null });
    }
    counts.worker_requests += 1;
    return worker.fetch(request, counted(env, false), ctx);
  },
  async queue(batch, env, ctx) {
    counts.consumer_invocations += 1;
    counts.consumer_messages += batch.messages.length;
    return worker.queue(batch, counted(env, true), ctx);
  },
};
