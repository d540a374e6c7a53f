import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedKeptPaths, readKeptTimes, watchedKeptPaths } from './kept-changes.js';

let dir: string;
let context: string;
let other: string;

// Times are set explicitly, so a change never depends on the file system's time granularity.
const EARLIER = new Date('2020-01-01T00:00:00Z');

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-kept-changes-'));
  context = path.join(dir, 'context');
  other = path.join(dir, 'other');
  await mkdir(path.join(context, 'sub'), { recursive: true });
  await mkdir(other);
  await writeFile(path.join(context, 'Dockerfile'), 'FROM scratch\n');
  for (const p of [path.join(context, 'Dockerfile'), path.join(context, 'sub'), context, other])
    await utimes(p, EARLIER, EARLIER);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('watchedKeptPaths', () => {
  it('skips kernel paths and kiln', () => {
    const keep = ['/dev', '/dev/pts', '/etc/hosts', '/kiln', '/kiln/bin', '/proc', '/workspace'];
    expect(watchedKeptPaths(keep, '/kiln')).toEqual(['/etc/hosts', '/workspace']);
  });
});

describe('changedKeptPaths', () => {
  it('reports nothing without changes', async () => {
    const paths = [context, other];
    const before = await readKeptTimes(paths);
    expect(changedKeptPaths(paths, before, await readKeptTimes(paths))).toEqual([]);
  });

  it('finds a new entry', async () => {
    const paths = [context, other];
    const before = await readKeptTimes(paths);
    await writeFile(path.join(context, 'new.txt'), 'x');
    expect(changedKeptPaths(paths, before, await readKeptTimes(paths))).toEqual([context]);
  });

  it('finds a rewritten top-level file', async () => {
    const paths = [context, other];
    const before = await readKeptTimes(paths);
    await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\n');
    expect(changedKeptPaths(paths, before, await readKeptTimes(paths))).toEqual([context]);
  });

  it('finds a changed subdirectory', async () => {
    const paths = [context];
    const before = await readKeptTimes(paths);
    await writeFile(path.join(context, 'sub', 'out.txt'), 'x');
    expect(changedKeptPaths(paths, before, await readKeptTimes(paths))).toEqual([context]);
  });
});
