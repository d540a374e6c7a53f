import path from 'node:path';
import type { MountInfoEntry } from '@kiln/fs-snapshot';

/** Files that container runtimes bind-mount into every container; they belong to the runtime. */
const RUNTIME_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname'];

/** Inputs of {@link rootIgnorePaths}. */
export interface RootIgnoreInputs {
  /** kiln's own directory (`KILN_DIR`). */
  kilnDir: string;
  /** The mount table of the process, from `/proc/self/mountinfo`. */
  mounts: readonly MountInfoEntry[];
  /** Leave `/var/run` alone (kaniko's `--ignore-var-run`, default true). */
  ignoreVarRun: boolean;
  /** Further absolute paths: `--ignore-path` values, the context, the cache directory. */
  extra: readonly string[];
}

/**
 * Returns the absolute paths, sorted and without duplicates, that a build on `/` itself never
 * empties, overwrites or snapshots: kiln's directory, the kernel file systems, every mount point
 * except `/` itself, the runtime's network files, `/var/run` unless disabled, and `extra`.
 */
export function rootIgnorePaths(inputs: RootIgnoreInputs): string[] {
  const paths = new Set<string>([inputs.kilnDir, '/proc', '/sys', '/dev', ...RUNTIME_FILES]);
  if (inputs.ignoreVarRun) paths.add('/var/run');
  for (const { mountPoint } of inputs.mounts) paths.add(mountPoint);
  for (const extra of inputs.extra) paths.add(extra);

  const normalized = [...paths].map((p) => path.posix.normalize(path.posix.resolve('/', p)));
  return [...new Set(normalized.filter((p) => p !== '/'))].sort();
}
