import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** User and group names by numeric id, written to the `uname` and `gname` tar fields. */
export interface OwnerNames {
  users: ReadonlyMap<number, string>;
  groups: ReadonlyMap<number, string>;
}

/**
 * Reads user and group names from a root filesystem's `etc/passwd` and `etc/group`.
 * A missing file gives an empty map.
 * NOTE: a symlinked `etc/passwd` is followed on the host, not inside `rootfs`.
 */
export async function readOwnerNames(rootfs: string): Promise<OwnerNames> {
  return {
    users: parseIdFile(await readOptional(path.join(rootfs, 'etc/passwd'))),
    groups: parseIdFile(await readOptional(path.join(rootfs, 'etc/group'))),
  };
}

/** Parses `name:password:id:...` lines; the first name of an id wins, as getpwuid returns. */
function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (
      name === undefined ||
      name === '' ||
      name.startsWith('#') ||
      id === undefined ||
      !/^\d+$/.test(id)
    )
      continue;
    const numericId = Number(id);
    if (!names.has(numericId)) names.set(numericId, name);
  }
  return names;
}

async function readOptional(filePath: string): Promise<string> {
  try {
    return await readFile(filePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
