import { DirectoryContext } from '../context/build-context.js';
import { EngineError } from '../errors.js';
import type { BuildServices } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';

/**
 * Opens the root that `from` names for a cache key: the build context (with `.dockerignore`)
 * when undefined, else an earlier stage or an image. A stage whose layers came from cache hits and
 * are still queued is unpacked first, because its files are hashed for the key.
 */
export async function openKeySourceRoot(
  from: string | undefined,
  services: BuildServices,
  /** The flag as written, for the error message: `COPY --from=NAME` or `RUN --mount from=NAME`. */
  flag: string,
): Promise<DirectoryContext> {
  if (from === undefined) return services.context;
  const index = stageIndexOf(from, services.stageNames);
  if (index === undefined) {
    // Not a stage: an image reference, pulled and unpacked once per build.
    return DirectoryContext.open(await services.imageRootfs(from), { readIgnoreFile: false });
  }
  const stage = services.stages.get(index);
  if (stage === undefined) {
    throw new EngineError('UNKNOWN_STAGE', `${flag} names no stage built before this one`, {
      hint: 'Name a stage defined above this one (FROM ... AS NAME), its index, or an image reference.',
    });
  }
  await services.layerCache?.materialize(stage);
  return DirectoryContext.open(stage.rootfs, { readIgnoreFile: false });
}
