import {
  chmod,
  lchown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { applyLayer, writeLayer } from '@kiln/layer-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createSnapshotter } from './create-snapshotter.js';
import type { Snapshotter } from './snapshotter.js';
import { canMountOverlay } from './test-support/overlay.js';
import { describeTree, run } from './test-support/trees.js';

const isRoot = process.getuid?.() === 0;
const hasOverlay = await canMountOverlay();

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed by its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lists every path under `root`, relative, directories included. */
async function listPaths(
  root: string,
  relative = '',
): Promise<{ path: string; isDirectory: boolean }[]> {
  const found: { path: string; isDirectory: boolean }[] = [];
  for (const name of await readdir(relative === '' ? root : join(root, relative))) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const isDirectory = (await lstat(join(root, path))).isDirectory();
    found.push({ path, isDirectory });
    if (isDirectory) found.push(...(await listPaths(root, path)));
  }
  return found;
}

const OPERATIONS = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];

/** Applies `count` random changes of every kind a RUN makes to the tree at `rootfs`. */
async function randomStep(
  rootfs: string,
  next: () => number,
  count: number,
  step: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const paths = await listPaths(rootfs);
    const directories = [
      '',
      ...paths.filter((entry) => entry.isDirectory).map((entry) => entry.path),
    ];
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
    const target = pick(paths);
    const parent = pick(directories);
    const fresh = join(rootfs, parent, `n${step}-${i}`);
    // Cases 0 and 1 repeat so that trees grow while deletions and replacements prune them.
    switch (OPERATIONS[Math.floor(next() * OPERATIONS.length)]) {
      case 0:
        await writeFile(fresh, `new ${step} ${i}\n`);
        break;
      case 1:
        await mkdir(fresh);
        break;
      case 2:
        // Only regular files: writing through a symlink would follow an absolute target out of the tree.
        if (target && (await lstat(join(rootfs, target.path))).isFile()) {
          await writeFile(join(rootfs, target.path), `rewritten ${step} ${i}\n`);
        }
        break;
      case 3:
        // chmod follows symlinks and Linux has no lchmod, so symlinks keep their mode.
        if (target && !(await lstat(join(rootfs, target.path))).isSymbolicLink()) {
          await chmod(join(rootfs, target.path), target.isDirectory ? 0o750 : 0o640);
        }
        break;
      case 4:
        if (target) await lchown(join(rootfs, target.path), 1000 + i, 2000 + step);
        break;
      case 5:
        if (target) await rm(join(rootfs, target.path), { recursive: true, force: true });
        break;
      case 6:
        await symlink(target ? `/${target.path}` : 'dangling', fresh);
        break;
      case 7:
        if (
          target &&
          !target.isDirectory &&
          !(await lstat(join(rootfs, target.path))).isSymbolicLink()
        ) {
          await link(join(rootfs, target.path), fresh);
        }
        break;
      default:
        if (target) {
          await rm(join(rootfs, target.path), { recursive: true, force: true });
          if (target.isDirectory) await writeFile(join(rootfs, target.path), 'was a directory\n');
          else await mkdir(join(rootfs, target.path));
        }
    }
  }
}

let dir: string;
let snapshotter: Snapshotter | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-fs-random-'));
});

afterEach(async () => {
  await snapshotter?.release();
  snapshotter = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  { mode: 'walk' as const, runs: isRoot },
  { mode: 'overlay' as const, runs: hasOverlay },
])('$mode snapshotter on random steps', ({ mode, runs }) => {
  it.skipIf(!runs).each([1, 2])('reproduces every step through layers (seed %i)', async (seed) => {
    const root = join(dir, 'root');
    const replica = join(dir, 'replica');
    const next = random(seed);
    await mkdir(root);
    await randomStep(root, next, 40, 0);
    await run('cp', ['-a', root, replica]);

    snapshotter = await createSnapshotter(root, {
      mode,
      workDir: join(dir, 'work'),
      ignoreMounts: false,
    });
    await snapshotter.init();
    for (let step = 1; step <= 3; step++) {
      await randomStep(snapshotter.rootfs, next, 20, step);
      const blob = join(dir, `step-${step}.tar`);
      const changes = await snapshotter.changes();
      await writeLayer(changes, blob, { compression: 'none' });
      await applyLayer(blob, replica);
      const expected = await describeTree(snapshotter.rootfs);
      expect(await describeTree(replica), `seed ${seed} step ${step}`).toEqual(expected);
    }
  });
});
