import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DescriptorSchema,
  type DigestAlgorithm,
  DigestMismatchError,
  isValidDigest,
  parseDigest,
  SizeMismatchError,
} from '@kiln/oci-spec';
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
