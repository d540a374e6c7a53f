import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';

/**
 * Reads the extended attributes of `filePath` without following a symlink at the leaf.
 * Returns undefined when there are none or the file system does not support them.
 */
export function readXattrs(filePath: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = listAttributesSync(filePath);
  } catch (error) {
    if (isUnsupported(error)) return undefined;
    throw error;
  }
  if (names.length === 0) return undefined;
  const result = new Map<string, Buffer>();
  for (const name of names) {
    const value = getAttributeSync(filePath, name);
    if (value !== null) result.set(name, value);
  }
  return result.size === 0 ? undefined : result;
}

/** Sets extended attributes on `filePath` without following a symlink at the leaf. */
export function writeXattrs(filePath: string, xattrs: ReadonlyMap<string, Buffer>): void {
  for (const [name, value] of xattrs) setAttributeSync(filePath, name, value);
}

function isUnsupported(error: unknown): boolean {
  return error instanceof Error && /not supported/i.test(error.message);
}
