import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

import { skopeoCopy } from './checks.js';
import { cacheDir } from './paths.js';
import { requireTool, runCommand } from './process.js';
import type { TestRegistry } from './registry.js';

/** A base image that the test kit builds once from a root filesystem made on this machine. */
export interface BaseImageRecipe {
  /** Folder name under the test kit's cache directory. */
  name: string;
  tag: string;
  /** The `created_by` text of the image's one history entry. */
  createdBy: string;
  /** The image's Cmd, a single program name or path. */
  cmd: string;
  /** Fills `rootfs`, an empty directory, with the image's files. */
  makeRootfs(rootfs: string): Promise<void>;
}

export interface BaseLayout {
  /** OCI image layout directory. */
  layoutDir: string;
  tag: string;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Returns the recipe's image as an OCI layout under `<repo>/.cache/testkit/NAME`, building it on
 * the first call. The layout is built under a temporary name and renamed into place, so
 * concurrent test processes never see a half-written layout.
 */
export async function cachedBaseLayout(recipe: BaseImageRecipe): Promise<BaseLayout> {
  const finalDir = join(cacheDir(), recipe.name);
  const layoutDir = join(finalDir, 'oci');
  if (existsSync(join(layoutDir, 'index.json'))) return { layoutDir, tag: recipe.tag };

  requireTool('umoci', 'umoci');
  await mkdir(cacheDir(), { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const workDir = join(cacheDir(), `${recipe.name}.tmp-${suffix}`);
  try {
    await packLayout(workDir, recipe);
    try {
      await rename(workDir, finalDir);
    } catch (error) {
      // Another process renamed its complete copy first: use that one.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return { layoutDir, tag: recipe.tag };
}

async function packLayout(workDir: string, recipe: BaseImageRecipe): Promise<void> {
  const rootfs = join(workDir, 'rootfs');
  const layout = join(workDir, 'oci');
  const bundle = join(workDir, 'bundle');
  const image = `${layout}:${recipe.tag}`;

  await mkdir(rootfs, { recursive: true });
  await recipe.makeRootfs(rootfs);

  await runCommand('umoci', ['init', '--layout', layout]);
  await runCommand('umoci', ['new', '--image', image]);
  await runCommand('umoci', ['unpack', '--image', image, bundle]);
  // The bundle's empty rootfs is replaced by the prepared one, which keeps owners and modes.
  await rmdir(join(bundle, 'rootfs'));
  await rename(rootfs, join(bundle, 'rootfs'));
  await runCommand('umoci', [
    'repack',
    '--image',
    image,
    '--history.created_by',
    recipe.createdBy,
    bundle,
  ]);
  await runCommand('umoci', [
    'config',
    '--image',
    image,
    '--config.cmd',
    recipe.cmd,
    '--config.env',
    PATH_ENV,
  ]);
  await runCommand('umoci', ['gc', '--layout', layout]);
  // Only the layout is kept in the cache.
  await rm(bundle, { recursive: true, force: true });
}

/**
 * Pushes a base layout to `registry` as `library/REPOSITORY:TAG` with skopeo (with the registry's
 * credentials when it has them) and returns the reference `127.0.0.1:PORT/library/REPOSITORY:TAG`.
 */
export async function pushBaseLayout(
  registry: TestRegistry,
  { layoutDir, tag }: BaseLayout,
  repository: string,
): Promise<string> {
  const reference = `${registry.host}/library/${repository}:${tag}`;
  const creds = registry.credentials
    ? `${registry.credentials.username}:${registry.credentials.password}`
    : undefined;
  await skopeoCopy(`oci:${layoutDir}:${tag}`, `docker://${reference}`, {
    dest: creds === undefined ? {} : { creds },
  });
  return reference;
}
