import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDirectory } from './ensure-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ensure-dir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureDirectory', () => {
  it('creates missing parents and accepts an existing directory', async () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    await ensureDirectory(nested);
    await ensureDirectory(nested);
    expect((await stat(nested)).isDirectory()).toBe(true);
  });

  it('rejects a directory under /proc', async () => {
    await expect(ensureDirectory('/proc/kiln-nope/x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects when a path component is a file', async () => {
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(ensureDirectory(path.join(dir, 'file', 'sub'))).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    await expect(ensureDirectory(path.join(dir, 'file'))).rejects.toMatchObject({
      code: 'EEXIST',
    });
  });
});
