import type { ChangeSetEntry } from './change-set.js';
import type { Snapshot } from './snapshot.js';

/**
 * Returns the groups of added paths that are hardlinks of one inode, each sorted, so that a layer
 * writer stores the first path as the file and the others as links to it. Only groups with two
 * or more added paths are returned.
 */
export function findHardlinkGroups(
  snapshot: Snapshot,
  entries: readonly ChangeSetEntry[],
): string[][] {
  const byInode = new Map<string, string[]>();
  for (const { path, kind } of entries) {
    if (kind !== 'add') continue;
    const record = snapshot.records.get(path);
    if (record === undefined || record.type === 'directory' || record.nlink < 2) continue;
    const key = `${record.dev}:${record.ino}`;
    const group = byInode.get(key);
    if (group === undefined) byInode.set(key, [path]);
    else group.push(path);
  }
  return [...byInode.values()].filter((group) => group.length > 1).map((group) => group.sort());
}
