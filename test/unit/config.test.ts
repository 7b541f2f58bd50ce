// Configuration fails loudly: a malformed setting is logged once per isolate with the value used
// instead, and /admin/status lists it under `config`.

import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config";
import { BASE } from "../helpers/deliveries";
import { callWorker, testEnv } from "../helpers/worker";

afterEach(() => vi.restoreAllMocks());

function warnings(spy: { mock: { calls: unknown[][] } }): Array<Record<string, unknown>> {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

describe("readConfig", () => {
  it("uses the default for a malformed value and names the setting, the bad value and the value used", () => {
    const config = readConfig(
      testEnv({
        POLL_MODE: "fallbak",
        POLL_PAGE_SIZE: "abc",
        SIGNATURE_TOLERANCE_SECONDS: "-5",
        POLL_MAX_PAGES: "5000",
      }),
    );
    expect(config.pollMode).toBe("always");
    expect(config.pollPageSize).toBe(100);
    expect(config.signatureToleranceSeconds).toBe(300);
    expect(config.pollMaxPages).toBe(1000);
    expect(config.problems).toEqual([
      { name: "SIGNATURE_TOLERANCE_SECONDS", value: "-5", used: "300" },
      { name: "POLL_MODE", value: "fallbak", used: "always" },
      { name: "POLL_PAGE_SIZE", value: "abc", used: "100" },
      { name: "POLL_MAX_PAGES", value: "5000", used: "1000" },
    ]);
  });

  it("reports nothing for the shipped defaults, blank values, and case-insensitive modes", () => {
    expect(readConfig(testEnv()).problems).toEqual([]);
    expect(readConfig(testEnv({ POLL_PAGE_SIZE: "", POLL_MODE: "Fallback" })).problems).toEqual([]);
    expect(readConfig(testEnv({ POLL_MODE: "Fallback" })).pollMode).toBe("fallback");
  });

  it("logs each malformed value once per isolate, however many times the configuration is read", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (let i = 0; i < 3; i++) readConfig(testEnv({ RETRY_BASE_SECONDS: "ten" }));
    const lines = warnings(warn).filter((l) => l.name === "RETRY_BASE_SECONDS");
    expect(lines).toEqual([
      {
        level: "warn",
        message: "Configuration: RETRY_BASE_SECONDS is malformed; using 10",
        name: "RETRY_BASE_SECONDS",
        value: "ten",
        used: "10",
      },
    ]);
  });
});

describe("/admin/status", () => {
  const status = async (overrides: Record<string, string>) => {
    const response = await callWorker(
      new Request(`${BASE}/admin/status`, { headers: { authorization: "Bearer config-test-token" } }),
      { ADMIN_TOKEN: "config-test-token", ...overrides },
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { config: unknown }).config;
  };

  it("lists malformed settings under config with the value used instead", async () => {
    expect(await status({ POLL_MODE: "fallbak", OUTBOUND_TIMEOUT_SECONDS: "600" })).toEqual([
      { name: "POLL_MODE", value: "fallbak", used: "always" },
      { name: "OUTBOUND_TIMEOUT_SECONDS", value: "600", used: "30" },
    ]);
  });

  it("lists nothing when every setting is well-formed", async () => {
    expect(await status({})).toEqual([]);
  });
});
