import type { BigIntStats } from 'node:fs';

import { SnapshotError } from './errors.js';
import type { FileRecord, FileType } from './file-record.js';

const TYPES: readonly FileType[] = ['file', 'directory', 'symlink', 'char', 'block', 'fifo'];
const TYPE_CODES = new Map<FileType, number>(TYPES.map((type, code) => [type, code]));

// Per row: 4 small fields (mode, uid, gid, nlink) and 5 wide ones (mtime, ctime, dev, ino, rdev).
const SMALL = 4;
const WIDE = 5;
const MTIME = 0;
const CTIME = 1;
const DEV = 2;
const INO = 3;
const RDEV = 4;
// Rows are stored in chunks of 4096 rows, so that the table grows without copying its columns.
const CHUNK_BITS = 12;
const CHUNK_ROWS = 1 << CHUNK_BITS;
const ROW_MASK = CHUNK_ROWS - 1;
const ROW_BYTES = WIDE * 8 + 8 + SMALL * 4 + 2;

/** The columns of up to `CHUNK_ROWS` rows, as views of one buffer. */
class Chunk {
  readonly wide: BigInt64Array;
  // Unsigned for dev, ino and rdev, and 32-bit words to compare without creating a bigint per read.
  readonly wideUnsigned: BigUint64Array;
  readonly words: Uint32Array;
  readonly sizes: Float64Array;
  readonly small: Uint32Array;
  readonly types: Uint8Array;
  readonly racy: Uint8Array;

  constructor() {
    const buffer = new ArrayBuffer(CHUNK_ROWS * ROW_BYTES);
    // The 8-byte columns come first, so that every view starts at a multiple of its element size.
    let offset = 0;
    this.wide = new BigInt64Array(buffer, offset, CHUNK_ROWS * WIDE);
    this.wideUnsigned = new BigUint64Array(buffer, offset, CHUNK_ROWS * WIDE);
    this.words = new Uint32Array(buffer, offset, CHUNK_ROWS * WIDE * 2);
    offset += CHUNK_ROWS * WIDE * 8;
    this.sizes = new Float64Array(buffer, offset, CHUNK_ROWS);
    offset += CHUNK_ROWS * 8;
    this.small = new Uint32Array(buffer, offset, CHUNK_ROWS * SMALL);
    offset += CHUNK_ROWS * SMALL * 4;
    this.types = new Uint8Array(buffer, offset, CHUNK_ROWS);
    this.racy = new Uint8Array(buffer, offset + CHUNK_ROWS, CHUNK_ROWS);
  }
}

/**
 * The records of one snapshot, stored in columns of typed arrays instead of one object with four
 * bigints per path. A row takes 66 bytes of columns besides its path string.
 * Rows are numbered in insertion order. `get` and iteration build `FileRecord` objects on demand,
 * and the static comparisons work on rows without allocating.
 *
 * The rows of one directory are added together and in sorted order, as a walk lists them, so a
 * path is found by its directory's run of rows and a binary search in it. That keeps one map entry
 * per directory instead of one per path.
 */
export class RecordTable {
  // Directory path ('' for the root) to the index of its run in #runStarts and #runLengths.
  readonly #runs = new Map<string, number>();
  readonly #runStarts: number[] = [];
  readonly #runLengths: number[] = [];
  readonly #paths: string[] = [];
  readonly #chunks: Chunk[] = [];
  // Few paths have these, so they are kept apart, keyed by row.
  readonly #linkTargets = new Map<number, string>();
  readonly #hashes = new Map<number, string>();
  readonly #xattrs = new Map<number, string>();

  /** Builds a table from records in any order, as tests and callers holding `FileRecord`s need. */
  static from(entries: Iterable<readonly [string, FileRecord]>): RecordTable {
    const sorted = [...entries].sort(([a], [b]) => {
      const byDirectory = compareCodeUnits(directoryOf(a), directoryOf(b));
      return byDirectory === 0 ? compareCodeUnits(a, b) : byDirectory;
    });
    const table = new RecordTable();
    for (const [path, record] of sorted) table.add(path, record);
    return table;
  }

  get size(): number {
    return this.#paths.length;
  }

  /** Returns the row of a path, or undefined when the path has no record. */
  rowOf(path: string): number | undefined {
    return this.rowIn(directoryOf(path), path);
  }

