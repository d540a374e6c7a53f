import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';

import { TestkitError } from './errors.js';
import { makeTempDir, removeTempDir, requireTool, runCommand } from './process.js';

describe('requireTool', () => {
  it('names the apt package of a missing binary', () => {
    let error: unknown;
    try {
      requireTool('kiln-no-such-binary', 'kiln-no-such-package');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TestkitError);
    expect((error as TestkitError).code).toBe('TOOL_NOT_FOUND');
    expect((error as TestkitError).message).toBe(
      'kiln-no-such-binary not found: install the Debian package kiln-no-such-package (apt-get install kiln-no-such-package)',
    );
  });

  it('passes for a binary on PATH', () => {
    expect(() => requireTool('sh', 'dash')).not.toThrow();
  });
});

describe('runCommand', () => {
  it('rejects on a non-zero exit with stderr in the message', async () => {
    await expect(runCommand('sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toThrow(
      /exit code 3: broken/,
    );
  });

  it('returns the code when failure is allowed', async () => {
    const result = await runCommand('sh', ['-c', 'echo out; exit 4'], { allowFailure: true });
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('out\n');
  });
});

describe('makeTempDir', () => {
  it('creates and removes a directory', async () => {
    const dir = await makeTempDir('unit');
    expect(existsSync(dir)).toBe(true);
    await removeTempDir(dir);
    expect(existsSync(dir)).toBe(false);
  });
});
