import { describe, expect, it } from 'vitest';

import { diffSnapshots } from './diff.js';
import type { FileRecord } from './file-record.js';
import { IgnoreList } from './ignore.js';
import { RecordTable } from './record-table.js';
import type { Snapshot } from './snapshot.js';

function file(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    type: 'file',
    mode: 0o100644,
    uid: 0,
    gid: 0,
    size: 4,
    mtimeNs: 1_000n,
    ctimeNs: 1_000n,
    dev: 1n,
    ino: 10n,
    nlink: 1,
    rdev: 0n,
    racy: false,
    ...overrides,
  };
}

const directory = file({ type: 'directory', mode: 0o40755, ino: 2n });

function snapshot(records: Record<string, FileRecord>, ignore: string[] = []): Snapshot {
  return {
    root: '/r',
    startedAtNs: 0n,
    records: RecordTable.from(Object.entries(records)),
    children: new Map(),
    racyPaths: [],
    ignore: new IgnoreList(ignore),
  };
}

function diff(before: Snapshot, after: Snapshot): string[] {
  return diffSnapshots(before, after, { includeParents: false }).map(
    ({ path, kind }) => `${kind} ${path}`,
  );
}

describe('diffSnapshots', () => {
  it('trusts equal stat for a file that was not racy', () => {
    expect(diff(snapshot({ a: file() }), snapshot({ a: file() }))).toEqual([]);
  });

  it('reports a racy file whose content hash changed under equal stat', () => {
    const before = snapshot({ a: file({ racy: true, hash: 'sha256:1', xattrs: 'x' }) });
    expect(diff(before, snapshot({ a: file({ hash: 'sha256:2', xattrs: 'x' }) }))).toEqual([
      'add a',
    ]);
  });

  it('reports a racy file whose xattrs changed under equal stat', () => {
    const before = snapshot({ a: file({ racy: true, hash: 'sha256:1', xattrs: 'x' }) });
    expect(diff(before, snapshot({ a: file({ hash: 'sha256:1', xattrs: 'y' }) }))).toEqual([
      'add a',
    ]);
  });

  it('keeps a racy file whose fingerprints are the same', () => {
    const before = snapshot({ a: file({ racy: true, hash: 'sha256:1', xattrs: 'x' }) });
    expect(diff(before, snapshot({ a: file({ hash: 'sha256:1', xattrs: 'x' }) }))).toEqual([]);
  });

  it('keeps a racy directory whose xattrs are the same', () => {
    const before = snapshot({ d: { ...directory, racy: true, xattrs: 'x' } });
    expect(diff(before, snapshot({ d: { ...directory, xattrs: 'x' } }))).toEqual([]);
  });

  it('reports a racy path that has no fingerprint to compare', () => {
    const before = snapshot({ d: { ...directory, racy: true } });
    expect(diff(before, snapshot({ d: directory }))).toEqual(['add d']);
  });

  it.each([
    ['mode', { mode: 0o100600 }],
    ['uid', { uid: 1 }],
    ['gid', { gid: 1 }],
    ['size', { size: 5 }],
    ['mtime', { mtimeNs: 2_000n }],
    ['ctime', { ctimeNs: 2_000n }],
    ['inode', { ino: 11n }],
    ['type', { type: 'fifo' as const }],
    ['link target', { type: 'symlink' as const, linkTarget: 'b' }],
  ])('reports a change of %s', (_field, change) => {
    expect(diff(snapshot({ a: file() }), snapshot({ a: file(change) }))).toEqual(['add a']);
  });

  it('reports only the top of a deleted subtree', () => {
    const before = snapshot({ d: directory, 'd/e': directory, 'd/e/f': file(), g: file() });
    expect(diff(before, snapshot({ g: file() }))).toEqual(['delete d']);
  });

  it('leaves out children of a directory replaced by a file', () => {
    const before = snapshot({ d: directory, 'd/f': file() });
    expect(diff(before, snapshot({ d: file({ ino: 20n }) }))).toEqual(['add d']);
  });

  it('never deletes a path the new snapshot ignores', () => {
    const before = snapshot({ m: directory, 'm/secret': file() });
    expect(diff(before, snapshot({}, ['m']))).toEqual([]);
  });

  it('adds missing parents before their children', () => {
    const before = snapshot({ a: directory, 'a/b': directory });
    const after = snapshot({ a: directory, 'a/b': directory, 'a/b/new': file() });
    expect(diffSnapshots(before, after).map(({ path }) => path)).toEqual(['a', 'a/b', 'a/b/new']);
  });
});
