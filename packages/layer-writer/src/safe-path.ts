import type { Stats } from 'node:fs';
import { lstat, mkdir, readlink } from 'node:fs/promises';
import path from 'node:path';

import { LayerError } from './errors.js';

/** Symlinks followed while resolving one path before giving up, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

/**
 * Cleans a tar name into path parts relative to the root: a leading `/` and `.` parts are
 * dropped (absolute names are contained, as Docker and GNU tar contain them), and `..` parts
 * are folded lexically. A name whose `..` parts climb above the root is rejected.
 */
export function cleanEntryName(name: string, what = 'tar entry'): string[] {
  if (name.includes('\u0000')) {
    throw new LayerError(
      'INVALID_PATH',
      `${what} name ${JSON.stringify(name)} contains a NUL byte`,
    );
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        throw new LayerError(
          'PATH_ESCAPE',
          `${what} "${name}" points outside the root filesystem`,
          {
            hint: 'The layer is hostile or corrupt: its ".." parts climb above the root. Do not use it.',
          },
        );
      }
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts;
}

/**
 * Resolves directory parts inside `root` the way a process chrooted to `root` would: a symlink
 * met on the way is followed, an absolute target restarts at `root`, and `..` stops at `root`.
 * Returns the host path of the directory, which has no symlink in it below `root`.
 * Missing directories are created (mode 0755) when `create` is set.
 * NOTE: this assumes nothing else changes the root filesystem while a layer is applied, because
 * a concurrent writer could swap a checked directory for a symlink before it is used.
 */
export class RootResolver {
  private readonly cache = new Map<string, string>();

  constructor(private readonly root: string) {}

  /** Forgets resolved directories; call after anything under the root was removed or replaced. */
  invalidate(): void {
    this.cache.clear();
  }

  async resolveDirectory(
    parts: readonly string[],
    entryName: string,
    create: boolean,
  ): Promise<string | undefined> {
    const key = parts.join('/');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;

    const resolved: string[] = [];
    const queue = [...parts];
    let symlinks = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = path.join(this.root, ...resolved, part);
      const stats = await lstatOrUndefined(candidate);
      if (stats === undefined) {
        if (!create) return undefined;
        await mkdir(candidate, { mode: 0o755 });
        resolved.push(part);
      } else if (stats.isSymbolicLink()) {
        if (++symlinks > MAX_SYMLINKS) {
          throw new LayerError(
            'SYMLINK_LOOP',
            `too many levels of symlinks below the root while resolving "${entryName}"`,
            {
              hint: 'The layer or the root filesystem has a symlink loop in this path.',
            },
          );
        }
        const target = await readlink(candidate);
        if (target.startsWith('/')) resolved.length = 0;
        queue.unshift(...target.split('/'));
      } else if (stats.isDirectory()) {
        resolved.push(part);
      } else {
        throw new LayerError(
          'APPLY_FAILED',
          `cannot apply "${entryName}": "${[...resolved, part].join('/')}" is not a directory`,
          {
            hint: 'An earlier entry or layer put a file where this entry needs a directory.',
          },
        );
      }
    }
    const hostPath = path.join(this.root, ...resolved);
    this.cache.set(key, hostPath);
    return hostPath;
  }
}

/** lstat that returns undefined for a missing path. */
export async function lstatOrUndefined(filePath: string): Promise<Stats | undefined> {
  try {
    return await lstat(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
