import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SnapshotError } from './errors.js';
import { sameStat } from './file-record.js';
import type { FileRecord } from './file-record.js';
import { RecordTable } from './record-table.js';

function record(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    type: 'file',
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    size: 12,
    mtimeNs: 1_700_000_000_123_456_789n,
    ctimeNs: 1_700_000_000_987_654_321n,
    dev: 2049n,
    ino: 131_073n,
    nlink: 1,
    rdev: 0n,
    racy: false,
    ...overrides,
  };
}

// One field changed at a time, each with a value only the high or low 32 bits tell apart.
const variants: Partial<FileRecord>[] = [
  { type: 'symlink', linkTarget: 'target' },
  { mode: 0o100755 },
  { uid: 0 },
  { gid: 0 },
  { size: 2 ** 40 + 12 },
  { mtimeNs: 1_700_000_000_123_456_789n + (1n << 32n) },
  { mtimeNs: 1_700_000_000_123_456_788n },
  { ctimeNs: 1_700_000_000_987_654_322n },
  { dev: 2049n + (1n << 40n) },
  { ino: 131_074n },
  { type: 'char', rdev: (1n << 32n) | 5n },
  { linkTarget: 'elsewhere' },
  { nlink: 3 },
];

function tableOf(...records: FileRecord[]): RecordTable {
  return RecordTable.from(records.map((value, index) => [`path${index}`, value] as const));
}

describe('RecordTable', () => {
  it('round-trips records with 64-bit fields', () => {
    const values = [
      record(),
      record({ ino: 0xffff_ffff_ffff_fff0n, dev: 1n << 63n, mtimeNs: -5n, ctimeNs: -1n }),
      record({ type: 'symlink', mode: 0o120777, linkTarget: '../lib/x.so', racy: true }),
      record({ racy: true, hash: 'sha256:aa', xattrs: 'sha256:bb' }),
      record({ type: 'block', mode: 0o60600, rdev: (8n << 8n) | 1n }),
    ];
    const table = tableOf(...values);
    expect(table.size).toBe(values.length);
    expect([...table]).toEqual(values.map((value, index) => [`path${index}`, value]));
    expect(table.get('path1')).toEqual(values[1]);
    expect(table.get('missing')).toBeUndefined();
    expect([...table.keys()]).toEqual(values.map((_, index) => `path${index}`));
  });

  it('keeps rows across chunks', () => {
    const table = new RecordTable();
    const name = (i: number): string => `d/f${String(i).padStart(5, '0')}`;
    for (let i = 0; i < 9000; i++) table.add(name(i), record({ ino: BigInt(i), size: i }));
    expect(table.size).toBe(9000);
    expect(table.get(name(0))?.ino).toBe(0n);
    expect(table.get(name(4095))).toEqual(record({ ino: 4095n, size: 4095 }));
    expect(table.get(name(4096))).toEqual(record({ ino: 4096n, size: 4096 }));
    expect(table.get(name(8999))?.size).toBe(8999);
    expect(table.get('d/f9000')).toBeUndefined();
    expect(RecordTable.sameStat(table, 4096, table, 8192)).toBe(false);
    const copy = RecordTable.from([['x', record({ ino: 8192n, size: 8192 })]]);
    expect(RecordTable.sameStat(table, 8192, copy, 0)).toBe(true);
  });

  it('finds paths by directory run', () => {
    const paths = ['b', 'a/y', 'a', 'a/x/1', 'c', 'a/x', 'a/x/0', 'a/z', 'a-b', 'a-b/q'];
    const table = RecordTable.from(paths.map((path, index) => [path, record({ size: index })]));
    for (const [index, path] of paths.entries()) {
      expect(table.get(path)?.size, path).toBe(index);
    }
    for (const missing of ['', 'a/', 'a/w', 'a/x/2', 'd', 'a/x/0/1', 'b/a']) {
      expect(table.has(missing), missing).toBe(false);
    }
    expect(table.rowIn('a/x', 'a/x/1')).toBe(table.rowOf('a/x/1'));
  });

  it('rejects rows added out of order', () => {
    const table = new RecordTable();
    table.add('d/b', record());
    expect(() => table.add('d/a', record())).toThrow(/d\/a added out of order/);
    table.add('e', record());
    expect(() => table.add('d/c', record())).toThrow(SnapshotError);
  });

  it('stores fingerprints set later', () => {
    const table = tableOf(record(), record({ type: 'directory', mode: 0o40755 }));
    table.setFingerprint(0, 'sha256:x', 'sha256:c');
    table.setFingerprint(1, 'sha256:y', undefined);
    expect(table.get('path0')).toMatchObject({ xattrs: 'sha256:x', hash: 'sha256:c' });
    expect(table.get('path1')?.xattrs).toBe('sha256:y');
    expect(table.get('path1')?.hash).toBeUndefined();
  });

  it('compares rows like sameStat', () => {
    for (const overrides of variants) {
      const changed = record(overrides);
      const table = tableOf(record(), changed);
      expect(RecordTable.sameStat(table, 0, table, 1), JSON.stringify(overrides, replacer)).toBe(
        sameStat(record(), changed),
      );
    }
    const table = tableOf(record(), record());
    expect(RecordTable.sameStat(table, 0, table, 1)).toBe(true);
  });

  it('compares redo fields and mtime', () => {
    const ignoredByRedo = [{ ctimeNs: 1n }, { ino: 7n }, { dev: 9n }, { nlink: 4 }];
    for (const overrides of ignoredByRedo) {
      const table = tableOf(record(), record(overrides));
      expect(RecordTable.sameRedoFields(table, 0, table, 1)).toBe(true);
    }
    const seenByRedo = variants.filter(
      (overrides) => !['ctimeNs', 'ino', 'dev', 'nlink'].includes(Object.keys(overrides)[0] ?? ''),
    );
    for (const overrides of seenByRedo) {
      const table = tableOf(record(), record(overrides));
      expect(RecordTable.sameRedoFields(table, 0, table, 1)).toBe(false);
      expect(RecordTable.sameMtime(table, 0, table, 1)).toBe(overrides.mtimeNs === undefined);
    }
  });

  it('compares rows across tables', () => {
    const before = tableOf(record(), record({ ino: 5n }));
    const after = RecordTable.from([['other', record({ ino: 5n })]]);
    expect(RecordTable.sameStat(before, 1, after, 0)).toBe(true);
    expect(RecordTable.sameStat(before, 0, after, 0)).toBe(false);
  });

  it('records lstat results and racy flag', () => {
    const directory = mkdtempSync(join(tmpdir(), 'kiln-record-table-'));
    try {
      const path = join(directory, 'file');
      writeFileSync(path, 'content\n');
      const stats = lstatSync(path, { bigint: true });
      const table = new RecordTable();
      table.addStats('file', 'file', stats, stats.ctimeNs + 1n);
      table.addStats('racy', 'file', stats, stats.ctimeNs);
      expect(table.get('file')).toEqual({
        type: 'file',
        mode: Number(stats.mode),
        uid: Number(stats.uid),
        gid: Number(stats.gid),
        size: 8,
        mtimeNs: stats.mtimeNs,
        ctimeNs: stats.ctimeNs,
        dev: stats.dev,
        ino: stats.ino,
        nlink: 1,
        rdev: 0n,
        racy: false,
      });
      expect(table.get('racy')?.racy).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
