import { runCli } from './program.js';

/** Exit code and captured output of one in-process CLI run. */
export interface KilnRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kiln ARGS` in process with its output captured and KILN_DIR set to `kilnDir`, for tests.
 * `env` adds to (or replaces) the process's environment for this run only.
 */
export async function runKiln(
  args: string[],
  kilnDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<KilnRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { ...process.env, ...env, KILN_DIR: kilnDir },
  });
  return { code, stdout, stderr };
}
