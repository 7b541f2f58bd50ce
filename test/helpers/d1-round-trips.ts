// Counts D1 round trips: every `first`, `run`, `all` or `raw` of a statement is one, and so is a
// whole `batch`. Each is recorded with its SQL, so a test can tell the attempt's own calls from
// a handler's own write (the mirror's upsert into `work_orders`).

import { env } from "cloudflare:workers";

export interface RoundTrip {
  /** `first`, `run`, `all`, `raw` or `batch`. */
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
  const originals = new WeakMap<object, { sql: string; statement: D1PreparedStatement }>();
  const wrap = (sql: string, statement: D1PreparedStatement): D1PreparedStatement => {
    const trip = <T>(kind: string, call: () => Promise<T>) => {
      trips.push({ kind, statements: [sql] });
      return call();
    };
    const wrapped = {
      bind: (...values: unknown[]) => wrap(sql, statement.bind(...values)),
      first: (column?: string) =>
        trip("first", () => (column === undefined ? statement.first() : statement.first(column))),
      run: () => trip("run", () => statement.run()),
      all: () => trip("all", () => statement.all()),
      raw: () => trip("raw", () => statement.raw()),
    } as unknown as D1PreparedStatement;
    originals.set(wrapped, { sql, statement });
    return wrapped;
  };
  const db = {
    prepare: (sql: string) => wrap(sql, real.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) => {
      const unwrapped = statements.map((s) => originals.get(s) ?? { sql: "(unknown)", statement: s });
      trips.push({ kind: "batch", statements: unwrapped.map((s) => s.sql) });
      return real.batch(unwrapped.map((s) => s.statement));
    },
    exec: (sql: string) => {
      trips.push({ kind: "exec", statements: [sql] });
      return real.exec(sql);
    },
  } as unknown as D1Database;
  return { db, trips };
}
