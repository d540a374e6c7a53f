import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Modification times of watched kept paths and of their direct entries, by absolute path. */
export type KeptTimes = Map<string, number>;

/** Kernel file systems, whose times change on their own and which are not user files. */
const KERNEL_PATHS = ['/proc', '/sys', '/dev'];

/**
 * Returns the kept paths worth watching for changes by RUN: all but the kernel file systems and
 * `kilnDir`, which kiln itself writes to during a build.
 */
export function watchedKeptPaths(keep: readonly string[], kilnDir: string): string[] {
  const skipped = [...KERNEL_PATHS, kilnDir];
  return keep.filter((p) => !skipped.some((s) => p === s || p.startsWith(`${s}/`)));
}

/**
 * Reads the modification times of `paths` and, for directories, of their direct entries. This is
 * the top level only: a change deeper down that leaves those times alone is not seen.
 */
export async function readKeptTimes(paths: readonly string[]): Promise<KeptTimes> {
  const times: KeptTimes = new Map();
  for (const p of paths) {
    const stats = await lstat(p).catch(() => undefined);
    if (stats === undefined) continue;
    times.set(p, stats.mtimeMs);
    if (!stats.isDirectory()) continue;
    const names = await readdir(p).catch(() => []);
    for (const name of names) {
      const entry = path.join(p, name);
      const entryStats = await lstat(entry).catch(() => undefined);
      if (entryStats !== undefined) times.set(entry, entryStats.mtimeMs);
    }
  }
  return times;
}

/** Returns the watched paths whose own time or whose entries changed between the two readings. */
export function changedKeptPaths(
  paths: readonly string[],
  before: KeptTimes,
  after: KeptTimes,
): string[] {
  const differs = (entry: string): boolean => before.get(entry) !== after.get(entry);
  return paths.filter((p) => {
    if (differs(p)) return true;
    const prefix = `${p}/`;
    for (const entry of new Set([...before.keys(), ...after.keys()]))
      if (entry.startsWith(prefix) && !entry.slice(prefix.length).includes('/') && differs(entry))
        return true;
    return false;
  });
}
