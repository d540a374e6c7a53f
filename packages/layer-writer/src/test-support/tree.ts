import { createHash } from 'node:crypto';
import { lstat, mkdtemp, opendir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { readXattrs } from '../xattrs.js';

/** Attributes of one path that the round-trip tests compare. */
export interface TreeRecord {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  linkTarget?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  /** Whole microseconds, because libuv truncates the times it sets to microseconds. */
  mtimeUs?: bigint;
  inode?: string;
}

/** Describes every entry under `root` (root excluded), keyed by relative path. */
export async function describeTree(
  root: string,
  options: { mtimes?: boolean; contents?: boolean } = {},
): Promise<Record<string, TreeRecord>> {
  const result: Record<string, TreeRecord> = {};
  const inodes = new Map<bigint, string>();
  async function walk(relative: string): Promise<void> {
    const directory = await opendir(relative === '' ? root : path.join(root, relative));
    const names: string[] = [];
    for await (const dirent of directory) names.push(dirent.name);
    for (const name of names.sort()) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(root, child);
      const stats = await lstat(full, { bigint: true });
      const record: TreeRecord = {
        type: stats.isFile()
          ? 'file'
          : stats.isDirectory()
            ? 'dir'
            : stats.isSymbolicLink()
              ? 'symlink'
              : stats.isFIFO()
                ? 'fifo'
                : stats.isCharacterDevice()
                  ? 'char'
                  : stats.isBlockDevice()
                    ? 'block'
                    : 'other',
        mode: (Number(stats.mode) & 0o7777).toString(8),
        uid: Number(stats.uid),
        gid: Number(stats.gid),
        size: stats.isFile() ? Number(stats.size) : 0,
      };
      if (stats.isFile() && options.contents !== false) {
        record.sha256 = createHash('sha256')
          .update(await readFile(full))
          .digest('hex');
      }
      if (stats.isSymbolicLink()) record.linkTarget = await readlink(full);
      if (stats.isCharacterDevice() || stats.isBlockDevice()) record.rdev = Number(stats.rdev);
      const xattrs = readXattrs(full);
      if (xattrs !== undefined)
        record.xattrs = Object.fromEntries(
          [...xattrs].map(([key, value]) => [key, value.toString('hex')]),
        );
      if (options.mtimes !== false) record.mtimeUs = stats.mtimeNs / 1000n;
      if (stats.isFile() && stats.nlink > 1n) {
        const first = inodes.get(stats.ino);
        if (first === undefined) inodes.set(stats.ino, child);
        record.inode = first ?? child;
      }
      result[child] = record;
      if (stats.isDirectory()) await walk(child);
    }
  }
  await walk('');
  return result;
}

/** Lists every path under `root` (root excluded), parents before children. */
export async function listEntries(root: string): Promise<string[]> {
  return Object.keys(await describeTree(root, { mtimes: false, contents: false }));
}

export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `kiln-layer-${prefix}-`));
}
