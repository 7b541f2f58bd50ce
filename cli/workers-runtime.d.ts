// src/ is type-checked against the runtime types `wrangler types` writes into
// worker-configuration.d.ts. The CLI imports a few of its files (signatures, event types, config,
// normalisation) and checks them against Node's types instead, because the Workers and DOM libs
// clash with @types/node. These are the Workers-only names those files touch.

import type { webcrypto } from "node:crypto";

declare module "crypto" {
  namespace webcrypto {
    interface SubtleCrypto {
      /** Workers-only; used by src/lib/bytes.ts, never by the CLI. */
      timingSafeEqual(a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView): boolean;
    }
  }
}

declare global {
  type CryptoKey = webcrypto.CryptoKey;
  /**
   * The Worker's bindings, declared in worker-configuration.d.ts with Workers-only types. Only
   * readConfig in src/config.ts takes one, and the CLI never calls it.
   */
  interface Env {
    readonly [name: string]: unknown;
  }
}
