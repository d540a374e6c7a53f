import type { BuildOptions, BuildResult } from '@kiln/engine';
import { describe, expect, it } from 'vitest';
import { runCli } from './program.js';

/** Runs `kiln` with a build function that records the options it receives. */
async function cli(
  args: string[],
): Promise<{ code: number; stderr: string; options?: BuildOptions }> {
  let stderr = '';
  let received: BuildOptions | undefined;
  const code = await runCli(args, {
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    build: async (options) => {
      received = options;
      return { digest: `sha256:${'ab'.repeat(32)}` } as BuildResult;
    },
  });
  return { code, stderr, ...(received ? { options: received } : {}) };
}

describe('kiln build --ssh', () => {
  it('passes agents by id', async () => {
    const run = await cli([
      'build',
      '--no-push',
      '--ssh',
      'default',
      '--ssh',
      'deploy=/keys/a,/keys/b',
    ]);

    expect(run.code).toBe(0);
    expect(run.options?.ssh).toEqual([
      { id: 'default', paths: [] },
      { id: 'deploy', paths: ['/keys/a', '/keys/b'] },
    ]);
  });

  it('leaves ssh out without the flag', async () => {
    const run = await cli(['build', '--no-push']);
    expect(run.options).toBeDefined();
    expect(run.options?.ssh).toBeUndefined();
  });

  it('rejects a malformed value as a usage error', async () => {
    const run = await cli(['build', '--no-push', '--ssh', 'deploy=']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --ssh value "deploy="');
  });
});
