import { CacheError, type CachePutOptions } from '@kiln/cache';
import { DescriptorSchema, isValidDigest, parseDigest, type DigestAlgorithm } from '@kiln/oci-spec';

function invalidEntry(key: string, problem: string): CacheError {
  return new CacheError('INVALID_ENTRY', `cache put for key ${key} rejected: ${problem}`, {
    hint: 'Pass the media type, digest and diffId exactly as the layer writer returned them.',
  });
}

/**
 * Checks the key and what the record will contain before any byte is read or sent, and returns
 * the digest algorithm to hash the blob with.
 */
export function checkPut(key: string, options: CachePutOptions): DigestAlgorithm {
  if (key === '') {
    throw new CacheError('INVALID_KEY_INPUT', 'cache put rejected: the key is empty', {
      hint: 'Compute the key with computeCacheKey from @kiln/cache.',
    });
  }
  if (options.digest !== undefined && !isValidDigest(options.digest))
    throw invalidEntry(key, `invalid expected digest ${JSON.stringify(options.digest)}`);
  if (options.diffId !== undefined && !isValidDigest(options.diffId))
    throw invalidEntry(key, `invalid diffId ${JSON.stringify(options.diffId)}`);
  if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0))
    throw invalidEntry(key, `invalid expected size ${options.size}`);

  // The descriptor schema owns the media type grammar, so probe it with a placeholder digest.
  const probe = DescriptorSchema.safeParse({
    mediaType: options.mediaType,
    digest: `sha256:${'0'.repeat(64)}`,
    size: 0,
  });
  if (!probe.success)
    throw invalidEntry(key, `invalid media type ${JSON.stringify(options.mediaType)}`);
  return options.digest === undefined ? 'sha256' : parseDigest(options.digest).algorithm;
}

/** Throws when the spooled blob differs from the digest or size the caller expected. */
export function checkExpected(
  key: string,
  options: CachePutOptions,
  actual: { digest: string; size: number },
): void {
  if (options.size !== undefined && actual.size !== options.size) {
    throw new CacheError(
      'SIZE_MISMATCH',
      `cache put for key ${key} rejected: expected ${options.size} bytes, got ${actual.size}`,
      { hint: 'The blob was truncated or changed while it was stored; produce it again.' },
    );
  }
  if (options.digest !== undefined && actual.digest !== options.digest) {
    throw new CacheError(
      'DIGEST_MISMATCH',
      `cache put for key ${key} rejected: expected ${options.digest}, got ${actual.digest}`,
      { hint: 'The blob changed while it was stored; produce it again.' },
    );
  }
}
