import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { writeLayer } from '@kiln/layer-writer';
import { busyboxLayout, chrootRun, makeTempDir, umociUnpack } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSnapshotter } from './create-snapshotter.js';
import type { SnapshotChangeSet } from './walk-snapshotter.js';
import { canMountOverlay } from './test-support/overlay.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const hasOverlay = await canMountOverlay();

// A RUN that adds, modifies, deletes, hardlinks, chmods and replaces a directory by a file.
const script = [
  'echo hello > /etc/motd',
  'echo "root:x:0:0:admin:/root:/bin/sh" > /etc/passwd',
  'rm /bin/vi',
  'mkdir -p /data/x',
  'ln /bin/busybox /data/x/bb',
  'chmod 700 /tmp',
  'rm -rf /home && echo file > /home',
].join(' && ');

let dir: string;
let runs = 0;

beforeAll(async () => {
  dir = await makeTempDir('fs-snapshot-e2e-');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Unpacks busybox, runs the script in a chroot of the snapshotter's rootfs, returns the changes and the layer's listing and hardlinks. */
async function snapshotRun(
  mode: 'walk' | 'overlay',
): Promise<{ changes: SnapshotChangeSet; listing: string[]; links: string[] }> {
  const { layoutDir, tag } = await busyboxLayout();
  runs += 1;
  const rootfs = await umociUnpack(layoutDir, tag, join(dir, `bundle-${runs}`));
  const snapshotter = await createSnapshotter(rootfs, { mode, workDir: join(dir, `work-${runs}`) });
  await snapshotter.init();
  try {
    const result = await chrootRun(snapshotter.rootfs, ['/bin/sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const changes = await snapshotter.changes();
    const blob = join(dir, `layer-${runs}.tar.gz`);
    await writeLayer(changes, blob);
    const { stdout } = await run('tar', ['-tzf', blob]);
    const verbose = await run('tar', ['-tvzf', blob]);
    const links = verbose.stdout.split('\n').filter((line) => line.includes(' link to '));
    return {
      changes,
      listing: stdout.trim().split('\n').sort(),
      links: links.map((line) => line.replace(/^.* (\S+ link to \S+)$/, '$1')),
    };
  } finally {
    await snapshotter.release();
  }
}

describe.skipIf(!isRoot)('snapshot of a RUN in busybox', () => {
  it('walk snapshot lists exactly what the RUN changed', async () => {
    const { changes, listing, links } = await snapshotRun('walk');
    expect(changes.entries.map(({ path, kind }) => `${kind} ${path}`)).toEqual([
      'add bin',
      'add bin/busybox',
      'delete bin/vi',
      'add data',
      'add data/x',
      'add data/x/bb',
      'add etc',
      'add etc/motd',
      'add etc/passwd',
      'add home',
      'add tmp',
    ]);
    expect(changes.hardlinks).toEqual([['bin/busybox', 'data/x/bb']]);
    expect(listing).toContain('bin/.wh.vi');
    expect(listing).toContain('data/x/bb');
    expect(links).toEqual(['data/x/bb link to bin/busybox']);
  });

  it.skipIf(!hasOverlay)('overlay snapshot agrees with the walk', async () => {
    const walk = await snapshotRun('walk');
    const overlay = await snapshotRun('overlay');
    expect(overlay.changes.entries).toEqual(walk.changes.entries);
    expect(overlay.changes.hardlinks).toEqual(walk.changes.hardlinks);
    expect(overlay.listing).toEqual(walk.listing);
    expect(overlay.links).toEqual(walk.links);
  });
});
