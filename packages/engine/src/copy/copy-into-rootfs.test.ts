import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { CopyRecorder, copyDirectoryContents, copyEntry } from './copy-into-rootfs.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-copy-into-rootfs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('copyEntry', () => {
  it('keeps a target that is the source', async () => {
    const file = path.join(dir, 'data.txt');
    await writeFile(file, 'precious');
    const recorder = new CopyRecorder(dir);
    await copyEntry(file, await lstat(file), file, { owner: undefined, recorder });
    expect(await readFile(file, 'utf8')).toBe('precious');
    expect(recorder.entries).toEqual([{ path: 'data.txt', kind: 'add' }]);
  });

  it('rejects a directory copied into itself', async () => {
    const source = path.join(dir, 'app');
    await mkdir(source);
    await writeFile(path.join(source, 'file'), 'x');
    const recorder = new CopyRecorder(dir);
    const failure = await copyEntry(source, await lstat(source), path.join(source, 'copy'), {
      owner: undefined,
      recorder,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe('COPY_INVALID_DESTINATION');
    expect((failure as EngineError).message).toContain(source);
    await expect(lstat(path.join(source, 'copy'))).rejects.toThrow();
  });
});

describe('copyDirectoryContents', () => {
  it('rejects a target inside the source', async () => {
    await writeFile(path.join(dir, 'file'), 'x');
    const target = path.join(dir, 'sub', 'dest');
    await mkdir(target, { recursive: true });
    const failure = await copyDirectoryContents(dir, target, {
      owner: undefined,
      recorder: new CopyRecorder(dir),
    }).catch((error: unknown) => error);
    expect((failure as EngineError).code).toBe('COPY_INVALID_DESTINATION');
  });

  it('copies a directory onto itself without loss', async () => {
    await writeFile(path.join(dir, 'a.txt'), 'a');
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', 'b.txt'), 'b');
    await copyDirectoryContents(dir, dir, { owner: undefined, recorder: new CopyRecorder(dir) });
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('a');
    expect(await readFile(path.join(dir, 'sub', 'b.txt'), 'utf8')).toBe('b');
  });
});
