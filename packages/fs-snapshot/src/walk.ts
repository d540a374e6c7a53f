import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';

import { errnoCode, SnapshotError } from './errors.js';
import { fileTypeOf, recordFromStats, sameStat } from './file-record.js';
import type { FileRecord } from './file-record.js';
import type { IgnoreList } from './ignore.js';

/** The result of a walk: a record per path and the names each directory listed. */
export interface WalkResult {
  records: Map<string, FileRecord>;
  /** Names read from each directory (ignored ones included), keyed by its relative path. */
  children: Map<string, string[]>;
}

/**
 * Walks `root` depth first and returns a record per path, keyed by the path relative to root
 * (root itself excluded). Paths on the ignore list are neither recorded nor descended into.
 *
 * The walk is synchronous (readdirSync + lstatSync) because that measured fastest: on a cached
 * tree of 100k files on 2 vCPUs it took 0.26 s, against 1.5 to 3.4 s for an async walk through
 * the libuv thread pool. Paths that vanish during the walk are skipped.
 *
 * With `previous`, a directory whose stat is unchanged and was not racy keeps its earlier list
 * of names without a readdir, because creating, removing or renaming an entry moves the
 * directory's mtime and ctime. A symlink whose stat is unchanged keeps its target the same way.
 */
export function walkTree(
  root: string,
  ignore: IgnoreList,
  racySinceNs: bigint,
  previous?: WalkResult,
): WalkResult {
  // NOTE: names are decoded as UTF-8, so a name that is not valid UTF-8 comes back altered, fails
  // lstat with ENOENT and is skipped: changes to such paths are never reported.
  const records = new Map<string, FileRecord>();
  const children = new Map<string, string[]>();
  const base = root.endsWith('/') ? root.slice(0, -1) : root;
  // Each pending directory is stored as its relative path ('' for the root).
  const pending: string[] = [''];
  while (pending.length > 0) {
    const directory = pending.pop() as string;
    const names = listDirectory(base, directory, records, previous);
    if (names === undefined) continue;
    children.set(directory, names);
    // Pushed in reverse so that the stack pops children in sorted order.
    const subdirectories: string[] = [];
    for (const name of names) {
      const relative = directory === '' ? name : `${directory}/${name}`;
      if (ignore.hasExact(relative)) continue;
      const absolute = `${base}/${relative}`;
      const stats = lstatOrUndefined(absolute);
      if (stats === undefined) continue;
      const type = fileTypeOf(stats);
      if (type === undefined) continue;
      const linkTarget =
        type === 'symlink'
          ? symlinkTarget(absolute, stats, previous?.records.get(relative))
          : undefined;
      if (type === 'symlink' && linkTarget === undefined) continue;
      records.set(relative, recordFromStats(type, stats, racySinceNs, linkTarget));
      if (type === 'directory') subdirectories.push(relative);
    }
    for (let i = subdirectories.length - 1; i >= 0; i--) pending.push(subdirectories[i] as string);
  }
  return { records, children };
}

/** Returns the sorted names of a directory, from the previous walk where its stat proves them unchanged. */
function listDirectory(
  base: string,
  directory: string,
  records: Map<string, FileRecord>,
  previous: WalkResult | undefined,
): string[] | undefined {
  if (previous !== undefined && directory !== '') {
    const before = previous.records.get(directory);
    const now = records.get(directory);
    const names = previous.children.get(directory);
    if (
      before !== undefined &&
      now !== undefined &&
      names !== undefined &&
      !before.racy &&
      sameStat(before, now)
    ) {
      return names;
    }
  }
  return readDirectory(base, directory)?.sort();
}

function symlinkTarget(
  absolute: string,
  stats: BigIntStats,
  before: FileRecord | undefined,
): string | undefined {
  // A symlink's target cannot change in place: a new target needs a new inode and ctime.
  const unchanged =
    before !== undefined &&
    before.type === 'symlink' &&
    !before.racy &&
    before.ino === stats.ino &&
    before.dev === stats.dev &&
    before.ctimeNs === stats.ctimeNs;
  return unchanged ? before.linkTarget : readlinkOrUndefined(absolute);
}

function readDirectory(base: string, directory: string): string[] | undefined {
  const absolute = directory === '' ? base || '/' : `${base}/${directory}`;
  try {
    return readdirSync(absolute);
  } catch (error) {
    const code = errnoCode(error);
    // Removed, or replaced by a non-directory, after its parent listed it.
    if (directory !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    throw walkError(absolute, error);
  }
}

function lstatOrUndefined(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw walkError(path, error);
  }
}

function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw walkError(path, error);
  }
}

function walkError(path: string, cause: unknown): SnapshotError {
  return new SnapshotError('WALK_FAILED', `failed to read ${path} while taking a snapshot`, {
    hint: 'Check that the process may read every directory under the root, or add the path to ignorePaths.',
    cause,
  });
}
