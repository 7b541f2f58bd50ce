// Configuration fails loudly: a malformed setting is logged once per isolate with the value used
// instead, and /admin/status lists it under `config`.

import { afterEach, describe, expect, it, vi } from "vitest";
import { type Config, readConfig } from "../../src/config";
import { BASE } from "../helpers/deliveries";
import { callWorker, type EnvOverrides, testEnv } from "../helpers/worker";

afterEach(() => vi.restoreAllMocks());

function warnings(spy: { mock: { calls: unknown[][] } }): Array<Record<string, unknown>> {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

/** An environment with FORWARD_URL set, so that forwarding is enabled and its key is read into it. */
function forwardingEnv(overrides: EnvOverrides = {}): Env {
  return testEnv({ FORWARD_URL: "https://receiver.test/hooks", ...overrides });
}

/** The forwarding key's bytes, or undefined when forwarding has no usable target. */
function signingKeyOf(config: Config): number[] | undefined {
  const { forwarding } = config;
  return forwarding.enabled && forwarding.target.usable ? [...forwarding.target.signingKey] : undefined;
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

  it("reads SLACK_ALERT_PRIORITIES as MaintainX priorities, keeping the valid ones of a list with typos", () => {
    expect(readConfig(testEnv()).slackAlertPriorities).toEqual(["HIGH"]);
    const repeated = readConfig(testEnv({ SLACK_ALERT_PRIORITIES: "high, Medium,HIGH" }));
    expect(repeated.slackAlertPriorities).toEqual(["HIGH", "MEDIUM"]);
    expect(repeated.problems).toEqual([]);
    const typo = readConfig(testEnv({ SLACK_ALERT_PRIORITIES: "HIGH,URGENT" }));
    expect(typo.slackAlertPriorities).toEqual(["HIGH"]);
    expect(typo.problems).toEqual([{ name: "SLACK_ALERT_PRIORITIES", value: "HIGH,URGENT", used: "HIGH" }]);
    const nothingValid = readConfig(testEnv({ SLACK_ALERT_PRIORITIES: "critical" }));
    expect(nothingValid.slackAlertPriorities).toEqual(["HIGH"]);
    expect(nothingValid.problems).toEqual([{ name: "SLACK_ALERT_PRIORITIES", value: "critical", used: "HIGH" }]);
  });

  it("reads FORWARD_SIGNING_SECRET as whsec_<base64> key bytes, and never repeats a malformed one", () => {
    const key = Array.from({ length: 24 }, (_, i) => i + 1);
    const encoded = btoa(String.fromCharCode(...key));
    const config = readConfig(forwardingEnv({ FORWARD_SIGNING_SECRET: `whsec_${encoded}` }));
    expect(signingKeyOf(config)).toEqual(key);
    expect(config.problems).toEqual([]);
    // Standard Webhooks libraries take the bare base64 too.
    expect(signingKeyOf(readConfig(forwardingEnv({ FORWARD_SIGNING_SECRET: encoded })))).toEqual(key);
    // A short key is used, and reported: the standard asks for 24 to 64 bytes.
    const short = readConfig(forwardingEnv({ FORWARD_SIGNING_SECRET: "whsec_AQIDBA==" }));
    expect(signingKeyOf(short)).toEqual([1, 2, 3, 4]);
    expect(short.problems).toEqual([
      {
        name: "FORWARD_SIGNING_SECRET",
        value: "(a secret, not shown)",
        used: "the key as given, 4 bytes: Standard Webhooks asks for 24 to 64 random bytes",
      },
    ]);
    // Unpadded base64 is refused, as the receiving libraries refuse it.
    for (const malformed of ["whsec_", "whsec_%%%%", "whsec_A", "whsec_AQIDBA", "plain-text secret"]) {
      const bad = readConfig(forwardingEnv({ FORWARD_SIGNING_SECRET: malformed }));
      expect(signingKeyOf(bad), malformed).toBeUndefined();
      expect(bad.problems, malformed).toEqual([
        {
          name: "FORWARD_SIGNING_SECRET",
          value: "(a secret, not shown)",
          used: "nothing: forwarding is skipped until it is whsec_ followed by base64",
        },
      ]);
    }
    // Reported even while FORWARD_URL is unset, before forwarding is turned on.
    expect(readConfig(testEnv({ FORWARD_SIGNING_SECRET: "whsec_" })).problems).toEqual([
      {
        name: "FORWARD_SIGNING_SECRET",
        value: "(a secret, not shown)",
        used: "nothing: forwarding is skipped until it is whsec_ followed by base64",
      },
    ]);
    expect(signingKeyOf(readConfig(forwardingEnv()))).toBeUndefined();
    expect(readConfig(forwardingEnv()).forwarding).toMatchObject({ enabled: true, types: ["*"] });
    expect(readConfig(testEnv()).forwarding).toEqual({ enabled: false });
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
