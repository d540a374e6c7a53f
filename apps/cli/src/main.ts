#!/usr/bin/env node
import { runCli } from './program.js';

// `pnpm kiln` runs this file with the repository root as its working directory, so relative paths
// such as `--context .` are resolved from the directory where the user started pnpm (INIT_CWD).
if (process.env.npm_lifecycle_event === 'kiln' && process.env.INIT_CWD) {
  process.chdir(process.env.INIT_CWD);
}

// The first SIGINT or SIGTERM cancels the build, which kills a running RUN and removes temporary
// files; a second one exits at once.
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
