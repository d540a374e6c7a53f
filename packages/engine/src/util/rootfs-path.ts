import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors.js';

const MAX_SYMLINKS = 40;

export interface ResolveInRootOptions {
  /** Follow a symlink in the last component too (default true). */
  followFinal?: boolean;
}

/**
 * Resolves `target` (absolute or relative to `/` of the root) to a host path inside `root`, following
 * symlinks the way a process chrooted into `root` would see them: `..` and absolute link targets
 * stop at `root`. Components that do not exist yet are kept as written.
 */
export async function resolveInRoot(
  root: string,
  target: string,
  options: ResolveInRootOptions = {},
): Promise<string> {
  const followFinal = options.followFinal ?? true;
  const pending = splitPath(target);
  const resolved: string[] = [];
  let linksFollowed = 0;

  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const isLast = pending.length === 0;
    const stats = await lstat(candidate).catch(() => undefined);
    if (stats?.isSymbolicLink() && (!isLast || followFinal)) {
      linksFollowed += 1;
      if (linksFollowed > MAX_SYMLINKS) {
        throw new EngineError(
          'ROOTFS_PATH_INVALID',
          `Too many levels of symbolic links resolving ${target}`,
          {
            hint: 'Fix the symlink loop in the image or the path used by the instruction.',
          },
        );
      }
      const link = await readlink(candidate);
      if (link.startsWith('/')) resolved.length = 0;
      pending.unshift(...splitPath(link));
      continue;
    }
    resolved.push(part);
  }
  return path.join(root, ...resolved);
}

/** Splits a POSIX path into its components, dropping empty and `.` parts. */
export function splitPath(p: string): string[] {
  return p.split('/').filter((part) => part !== '' && part !== '.');
}
