// D1 with every round trip seen on its way: a statement's `first`, `run`, `all` or `raw`, a whole
// `batch`, or an `exec`, each with the SQL of what travels. `interceptD1` is the one wrapper the
// tests build on: to count round trips (`countingD1`), or to fail some on purpose (faults tests).

import { env } from "cloudflare:workers";

/** Runs `call`, the real round trip, or answers in its place; `statements` is the SQL that travels. */
export type RoundTripHook = <T>(kind: string, statements: string[], call: () => Promise<T>) => Promise<T>;

export function interceptD1(real: D1Database, around: RoundTripHook): D1Database {
  const originals = new WeakMap<object, { sql: string; statement: D1PreparedStatement }>();
  const wrap = (sql: string, statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = {
      bind: (...values: unknown[]) => wrap(sql, statement.bind(...values)),
      first: (column?: string) =>
        around("first", [sql], () => (column === undefined ? statement.first() : statement.first(column))),
      run: () => around("run", [sql], () => statement.run()),
      all: () => around("all", [sql], () => statement.all()),
      raw: () => around("raw", [sql], () => statement.raw()),
    } as unknown as D1PreparedStatement;
    originals.set(wrapped, { sql, statement });
    return wrapped;
  };
  return {
    prepare: (sql: string) => wrap(sql, real.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) => {
      const unwrapped = statements.map((s) => originals.get(s) ?? { sql: "", statement: s });
      // A batch is one transaction, and one round trip.
      return around(
        "batch",
        unwrapped.map((s) => s.sql),
        () => real.batch(unwrapped.map((s) => s.statement)),
      );
    },
    exec: (sql: string) => around("exec", [sql], () => real.exec(sql)),
  } as unknown as D1Database;
}

export interface RoundTrip {
  /** `first`, `run`, `all`, `raw`, `batch` or `exec`. */
  kind: string;
  /** The SQL of each statement that travelled. */
  statements: string[];
}

export interface CountingD1 {
  db: D1Database;
  trips: RoundTrip[];
}

/** The mirror's table: writes to it are the `warehouse` handler's own, not the consumer's. */
export const isMirrorWrite = (trip: RoundTrip) => trip.statements.every((sql) => /\bwork_orders\b/.test(sql));

export function countingD1(real: D1Database = env.DB): CountingD1 {
  const trips: RoundTrip[] = [];
  const db = interceptD1(real, (kind, statements, call) => {
    trips.push({ kind, statements });
    return call();
  });
  return { db, trips };
}
