// The subrequests one request makes: every D1, KV and Queue call counts against the platform's
// limit per request (docs/operations.md, "Limits and capacity"). Each call is charged where it is
// made, as it is made, so `used` is what the request called, not an estimate of it.

export class Subrequests {
  #used = 0;

  /** `budget`: the most calls the work may make; unlimited when not given. */
  constructor(readonly budget = Number.POSITIVE_INFINITY) {}

  /** Counts one call, made now (whether or not it then succeeds). */
  charge(): void {
    this.#used += 1;
  }

  get used(): number {
    return this.#used;
  }

  get left(): number {
    return this.budget - this.#used;
  }
}

/**
 * The binding, with every method call charged to `calls` as it is made. For a KV namespace or a
 * queue, where each method is one subrequest; not for D1, whose calls are its statements' and
 * batches'.
 */
export function charged<T extends object>(binding: T, calls: Subrequests): T {
  return new Proxy(binding, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.charge();
        return Reflect.apply(value, target, args);
      };
    },
  });
}
