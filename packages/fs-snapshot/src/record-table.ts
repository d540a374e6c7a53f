import type { BigIntStats } from 'node:fs';

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
const INITIAL_CAPACITY = 1024;

/**
 * The records of one snapshot, stored in columns of typed arrays instead of one object with four
 * bigints per path. A row takes 66 bytes of columns besides its path string and map entry.
 * Rows are numbered in insertion order. `get` and iteration build `FileRecord` objects on demand,
 * and the static comparisons work on rows without allocating.
 */
export class RecordTable {
  readonly #rows = new Map<string, number>();
  readonly #paths: string[] = [];
  #types = new Uint8Array(INITIAL_CAPACITY);
  #racy = new Uint8Array(INITIAL_CAPACITY);
  #small = new Uint32Array(INITIAL_CAPACITY * SMALL);
  #sizes = new Float64Array(INITIAL_CAPACITY);
  #wide = new BigInt64Array(INITIAL_CAPACITY * WIDE);
  // Views of #wide's buffer: unsigned for dev, ino and rdev, and 32-bit words to compare
  // without creating a bigint per read.
  #wideUnsigned = new BigUint64Array(this.#wide.buffer);
  #words = new Uint32Array(this.#wide.buffer);
  // Few paths have these, so they are kept apart, keyed by row.
  readonly #linkTargets = new Map<number, string>();
  readonly #hashes = new Map<number, string>();
  readonly #xattrs = new Map<number, string>();

  /** Builds a table from records, as tests and callers holding `FileRecord`s need. */
  static from(entries: Iterable<readonly [string, FileRecord]>): RecordTable {
    const table = new RecordTable();
    for (const [path, record] of entries) table.add(path, record);
    return table;
  }

  get size(): number {
    return this.#paths.length;
  }

  /** Returns the row of a path, or undefined when the path has no record. */
  rowOf(path: string): number | undefined {
    return this.#rows.get(path);
  }

  has(path: string): boolean {
    return this.#rows.has(path);
  }

  /** Returns the path of a row: the table's own key string, which a later walk can reuse. */
  pathAt(row: number): string {
    return this.#paths[row] as string;
  }

