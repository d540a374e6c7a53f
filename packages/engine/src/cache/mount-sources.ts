import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { CacheKeySource } from '@kiln/cache';
import type { RunMount } from '@kiln/dockerfile-parser';
import type { BuildServices } from '../stage/stage-run.js';
import { openKeySourceRoot } from './source-roots.js';
import { addTreeSources } from './source-tree.js';

/**
 * Lists the files the `type=bind` mounts of a RUN expose, for its cache key, as BuildKit keys a
 * bind by the mounted content. Each file under the mount's `source` goes in with content digest
 * and mode: from the build context after `.dockerignore` (no owner, as COPY keys context files),
 * from a stage or image with uid and gid too, because the command reads them. Entries are listed
 * as `mount:<target>/<path below source>`, where the command sees them; a later mount over the
 * same path replaces the earlier entry, as it hides the earlier file. The target, `rw` and the
 * other options are in the instruction text already.
 */
export async function bindMountSourcesForKey(
  mounts: readonly RunMount[],
  services: BuildServices,
): Promise<CacheKeySource[]> {
  const sources = new Map<string, CacheKeySource>();
  const linkDigests = new Map<string, string>();
  for (const mount of mounts) {
    if (mount.type !== 'bind') continue;
    const root = await openKeySourceRoot(mount.from, services, `RUN --mount from=${mount.from}`);
    const sourceHost = await root.resolve(mount.source ?? '/');
    const stats = await lstat(sourceHost).catch(() => undefined);
    // A missing or ignored source adds nothing. The mount of a missing one fails when the step runs.
    if (stats === undefined || !root.includes(sourceHost, stats)) continue;

    const sourceRelative = path.relative(root.root, sourceHost).split(path.sep).join('/');
    const target = mount.target ?? '';
    const mounted = new Map<string, CacheKeySource>();
    await addTreeSources(
      root,
      sourceHost,
      stats,
      {
        keepOwner: mount.from !== undefined,
        linkDigests,
        keyPath: (relative) => `mount:${path.posix.join(target, below(sourceRelative, relative))}`,
      },
      mounted,
    );
    for (const [keyPath, entry] of mounted) sources.set(keyPath, entry);
  }
  return [...sources.values()];
}

/** Returns `relative` (a path below the source root, or `.`) relative to the mount's source. */
function below(sourceRelative: string, relative: string): string {
  if (relative === '.' || relative === sourceRelative) return '';
  return sourceRelative === '' ? relative : relative.slice(sourceRelative.length + 1);
}
