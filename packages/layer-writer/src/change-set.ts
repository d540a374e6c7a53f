import { opendir } from 'node:fs/promises';
import path from 'node:path';

/**
 * One change in a layer. `path` is relative and POSIX, without a leading slash.
 * `add` stores the file at `root/path` as it is now (a directory adds only its own entry),
 * `delete` stores a whiteout `.wh.NAME`, and `opaque` stores `DIR/.wh..wh..opq`.
 */
export interface ChangeSetEntry {
  path: string;
  kind: 'add' | 'delete' | 'opaque';
}

/** The changes of one layer, with `add` entries read from below `root`. */
export interface ChangeSet {
  root: string;
  entries: ChangeSetEntry[];
}

/** Lists every entry under `root` (root itself excluded) as an `add`, parents before children. */
export async function directoryChangeSet(root: string): Promise<ChangeSet> {
  const entries: ChangeSetEntry[] = [];
  await collect(root, '', entries);
  return { root, entries: sortByPath(entries, (entry) => entry.path) };
}

async function collect(root: string, relative: string, out: ChangeSetEntry[]): Promise<void> {
  const directory = await opendir(relative === '' ? root : path.join(root, relative));
  for await (const dirent of directory) {
    const child = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
    out.push({ path: child, kind: 'add' });
    if (dirent.isDirectory()) await collect(root, child, out);
  }
}

/**
 * Sorts items by the UTF-8 bytes of their path, which is stable across platforms and locales.
 * A parent is a prefix of its children, so it always sorts before them.
 */
export function sortByPath<T>(items: readonly T[], pathOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: Buffer.from(pathOf(item)) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map(({ item }) => item);
}
