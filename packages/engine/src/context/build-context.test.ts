import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryContext } from './build-context.js';

let dir: string;
let context: DirectoryContext;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-context-'));
  await mkdir(path.join(dir, 'src/lib'), { recursive: true });
  for (const file of ['a.txt', 'b.txt', 'c.md', 'src/main.ts', 'src/lib/util.ts'])
    await writeFile(path.join(dir, file), file);
  await symlink('/etc', path.join(dir, 'host-etc'));
  await symlink('src', path.join(dir, 'code'));
  context = await DirectoryContext.open(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const paths = async (source: string) =>
  (await context.match(source)).map((entry) => entry.relativePath);

describe('DirectoryContext.match', () => {
  it('expands wildcards in sorted order', async () => {
    expect(await paths('*.txt')).toEqual(['a.txt', 'b.txt']);
    expect(await paths('src/*.ts')).toEqual(['src/main.ts']);
    expect(await paths('*/lib/*')).toEqual(['code/lib/util.ts', 'src/lib/util.ts']);
  });

  it('resolves symlinks inside the context', async () => {
    const [entry] = await context.match('code/main.ts');
    expect(entry?.hostPath).toBe(path.join(context.root, 'src/main.ts'));
  });

  it('keeps absolute symlinks inside the context', async () => {
    await expect(context.match('host-etc/passwd')).rejects.toThrow(
      /not found in the build context/,
    );
    await expect(context.match('../../etc/passwd')).rejects.toThrow(
      /not found in the build context/,
    );
  });

  it('fails for a pattern that matches nothing', async () => {
    await expect(context.match('*.json')).rejects.toMatchObject({ code: 'CONTEXT_FILE_NOT_FOUND' });
  });

  it('rejects a context that is not a directory', async () => {
    await expect(DirectoryContext.open(path.join(dir, 'a.txt'))).rejects.toMatchObject({
      code: 'CONTEXT_NOT_FOUND',
      message: expect.stringContaining('is not a directory'),
    });
  });

  it('rejects a missing context as missing', async () => {
    const missing = path.join(dir, 'nonexist');
    await expect(DirectoryContext.open(missing)).rejects.toMatchObject({
      code: 'CONTEXT_NOT_FOUND',
      message: `Build context ${missing} does not exist`,
    });
  });
});
