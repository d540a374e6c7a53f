import type { BigIntStats } from 'node:fs';

/** The file types a layer can hold; sockets are left out of snapshots, as tar cannot store them. */
export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo';

/** The stored state of one path: its lstat fields, link target and, for racy paths, fingerprints. */
export interface FileRecord {
  type: FileType;
  /** st_mode, file type bits included. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  dev: bigint;
  ino: bigint;
  nlink: number;
  /** Device number of a character or block device, else 0. */
  rdev: bigint;
  linkTarget?: string;
  /**
   * True when the ctime was too close to the snapshot's start for a later change to be sure to
   * move it. Stat cannot decide whether such a path changes, so its content and xattrs are
   * fingerprinted.
   */
  racy: boolean;
  /** sha256 of the content of a regular file that was racy in this snapshot or the one before. */
  hash?: string;
  /** Fingerprint of the xattrs of a path that was racy in this snapshot or the one before. */
  xattrs?: string;
}

/** Returns the file type of a stat result, or undefined for a socket or an unknown type. */
export function fileTypeOf(stats: BigIntStats): FileType | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return undefined;
}

/**
 * True when two records agree on every stat field a change moves: type, mode, owner, size,
 * mtime, ctime, inode, device number and link target. The link count and xattrs are left out
 * because the kernel moves the ctime whenever either changes.
 */
export function sameStat(a: FileRecord, b: FileRecord): boolean {
  return (
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.rdev === b.rdev &&
    a.linkTarget === b.linkTarget
  );
}
