import { appendFile, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LayerError } from './errors.js';
import { tarStream } from './tar-writer.js';
import { TarReader } from './tar-reader.js';
import { makeTempDir } from './test-support/tree.js';

let root: string;

beforeEach(async () => {
  root = await makeTempDir('tar-writer');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Starts a tar stream of one large file and changes the file once its header was produced. */
async function changeAfterHeader(change: (file: string) => Promise<void>): Promise<unknown> {
  const file = path.join(root, 'big');
  await writeFile(file, Buffer.alloc(512 * 1024, 1));
  const stream = tarStream({ root, entries: [{ path: 'big', kind: 'add' }] });
  const first = await stream.next();
  expect(first.done).toBe(false);
  await change(file);
  try {
    for (let next = await stream.next(); next.done !== true; next = await stream.next());
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('tarStream', () => {
  it('fails when a file grows after its header', async () => {
    const error = await changeAfterHeader((file) => appendFile(file, 'more'));
    expect(error).toBeInstanceOf(LayerError);
    expect(error).toMatchObject({ code: 'FILE_CHANGED' });
    expect((error as Error).message).toContain('grew');
  });

  it('fails when a file shrinks after its header', async () => {
    const error = await changeAfterHeader((file) => truncate(file, 10));
    expect(error).toMatchObject({ code: 'FILE_CHANGED' });
    expect((error as Error).message).toContain('shrank');
  });

  it('rejects a path listed twice', async () => {
    await writeFile(path.join(root, 'a'), 'a');
    const stream = tarStream({
      root,
      entries: [
        { path: 'a', kind: 'add' },
        { path: './a', kind: 'add' },
      ],
    });
    await expect(stream.next()).rejects.toMatchObject({ code: 'INVALID_PATH' });
  });

  it('writes parents before children whatever the input order', async () => {
    await mkdir(path.join(root, 'a/b'), { recursive: true });
    await writeFile(path.join(root, 'a/b/c'), 'c');
    await writeFile(path.join(root, 'a.txt'), 'a');
    const stream = tarStream({
      root,
      entries: ['a/b/c', 'a.txt', 'a/b', 'a'].map((entryPath) => ({
        path: entryPath,
        kind: 'add' as const,
      })),
    });
    const reader = new TarReader(stream);
    const names: string[] = [];
    for (let entry = await reader.next(); entry !== undefined; entry = await reader.next())
      names.push(entry.name);
    expect(names).toEqual(['a/', 'a.txt', 'a/b/', 'a/b/c']);
  });
});
