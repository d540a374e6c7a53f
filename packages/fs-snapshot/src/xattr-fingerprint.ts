import { createHash } from 'node:crypto';

import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';

import { errnoCode, SnapshotError } from './errors.js';

/**
 * Returns "sha256:<hex>" over the sorted names and values of a path's extended attributes,
 * read without following a symlink. A file system without xattr support, or a path that is
 * gone, gives the fingerprint of an empty set.
 */
export function xattrFingerprint(path: string): string {
  const hash = createHash('sha256');
  let names: string[];
  try {
    names = listAttributesSync(path).sort();
  } catch (error) {
    if (isAbsentOrUnsupported(error)) names = [];
    else throw xattrError(path, error);
  }
  for (const name of names) {
    const value = readAttribute(path, name);
    if (value === undefined) continue;
    hash.update(`${name.length}:${name}${value.length}:`);
    hash.update(value);
  }
  return `sha256:${hash.digest('hex')}`;
}

function readAttribute(path: string, name: string): Buffer | undefined {
  try {
    return getAttributeSync(path, name) ?? undefined;
  } catch (error) {
    if (isAbsentOrUnsupported(error)) return undefined;
    throw xattrError(path, error);
  }
}

function isAbsentOrUnsupported(error: unknown): boolean {
  const code = errnoCode(error);
  if (code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENODATA')
    return true;
  // @napi-rs/xattr reports failures as plain errors whose message carries the OS text.
  return (
    error instanceof Error && /not supported|no such file|no data available/i.test(error.message)
  );
}

function xattrError(path: string, cause: unknown): SnapshotError {
  return new SnapshotError(
    'HASH_FAILED',
    `failed to read the xattrs of ${path} while taking a snapshot`,
    {
      hint: 'Check that the process may read the path, or add it to ignorePaths.',
      cause,
    },
  );
}
