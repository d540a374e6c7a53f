import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CacheBlobSource } from '@kiln/cache';
import { createDigestStream, digestReadable, type DigestAlgorithm } from '@kiln/oci-spec';

/** A blob on local disk whose digest and size are known, ready to upload. */
export interface SpooledBlob {
  path: string;
  digest: string;
  size: number;
  /** Removes the file when the spool created it; a caller's own file stays. */
  cleanup(): Promise<void>;
}

/**
 * Makes `source` a file of known digest. The blob's URL is its digest, which is known only
 * after the last byte, so a stream is first written to a temporary file in `spoolDirectory`.
 * A file source is only hashed.
 */
export async function spoolBlob(
  source: CacheBlobSource,
  algorithm: DigestAlgorithm,
  spoolDirectory: string,
): Promise<SpooledBlob> {
  if ('path' in source) {
    const { digest, size } = await digestReadable(createReadStream(source.path), algorithm);
    return { path: source.path, digest, size, cleanup: async () => undefined };
  }

  const path = join(spoolDirectory, `kiln-http-cache-${process.pid}-${randomUUID()}.tmp`);
  const cleanup = () => rm(path, { force: true });
  const digestStream = createDigestStream(algorithm);
  try {
    const input = 'stream' in source ? source.stream : await source.open();
    const readable = input instanceof Readable ? input : Readable.from(input);
    await pipeline(readable, digestStream, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { path, digest: digestStream.digest(), size: digestStream.size, cleanup };
}
