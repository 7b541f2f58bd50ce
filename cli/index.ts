// Process entry for `npm run cli -- <command>`; the commands themselves live in program.ts.

import { processOutput } from "./io";
import { runCli } from "./program";

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  output: processOutput(),
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
});