  /** Returns the row of a path in `directory` (its path up to the last '/', or ''), or undefined. */
  rowIn(directory: string, path: string): number | undefined {
    const run = this.#runs.get(directory);
    if (run === undefined) return undefined;
    let low = this.#runStarts[run] as number;
    let high = low + (this.#runLengths[run] as number) - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = this.#paths[middle] as string;
      if (candidate === path) return middle;
      if (candidate < path) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  has(path: string): boolean {
    return this.rowOf(path) !== undefined;
  }

  /** Returns the path of a row as the string the table stores, which a later walk can reuse. */
  pathAt(row: number): string {
    return this.#paths[row] as string;
  }

  typeAt(row: number): FileType {
    return TYPES[this.#chunkOf(row).types[row & ROW_MASK] as number] as FileType;
  }

  isRacy(row: number): boolean {
    return this.#chunkOf(row).racy[row & ROW_MASK] === 1;
  }

  linkTargetAt(row: number): string | undefined {
    return this.#linkTargets.get(row);
  }

  hashAt(row: number): string | undefined {
    return this.#hashes.get(row);
  }

  xattrsAt(row: number): string | undefined {
    return this.#xattrs.get(row);
  }

  inoAt(row: number): bigint {
    return this.#chunkOf(row).wideUnsigned[(row & ROW_MASK) * WIDE + INO] as bigint;
  }

  devAt(row: number): bigint {
    return this.#chunkOf(row).wideUnsigned[(row & ROW_MASK) * WIDE + DEV] as bigint;
  }

  ctimeNsAt(row: number): bigint {
    return this.#chunkOf(row).wide[(row & ROW_MASK) * WIDE + CTIME] as bigint;
  }

  /** Stores a content hash and xattr fingerprint for a row. */
  setFingerprint(row: number, xattrs: string, hash: string | undefined): void {
    this.#xattrs.set(row, xattrs);
    if (hash !== undefined) this.#hashes.set(row, hash);
  }

  /** Adds a path not yet in the table from an lstat result taken with `bigint: true` and returns its row. */
  addStats(
    path: string,
    type: FileType,
    stats: BigIntStats,
    racySinceNs: bigint,
    linkTarget?: string,
  ): number {
    const row = this.#newRow(path, type, linkTarget);
    const chunk = this.#chunkOf(row);
    const index = row & ROW_MASK;
    const small = index * SMALL;
    chunk.small[small] = Number(stats.mode);
    chunk.small[small + 1] = Number(stats.uid);
    chunk.small[small + 2] = Number(stats.gid);
    chunk.small[small + 3] = Number(stats.nlink);
    chunk.sizes[index] = Number(stats.size);
    const wide = index * WIDE;
    chunk.wide[wide + MTIME] = stats.mtimeNs;
    chunk.wide[wide + CTIME] = stats.ctimeNs;
    chunk.wide[wide + DEV] = stats.dev;
    chunk.wide[wide + INO] = stats.ino;
    chunk.wide[wide + RDEV] = type === 'char' || type === 'block' ? stats.rdev : 0n;
    chunk.racy[index] = stats.ctimeNs >= racySinceNs ? 1 : 0;
    return row;
  }

  /** Adds a path not yet in the table from a record and returns its row. */
  add(path: string, record: FileRecord): number {
    const row = this.#newRow(path, record.type, record.linkTarget);
    const chunk = this.#chunkOf(row);
    const index = row & ROW_MASK;
    const small = index * SMALL;
    chunk.small[small] = record.mode;
    chunk.small[small + 1] = record.uid;
    chunk.small[small + 2] = record.gid;
    chunk.small[small + 3] = record.nlink;
    chunk.sizes[index] = record.size;
    const wide = index * WIDE;
    chunk.wide[wide + MTIME] = record.mtimeNs;
    chunk.wide[wide + CTIME] = record.ctimeNs;
    chunk.wide[wide + DEV] = record.dev;
    chunk.wide[wide + INO] = record.ino;
    chunk.wide[wide + RDEV] = record.rdev;
    chunk.racy[index] = record.racy ? 1 : 0;
    if (record.hash !== undefined) this.#hashes.set(row, record.hash);
    if (record.xattrs !== undefined) this.#xattrs.set(row, record.xattrs);
    return row;
  }

  /** Builds the record of a row. */
  recordAt(row: number): FileRecord {
    const chunk = this.#chunkOf(row);
    const index = row & ROW_MASK;
    const small = index * SMALL;
    const wide = index * WIDE;
    const record: FileRecord = {
      type: this.typeAt(row),
      mode: chunk.small[small] as number,
      uid: chunk.small[small + 1] as number,
      gid: chunk.small[small + 2] as number,
      size: chunk.sizes[index] as number,
      mtimeNs: chunk.wide[wide + MTIME] as bigint,
      ctimeNs: chunk.wide[wide + CTIME] as bigint,
      dev: chunk.wideUnsigned[wide + DEV] as bigint,
      ino: chunk.wideUnsigned[wide + INO] as bigint,
      nlink: chunk.small[small + 3] as number,
      rdev: chunk.wideUnsigned[wide + RDEV] as bigint,
      racy: this.isRacy(row),
    };
    const linkTarget = this.#linkTargets.get(row);
    if (linkTarget !== undefined) record.linkTarget = linkTarget;
    const hash = this.#hashes.get(row);
    if (hash !== undefined) record.hash = hash;
    const xattrs = this.#xattrs.get(row);
    if (xattrs !== undefined) record.xattrs = xattrs;
    return record;
  }

  /** Builds the record of a path, or returns undefined when the path has no record. */
  get(path: string): FileRecord | undefined {
    const row = this.rowOf(path);
    return row === undefined ? undefined : this.recordAt(row);
  }

  keys(): IterableIterator<string> {
    return this.#paths.values();
  }

  *[Symbol.iterator](): IterableIterator<[string, FileRecord]> {
    for (let row = 0; row < this.#paths.length; row++) {
      yield [this.#paths[row] as string, this.recordAt(row)];
    }
  }

  /**
   * True when row `a` of `left` and row `b` of `right` agree on the stat fields a change moves:
   * type, mode, owner, size, mtime, ctime, inode, device, device number and link target (see
   * `sameStat`).
   */
  static sameStat(left: RecordTable, a: number, right: RecordTable, b: number): boolean {
    if (!RecordTable.#sameShape(left, a, right, b)) return false;
    const wordsA = left.#chunkOf(a).words;
    const wordsB = right.#chunkOf(b).words;
    const startA = (a & ROW_MASK) * WIDE * 2;
    const startB = (b & ROW_MASK) * WIDE * 2;
    for (let i = 0; i < WIDE * 2; i++) {
      if (wordsA[startA + i] !== wordsB[startB + i]) return false;
    }
    return true;
  }

  /** The `redo` comparison: `sameStat` without the ctime, inode and device. */
  static sameRedoFields(left: RecordTable, a: number, right: RecordTable, b: number): boolean {
    return (
      RecordTable.#sameShape(left, a, right, b) &&
      RecordTable.sameMtime(left, a, right, b) &&
      RecordTable.#sameWide(left, a, right, b, RDEV)
    );
  }

  static sameMtime(left: RecordTable, a: number, right: RecordTable, b: number): boolean {
    return RecordTable.#sameWide(left, a, right, b, MTIME);
  }

  // Type, mode, owner, size and link target.
  static #sameShape(left: RecordTable, a: number, right: RecordTable, b: number): boolean {
    const chunkA = left.#chunkOf(a);
    const chunkB = right.#chunkOf(b);
    const indexA = a & ROW_MASK;
    const indexB = b & ROW_MASK;
    const smallA = indexA * SMALL;
    const smallB = indexB * SMALL;
    return (
      chunkA.types[indexA] === chunkB.types[indexB] &&
      chunkA.small[smallA] === chunkB.small[smallB] &&
      chunkA.small[smallA + 1] === chunkB.small[smallB + 1] &&
      chunkA.small[smallA + 2] === chunkB.small[smallB + 2] &&
      chunkA.sizes[indexA] === chunkB.sizes[indexB] &&
      left.#linkTargets.get(a) === right.#linkTargets.get(b)
    );
  }

  static #sameWide(
    left: RecordTable,
    a: number,
    right: RecordTable,
    b: number,
    field: number,
  ): boolean {
    const wordsA = left.#chunkOf(a).words;
    const wordsB = right.#chunkOf(b).words;
    const wordA = ((a & ROW_MASK) * WIDE + field) * 2;
    const wordB = ((b & ROW_MASK) * WIDE + field) * 2;
    return wordsA[wordA] === wordsB[wordB] && wordsA[wordA + 1] === wordsB[wordB + 1];
  }

  #chunkOf(row: number): Chunk {
    return this.#chunks[row >>> CHUNK_BITS] as Chunk;
  }

  // Extends the last run when the path is in its directory and sorts after its last path, or
  // starts a new run for a directory that has none yet.
  #appendToRun(path: string, row: number): void {
    const directory = directoryOf(path);
    const last = this.#runStarts.length - 1;
    const lastPath = this.#paths[row - 1];
    if (last >= 0 && lastPath !== undefined && directoryOf(lastPath) === directory) {
      if (!(lastPath < path)) throw outOfOrder(path, lastPath);
      this.#runLengths[last] = (this.#runLengths[last] as number) + 1;
      return;
    }
    if (this.#runs.has(directory)) throw outOfOrder(path, lastPath ?? '');
    this.#runs.set(directory, this.#runStarts.length);
    this.#runStarts.push(row);
    this.#runLengths.push(1);
  }

  #newRow(path: string, type: FileType, linkTarget: string | undefined): number {
    const row = this.#paths.length;
    this.#appendToRun(path, row);
    if ((row & ROW_MASK) === 0) this.#chunks.push(new Chunk());
    this.#paths.push(path);
    this.#chunkOf(row).types[row & ROW_MASK] = TYPE_CODES.get(type) as number;
    if (linkTarget !== undefined) this.#linkTargets.set(row, linkTarget);
    return row;
  }
}

/** Returns the path of the directory that contains `path`, or '' at the top level. */
function directoryOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

function outOfOrder(path: string, previous: string): SnapshotError {
  return new SnapshotError(
    'WALK_FAILED',
    `record for ${path} added out of order after ${previous}`,
    {
      hint: 'Add the records of one directory together and sorted, or build the table with RecordTable.from.',
    },
  );
}
