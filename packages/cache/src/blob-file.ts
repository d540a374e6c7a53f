import { createReadStream, type BigIntStats } from 'node:fs';
import { type FileHandle, open, stat, unlink } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createVerifyingStream, digestReadable, parseDigest } from '@kiln/oci-spec';
import { CacheError } from './errors.js';
import type { CacheCorrupt } from './store.js';

/** Check run on a blob file before use: a full hash, or only a size comparison. */
export type BlobVerification = 'digest' | 'size';

function statSignature(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Wraps a file system failure of a store in a `STORE_FAILED` error. */
export function storeFailed(store: string, action: string, error: unknown): CacheError {
  return new CacheError('STORE_FAILED', `${store}: ${action} failed: ${(error as Error).message}`, {
    hint: 'Check that the cache directory exists, is writable and has free space.',
    cause: error,
  });
}

/**
 * Checks and opens content-addressed blob files. A blob that passed a digest check is not hashed
 * again in this process while its inode, size, mtime and ctime stay the same. A damaged blob is
 * removed, so that the next write of the same content stores it again.
 */
export class BlobFileVerifier {
  readonly #verify: BlobVerification;
  readonly #storeName: string;
  // Blobs this process has hashed, keyed by path, with the stat signature they had then.
  readonly #verified = new Map<string, string>();

  constructor(storeName: string, verify: BlobVerification = 'digest') {
    this.#storeName = storeName;
    this.#verify = verify;
  }

  /** Returns the damage found in the blob at `path`, or undefined when it is whole. */
  async check(path: string, digest: string, size: number): Promise<CacheCorrupt | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (!isNotFound(error)) throw storeFailed(this.#storeName, `reading ${path}`, error);
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
        await this.#discard(path, signature);
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
        throw storeFailed(this.#storeName, `reading ${path}`, error);
      });
      if (actual.digest !== digest) {
        this.#verified.delete(path);
        await this.#discard(path, signature);
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

  /** Records a blob this process wrote after hashing it, so that `check` does not hash it again. */
  async remember(path: string): Promise<void> {
    const info = await stat(path, { bigint: true }).catch(() => undefined);
    if (info !== undefined) this.#verified.set(path, statSignature(info));
  }

  // Another writer may have replaced the file since (it no longer has `signature`); keep it then.
  async #discard(path: string, signature: string): Promise<void> {
    const current = await stat(path, { bigint: true }).catch(() => undefined);
    if (current !== undefined && statSignature(current) === signature)
      await unlink(path).catch(() => undefined);
  }

  /** Opens the blob as a stream that errors at its end unless digest and size match. */
  async open(path: string, digest: string, size: number): Promise<Readable> {
    const file = createReadStream(path);
    try {
      await new Promise<void>((resolveOpen, rejectOpen) => {
        file.once('open', () => resolveOpen());
        file.once('error', rejectOpen);
      });
    } catch (error) {
      throw storeFailed(this.#storeName, `opening cached blob ${digest}`, error);
    }
    // pipeline destroys the file stream when the consumer stops early or verification fails.
    return pipeline(file, createVerifyingStream({ digest, size }), () => undefined);
  }
}
