import { getAttributeSync } from '@napi-rs/xattr';

import type { ChangeSetEntry } from '../change-set.js';
import type { FileRecord } from '../file-record.js';
import type { IgnoreList } from '../ignore.js';
import type { SnapshotChangeSet } from '../walk-snapshotter.js';
import { walkTree } from '../walk.js';

/** Xattrs by which overlayfs marks an opaque directory: trusted.* as root, user.* with `userxattr`. */
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'];

/**
 * Converts an overlay upper directory into a change set rooted at it: an overlay whiteout
 * (character device 0/0) becomes a `delete`, an opaque directory an `add` followed by an
 * `opaque`, and every other path an `add`. Paths the ignore list covers are left out. The change
 * set is rooted at `root`: a merged view of the step hides the overlay's private xattrs
 * (trusted.overlay.origin, impure, opaque), which the upper directory would leak into a layer.
 */
export function changeSetFromUpperDir(
  upperDir: string,
  ignore: IgnoreList,
  root = upperDir,
): SnapshotChangeSet {
  // The racy threshold is irrelevant here, because an upper directory is read once and not compared.
  const { records } = walkTree(upperDir, ignore, 0n);
  const entries: ChangeSetEntry[] = [];
  const byInode = new Map<bigint, string[]>();
  const base = upperDir.endsWith('/') ? upperDir.slice(0, -1) : upperDir;

  for (const [path, record] of records) {
    if (isWhiteout(record)) {
      entries.push({ path, kind: 'delete' });
      continue;
    }
    entries.push({ path, kind: 'add' });
    if (record.type === 'directory' && isOpaque(`${base}/${path}`))
      entries.push({ path, kind: 'opaque' });
    if (record.type !== 'directory' && record.nlink > 1) {
      const group = byInode.get(record.ino);
      if (group === undefined) byInode.set(record.ino, [path]);
      else group.push(path);
    }
  }

  entries.sort(compareEntries);
  const hardlinks = [...byInode.values()]
    .filter((group) => group.length > 1)
    .map((group) => group.sort());
  return { root, entries, hardlinks };
}

const KIND_ORDER: Record<ChangeSetEntry['kind'], number> = { delete: 0, add: 1, opaque: 2 };

/** Orders by path (so parents precede children), then a directory's `add` before its `opaque`. */
function compareEntries(a: ChangeSetEntry, b: ChangeSetEntry): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
}

function isWhiteout(record: FileRecord): boolean {
  return record.type === 'char' && record.rdev === 0n;
}

function isOpaque(path: string): boolean {
  return OPAQUE_XATTRS.some((name) => getAttributeSync(path, name)?.toString() === 'y');
}