  typeAt(row: number): FileType {
    return TYPES[this.#types[row] as number] as FileType;
  }

  isRacy(row: number): boolean {
    return this.#racy[row] === 1;
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
    return this.#wideUnsigned[row * WIDE + INO] as bigint;
  }

  devAt(row: number): bigint {
    return this.#wideUnsigned[row * WIDE + DEV] as bigint;
  }

  ctimeNsAt(row: number): bigint {
    return this.#wide[row * WIDE + CTIME] as bigint;
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
    const small = row * SMALL;
    this.#small[small] = Number(stats.mode);
    this.#small[small + 1] = Number(stats.uid);
    this.#small[small + 2] = Number(stats.gid);
    this.#small[small + 3] = Number(stats.nlink);
    this.#sizes[row] = Number(stats.size);
    const wide = row * WIDE;
    this.#wide[wide + MTIME] = stats.mtimeNs;
    this.#wide[wide + CTIME] = stats.ctimeNs;
    this.#wide[wide + DEV] = stats.dev;
    this.#wide[wide + INO] = stats.ino;
    this.#wide[wide + RDEV] = type === 'char' || type === 'block' ? stats.rdev : 0n;
    this.#racy[row] = stats.ctimeNs >= racySinceNs ? 1 : 0;
    return row;
  }

  /** Adds a path not yet in the table from a record and returns its row. */
  add(path: string, record: FileRecord): number {
    const row = this.#newRow(path, record.type, record.linkTarget);
    const small = row * SMALL;
    this.#small[small] = record.mode;
    this.#small[small + 1] = record.uid;
    this.#small[small + 2] = record.gid;
    this.#small[small + 3] = record.nlink;
    this.#sizes[row] = record.size;
    const wide = row * WIDE;
    this.#wide[wide + MTIME] = record.mtimeNs;
    this.#wide[wide + CTIME] = record.ctimeNs;
    this.#wide[wide + DEV] = record.dev;
    this.#wide[wide + INO] = record.ino;
    this.#wide[wide + RDEV] = record.rdev;
    this.#racy[row] = record.racy ? 1 : 0;
    if (record.hash !== undefined) this.#hashes.set(row, record.hash);
    if (record.xattrs !== undefined) this.#xattrs.set(row, record.xattrs);
    return row;
  }

  /** Builds the record of a row. */
  recordAt(row: number): FileRecord {
    const small = row * SMALL;
    const wide = row * WIDE;
    const record: FileRecord = {
      type: this.typeAt(row),
      mode: this.#small[small] as number,
      uid: this.#small[small + 1] as number,
      gid: this.#small[small + 2] as number,
      size: this.#sizes[row] as number,
      mtimeNs: this.#wide[wide + MTIME] as bigint,
      ctimeNs: this.#wide[wide + CTIME] as bigint,
      dev: this.#wideUnsigned[wide + DEV] as bigint,
      ino: this.#wideUnsigned[wide + INO] as bigint,
      nlink: this.#small[small + 3] as number,
      rdev: this.#wideUnsigned[wide + RDEV] as bigint,
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
    const row = this.#rows.get(path);
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

  /** Releases the unused capacity of the columns once no more rows are added. */
  trim(): void {
    const rows = this.#paths.length;
    if (rows === this.#types.length) return;
    this.#resize(rows);
  }

  /**
   * True when row `a` of `left` and row `b` of `right` agree on the stat fields a change moves:
   * type, mode, owner, size, mtime, ctime, inode, device, device number and link target (see
   * `sameStat`).
   */
  static sameStat(left: RecordTable, a: number, right: RecordTable, b: number): boolean {
    if (!RecordTable.#sameShape(left, a, right, b)) return false;
    const wordsA = a * WIDE * 2;
    const wordsB = b * WIDE * 2;
    for (let i = 0; i < WIDE * 2; i++) {
      if (left.#words[wordsA + i] !== right.#words[wordsB + i]) return false;
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
    const smallA = a * SMALL;
    const smallB = b * SMALL;
    return (
      left.#types[a] === right.#types[b] &&
      left.#small[smallA] === right.#small[smallB] &&
      left.#small[smallA + 1] === right.#small[smallB + 1] &&
      left.#small[smallA + 2] === right.#small[smallB + 2] &&
      left.#sizes[a] === right.#sizes[b] &&
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
    const wordA = (a * WIDE + field) * 2;
    const wordB = (b * WIDE + field) * 2;
    return (
      left.#words[wordA] === right.#words[wordB] &&
      left.#words[wordA + 1] === right.#words[wordB + 1]
    );
  }

  #newRow(path: string, type: FileType, linkTarget: string | undefined): number {
    const row = this.#paths.length;
    // Grows by half, not double, so that a large table wastes at most a third of its columns.
    if (row === this.#types.length) this.#resize(Math.max(INITIAL_CAPACITY, Math.ceil(row * 1.5)));
    this.#rows.set(path, row);
    this.#paths.push(path);
    this.#types[row] = TYPE_CODES.get(type) as number;
    if (linkTarget !== undefined) this.#linkTargets.set(row, linkTarget);
    return row;
  }

  #resize(capacity: number): void {
    const rows = this.#paths.length;
    this.#types = copyInto(new Uint8Array(capacity), this.#types, rows);
    this.#racy = copyInto(new Uint8Array(capacity), this.#racy, rows);
    this.#small = copyInto(new Uint32Array(capacity * SMALL), this.#small, rows * SMALL);
    this.#sizes = copyInto(new Float64Array(capacity), this.#sizes, rows);
    this.#wide = copyInto(new BigInt64Array(capacity * WIDE), this.#wide, rows * WIDE);
    this.#wideUnsigned = new BigUint64Array(this.#wide.buffer);
    this.#words = new Uint32Array(this.#wide.buffer);
  }
}

function copyInto<T extends { set(source: T): void; subarray(start: number, end: number): T }>(
  target: T,
  source: T,
  length: number,
): T {
  target.set(source.subarray(0, length));
  return target;
}
