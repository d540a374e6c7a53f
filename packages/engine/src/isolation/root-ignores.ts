import path from 'node:path';
import type { MountInfoEntry } from '@kiln/fs-snapshot';

/**
 * Paths that belong to the container rather than the image: the network files that runtimes
 * bind-mount, and `/var/run`. They are kept only where the container has them, because keeping a
 * missing one stops the base's own entry (Debian's `/var/run -> /run`) from being applied.
 */
export const RUNTIME_PATHS = ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/var/run'];

/** Inputs of {@link rootIgnorePaths}. */
export interface RootIgnoreInputs {
  /** kiln's own directory (`KILN_DIR`). */
  kilnDir: string;
  /** The mount table of the process, from `/proc/self/mountinfo`. */
  mounts: readonly MountInfoEntry[];
  /** Leave `/var/run` alone (kaniko's `--ignore-var-run`, default true). */
  ignoreVarRun: boolean;
  /** The {@link RUNTIME_PATHS} that exist in the container; the others are not kept. */
  runtimePaths: readonly string[];
  /** Further absolute paths: `--ignore-path` values, the context, the cache directory. */
  extra: readonly string[];
}

/**
 * Returns the absolute paths, sorted and without duplicates, that a build on `/` itself never
 * empties, overwrites or snapshots: kiln's directory, the kernel file systems, every mount point
 * except `/` itself, the runtime paths that exist (`/var/run` unless disabled), and `extra`.
 */
export function rootIgnorePaths(inputs: RootIgnoreInputs): string[] {
  const paths = new Set<string>([inputs.kilnDir, '/proc', '/sys', '/dev']);
  for (const runtimePath of inputs.runtimePaths)
    if (runtimePath !== '/var/run' || inputs.ignoreVarRun) paths.add(runtimePath);
  for (const { mountPoint } of inputs.mounts) paths.add(mountPoint);
  for (const extra of inputs.extra) paths.add(extra);

  const normalized = [...paths].map((p) => path.posix.normalize(path.posix.resolve('/', p)));
  return [...new Set(normalized.filter((p) => p !== '/'))].sort();
}
