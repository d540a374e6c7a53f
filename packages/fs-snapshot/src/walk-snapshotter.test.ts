import {
  chmod,
  chown,
  link,
  mkdir,
  mkdtemp,
  rm,
  symlink,
  utimes,
  writeFile,
  readFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SnapshotError } from './errors.js';
import { WalkSnapshotter } from './walk-snapshotter.js';

const run = promisify(execFile);

let root: string;

// Files in these tests are changed right after a snapshot, so every path would be racy (and
// hashed or reported) under the default margin; a margin that ends in the future trusts stat.
const trustStat = -3_600_000_000_000n;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-walk-'));
  await mkdir(join(root, 'etc/conf.d'), { recursive: true });
  await mkdir(join(root, 'usr/share/doc/pkg'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'box\n');
  await writeFile(join(root, 'etc/conf.d/a.conf'), 'a=1\n');
  await writeFile(join(root, 'usr/share/doc/pkg/README'), 'readme\n');
  await writeFile(join(root, 'usr/share/doc/pkg/COPYING'), 'license\n');
  await writeFile(join(root, 'usr/bin'), 'not yet a directory\n');
  await mkdir(join(root, 'opt/tool'), { recursive: true });
  await writeFile(join(root, 'opt/tool/run'), '#!/bin/sh\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function initialized(): Promise<WalkSnapshotter> {
  const snapshotter = new WalkSnapshotter(root, { ignoreMounts: false, racyMarginNs: trustStat });
  await snapshotter.init();
  return snapshotter;
}

function entries(changeSet: { entries: { path: string; kind: string }[] }): string[] {
  return changeSet.entries.map(({ path, kind }) => `${kind} ${path}`);
}

describe('WalkSnapshotter', () => {
  it('reports nothing when nothing changed', async () => {
    const snapshotter = await initialized();
    const changes = await snapshotter.changes();
    expect(changes.entries).toEqual([]);
    expect(changes.root).toBe(root);
  });

  it('reports an added file with its parents', async () => {
    const snapshotter = await initialized();
    await writeFile(join(root, 'usr/share/doc/pkg/NEWS'), 'news\n');
    expect(entries(await snapshotter.changes())).toEqual([
      'add usr',
      'add usr/share',
      'add usr/share/doc',
      'add usr/share/doc/pkg',
      'add usr/share/doc/pkg/NEWS',
    ]);
  });

  it('reports files added to an empty directory', async () => {
    await mkdir(join(root, 'var/empty'), { recursive: true });
    const snapshotter = await initialized();
    expect(entries(await snapshotter.changes())).toEqual([]);
    await writeFile(join(root, 'var/empty/first'), '1\n');
    expect(entries(await snapshotter.changes())).toEqual([
      'add var',
      'add var/empty',
      'add var/empty/first',
    ]);
    await writeFile(join(root, 'var/empty/second'), '2\n');
    expect(entries(await snapshotter.changes())).toEqual([
      'add var',
      'add var/empty',
      'add var/empty/second',
    ]);
    expect(snapshotter.baseline?.children.get('var/empty')).toBe('first/second');
  });

  it('walks names that decode to the same string', async () => {
    const directory = join(root, 'var/names');
    await mkdir(directory, { recursive: true });
    // Both invalid UTF-8 names decode to U+FFFD, the name of the third file.
    for (const bytes of [[0xff], [0xfe], [0xef, 0xbf, 0xbd]]) {
      await writeFile(Buffer.concat([Buffer.from(`${directory}/`), Buffer.from(bytes)]), 'x');
    }
    const snapshotter = await initialized();
    await writeFile(join(directory, '\ufffd'), 'changed');
    expect(entries(await snapshotter.changes())).toEqual([
      'add var',
      'add var/names',
      'add var/names/\ufffd',
    ]);
  });

  it('leaves parents out when asked', async () => {
    const snapshotter = new WalkSnapshotter(root, {
      ignoreMounts: false,
      racyMarginNs: trustStat,
      includeParents: false,
    });
    await snapshotter.init();
    await writeFile(join(root, 'usr/share/doc/pkg/NEWS'), 'news\n');
    expect(entries(await snapshotter.changes())).toEqual([
      'add usr/share/doc/pkg',
      'add usr/share/doc/pkg/NEWS',
    ]);
  });

  it('reports a modified file', async () => {
    const snapshotter = await initialized();
    await writeFile(join(root, 'etc/hostname'), 'other\n');
    expect(entries(await snapshotter.changes())).toEqual(['add etc', 'add etc/hostname']);
  });

  it('reports a rewrite that restores size and mtime', async () => {
    const snapshotter = await initialized();
    const mtime = new Date('2020-01-01T00:00:00Z');
    await utimes(join(root, 'etc/hostname'), mtime, mtime);
    await snapshotter.changes();
    await writeFile(join(root, 'etc/hostname'), 'xyz\n');
    await utimes(join(root, 'etc/hostname'), mtime, mtime);
    expect(entries(await snapshotter.changes())).toContain('add etc/hostname');
  });

  it('reports a new file in a directory whose mtime was restored', async () => {
    const snapshotter = await initialized();
    const mtime = new Date('2020-01-01T00:00:00Z');
    await utimes(join(root, 'opt/tool'), mtime, mtime);
    await snapshotter.changes();
    await writeFile(join(root, 'opt/tool/extra'), 'x');
    await utimes(join(root, 'opt/tool'), mtime, mtime);
    expect(entries(await snapshotter.changes())).toContain('add opt/tool/extra');
  });

  it('reports chmod and chown', async () => {
    const snapshotter = await initialized();
    await chmod(join(root, 'etc/hostname'), 0o600);
    await chown(join(root, 'opt/tool/run'), 1000, 1000);
    expect(entries(await snapshotter.changes())).toEqual([
      'add etc',
      'add etc/hostname',
      'add opt',
      'add opt/tool',
      'add opt/tool/run',
    ]);
  });

  it('reports a deleted file as one delete', async () => {
    const snapshotter = await initialized();
    await rm(join(root, 'etc/conf.d/a.conf'));
    expect(entries(await snapshotter.changes())).toEqual([
      'add etc',
      'add etc/conf.d',
      'delete etc/conf.d/a.conf',
    ]);
  });

  it('reports a deleted directory as one delete', async () => {
    const snapshotter = await initialized();
    await rm(join(root, 'usr/share'), { recursive: true });
    expect(entries(await snapshotter.changes())).toEqual(['add usr', 'delete usr/share']);
  });

  it('reports a directory replaced by a file as an add', async () => {
    const snapshotter = await initialized();
    await rm(join(root, 'etc/conf.d'), { recursive: true });
    await writeFile(join(root, 'etc/conf.d'), 'now a file\n');
    expect(entries(await snapshotter.changes())).toEqual(['add etc', 'add etc/conf.d']);
  });

  it('reports a file replaced by a directory with its children', async () => {
    const snapshotter = await initialized();
    await rm(join(root, 'usr/bin'));
    await mkdir(join(root, 'usr/bin'));
    await writeFile(join(root, 'usr/bin/tool'), 'tool\n');
    expect(entries(await snapshotter.changes())).toEqual([
      'add usr',
      'add usr/bin',
      'add usr/bin/tool',
    ]);
  });

  it('reports a file replaced by a symlink', async () => {
    const snapshotter = await initialized();
    await rm(join(root, 'etc/hostname'));
    await symlink('/proc/sys/kernel/hostname', join(root, 'etc/hostname'));
    const changes = await snapshotter.changes();
    expect(entries(changes)).toEqual(['add etc', 'add etc/hostname']);
    expect(snapshotter.baseline?.records.get('etc/hostname')?.linkTarget).toBe(
      '/proc/sys/kernel/hostname',
    );
  });

  it('reports a retargeted symlink', async () => {
    await symlink('a', join(root, 'opt/link'));
    const snapshotter = await initialized();
    await rm(join(root, 'opt/link'));
    await symlink('b', join(root, 'opt/link'));
    expect(entries(await snapshotter.changes())).toContain('add opt/link');
  });

  it('reports hardlink groups among added paths', async () => {
    const snapshotter = await initialized();
    await writeFile(join(root, 'opt/tool/bin'), 'binary\n');
    await link(join(root, 'opt/tool/bin'), join(root, 'opt/tool/bin-alias'));
    await link(join(root, 'opt/tool/bin'), join(root, 'etc/bin-link'));
    const changes = await snapshotter.changes();
    expect(changes.hardlinks).toEqual([['etc/bin-link', 'opt/tool/bin', 'opt/tool/bin-alias']]);
  });

  it('reports an existing file when a hardlink to it is added', async () => {
    const snapshotter = await initialized();
    await link(join(root, 'etc/hostname'), join(root, 'opt/hostname'));
    const changes = await snapshotter.changes();
    expect(entries(changes)).toEqual([
      'add etc',
      'add etc/hostname',
      'add opt',
      'add opt/hostname',
    ]);
    expect(changes.hardlinks).toEqual([['etc/hostname', 'opt/hostname']]);
  });

  it('makes each change set relative to the one before', async () => {
    const snapshotter = await initialized();
    await writeFile(join(root, 'etc/one'), '1\n');
    expect(entries(await snapshotter.changes())).toEqual(['add etc', 'add etc/one']);
    await writeFile(join(root, 'opt/two'), '2\n');
    expect(entries(await snapshotter.changes())).toEqual(['add opt', 'add opt/two']);
    expect(entries(await snapshotter.changes())).toEqual([]);
  });

  it('never reports ignored paths', async () => {
    const snapshotter = new WalkSnapshotter(root, {
      ignoreMounts: false,
      racyMarginNs: trustStat,
      ignorePaths: ['/var/cache/kiln', 'tmp/'],
    });
    await mkdir(join(root, 'var/cache/kiln'), { recursive: true });
    await mkdir(join(root, 'proc/1'), { recursive: true });
    await snapshotter.init();
    await writeFile(join(root, 'var/cache/kiln/layer.tar'), 'x');
    await writeFile(join(root, 'var/cache/other'), 'y');
    await mkdir(join(root, 'tmp'));
    await writeFile(join(root, 'tmp/scratch'), 'z');
    await writeFile(join(root, 'proc/1/status'), 'running');
    expect(entries(await snapshotter.changes())).toEqual([
      'add var',
      'add var/cache',
      'add var/cache/other',
    ]);
    expect(snapshotter.baseline?.records.has('var/cache/kiln')).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('never reports a mount point under the root', async () => {
    await mkdir(join(root, 'run/secrets'), { recursive: true });
    const snapshotter = new WalkSnapshotter(root, { racyMarginNs: trustStat });
    await snapshotter.init();
    await run('mount', ['-t', 'tmpfs', 'kiln-test', join(root, 'run/secrets')]);
    try {
      await writeFile(join(root, 'run/secrets/token'), 'secret');
      await writeFile(join(root, 'etc/after-mount'), 'x');
      expect(entries(await snapshotter.changes())).toEqual(['add etc', 'add etc/after-mount']);
    } finally {
      await run('umount', [join(root, 'run/secrets')]);
    }
  });

  it('fingerprints racy paths and reports only real changes', async () => {
    // A margin of an hour makes every path racy, so stat alone decides nothing.
    const snapshotter = new WalkSnapshotter(root, {
      ignoreMounts: false,
      racyMarginNs: 3_600_000_000_000n,
    });
    await snapshotter.init();
    expect(snapshotter.baseline?.records.get('etc/hostname')?.hash).toMatch(
      /^sha256:[0-9a-f]{64}$/,
    );
    expect(snapshotter.baseline?.records.get('etc')?.xattrs).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(entries(await snapshotter.changes())).toEqual([]);
    await writeFile(join(root, 'etc/hostname'), await readFile(join(root, 'etc/hostname')));
    expect(entries(await snapshotter.changes())).toContain('add etc/hostname');
  });

  it('rejects changes() before init()', async () => {
    const snapshotter = new WalkSnapshotter(root);
    await expect(snapshotter.changes()).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
  });

  it('rejects a missing root', async () => {
    const snapshotter = new WalkSnapshotter(join(root, 'missing'));
    const error = await snapshotter.init().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapshotError);
    expect(error).toMatchObject({ code: 'ROOT_NOT_FOUND' });
  });
});
