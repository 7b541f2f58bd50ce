// The environment every wrangler command run by the tests, the soak and the benchmarks gets.

export function wranglerEnv(configHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // No telemetry, no prompts, nothing written under the home folder, and plain text logs.
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: configHome,
    CI: "true",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  };
  // With this set, wrangler would copy the whole environment into the Worker's bindings.
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
  return env;
}
