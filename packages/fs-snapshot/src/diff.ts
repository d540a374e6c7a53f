import type { ChangeSetEntry } from './change-set.js';
import { RecordTable } from './record-table.js';
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
  for (let row = 0; row < after.records.size; row++) {
    const path = after.records.pathAt(row);
    const previous = before.records.rowOf(path);
    if (previous === undefined || modified(before.records, previous, after.records, row))
      changed.set(path, 'add');
  }

  for (const path of before.records.keys()) {
    if (after.records.has(path) || after.ignore.covers(path)) continue;
    const slash = path.lastIndexOf('/');
    const parentSurvives = slash === -1 || isDirectory(after.records, path.slice(0, slash));
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

/** Whether row `b` of `after` changed from row `a` of `before`. */
type ModifiedCheck = (before: RecordTable, a: number, after: RecordTable, b: number) => boolean;

const MODIFIED_CHECKS: Record<ChangeDetection, ModifiedCheck> = {
  full: isModified,
  redo: (before, a, after, b) => !RecordTable.sameRedoFields(before, a, after, b),
  time: (before, a, after, b) => !RecordTable.sameMtime(before, a, after, b),
};

function isModified(before: RecordTable, a: number, after: RecordTable, b: number): boolean {
  if (!RecordTable.sameStat(before, a, after, b)) return true;
  if (!before.isRacy(a)) return false;
  // Equal stat leaves two things a layer stores unchecked: a regular file's content and xattrs.
  const hash = before.hashAt(a);
  if (before.typeAt(a) === 'file' && (hash === undefined || hash !== after.hashAt(b))) return true;
  const xattrs = before.xattrsAt(a);
  return xattrs === undefined || xattrs !== after.xattrsAt(b);
}

function isDirectory(records: RecordTable, path: string): boolean {
  const row = records.rowOf(path);
  return row !== undefined && records.typeAt(row) === 'directory';
}

function addParents(changed: Map<string, ChangeSetEntry['kind']>, after: Snapshot): void {
  for (const path of [...changed.keys()]) {
    let slash = path.lastIndexOf('/');
    while (slash !== -1) {
      const parent = path.slice(0, slash);
      if (changed.has(parent)) break;
      if (!isDirectory(after.records, parent)) break;
      changed.set(parent, 'add');
      slash = parent.lastIndexOf('/');
    }
  }
}
