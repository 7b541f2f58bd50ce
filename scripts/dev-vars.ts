// How `npm run dev` hands wrangler dev the values it injects (the local webhook secret, the local
// admin token) without putting them on the command line, where every user of the machine can
// read them in the process list: in owner-only files passed as `--env-file`, beside the files
// wrangler would have read anyway, so that the Worker sees the same variables as without them.
//
// What wrangler 4 reads (its `getVarsForDev`): the `--env-file`s given; else `.dev.vars.<env>` or
// `.dev.vars`, alone and without `$` expansion; else, unless CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV
// is false, `.env`, `.env.local`, `.env.<env>` and `.env.<env>.local`, expanded. Files given with
// `--env-file` are read only when that variable is not false, and always expanded
// (`$NAME`, `${NAME}`; `\$` is a literal `$`).

import { join } from "node:path";

/** Every value of `--name value` or `--name=value` among `args`. */
export function optionValues(args: readonly string[], ...names: string[]): string[] {
  const values: string[] = [];
  args.forEach((arg, i) => {
    for (const name of names) {
      if (arg === name && args[i + 1] !== undefined) values.push(args[i + 1] as string);
      else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
    }
  });
  return values;
}

export interface ConfigurationSources {
  /** The files wrangler dev would read the Worker's secrets from, later ones winning. */
  files: string[];
  /** Whether they are read as `--env-file`s are (expanded), rather than as a `.dev.vars` (verbatim). */
  dotEnv: boolean;
  /** Whether the `--env-file`s came from the command line (they are passed on as they are). */
  given: boolean;
}

export function configurationSources(
  passThrough: readonly string[],
  options: { exists: (path: string) => boolean; dotEnvAllowed: boolean },
): ConfigurationSources {
  const given = optionValues(passThrough, "--env-file");
  if (given.length > 0) return { files: given, dotEnv: true, given: true };
  const env = optionValues(passThrough, "--env", "-e")[0];
  const devVars = [...(env === undefined ? [] : [`.dev.vars.${env}`]), ".dev.vars"].find(options.exists);
  if (devVars !== undefined) return { files: [devVars], dotEnv: false, given: false };
  if (!options.dotEnvAllowed) return { files: [], dotEnv: true, given: false };
  const defaults = [".env", ".env.local", ...(env === undefined ? [] : [`.env.${env}`, `.env.${env}.local`])];
  return { files: defaults.filter(options.exists), dotEnv: true, given: false };
}

export interface InjectionPlan {
  /** Appended to wrangler dev's arguments: `--env-file <path>` pairs only, never a value. */
  args: string[];
  /** The files to write, owner-only, before wrangler starts: path → text. */
  files: Map<string, string>;
  /** Changes to wrangler's environment: a value to set, or undefined to remove the variable. */
  env: Record<string, string | undefined>;
}

/** The copy of a `.dev.vars` file that, read as an `--env-file`, gives the same values. */
export const DEV_VARS_COPY = ".dev.vars";
/** The file of the injected values. */
export const INJECTED_FILE = "local-dev.env";

/**
 * The `--env-file`s (and their texts, to be written under `dir`) that give the Worker what it
 * would read from `sources`, plus `injected`. A `.dev.vars` is copied with every `$` written `\$`:
 * dotenv's parse of the copy gives each value with its `$`s so escaped (the escape touches neither
 * quotes, `#`, `\n` nor keys), and expansion then finds nothing to expand and turns each `\$` back
 * into `$`, so every value reads as wrangler reads it from `.dev.vars` (test/node/dev-vars.test.ts
 * checks this against wrangler's own reader).
 */
export function injectionPlan(input: {
  sources: ConfigurationSources;
  injected: Readonly<Record<string, string>>;
  readText: (path: string) => string;
  dir: string;
}): InjectionPlan {
  const { sources, injected, dir } = input;
  const plan: InjectionPlan = { args: [], files: new Map(), env: {} };
  if (Object.keys(injected).length === 0) return plan;
  const passed = (path: string, text?: string) => {
    if (text !== undefined) plan.files.set(path, text);
    plan.args.push("--env-file", path);
  };
  if (!sources.given) {
    if (sources.dotEnv) for (const file of sources.files) passed(file);
    else
      for (const file of sources.files) passed(join(dir, DEV_VARS_COPY), input.readText(file).replaceAll("$", "\\$"));
  }
  passed(
    join(dir, INJECTED_FILE),
    Object.entries(injected)
      .map(([name, value]) => `${envLine(name, value)}\n`)
      .join(""),
  );
  // Files given with --env-file are read only while this is not "false"; the files passed here
  // are exactly those wrangler would have read, so reading them is what the setting asked for.
  plan.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = "true";
  // A .dev.vars is read without the process's environment; read as --env-file, it would take it
  // in when this is set.
  if (!sources.dotEnv) plan.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = undefined;
  return plan;
}

/** `NAME='value'`, read back as exactly `value` by dotenv and its expansion. */
export function envLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /['\r\n]/.test(value)) {
    throw new RangeError(`${name} cannot be written to an env file as it is`);
  }
  return `${name}='${value.replaceAll("$", "\\$")}'`;
}
