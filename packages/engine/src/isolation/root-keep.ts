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
  const outputs = [
    options.tarPath,
    options.digestFile,
    options.imageNameWithDigestFile,
    options.imageNameTagWithDigestFile,
  ].flatMap((file) => (file === undefined ? [] : [path.dirname(path.resolve(file))]));
  const extra = [
    ...(options.ignorePaths ?? []),
    path.resolve(contextDir),
    ...(options.dockerfile === undefined ? [] : [path.resolve(options.dockerfile)]),
    ...(options.cache?.dir === undefined ? [] : [path.resolve(options.cache.dir)]),
    ...(options.ociLayoutPath === undefined ? [] : [path.resolve(options.ociLayoutPath)]),
    ...outputs,
    ...inputFiles(options),
    // Relative paths resolve against the working directory, so it must outlive the stages.
    process.cwd(),
    kilnDir,
  ];
  return rootIgnorePaths({
    kilnDir,
    mounts,
    ignoreVarRun: isolation.ignoreVarRun ?? true,
    runtimePaths: await existingPaths(RUNTIME_PATHS),
    extra: await withRealPaths(extra),
  });
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
