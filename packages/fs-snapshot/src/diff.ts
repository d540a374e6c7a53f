import type { ChangeSetEntry } from './change-set.js';
import { sameStat } from './file-record.js';
import type { FileRecord } from './file-record.js';
import type { ChangeDetection, Snapshot } from './snapshot.js';

/** Options of {@link diffSnapshots}. */
export interface DiffOptions {
  /** Add the parent directories of every changed path as `add` entries; default true. */
  includeParents?: boolean;
  /** The fields that decide that a path changed; default `full`. */
  changeDetection?: ChangeDetection;
}

/**
 * Returns what changed from `before` to `after`, sorted so that parents come before children.
 *
 * With `full` detection (the default), a path is unchanged when its stat fields (see `sameStat`)
 * are equal and it was not racy in `before`. The `redo` and `time` modes compare fewer fields
 * (see `ChangeDetection`). A racy path is unchanged only when both snapshots hold the same xattr fingerprint and,
 * for a regular file, the same content hash. A change to a directory's entries shows in its
 * children.
 * Any other path present in `after` is an `add` (a new path, a modification, or a replacement of
 * another type, which an OCI layer expresses by the new entry alone). A path missing from `after`
 * is one `delete`, unless its parent is gone or replaced too, whose own entry then covers it.
 * Paths that `after` ignores are never reported as deleted.
 */
export function diffSnapshots(
  before: Snapshot,
  after: Snapshot,
  options: DiffOptions = {},
): ChangeSetEntry[] {
  const changed = new Map<string, ChangeSetEntry['kind']>();
  const modified = MODIFIED_CHECKS[options.changeDetection ?? 'full'];
  for (const [path, record] of after.records) {
    const previous = before.records.get(path);
    if (previous === undefined || modified(previous, record)) changed.set(path, 'add');
  }

  for (const path of before.records.keys()) {
    if (after.records.has(path) || after.ignore.covers(path)) continue;
    const slash = path.lastIndexOf('/');
    const parentSurvives =
      slash === -1 || after.records.get(path.slice(0, slash))?.type === 'directory';
    if (parentSurvives) changed.set(path, 'delete');
  }

  if (options.includeParents ?? true) addParents(changed, after);
  return [...changed]
    .sort(([a], [b]) => compareCodeUnits(a, b))
    .map(([path, kind]) => ({ path, kind }));
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

const MODIFIED_CHECKS: Record<
  ChangeDetection,
  (previous: FileRecord, current: FileRecord) => boolean
> = {
  full: isModified,
  redo: (previous, current) =>
    previous.type !== current.type ||
    previous.mode !== current.mode ||
    previous.uid !== current.uid ||
    previous.gid !== current.gid ||
    previous.size !== current.size ||
    previous.mtimeNs !== current.mtimeNs ||
    previous.rdev !== current.rdev ||
    previous.linkTarget !== current.linkTarget,
  time: (previous, current) => previous.mtimeNs !== current.mtimeNs,
};

function isModified(previous: FileRecord, current: FileRecord): boolean {
  if (!sameStat(previous, current)) return true;
  if (!previous.racy) return false;
  // Equal stat leaves two things a layer stores unchecked: a regular file's content and xattrs.
  if (previous.type === 'file' && (previous.hash === undefined || previous.hash !== current.hash))
    return true;
  return previous.xattrs === undefined || previous.xattrs !== current.xattrs;
}

function addParents(changed: Map<string, ChangeSetEntry['kind']>, after: Snapshot): void {
  for (const path of [...changed.keys()]) {
    let slash = path.lastIndexOf('/');
    while (slash !== -1) {
      const parent = path.slice(0, slash);
      if (changed.has(parent)) break;
      if (after.records.get(parent)?.type !== 'directory') break;
      changed.set(parent, 'add');
      slash = parent.lastIndexOf('/');
    }
  }
}
