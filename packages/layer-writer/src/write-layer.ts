import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { createDigestStream, layerMediaType } from '@kiln/oci-spec';

import type { ChangeSet } from './change-set.js';
import { LayerError } from './errors.js';
import { zstdCompressor } from './external-filter.js';
import { createFileSink } from './file-sink.js';
import { ParallelGzip } from './gzip-parallel.js';
import type { OwnerNames } from './owner-names.js';
import { tarStream } from './tar-writer.js';

const STREAM_BUFFER = 4 * 1024 * 1024;

/** Options of {@link writeLayer}: compression, reproducibility and tar metadata. */
export interface WriteLayerOptions {
  /** Default 'gzip'. */
  compression?: 'gzip' | 'zstd' | 'none';
  /** gzip 0-9 (default 6) or zstd 1-22 (default 3). */
  level?: number;
  /** Fixed mtimes (see `sourceDateEpoch`), so the same files give the same digest anywhere. */
  reproducible?: boolean;
  /** Fixed mtime in seconds since the epoch for reproducible mode; default SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
  /** Media type family of the result: 'oci' (default) or 'docker'. */
  mediaTypeFamily?: 'oci' | 'docker';
  /** Names written to the uname and gname fields, by id; see `readOwnerNames`. */
  ownerNames?: OwnerNames;
  /** Store extended attributes as PAX `SCHILY.xattr.*` records (default true). */
  xattrs?: boolean;
  /** gzip blocks compressed at once on libuv's thread pool (default: cores + 2, at most the pool size). */
  concurrency?: number;
}

/** Result of {@link writeLayer}: `digest` and `size` describe the blob, `diffId` and `uncompressedSize` the tar. */
export interface LayerResult {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
  uncompressedSize: number;
}

/**
 * Writes a change set as a layer blob at `destPath`. The tar is produced, hashed, compressed and
 * hashed again in one streaming pass into a temporary file beside `destPath`, which is renamed
 * into place only when everything succeeded.
 */
export async function writeLayer(
  changeSet: ChangeSet,
  destPath: string,
  options: WriteLayerOptions = {},
): Promise<LayerResult> {
  const compression = options.compression ?? 'gzip';
  const mediaType = layerMediaType(compression, options.mediaTypeFamily ?? 'oci');
  const fixedMtimeNs = options.reproducible
    ? BigInt(fixedEpoch(options)) * 1_000_000_000n
    : undefined;

  const tar = Readable.from(
    tarStream(changeSet, { fixedMtimeNs, ownerNames: options.ownerNames, xattrs: options.xattrs }),
    // A few MiB of buffer lets files be read while earlier chunks are compressed and written.
    { objectMode: false, highWaterMark: STREAM_BUFFER },
  );
  const uncompressed = createDigestStream();
  const compressed = createDigestStream();
  const temporary = path.join(
    path.dirname(destPath),
    `.${path.basename(destPath)}.${randomBytes(6).toString('hex')}.tmp`,
  );

  try {
    if (compression === 'none') {
      await pipeline(tar, uncompressed, createFileSink(temporary, STREAM_BUFFER));
    } else {
      // The sink opens its file first, so a bad destination fails before zstd is started.
      const sink = createFileSink(temporary, STREAM_BUFFER);
      const { stream, exited } = compressorFor(compression, options);
      await Promise.all([pipeline(tar, uncompressed, stream, compressed, sink), exited]);
    }
    await rename(temporary, destPath);
  } catch (error) {
    await rm(temporary, { force: true });
    if (error instanceof LayerError) throw error;
    throw new LayerError(
      'WRITE_FAILED',
      `writing the layer to ${destPath} failed: ${(error as Error).message}`,
      {
        hint: 'Check that the destination directory exists and is writable, and that the disk has room.',
        cause: error,
      },
    );
  }

  const diffId = uncompressed.digest();
  return {
    mediaType,
    digest: compression === 'none' ? diffId : compressed.digest(),
    size: compression === 'none' ? uncompressed.size : compressed.size,
    diffId,
    uncompressedSize: uncompressed.size,
  };
}

function compressorFor(
  compression: 'gzip' | 'zstd',
  options: WriteLayerOptions,
): { stream: Duplex; exited: Promise<void> } {
  if (compression === 'zstd') {
    const level = options.level ?? 3;
    if (!Number.isInteger(level) || level < 1 || level > 22) throw invalidLevel(level, '1 to 22');
    return zstdCompressor(level);
  }
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw invalidLevel(level, '0 to 9');
  const concurrency = options.concurrency ?? defaultGzipConcurrency();
  return { stream: new ParallelGzip({ level, concurrency }), exited: Promise.resolve() };
}

/**
 * Returns how many deflate jobs are kept in flight on libuv's thread pool: one per core plus two.
 * One block then stays queued while the main thread cuts the next, so a core that finishes need
 * not wait for a busy main thread to be scheduled.
 * NOTE: the pool has UV_THREADPOOL_SIZE threads (default 4), which caps this on larger machines.
 */
function defaultGzipConcurrency(): number {
  const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4) || 4;
  return Math.max(1, Math.min(availableParallelism() + 2, poolSize));
}

function invalidLevel(level: number, range: string): LayerError {
  return new LayerError('INVALID_OPTION', `invalid compression level ${level}`, {
    hint: `Use a whole number from ${range}.`,
  });
}

/** Returns the reproducible mtime: the option, else the SOURCE_DATE_EPOCH variable, else 0. */
function fixedEpoch(options: WriteLayerOptions): number {
  const fromEnvironment = process.env['SOURCE_DATE_EPOCH'];
  const epoch =
    options.sourceDateEpoch ??
    (fromEnvironment !== undefined && fromEnvironment !== '' ? Number(fromEnvironment) : 0);
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new LayerError(
      'INVALID_OPTION',
      `invalid source date epoch ${String(options.sourceDateEpoch ?? fromEnvironment)}`,
      {
        hint: 'Give whole seconds since 1970-01-01 UTC, as SOURCE_DATE_EPOCH does.',
      },
    );
  }
  return epoch;
}
