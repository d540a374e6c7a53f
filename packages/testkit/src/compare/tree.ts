import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { requireTool, runCommand } from '../process.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** Attributes of one file that the comparison checks; mtimes are left out on purpose. */
export interface TreeEntry {
  /** Absolute path inside the image, like `/etc/passwd`. */
  path: string;
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Size in bytes of a regular file; undefined for other types. */
  size: number | undefined;
  /** `sha256:<hex>` of a regular file's content. */
  digest: string | undefined;
  linkTarget: string | undefined;
  /** First path, in sorted order, that shares this regular file's inode; undefined when unshared. */
  hardlinkOf: string | undefined;
  xattrs: Record<string, string>;
}

export type EntryField = Exclude<keyof TreeEntry, 'path'>;

export const ENTRY_FIELDS: readonly EntryField[] = [
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'digest',
  'linkTarget',
  'hardlinkOf',
  'xattrs',
];

/** Reads every entry under `rootfs` (the root itself excluded), keyed by absolute path. */
export async function readTree(rootfs: string): Promise<Map<string, TreeEntry>> {
  const entries = new Map<string, TreeEntry>();
  const firstPathOfInode = new Map<string, string>();
  const xattrs = await readXattrs(rootfs);

  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = join(dir, name);
      const path = `${prefix}/${name}`;
      const stats = await lstat(full);
      const type = entryType(stats);
      let hardlinkOf: string | undefined;
      if (type === 'file' && stats.nlink > 1) {
        const inode = `${stats.dev}:${stats.ino}`;
        hardlinkOf = firstPathOfInode.get(inode);
        if (hardlinkOf === undefined) firstPathOfInode.set(inode, path);
      }
      entries.set(path, {
        path,
        type,
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        size: type === 'file' ? stats.size : undefined,
        digest: type === 'file' ? await fileDigest(full) : undefined,
        linkTarget: type === 'symlink' ? await readlink(full) : undefined,
        hardlinkOf,
        xattrs: xattrs.get(path) ?? {},
      });
      if (type === 'directory') await walk(full, path);
    }
  };
  await walk(rootfs, '');
  return entries;
}

function entryType(stats: Stats): EntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads the extended attributes of the whole tree with one `getfattr -R` (Node has no xattr
 * API). Values come back hex-encoded, so binary values such as capabilities compare exactly.
 */
async function readXattrs(rootfs: string): Promise<Map<string, Record<string, string>>> {
  requireTool('getfattr', 'attr');
  const { stdout } = await runCommand(
    'getfattr',
    ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--absolute-names', rootfs],
    { allowFailure: true },
  );
  const result = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const path = line.slice('# file: '.length).slice(rootfs.length) || '/';
      current = {};
      result.set(path, current);
      continue;
    }
    const equals = line.indexOf('=');
    if (current !== undefined && equals > 0)
      current[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return result;
}
