import { createReadStream, type BigIntStats } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import {
  createDigestStream,
  createVerifyingStream,
  digestReadable,
  parseDigest,
  sha256Digest,
  SizeMismatchError,
} from '@kiln/oci-spec';
import { streamToTemporaryFile, writeFileAtomic } from './atomic-file.js';
import { CacheError } from './errors.js';
import { pruneLocalDirectory, type PruneOptions, type PruneResult } from './local-prune.js';
import { checkPutOptions, findMismatch, openSource } from './put-checks.js';
import { parseRecord, serializeRecord } from './record.js';
import type {
  CacheBlobSource,
  CacheLookup,
  CachePutOptions,
  CacheRecord,
  CacheStore,
} from './store.js';

export interface LocalDirectoryStoreOptions {
  /**
   * Check that `get` runs on a blob: 'digest' hashes it (once per process while its size, mtime and inode
   * stay the same), 'size' only compares its size. Default 'digest'.
   */
  verify?: 'digest' | 'size';
}

function statSignature(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function storeFailed(action: string, error: unknown): CacheError {
  return new CacheError(
    'STORE_FAILED',
    `local cache store: ${action} failed: ${(error as Error).message}`,
    {
      hint: 'Check that the cache directory exists, is writable and has free space.',
      cause: error,
    },
  );
}

/**
 * A cache store in a local directory:
 * `blobs/<algorithm>/<hex>` contains content-addressed blobs, `keys/<xx>/<sha256 of key>.json` the
 * records, and `tmp/` the temporary files that are renamed into place, so readers never see
 * partial files and two writers at once each publish a whole file.
 */
export class LocalDirectoryStore implements CacheStore {
  readonly root: string;
  readonly name: string;
  readonly #verify: 'digest' | 'size';
  // Blobs this process has hashed, keyed by path, with the stat signature they had then.
  readonly #verified = new Map<string, string>();

  constructor(root: string, options: LocalDirectoryStoreOptions = {}) {
    this.root = resolve(root);
    this.name = `local:${this.root}`;
    this.#verify = options.verify ?? 'digest';
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
    const hex = sha256Digest(key).slice('sha256:'.length);
    return join(this.root, 'keys', hex.slice(0, 2), `${hex}.json`);
  }

  async get(key: string): Promise<CacheLookup> {
    const recordPath = this.recordPath(key);
    let text: string;
    try {
      text = await readFile(recordPath, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return { status: 'miss' };
      throw storeFailed(`reading ${recordPath}`, error);
    }

    const parsed = parseRecord(text, key);
    if ('problem' in parsed) {
      return {
        status: 'corrupt',
        corruption: 'record-invalid',
        message: `cache record ${recordPath} for key ${key} is invalid: ${parsed.problem}`,
      };
    }
    const { record } = parsed;
    const blobPath = this.blobPath(record.descriptor.digest);
    const problem = await this.#checkBlob(
      blobPath,
      record.descriptor.digest,
      record.descriptor.size,
    );
    if (problem !== undefined) return problem;

    // The record's modification time marks its last use; prune removes the least recently used.
    const now = new Date();
    await utimes(recordPath, now, now).catch(() => undefined);
    return {
      status: 'hit',
      record,
      open: async () => this.#openBlob(blobPath, record.descriptor.digest, record.descriptor.size),
    };
  }

  async #checkBlob(path: string, digest: string, size: number): Promise<CacheLookup | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (!isNotFound(error)) throw storeFailed(`reading ${path}`, error);
      return {
        status: 'corrupt',
        corruption: 'blob-missing',
        message: `cached blob ${digest} is missing from ${path}`,
      };
    }

    // Size and content are checked on one open file, so that a blob replaced meanwhile by a
    // concurrent put is neither judged by the old file's content nor removed for it.
    try {
      const info = await handle.stat({ bigint: true });
      const signature = statSignature(info);
      if (info.size !== BigInt(size)) {
        await this.#discardBlob(path, signature);
        return {
          status: 'corrupt',
          corruption: 'size-mismatch',
          message: `cached blob ${digest} is ${info.size} bytes, expected ${size}`,
        };
      }
      if (this.#verify === 'size' || this.#verified.get(path) === signature) return undefined;

      const actual = await digestReadable(
        handle.createReadStream({ autoClose: false, start: 0 }),
        parseDigest(digest).algorithm,
      ).catch((error: unknown) => {
        throw storeFailed(`reading ${path}`, error);
      });
      if (actual.digest !== digest) {
        this.#verified.delete(path);
        await this.#discardBlob(path, signature);
        return {
          status: 'corrupt',
          corruption: 'digest-mismatch',
          message: `cached blob ${digest} hashes to ${actual.digest}`,
        };
      }
      this.#verified.set(path, signature);
      return undefined;
    } finally {
      await handle.close();
    }
  }

  // A corrupt blob is removed so that the next put of the same content writes it again, unless
  // another writer has already replaced it (the file at `path` no longer has `signature`).
  async #discardBlob(path: string, signature: string): Promise<void> {
    const current = await stat(path, { bigint: true }).catch(() => undefined);
    if (current !== undefined && statSignature(current) === signature)
      await unlink(path).catch(() => undefined);
  }

  async #openBlob(path: string, digest: string, size: number): Promise<Readable> {
    const file = createReadStream(path);
    try {
      await new Promise<void>((resolveOpen, rejectOpen) => {
        file.once('open', () => resolveOpen());
        file.once('error', rejectOpen);
      });
    } catch (error) {
      throw storeFailed(`opening cached blob ${digest}`, error);
    }
    // pipeline destroys the file stream when the consumer stops early or verification fails.
    return pipeline(file, createVerifyingStream({ digest, size }), () => undefined);
  }

  async put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord> {
    if (key === '') {
      throw new CacheError('INVALID_KEY_INPUT', 'cache put rejected: the key is empty', {
        hint: 'Compute the key with computeCacheKey.',
      });
    }
    const algorithm = checkPutOptions(key, options);
    const digestStream = createDigestStream(algorithm);
    const input = await openSource(source);

    let temporary: string;
    try {
      temporary = await streamToTemporaryFile(input, [digestStream], this.#tmpDirectory);
    } catch (error) {
      throw storeFailed(`writing the blob for key ${key}`, error);
    }

    const digest = digestStream.digest();
    const size = digestStream.size;
    const mismatch = findMismatch(options, digest, size);
    if (mismatch !== undefined) {
      await rm(temporary, { force: true });
      const code = mismatch instanceof SizeMismatchError ? 'SIZE_MISMATCH' : 'DIGEST_MISMATCH';
      throw new CacheError(code, `cache put for key ${key} rejected: ${mismatch.message}`, {
        hint: 'The blob changed or was truncated while it was stored; produce it again.',
        cause: mismatch,
      });
    }

    const blobPath = this.blobPath(digest);
    const record: CacheRecord = {
      key,
      descriptor: { mediaType: options.mediaType, digest, size },
      createdAt: new Date().toISOString(),
    };
    if (options.diffId !== undefined) record.diffId = options.diffId;
    if (options.annotations !== undefined) record.annotations = { ...options.annotations };

    try {
      await mkdir(join(blobPath, '..'), { recursive: true });
      // Renaming over an existing blob is safe: same digest, same bytes, and it repairs a bad copy.
      await rename(temporary, blobPath);
      const recordPath = this.recordPath(key);
      await mkdir(join(recordPath, '..'), { recursive: true });
      await writeFileAtomic(recordPath, serializeRecord(record), this.#tmpDirectory);
    } catch (error) {
      await rm(temporary, { force: true });
      throw storeFailed(`storing key ${key}`, error);
    }
    return record;
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
      throw storeFailed(`deleting key ${key}`, error);
    }
  }
}
