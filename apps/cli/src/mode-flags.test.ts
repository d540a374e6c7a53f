import type { BuildOptions, BuildResult } from '@kiln/engine';
import { describe, expect, it } from 'vitest';
import { runCli } from './program.js';

// The build function is a stand-in that records its options, so no build starts here.
async function optionsOf(args: string[]): Promise<BuildOptions | undefined> {
  let options: BuildOptions | undefined;
  await runCli(['build', '--no-push', ...args], {
    stdout: { write: () => true },
    stderr: { write: () => true },
    env: {},
    build: async (received) => {
      options = received;
      return { digest: `sha256:${'ab'.repeat(32)}`, outputs: [] } as unknown as BuildResult;
    },
  });
  return options;
}

describe('isolation flags', () => {
  it('leaves chroot builds without isolation settings', async () => {
    const options = await optionsOf([]);
    expect(options?.isolation).toBeUndefined();
    expect(options?.imageFsExtractRetry).toBeUndefined();
  });

  it('maps --isolation=none and its flags', async () => {
    const options = await optionsOf([
      '--isolation=none',
      '--force',
      '--ignore-var-run=false',
      '--cleanup',
    ]);
    expect(options?.isolation).toEqual({
      mode: 'none',
      ignoreVarRun: false,
      force: true,
      cleanup: true,
    });
  });

  it('ignores /var/run by default', async () => {
    const options = await optionsOf(['--isolation', 'none']);
    expect(options?.isolation).toEqual({
      mode: 'none',
      ignoreVarRun: true,
      force: false,
      cleanup: false,
    });
  });

  it('passes the extract retry count', async () => {
    const options = await optionsOf(['--image-fs-extract-retry', '3']);
    expect(options?.imageFsExtractRetry).toBe(3);
  });
});
