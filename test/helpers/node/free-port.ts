// Finds a TCP port that is free on 127.0.0.1 right now, so parallel test files never share one.

import { createServer } from "node:net";

/**
 * Asks the kernel for an unused port by listening on port 0, then releases it. Another process
 * can still take the port before the caller binds it; callers that spawn a server retry on
 * "address already in use".
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`Could not read the port the kernel assigned on ${host}`));
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}
