import { mkdir, readdir, readFile, rename, rm, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest, sha256Digest } from '@kiln/oci-spec';
import { writeFileAtomic } from './atomic-file.js';
import { BlobFileVerifier, isNotFound, storeFailed } from './blob-file.js';
import { pruneLocalDirectory, type PruneOptions, type PruneResult } from './local-prune.js';
import { spoolBlob } from './put-checks.js';
import { buildRecord, isExpired, parseRecord, serializeRecord } from './record.js';
import type {
  CacheBlobSource,
  CacheLookup,
  CachePutOptions,
  CacheRecord,
  CacheStore,
  ListSlotOptions,
} from './store.js';

export interface LocalDirectoryStoreOptions {
  /**
   * Check that `get` runs on a blob: 'digest' hashes it (once per process while its size, mtime and inode
   * stay the same), 'size' only compares its size. Default 'digest'.
   */
  verify?: 'digest' | 'size';
  /** Records older than this many milliseconds read as misses (`reason: 'expired'`). */
  ttlMs?: number;
}

const DEFAULT_LIST_LIMIT = 20;

function hexOf(text: string): string {
  return sha256Digest(text).slice('sha256:'.length);
}

/**
 * A cache store in a local directory:
 * `blobs/<algorithm>/<hex>` contains content-addressed blobs, `keys/<xx>/<sha256 of key>.json` the
 * records, `slots/<sha256 of slot>/<sha256 of key>` the keys stored per slot, and `tmp/` the
 * temporary files that are renamed into place, so readers never see partial files and two writers
 * at once each publish a whole file.
 */
export class LocalDirectoryStore implements CacheStore {
  readonly root: string;
  readonly name: string;
  readonly #blobs: BlobFileVerifier;
  readonly #ttlMs: number | undefined;

  constructor(root: string, options: LocalDirectoryStoreOptions = {}) {
    this.root = resolve(root);
    this.name = `local:${this.root}`;
    this.#blobs = new BlobFileVerifier('local cache store', options.verify ?? 'digest');
    this.#ttlMs = options.ttlMs;
  }

  get #tmpDirectory(): string {
    return join(this.root, 'tmp');
  }

  /** Returns the path where the blob with this digest is stored. */
  blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, encoded);
  }

  /** Returns the path of the record file for a key. */
  recordPath(key: string): string {
    const hex = hexOf(key);
    return join(this.root, 'keys', hex.slice(0, 2), `${hex}.json`);
  }

  #slotDirectory(slot: string): string {
    return join(this.root, 'slots', hexOf(slot));
  }

  async #readRecord(
    key: string,
  ): Promise<
    { record: CacheRecord; text: string } | { problem: string; text: string } | undefined
  > {
    const recordPath = this.recordPath(key);
    let text: string;
    try {
      text = await readFile(recordPath, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw storeFailed('local cache store', `reading ${recordPath}`, error);
    }
    return { ...parseRecord(text, key), text };
  }

  async get(key: string): Promise<CacheLookup> {
    const recordPath = this.recordPath(key);
    const read = await this.#readRecord(key);
    if (read === undefined) return { status: 'miss' };

    if ('problem' in read) {
      await this.#forget(key, read.text);
      return {
        status: 'corrupt',
        corruption: 'record-invalid',
        message: `cache record ${recordPath} for key ${key} is invalid: ${read.problem}`,
      };
    }
    const { record } = read;
    if (isExpired(record, this.#ttlMs)) return { status: 'miss', reason: 'expired' };

    const blobPath = this.blobPath(record.descriptor.digest);
    const problem = await this.#blobs.check(
      blobPath,
      record.descriptor.digest,
      record.descriptor.size,
    );
    if (problem !== undefined) {
      await this.#forget(key, read.text);
      return problem;
    }

    // The record's modification time marks its last use; prune removes the least recently used.
    const now = new Date();
    await utimes(recordPath, now, now).catch(() => undefined);
    return {
      status: 'hit',
      record,
      open: async (): Promise<Readable> =>
        this.#blobs.open(blobPath, record.descriptor.digest, record.descriptor.size),
    };
  }

  // A damaged entry is reported once: its record goes, so the next get is a plain miss. A record
  // rewritten meanwhile by another writer (its text changed) is left alone.
  async #forget(key: string, text: string): Promise<void> {
    const recordPath = this.recordPath(key);
    const current = await readFile(recordPath, 'utf8').catch(() => undefined);
    if (current === text) await unlink(recordPath).catch(() => undefined);
  }

  async put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord> {
    const { temporary, digest, size } = await spoolBlob(
      key,
      source,
      options,
      this.#tmpDirectory,
      'local cache store',
    );
    const blobPath = this.blobPath(digest);
    const record = buildRecord(key, { mediaType: options.mediaType, digest, size }, options);

    try {
      await mkdir(join(blobPath, '..'), { recursive: true });
      // Renaming over an existing blob is safe: same digest, same bytes, and it repairs a bad copy.
      await rename(temporary, blobPath);
      const recordPath = this.recordPath(key);
      await mkdir(join(recordPath, '..'), { recursive: true });
      await writeFileAtomic(recordPath, serializeRecord(record), this.#tmpDirectory);
      if (record.slot !== undefined) {
        const slotDirectory = this.#slotDirectory(record.slot);
        await mkdir(slotDirectory, { recursive: true });
        await writeFileAtomic(join(slotDirectory, hexOf(key)), key, this.#tmpDirectory);
      }
    } catch (error) {
      await rm(temporary, { force: true });
      throw storeFailed('local cache store', `storing key ${key}`, error);
    }
    return record;
  }

  /**
   * Lists the records of a slot, newest first. Slot entries whose record is gone or now belongs
   * to another slot are removed on the way.
   */
  async listSlot(slot: string, options: ListSlotOptions = {}): Promise<CacheRecord[]> {
    const directory = this.#slotDirectory(slot);
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw storeFailed('local cache store', `listing ${directory}`, error);
    }

    const records: CacheRecord[] = [];
    for (const name of names) {
      const entryPath = join(directory, name);
      const key = await readFile(entryPath, 'utf8').catch(() => undefined);
      const read = key === undefined ? undefined : await this.#readRecord(key);
      if (read !== undefined && 'record' in read && read.record.slot === slot) {
        records.push(read.record);
      } else {
        await unlink(entryPath).catch(() => undefined);
      }
    }
    records.sort((left, right) => right.createdAt.localeCompare(left.createdAt));
    return records.slice(0, options.limit ?? DEFAULT_LIST_LIMIT);
  }

  /** Removes unused records and unreferenced blobs; see `PruneOptions`. */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    return pruneLocalDirectory(this.root, options);
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.recordPath(key));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw storeFailed('local cache store', `deleting key ${key}`, error);
    }
  }
}
