import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { MountInfoEntry } from '@kiln/fs-snapshot';
import type { BuildOptions } from '../options.js';
import type { NoneIsolation } from './none-options.js';
import { RUNTIME_PATHS, rootIgnorePaths } from './root-ignores.js';

/**
 * Returns the absolute paths that an `--isolation=none` build keeps on `/`: the fixed list of
 * {@link rootIgnorePaths}, plus every path that the build reads or writes outside `KILN_DIR`
 * (context, Dockerfile, cache directory, outputs, secrets, certificates, the working directory).
 */
export async function rootKeepPaths(
  options: BuildOptions,
  isolation: NoneIsolation,
  contextDir: string,
  mounts: readonly MountInfoEntry[],
): Promise<string[]> {
  const kilnDir = isolation.kilnDir ?? '/kiln';
  const extra = buildPaths(options, kilnDir, contextDir).map(([p]) => p);
  return rootIgnorePaths({
    kilnDir,
    mounts,
    ignoreVarRun: isolation.ignoreVarRun ?? true,
    runtimePaths: await existingPaths(RUNTIME_PATHS),
    extra: await withRealPaths(extra),
  });
}

/**
 * Returns why each path of {@link rootKeepPaths} is kept, in words for error messages ("the build
 * context", "a mount point"), by normalized absolute path.
 */
export async function keptPathReasons(
  options: BuildOptions,
  isolation: NoneIsolation,
  contextDir: string,
  mounts: readonly MountInfoEntry[],
): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const set = (p: string, reason: string): void => {
    reasons.set(path.posix.normalize(path.posix.resolve('/', p)), reason);
  };
  for (const p of ['/proc', '/sys', '/dev']) set(p, 'a kernel file system');
  for (const p of RUNTIME_PATHS) set(p, "a file of the container's runtime");
  for (const { mountPoint } of mounts) set(mountPoint, 'a mount point');
  // The build's own paths come last because their reasons are more specific than "a mount point".
  for (const [p, reason] of buildPaths(options, isolation.kilnDir ?? '/kiln', contextDir)) {
    set(p, reason);
    set(await realpath(p).catch(() => p), reason);
  }
  return reasons;
}

/** Returns the paths outside the fixed list that the build reads or writes, each with its reason. */
function buildPaths(
  options: BuildOptions,
  kilnDir: string,
  contextDir: string,
): Array<[string, string]> {
  const outputs = [
    options.tarPath,
    options.digestFile,
    options.imageNameWithDigestFile,
    options.imageNameTagWithDigestFile,
  ].flatMap((file) => (file === undefined ? [] : [path.dirname(path.resolve(file))]));
  // Ordered from the vaguest reason to the most telling, because a later entry for the same path
  // replaces the reason of an earlier one (a context that is also the working directory).
  return [
    // Relative paths resolve against the working directory, so it must outlive the stages.
    [process.cwd(), "kiln's working directory"],
    [kilnDir, 'KILN_DIR'],
    ...(options.ignorePaths ?? []).map((p): [string, string] => [p, 'an --ignore-path']),
    ...outputs.map((p): [string, string] => [p, 'the directory of an output file']),
    ...inputFiles(options).map((p): [string, string] => [p, 'an input file of the build']),
    ...(options.ociLayoutPath === undefined
      ? []
      : [[path.resolve(options.ociLayoutPath), 'the OCI layout output'] as [string, string]]),
    ...(options.cache?.dir === undefined
      ? []
      : [[path.resolve(options.cache.dir), 'the cache directory'] as [string, string]]),
    ...(options.dockerfile === undefined
      ? []
      : [[path.resolve(options.dockerfile), 'the Dockerfile'] as [string, string]]),
    [path.resolve(contextDir), 'the build context'],
  ];
}

/** Returns the files that kiln reads after the first stage started: secrets, certificates, credentials. */
function inputFiles(options: BuildOptions): string[] {
  const files = Object.values(options.secrets ?? {}).flatMap((secret) =>
    'src' in secret ? [secret.src] : [],
  );
  const registry = options.registry;
  files.push(...Object.values(registry?.registryCertificates ?? {}));
  for (const { cert, key } of Object.values(registry?.registryClientCerts ?? {}))
    files.push(cert, key);
  if (process.env.DOCKER_CONFIG) files.push(process.env.DOCKER_CONFIG);
  return files.map((file) => path.resolve(file));
}

/**
 * Returns `paths` with the target of each one that exists, because emptying `/` removes a
 * symlink such as `/kiln -> /data/kiln` but would also remove the directory it points to.
 */
async function withRealPaths(paths: readonly string[]): Promise<string[]> {
  const targets = await Promise.all(paths.map((p) => realpath(p).catch(() => p)));
  return [...paths, ...targets];
}

/** Returns the entries of `paths` that exist on `/`; a dangling symlink counts as existing. */
async function existingPaths(paths: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    paths.map((p) =>
      lstat(p).then(
        () => p,
        () => undefined,
      ),
    ),
  );
  return found.filter((p) => p !== undefined);
}
