import { realpath } from 'node:fs/promises';
import { posix } from 'node:path';

import { SnapshotError } from './errors.js';
import { readMountInfo } from './mountinfo.js';

/** Paths inside a root filesystem that hold kernel interfaces, never image content. */
export const SYSTEM_IGNORE_PATHS: readonly string[] = ['/proc', '/sys', '/dev'];

/** Options that choose the paths a snapshot leaves out, each with everything beneath it. */
export interface IgnoreOptions {
  /** Paths inside the root filesystem, like '/proc' or 'var/cache/kiln' (`--ignore-path`). */
  ignorePaths?: string[];
  /** Ignore {@link SYSTEM_IGNORE_PATHS}; default true. */
  ignoreSystemPaths?: boolean;
  /** Ignore every mount point under the root, read from `mountInfoPath`; default true. */
  ignoreMounts?: boolean;
  /** Default '/proc/self/mountinfo'. */
  mountInfoPath?: string;
}

/**
 * Normalises a path inside the root filesystem to the relative POSIX form that snapshots key on
 * ('/var/cache/' -> 'var/cache'); raises `INVALID_IGNORE_PATH` for the root itself or a path that
 * leaves it.
 */
export function normalizeIgnorePath(path: string): string {
  const relative = posix.normalize(`/${path}`).slice(1).replace(/\/+$/, '');
  if (relative === '' || relative.split('/').includes('..')) {
    throw new SnapshotError('INVALID_IGNORE_PATH', `invalid ignore path ${JSON.stringify(path)}`, {
      hint: 'Give a path inside the root filesystem other than the root itself, like /var/cache/kiln.',
    });
  }
  return relative;
}

/** A set of relative paths whose subtrees a snapshot leaves out. */
export class IgnoreList {
  readonly #paths: Set<string>;

  constructor(paths: Iterable<string> = []) {
    this.#paths = new Set();
    for (const path of paths) this.#paths.add(normalizeIgnorePath(path));
  }

  /** Builds the list for `root` from the options, reading the current mount table. */
  static async load(root: string, options: IgnoreOptions = {}): Promise<IgnoreList> {
    const paths = [...(options.ignorePaths ?? [])];
    if (options.ignoreSystemPaths ?? true) paths.push(...SYSTEM_IGNORE_PATHS);
    if (options.ignoreMounts ?? true)
      paths.push(...(await mountPointsUnder(root, options.mountInfoPath)));
    return new IgnoreList(paths);
  }

  /** True when `path` itself is on the list (the walk checks each directory level as it goes). */
  hasExact(path: string): boolean {
    return this.#paths.has(path);
  }

  /** True when `path` or one of its ancestors is on the list. */
  covers(path: string): boolean {
    if (this.#paths.size === 0) return false;
    let current = path;
    for (;;) {
      if (this.#paths.has(current)) return true;
      const slash = current.lastIndexOf('/');
      if (slash === -1) return false;
      current = current.slice(0, slash);
    }
  }

  get size(): number {
    return this.#paths.size;
  }

  /** Returns the relative paths, sorted. */
  paths(): string[] {
    return [...this.#paths].sort();
  }
}

/** Returns the mount points strictly under `root`, relative to it. */
export async function mountPointsUnder(root: string, mountInfoPath?: string): Promise<string[]> {
  const realRoot = await realpath(root);
  const prefix = realRoot === '/' ? '/' : `${realRoot}/`;
  const mounts = await readMountInfo(mountInfoPath);
  const found: string[] = [];
  for (const { mountPoint } of mounts) {
    if (mountPoint.startsWith(prefix) && mountPoint.length > prefix.length) {
      found.push(mountPoint.slice(prefix.length));
    }
  }
  return found;
}
