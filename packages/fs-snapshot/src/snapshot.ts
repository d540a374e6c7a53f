import { stat } from 'node:fs/promises';

import { errnoCode, SnapshotError } from './errors.js';
import { hashFile } from './hash.js';
import { IgnoreList } from './ignore.js';
import type { IgnoreOptions } from './ignore.js';
import { RecordTable } from './record-table.js';
import { walkTree } from './walk.js';
import { xattrFingerprint } from './xattr-fingerprint.js';

/** Options of a snapshot: what to leave out and how to judge changes. */
export interface SnapshotOptions extends IgnoreOptions {
  /**
   * How long before the walk's start a ctime must lie for stat to be trusted, in nanoseconds;
   * default 50 ms. File timestamps come from the kernel's coarse clock, which ticks every 1 to
   * 10 ms (CONFIG_HZ), so a file written again within the tick of its last stat keeps its
   * timestamps. Paths whose ctime is this recent are fingerprinted instead. A negative margin
   * trusts stat alone for ctimes up to that far in the future, which only tests should want.
   */
  racyMarginNs?: bigint;
  /** Add the parent directories of every changed path to a change set; default true. */
  includeParents?: boolean;
  /** The stat fields and fingerprints that decide that a path changed; see {@link ChangeDetection}. */
  changeDetection?: ChangeDetection;
}

/**
 * How a walk decides that a path changed, with kaniko's `--snapshot-mode` names.
 * - `full` (default): any stat field a change moves (ctime included), and where stat cannot tell
 *   (a racy path), the content hash and xattrs.
 * - `redo`: type, mode, owner, size, mtime, device number and link target; nothing is hashed.
 * - `time`: the mtime alone; nothing is hashed.
 * `redo` and `time` skip fingerprinting, so they miss a rewrite that keeps those fields.
 */
export type ChangeDetection = 'full' | 'redo' | 'time';

/** The state of a tree at one moment: a record per path, keyed by the path relative to root. */
export interface Snapshot {
  root: string;
  /** Wall-clock time at which the walk started, in nanoseconds since the epoch. */
  startedAtNs: bigint;
  records: RecordTable;
  /**
   * Names read from each directory, sorted and joined with '/', keyed by its relative path ('' for
   * the root).
   */
  children: Map<string, string>;
  /** Paths that were racy in this snapshot. */
  racyPaths: string[];
  /** The ignore list in force; paths it covers are absent from `records`. */
  ignore: IgnoreList;
}

export const DEFAULT_RACY_MARGIN_NS = 50_000_000n;

/**
 * Walks `root` and returns its snapshot. Paths whose ctime is within the racy margin of the walk's
 * start are fingerprinted (xattrs, and the content of regular files), and so are paths that were
 * racy in `previous` and whose stat has not moved since. {@link diffSnapshots} then decides them
 * without reading the disk.
 */
export async function takeSnapshot(
  root: string,
  options: SnapshotOptions & { previous?: Snapshot } = {},
): Promise<Snapshot> {
  await checkRoot(root);
  const ignore = await IgnoreList.load(root, options);
  const startedAtNs = BigInt(Date.now()) * 1_000_000n;
  const racySinceNs = startedAtNs - (options.racyMarginNs ?? DEFAULT_RACY_MARGIN_NS);
  const { records, children } = walkTree(root, ignore, racySinceNs, options.previous);
  // Only `full` detection reads fingerprints, so the other modes skip reading file contents.
  const racyPaths =
    (options.changeDetection ?? 'full') === 'full'
      ? await fingerprintUndecided(root, records, options.previous)
      : [];
  return { root, startedAtNs, records, children, racyPaths, ignore };
}

/**
 * Fingerprints the paths stat cannot decide (content of regular files, xattrs of every type) and
 * returns the racy paths of this snapshot.
 */
async function fingerprintUndecided(
  root: string,
  records: RecordTable,
  previous: Snapshot | undefined,
): Promise<string[]> {
  const racyPaths: string[] = [];
  for (let row = 0; row < records.size; row++) {
    if (records.isRacy(row)) racyPaths.push(records.pathAt(row));
  }
  const candidates = new Set([...racyPaths, ...(previous?.racyPaths ?? [])]);
  const base = root.endsWith('/') ? root.slice(0, -1) : root;
  for (const path of candidates) {
    const row = records.rowOf(path);
    if (row === undefined) continue;
    const beforeRow = previous?.records.rowOf(path);
    const wasUndecided =
      previous !== undefined &&
      beforeRow !== undefined &&
      previous.records.isRacy(beforeRow) &&
      RecordTable.sameStat(previous.records, beforeRow, records, row);
    if (!records.isRacy(row) && !wasUndecided) continue;
    const absolute = `${base}/${path}`;
    const xattrs = xattrFingerprint(absolute);
    const hash = records.typeAt(row) === 'file' ? await hashFile(absolute) : undefined;
    records.setFingerprint(row, xattrs, hash);
  }
  return racyPaths;
}

async function checkRoot(root: string): Promise<void> {
  try {
    const stats = await stat(root);
    if (!stats.isDirectory()) {
      throw new SnapshotError('ROOT_NOT_DIRECTORY', `snapshot root ${root} is not a directory`, {
        hint: 'Pass the directory of the root filesystem.',
      });
    }
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    if (errnoCode(error) === 'ENOENT') {
      throw new SnapshotError('ROOT_NOT_FOUND', `snapshot root ${root} does not exist`, {
        hint: 'Create the root filesystem directory before taking a snapshot.',
        cause: error,
      });
    }
    throw new SnapshotError('WALK_FAILED', `failed to stat snapshot root ${root}`, {
      cause: error,
    });
  }
}
