import { chmod, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ChangeDetection } from './snapshot.js';
import { WalkSnapshotter } from './walk-snapshotter.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-detection-'));
  await writeFile(join(root, 'rewritten'), 'aaaa\n');
  await writeFile(join(root, 'chmodded'), 'mode\n');
  await writeFile(join(root, 'touched'), 'same\n');
  await writeFile(join(root, 'grown'), 'short\n');
  // Timestamps an hour back, so a later write always moves them.
  const past = new Date(Date.now() - 3_600_000);
  for (const name of ['rewritten', 'chmodded', 'touched', 'grown'])
    await utimes(join(root, name), past, past);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Makes four kinds of change and returns the paths that the given mode reports. */
async function changedPaths(changeDetection: ChangeDetection): Promise<string[]> {
  const snapshotter = new WalkSnapshotter(root, { ignoreMounts: false, changeDetection });
  await snapshotter.init();

  // Same size and mtime, new content: only ctime and the content tell.
  const before = await stat(join(root, 'rewritten'));
  await writeFile(join(root, 'rewritten'), 'bbbb\n');
  await utimes(join(root, 'rewritten'), before.atime, before.mtime);
  // New mode, same mtime.
  await chmod(join(root, 'chmodded'), 0o600);
  // New mtime, same content.
  const now = new Date();
  await utimes(join(root, 'touched'), now, now);
  // New content, size and mtime.
  await writeFile(join(root, 'grown'), 'a longer line\n');

  const changes = await snapshotter.changes();
  return changes.entries.map((entry) => entry.path).sort();
}

describe('walk change detection', () => {
  it('full reports every change', async () => {
    expect(await changedPaths('full')).toEqual(['chmodded', 'grown', 'rewritten', 'touched']);
  });

  it('redo misses a same-size rewrite with its mtime kept', async () => {
    expect(await changedPaths('redo')).toEqual(['chmodded', 'grown', 'touched']);
  });

  it('time reports mtime changes only', async () => {
    expect(await changedPaths('time')).toEqual(['grown', 'touched']);
  });

  it('redo and time read no file contents', async () => {
    const snapshotter = new WalkSnapshotter(root, {
      ignoreMounts: false,
      changeDetection: 'redo',
    });
    await snapshotter.init();
    await writeFile(join(root, 'new'), 'fresh\n');
    await snapshotter.changes();
    expect(snapshotter.baseline?.records.get('new')?.hash).toBeUndefined();
    expect(snapshotter.baseline?.racyPaths).toEqual([]);
  });
});
