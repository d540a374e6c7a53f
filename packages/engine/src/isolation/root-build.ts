import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ParsedDockerfile } from '@kiln/dockerfile-parser';
import { readMountInfo } from '@kiln/fs-snapshot';
import { applyLayers } from '../base/base-image.js';
import { EngineError } from '../errors.js';
import type { BlobStore } from '../image/blob-store.js';
import type { BuildOptions } from '../options.js';
import type { SelectedExecutor } from '../plugins/run-executor.js';
import type { StageRun } from '../stage/stage-run.js';
import { assertInContainer } from './container-guard.js';
import { emptyRoot } from './empty-root.js';
import { watchedKeptPaths } from './kept-changes.js';
import { recordNoneStage } from './kept-copy.js';
import { createNoneExecutor } from './none-executor.js';
import { rejectNoneGitSources, rejectNoneInputs } from './none-inputs.js';
import type { NoneIsolation } from './none-options.js';
import { keptPathReasons, rootKeepPaths } from './root-keep.js';

/** The root filesystem every stage of an `--isolation=none` build uses. */
export const NONE_ROOT = '/';

/** Returns the none-isolation settings of `options`, or undefined for a chroot build. */
export function noneIsolation(options: BuildOptions): NoneIsolation | undefined {
  return typeof options.isolation === 'object' && options.isolation.mode === 'none'
    ? options.isolation
    : undefined;
}

/**
 * Checks that an `--isolation=none` build may start and returns its options with the work dir
 * inside kiln's directory, so that emptying `/` never removes the build's own files. Raises
 * INVALID_OPTION for a work dir outside that directory, a plugin executor, `--ssh`, a git context
 * or a context that is `/`, then NOT_IN_CONTAINER outside a container unless `force` is set.
 */
export async function prepareNoneBuild(
  options: BuildOptions,
  isolation: NoneIsolation,
): Promise<BuildOptions> {
  const kilnDir = path.resolve(
    isolation.kilnDir ?? options.workDir ?? process.env.KILN_DIR ?? '/kiln',
  );
  const workDir = path.resolve(options.workDir ?? kilnDir);
  if (kilnDir === '/' || (workDir !== kilnDir && !workDir.startsWith(`${kilnDir}/`))) {
    throw new EngineError(
      'INVALID_OPTION',
      `The work dir ${workDir} is not inside kiln's directory ${kilnDir}, or that directory is /`,
      {
        hint: 'Set KILN_DIR to a directory such as /kiln and leave the work dir unset or inside it.',
      },
    );
  }
  if (options.executor !== undefined && options.executor !== 'chroot') {
    throw new EngineError(
      'INVALID_OPTION',
      `The executor ${options.executor} cannot be combined with --isolation=none`,
      { hint: 'Leave out --executor; with --isolation=none RUN runs its command directly.' },
    );
  }
  await rejectNoneInputs(options, kilnDir);
  const signs = await assertInContainer(isolation.force ?? false);
  if (signs.length === 0) {
    options.onEvent?.({
      type: 'warning',
      message: 'No sign of a container was found; building on / anyway because of --force',
      file: undefined,
      line: undefined,
    });
  }
  return { ...options, workDir, stageConcurrency: 1, isolation: { ...isolation, kilnDir } };
}

/** State that the stages of an `--isolation=none` build share: the kept paths and the RUN executor. */
export interface RootBuild {
  /** Absolute paths that are never emptied, overwritten or snapshotted. */
  keep: string[];
  executor: SelectedExecutor;
  /** Marks `run` as a stage on `/`, whose COPY and ADD must not write to the kept paths. */
  trackStage(run: StageRun): void;
  /** Empties `/` except the kept paths, before a stage applies its base. */
  emptyRoot(): Promise<void>;
  /**
   * Extracts a finished stage's layers into a directory under the work dir and points
   * `run.rootfs` there, so later stages can still read it after `/` was emptied.
   */
  preserveStage(run: StageRun, store: BlobStore, scratchDir: string): Promise<void>;
}

/**
 * Opens the shared state of an `--isolation=none` build; `contextDir` and the cache stay untouched.
 * Raises UNSUPPORTED_INSTRUCTION when `parsed` has an `ADD` of a git repository.
 */
export async function openRootBuild(
  options: BuildOptions,
  isolation: NoneIsolation,
  contextDir: string,
  parsed: ParsedDockerfile,
): Promise<RootBuild> {
  rejectNoneGitSources(parsed);
  const kilnDir = isolation.kilnDir ?? '/kiln';
  const mounts = await readMountInfo();
  const keep = await rootKeepPaths(options, isolation, contextDir, mounts);
  const reasons = await keptPathReasons(options, isolation, contextDir, mounts);
  const setidHelper = isolation.setidHelper ?? path.join(kilnDir, 'bin', 'kiln-setid');
  return {
    keep,
    executor: {
      plugin: 'kiln',
      executor: createNoneExecutor(setidHelper, {
        paths: watchedKeptPaths(keep, kilnDir),
        onChanged: (paths) =>
          options.onEvent?.({
            type: 'warning',
            message: `RUN changed the kept path${paths.length > 1 ? 's' : ''} ${paths.join(', ')}: with --isolation=none the change went to the container's own files and is not in the image`,
            file: undefined,
            line: undefined,
          }),
      }),
    },
    trackStage: (run) => recordNoneStage(run, keep, reasons),
    emptyRoot: () => emptyRoot(NONE_ROOT, keep),
    async preserveStage(run, store, scratchDir) {
      const dir = path.join(scratchDir, 'stages', String(run.index), 'rootfs');
      await mkdir(dir, { recursive: true });
      const image = run.image.assemble();
      await applyLayers(store, image.manifest.layers, image.config.rootfs.diff_ids, dir);
      run.rootfs = dir;
    },
  };
}

/** True when a stage other than `index` reads it (`FROM`, `COPY --from`, `RUN --mount from=`). */
export function isStageReadLater(parsed: ParsedDockerfile, index: number): boolean {
  return parsed.stages.some((stage) => stage.index !== index && stage.dependsOn.includes(index));
}
