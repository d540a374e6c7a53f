import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  createDigestStream,
  DescriptorSchema,
  type DigestAlgorithm,
  DigestMismatchError,
  isValidDigest,
  parseDigest,
  SizeMismatchError,
} from '@kiln/oci-spec';
import { streamToTemporaryFile } from './atomic-file.js';
import { storeFailed } from './blob-file.js';
import { CacheError } from './errors.js';
import type { CacheBlobSource, CachePutOptions } from './store.js';

export async function openSource(
  source: CacheBlobSource,
): Promise<Readable | AsyncIterable<Uint8Array>> {
  if ('path' in source) return createReadStream(source.path);
  if ('stream' in source) return source.stream;
  return source.open();
}

export function findMismatch(
  options: CachePutOptions,
  digest: string,
  size: number,
): Error | undefined {
  if (options.size !== undefined && size !== options.size)
    return new SizeMismatchError(options.size, size, options.digest);
  if (options.digest !== undefined && digest !== options.digest)
    return new DigestMismatchError(options.digest, digest);
  return undefined;
}

function invalidEntry(key: string, problem: string): CacheError {
  return new CacheError('INVALID_ENTRY', `cache put for key ${key} rejected: ${problem}`, {
    hint: 'Pass the media type, digest and diffId exactly as the layer writer returned them.',
  });
}

// Checks what the record will contain before any bytes are written; returns the digest algorithm.
export function checkPutOptions(key: string, options: CachePutOptions): DigestAlgorithm {
  if (options.digest !== undefined && !isValidDigest(options.digest)) {
    throw invalidEntry(key, `invalid expected digest ${JSON.stringify(options.digest)}`);
  }
  if (options.diffId !== undefined && !isValidDigest(options.diffId)) {
    throw invalidEntry(key, `invalid diffId ${JSON.stringify(options.diffId)}`);
  }
  const probe = DescriptorSchema.safeParse({
    mediaType: options.mediaType,
    digest: `sha256:${'0'.repeat(64)}`,
    size: 0,
  });
  if (!probe.success)
    throw invalidEntry(key, `invalid media type ${JSON.stringify(options.mediaType)}`);
  return options.digest === undefined ? 'sha256' : parseDigest(options.digest).algorithm;
}

/** A blob written to a temporary file by `spoolBlob`, with its digest and size. */
export interface SpooledBlob {
  temporary: string;
  digest: string;
  size: number;
}

/**
 * Checks the put options and streams the source into a temporary file in `tmpDirectory`,
 * hashing it on the way. Throws `DIGEST_MISMATCH` or `SIZE_MISMATCH` (removing the file) when
 * the content differs from the expected digest or size; the caller renames or removes the file.
 */
export async function spoolBlob(
  key: string,
  source: CacheBlobSource,
  options: CachePutOptions,
  tmpDirectory: string,
  storeName: string,
): Promise<SpooledBlob> {
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
    temporary = await streamToTemporaryFile(input, [digestStream], tmpDirectory);
  } catch (error) {
    throw storeFailed(storeName, `writing the blob for key ${key}`, error);
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
  return { temporary, digest, size };
}
