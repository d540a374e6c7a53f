import { RegistryError } from '@kiln/registry-client';
import type { Readable } from 'node:stream';
import { CacheError } from './errors.js';
import type { CacheCorruption } from './store.js';

/** Largest entry config read into memory; a config lists the step's source files, so it can grow. */
export const CONFIG_SIZE_LIMIT = 16 * 1024 * 1024;

/** Returns true for a registry error that means the tag, manifest or blob does not exist. */
export function isUnknown(error: unknown): boolean {
  if (!(error instanceof RegistryError)) return false;
  return (
    error.status === 404 ||
    error.code === 'MANIFEST_UNKNOWN' ||
    error.code === 'BLOB_UNKNOWN' ||
    error.code === 'NAME_UNKNOWN'
  );
}

/** Classifies a failed blob download: damage in the store, or undefined for a failure to reach it. */
export function corruptionOf(error: unknown): CacheCorruption | undefined {
  if (isUnknown(error)) return 'blob-missing';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'DIGEST_MISMATCH') return 'digest-mismatch';
  if (code === 'SIZE_MISMATCH') return 'size-mismatch';
  // A registry serving a truncated blob file closes the connection before Content-Length bytes.
  // NOTE: a network failure in the middle of a download reads the same way, so it is a miss too.
  if (code === 'UND_ERR_SOCKET' || code === 'NETWORK_ERROR') return 'size-mismatch';
  return undefined;
}

/** Wraps a failure to reach or write the registry in a `STORE_FAILED` error. */
export function registryFailed(store: string, action: string, error: unknown): CacheError {
  return new CacheError('STORE_FAILED', `${store}: ${action} failed: ${(error as Error).message}`, {
    hint: 'Check that the cache repository is reachable and that the credentials may push to it.',
    cause: error,
  });
}

/** Reads a whole small stream, failing past `limit` bytes. */
export async function readSmall(stream: Readable, limit = CONFIG_SIZE_LIMIT): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new Error(`blob is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
