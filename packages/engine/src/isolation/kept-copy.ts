import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { isGitLocation } from '../context/git-context.js';
import { EngineError } from '../errors.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { noneGitSourceError } from './none-inputs.js';

/** The root filesystem of every stage of an `--isolation=none` build until it is preserved. */
const NONE_ROOT = '/';

/** Kept paths of a stage of an `--isolation=none` build, and why each is kept. */
interface KeptPaths {
  paths: readonly string[];
  /** Reasons in words ("the build context") by path; a path without one is just "kept". */
  reasons: ReadonlyMap<string, string>;
}

/** Kept paths of the stages of `--isolation=none` builds, which their layers leave out. */
const keptPathsOfStages = new WeakMap<StageRun, KeptPaths>();

/** Records that `run` is an `--isolation=none` stage that keeps `paths` on `/`. */
export function recordNoneStage(
  run: StageRun,
  paths: readonly string[],
  reasons: ReadonlyMap<string, string> = new Map(),
): void {
  keptPathsOfStages.set(run, { paths, reasons });
}

/** Names a kept path with its reason, such as `/workspace (the build context)`. */
function describeKept(kept: KeptPaths, keptPath: string): string {
  const reason = kept.reasons.get(keptPath);
  return reason === undefined ? keptPath : `${keptPath} (${reason})`;
}

/**
 * Raises UNSUPPORTED_INSTRUCTION for an ADD of a git repository in an `--isolation=none` stage,
 * where git is gone, before it is fetched. `sources` are the expanded sources of the ADD.
 */
export function rejectGitSourceOnRoot(
  run: StageRun,
  sources: readonly string[],
  line: number,
): void {
  if (!keptPathsOfStages.has(run) || run.rootfs !== NONE_ROOT) return;
  const source = sources.find(isGitLocation);
  if (source !== undefined) throw noneGitSourceError(source, line);
}

/** One entry that a COPY or ADD writes: its source on the host, if any, and its image path. */
export interface CopyWrite {
  /** Host path of the source; undefined for here-documents, archives and git checkouts. */
  source: string | undefined;
  sourceIsDirectory: boolean;
  /** Absolute image path that the source is copied to (or into, for a directory's contents). */
  target: string;
}

/**
 * Raises COPY_INVALID_DESTINATION before a COPY or ADD of an `--isolation=none` stage writes anything,
 * when a target is at or under a kept path, or a copied directory contains an entry that would land
 * on one. Kept paths are the host's own files (the context, KILN_DIR, outputs), so writing there
 * would overwrite them, and the layers leave them out anyway. Does nothing for other stages.
 * NOTE: the entries of archives and git checkouts are not known yet, so only their target is
 * checked, and `COPY --parents` is not checked.
 */
export async function assertCopyOutsideKeptPaths(
  run: StageRun,
  keyword: string,
  writes: readonly CopyWrite[],
): Promise<void> {
  const kept = keptPathsOfStages.get(run);
  if (kept === undefined || run.rootfs !== NONE_ROOT) return;
  for (const write of writes) {
    // Resolved like the copy resolves it, so a symlink such as /app -> /workspace is caught.
    const target = await resolveInRoot(NONE_ROOT, write.target);
    const above = kept.paths.find((p) => isAtOrUnder(target, p));
    const below =
      above === undefined ? await keptPathReached(write, target, kept.paths) : undefined;
    const hit = above ?? below;
    if (hit === undefined) continue;
    let where = `would write ${describeKept(kept, hit)}`;
    if (above !== undefined)
      where = `${target === above ? 'writes to' : 'writes under'} ${describeKept(kept, above)}`;
    throw new EngineError(
      'COPY_INVALID_DESTINATION',
      `${keyword.toUpperCase()} to ${write.target} ${where}, which --isolation=none keeps on /, so the copy would overwrite the files there and the image would not get them`,
      {
        hint:
          'Copy to a path outside the kept paths. A WORKDIR of /workspace (common with kaniko) ' +
          'is the context itself: choose another WORKDIR such as /app, or mount the context ' +
          'elsewhere (for example --context /kiln/context).',
      },
    );
  }
}

/** Returns a kept path strictly under `target` that the copied directory has an entry for. */
async function keptPathReached(
  write: CopyWrite,
  target: string,
  kept: readonly string[],
): Promise<string | undefined> {
  if (write.source === undefined || !write.sourceIsDirectory) return undefined;
  for (const p of kept) {
    if (!isAtOrUnder(p, target) || p === target) continue;
    const inSource = path.join(write.source, path.posix.relative(target, p));
    if (
      await lstat(inSource).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

/**
 * Rewords `error` when a `COPY --from` source is missing from an `--isolation=none` stage because
 * it lies at or under a kept path, which the stage's layers leave out. Returns other errors as is.
 */
export function explainMissingStageSource(
  services: Pick<BuildServices, 'stageNames' | 'stages'>,
  from: string,
  source: string,
  error: unknown,
): unknown {
  const index = stageIndexOf(from, services.stageNames);
  const stage = index === undefined ? undefined : services.stages.get(index);
  const keep = stage === undefined ? undefined : keptPathsOfStages.get(stage);
  if (keep === undefined || !(error instanceof EngineError)) return error;
  if (error.code !== 'CONTEXT_FILE_NOT_FOUND') return error;
  const absolute = path.posix.resolve('/', source);
  const hit = keep.paths.find((p) => isAtOrUnder(absolute, p));
  if (hit === undefined) return error;
  // No cause: its "not found in the build context" names a scratch directory and misleads.
  return new EngineError(
    'CONTEXT_FILE_NOT_FOUND',
    `COPY --from=${from} source ${source} is not in stage ${from}: ${describeKept(keep, hit)} is a kept path of --isolation=none, so it is held out of the stage's layers, and what RUN wrote there went into the container's own ${hit}`,
    {
      hint: `Write the files to a path that is not kept (for example /out rather than a path under ${hit}), or build with --isolation=chroot.`,
    },
  );
}

function isAtOrUnder(p: string, parent: string): boolean {
  return p === parent || p.startsWith(parent === '/' ? '/' : `${parent}/`);
}
