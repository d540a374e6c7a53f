import {
  chmod,
  chown,
  link,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { applyLayer, writeLayer } from '@kiln/layer-writer';
import { setAttributeSync } from '@napi-rs/xattr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createSnapshotter } from './create-snapshotter.js';
import type { Snapshotter } from './snapshotter.js';
import { canMountOverlay } from './test-support/overlay.js';
import { applyChangeSet, describeTree, run } from './test-support/trees.js';

const isRoot = process.getuid?.() === 0;
const hasOverlay = await canMountOverlay();

let dir: string;
let root: string;
let replica: string;
let snapshotter: Snapshotter | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-conformance-'));
  root = join(dir, 'root');
  replica = join(dir, 'replica');
  await mkdir(join(root, 'etc/conf.d'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'box\n');
  await writeFile(join(root, 'etc/conf.d/a.conf'), 'a=1\n');
  await writeFile(join(root, 'etc/conf.d/b.conf'), 'b=1\n');
  await mkdir(join(root, 'usr/share/doc/pkg'), { recursive: true });
  await writeFile(join(root, 'usr/share/doc/pkg/README'), 'readme\n');
  await writeFile(join(root, 'usr/bin'), 'a file for now\n');
  await mkdir(join(root, 'opt/data/nested'), { recursive: true });
  await writeFile(join(root, 'opt/data/nested/blob'), 'blob\n');
  await mkdir(join(root, 'opt/tool'), { recursive: true });
  await writeFile(join(root, 'opt/tool/run'), '#!/bin/sh\n');
  await mkdir(join(root, 'var/cache/apt'), { recursive: true });
  await writeFile(join(root, 'var/cache/apt/pkgcache.bin'), 'cache\n');
  await writeFile(join(root, 'var/cache/apt/srcpkgcache.bin'), 'cache\n');
  await mkdir(join(root, 'proc'));
  await run('cp', ['-a', root, replica]);
});

afterEach(async () => {
  await snapshotter?.release();
  snapshotter = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Runs one build step's worth of changes inside the root filesystem that steps see. */
async function firstStep(rootfs: string): Promise<void> {
  await writeFile(join(rootfs, 'etc/new'), 'new\n');
  await writeFile(join(rootfs, 'etc/hostname'), 'renamed\n');
  await chmod(join(rootfs, 'etc/conf.d/a.conf'), 0o4750);
  await chown(join(rootfs, 'opt/tool/run'), 1000, 1001);
  await rm(join(rootfs, 'etc/conf.d/b.conf'));
  await rm(join(rootfs, 'usr/share'), { recursive: true });
  await rm(join(rootfs, 'opt/data'), { recursive: true });
  await writeFile(join(rootfs, 'opt/data'), 'a file now\n');
  await rm(join(rootfs, 'usr/bin'));
  await symlink('../bin', join(rootfs, 'usr/bin'));
  await rm(join(rootfs, 'var/cache/apt'), { recursive: true });
  await mkdir(join(rootfs, 'var/cache/apt'));
  await writeFile(join(rootfs, 'var/cache/apt/pkgcache.bin'), 'fresh\n');
  await mkdir(join(rootfs, 'bin'));
  await writeFile(join(rootfs, 'bin/busybox'), 'busybox\n');
  await link(join(rootfs, 'bin/busybox'), join(rootfs, 'bin/sh'));
  setAttributeSync(join(rootfs, 'bin/busybox'), 'user.kiln.test', 'value');
  await run('mkfifo', [join(rootfs, 'bin/fifo')]);
  await writeFile(join(rootfs, 'proc/cpuinfo'), 'kernel interface\n');
}

async function secondStep(rootfs: string): Promise<void> {
  await writeFile(
    join(rootfs, 'etc/new'),
    (await readFile(join(rootfs, 'etc/new'), 'utf8')) + 'more\n',
  );
  await rm(join(rootfs, 'opt/data'));
  await mkdir(join(rootfs, 'opt/data'));
  await writeFile(join(rootfs, 'opt/data/again'), 'a directory again\n');
  await rm(join(rootfs, 'bin/sh'));
}

const modes = [
  { mode: 'walk' as const, runs: isRoot },
  { mode: 'overlay' as const, runs: hasOverlay },
];

describe.each(modes)('$mode snapshotter', ({ mode, runs }) => {
  it.skipIf(!runs)('reproduces each step when its change set is applied', async () => {
    snapshotter = await createSnapshotter(root, {
      mode,
      workDir: join(dir, 'work'),
      ignoreMounts: false,
    });
    expect(snapshotter.kind).toBe(mode);
    await snapshotter.init();

    await firstStep(snapshotter.rootfs);
    const first = await snapshotter.changes();
    expect(first.entries.some(({ path }) => path.startsWith('proc/'))).toBe(false);
    expect(first.hardlinks).toEqual([['bin/busybox', 'bin/sh']]);
    await applyChangeSet(first, replica);
    await rm(join(snapshotter.rootfs, 'proc/cpuinfo'));
    expect(await describeTree(replica)).toEqual(await describeTree(snapshotter.rootfs));

    await secondStep(snapshotter.rootfs);
    const second = await snapshotter.changes();
    await applyChangeSet(second, replica);
    expect(await describeTree(replica)).toEqual(await describeTree(snapshotter.rootfs));
    expect(second.entries).toContainEqual({ path: 'bin/sh', kind: 'delete' });
  });

  it.skipIf(!runs)('reproduces each step through a layer', async () => {
    snapshotter = await createSnapshotter(root, {
      mode,
      workDir: join(dir, 'work'),
      ignoreMounts: false,
    });
    await snapshotter.init();

    await firstStep(snapshotter.rootfs);
    await rm(join(snapshotter.rootfs, 'proc/cpuinfo'));
    const expected = await describeTree(snapshotter.rootfs);
    expect(expected.find((line) => line.startsWith('bin/busybox '))).toContain('user.kiln.test=');
    const first = join(dir, 'first.tar.gz');
    await writeLayer(await snapshotter.changes(), first);
    await applyLayer(first, replica);
    expect(await describeTree(replica)).toEqual(expected);

    await secondStep(snapshotter.rootfs);
    const second = join(dir, 'second.tar.gz');
    await writeLayer(await snapshotter.changes(), second);
    await applyLayer(second, replica);
    expect(await describeTree(replica)).toEqual(await describeTree(snapshotter.rootfs));
  });

  it.skipIf(!runs)('takes a new baseline on a second init()', async () => {
    snapshotter = await createSnapshotter(root, {
      mode,
      workDir: join(dir, 'work'),
      ignoreMounts: false,
    });
    await snapshotter.init();
    await writeFile(join(snapshotter.rootfs, 'etc/copied'), 'written by COPY\n');
    await snapshotter.init();
    await writeFile(join(snapshotter.rootfs, 'opt/ran'), 'written by RUN\n');
    const changes = await snapshotter.changes();
    expect(changes.entries).toEqual([
      { path: 'opt', kind: 'add' },
      { path: 'opt/ran', kind: 'add' },
    ]);
  });

  it.skipIf(!runs)('reports one delete for a removed directory', async () => {
    snapshotter = await createSnapshotter(root, {
      mode,
      workDir: join(dir, 'work'),
      ignoreMounts: false,
    });
    await snapshotter.init();
    await rm(join(snapshotter.rootfs, 'usr/share'), { recursive: true });
    const changes = await snapshotter.changes();
    expect(changes.entries.filter(({ kind }) => kind === 'delete')).toEqual([
      { path: 'usr/share', kind: 'delete' },
    ]);
  });
});
