import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddInstruction, CopyInstruction } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import { DirectoryContext } from '../context/build-context.js';
import type { ContextEntry } from '../context/build-context.js';
import { EngineError } from '../errors.js';
import { resolveIdentityInRoot } from '../run/users.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { extractArchive, isLocalArchive } from './archive.js';
import { downloadUrlOnce, isUrlSource } from './fetch-url.js';
import { copyGitCheckout, fetchGitSource } from './add-git.js';
import { isGitLocation } from '../context/git-context.js';
import {
  assertCopyOutsideKeptPaths,
  explainMissingStageSource,
  rejectGitSourceOnRoot,
} from '../isolation/kept-copy.js';
import { DockerIgnore } from '../context/dockerignore.js';
import { applyModeSpec, parseChmod } from './file-mode.js';
import { resolveCopyTargets } from './destination.js';
import {
  CopyRecorder,
  copyDirectoryContents,
  copyEntry,
  copyParentDirectory,
  ensureDirectory,
} from './copy-into-rootfs.js';
import type { CopyOptions, Ownership } from './copy-into-rootfs.js';

/**
 * Runs COPY (and ADD of plain local files) into the stage's root filesystem and returns the change
 * set of everything it wrote, with the destination's parent directories first.
 */
export async function executeCopy(
  run: StageRun,
  instruction: CopyInstruction | AddInstruction,
  services: BuildServices,
): Promise<ChangeSet> {
  rejectUnsupportedFlags(instruction);
  if (instruction.kind === 'add')
    rejectGitSourceOnRoot(run, instruction.sources, instruction.location.startLine);
  const source = await sourceContext(instruction, services);
  // Without --chown, context files belong to root and files from a stage keep their owner.
  const chown = await ownership(run, instruction.chown);
  const fromStage = instruction.kind === 'copy' && instruction.from !== undefined;
  const owner = chown ?? (fromStage ? undefined : ROOT);
  const createdOwner = chown ?? ROOT;
  const mode = instruction.chmod === undefined ? undefined : parseChmod(instruction.chmod);
  const recorder = new CopyRecorder(run.rootfs);
  // --exclude takes .dockerignore patterns. BuildKit's fsutil copy (copy/copy.go, `copier.copy`)
  // matches them against paths relative to the directory being copied. A wildcard match at the top
  // is checked against its path in the context, as the Dockerfile reference's example
  // `COPY --exclude=*.txt hom* /mydir/` leaves out home.txt.
  const exclude =
    instruction.exclude.length > 0 ? DockerIgnore.parse(instruction.exclude.join('\n')) : undefined;
  const excludedBelow = (base: string, hostPath: string): boolean =>
    exclude !== undefined &&
    exclude.excludes(path.relative(base, hostPath).split(path.sep).join('/'));
  const excluded = (hostPath: string): boolean => excludedBelow(source.root, hostPath);
  const onSkip = (sourcePath: string, kind: string): void =>
    services.emit({
      type: 'warning',
      message: `${instruction.keyword.toUpperCase()} skipped ${path.relative(source.root, sourcePath) || '.'}: a ${kind} cannot be stored in a layer`,
      file: instruction.location.file,
      line: instruction.location.startLine,
    });
  const hardlinks = new Map<string, string>();
  /** Copy options for a walk below the source directory `base`; .dockerignore applies only in the context. */
  const copyOptionsBelow = (base: string, inContext = true): CopyOptions => ({
    owner,
    mode,
    recorder,
    include: (file: string, stats: Stats) =>
      (!inContext || source.includes(file, stats)) && !excludedBelow(base, file),
    hardlinks,
    onSkip,
  });

  const matched: ContextEntry[] = [];
  const pivots = new Map<ContextEntry, string>();
  const downloads = new Set<ContextEntry>();
  const gitSources = new Set<ContextEntry>();
  for (const pattern of instruction.sources) {
    if (instruction.kind === 'add' && isGitLocation(pattern)) {
      const entry = await fetchGitSource(pattern, services.scratchDir, {
        keepGitDir: instruction.keepGitDir ?? false,
        checksum: instruction.checksum,
        signal: services.signal,
      });
      gitSources.add(entry);
      matched.push(entry);
      continue;
    }
    if (instruction.kind === 'add' && isUrlSource(pattern)) {
      const entry = await downloadUrlOnce(services, pattern, services.scratchDir, {
        checksum: instruction.checksum,
        signal: services.signal,
        cacheDir: services.downloadCacheDir,
      });
      downloads.add(entry);
      matched.push(entry);
      continue;
    }
    const found = await source.match(pattern).catch((error: unknown) => {
      const from = instruction.kind === 'copy' ? instruction.from : undefined;
      throw from === undefined ? error : explainMissingStageSource(services, from, pattern, error);
    });
    for (const entry of found) {
      if (excluded(entry.hostPath)) continue;
      matched.push(entry);
      pivots.set(entry, parentsPivot(pattern));
    }
  }
  if (instruction.kind === 'copy' && instruction.parents) {
    await copyWithParents(
      run,
      instruction,
      source,
      matched,
      pivots,
      copyOptionsBelow,
      createdOwner,
    );
    run.baselineCurrent = false;
    return { root: run.rootfs, entries: recorder.entries };
  }
  // ADD unpacks local tar archives (found by their first bytes) into the destination directory.
  const archives = new Set<ContextEntry>();
  if (instruction.kind === 'add') {
    // Downloaded files are never unpacked, as Docker documents for ADD <URL>.
    for (const entry of matched)
      if (
        !downloads.has(entry) &&
        !gitSources.has(entry) &&
        entry.stats.isFile() &&
        (await isLocalArchive(entry.hostPath))
      )
        archives.add(entry);
  }

  const heredocs = instruction.sourceContents.map((file) => ({
    name: file.name,
    isDirectory: false,
  }));
  const sources = [
    ...matched.map((entry) => ({
      name: path.posix.basename(entry.relativePath) || '.',
      isDirectory: entry.stats.isDirectory() || archives.has(entry),
    })),
    ...heredocs,
  ];
  const workingDir = run.meta.config.WorkingDir || '/';
  const destinationAbsolute = path.posix.resolve('/', workingDir, instruction.destination);
  const destinationStats = await lstat(await resolveInRoot(run.rootfs, destinationAbsolute)).catch(
    () => undefined,
  );
  const targets = resolveCopyTargets(
    instruction.destination,
    workingDir,
    sources,
    destinationStats?.isDirectory() ?? false,
  );

  // --isolation=none: fail before writing anything when a target would land on a kept path of /.
  await assertCopyOutsideKeptPaths(
    run,
    instruction.keyword,
    targets.flatMap((target, index) => {
      const entry = matched[index];
      const plain = entry !== undefined && !archives.has(entry) && !gitSources.has(entry);
      if (target === undefined) return [];
      return [
        {
          source: plain ? entry.hostPath : undefined,
          sourceIsDirectory: plain && entry.stats.isDirectory(),
          target: target.path,
        },
      ];
    }),
  );

  for (const [index, entry] of matched.entries()) {
    const target = targets[index];
    if (!target) continue;
    const dir = target.contentsOnly ? target.path : path.posix.dirname(target.path);
    const existedBefore =
      gitSources.has(entry) &&
      (await lstat(await resolveInRoot(run.rootfs, dir)).then(
        () => true,
        () => false,
      ));
    // BuildKit's fsutil copy (copy/copy.go, `prepareTargetDir`) creates the destination of a
    // directory's contents like any parent: 0755, owned by --chown or root, without --chmod.
    const { hostPath: parentHost } = await ensureDirectory(run.rootfs, dir, recorder, createdOwner);
    if (archives.has(entry)) {
      const unpacked = await mkdtemp(path.join(services.scratchDir, 'add-'));
      try {
        await extractArchive(entry.hostPath, unpacked);
        // Archive members keep their own owners unless --chown is given, and .dockerignore does not
        // apply. They keep their modes too: BuildKit's file op `unpack` (solver/llbsolver/file)
        // untars with the owner only, so --chmod does not reach them.
        await copyDirectoryContents(unpacked, parentHost, { owner: chown, recorder, onSkip });
      } finally {
        await rm(unpacked, { recursive: true, force: true });
      }
    } else if (gitSources.has(entry)) {
      await copyGitCheckout(
        entry,
        parentHost,
        !existedBefore,
        copyOptionsBelow(entry.hostPath, false),
      );
    } else if (target.contentsOnly) {
      await copyDirectoryContents(entry.hostPath, parentHost, copyOptionsBelow(entry.hostPath));
      // fsutil's `copier.copy` then gives the destination the source directory's times, whether
      // or not it existed, and leaves its mode and owner alone.
      await lutimes(parentHost, entry.stats.atime, entry.stats.mtime);
    } else {
      const hostTarget = path.join(parentHost, path.posix.basename(target.path));
      await copyEntry(entry.hostPath, entry.stats, hostTarget, copyOptionsBelow(entry.hostPath));
    }
  }

  for (const [offset, file] of instruction.sourceContents.entries()) {
    const target = targets[matched.length + offset];
    if (!target) continue;
    const { hostPath: parentHost } = await ensureDirectory(
      run.rootfs,
      path.posix.dirname(target.path),
      recorder,
      createdOwner,
    );
    const hostTarget = path.join(parentHost, path.posix.basename(target.path));
    await writeFile(hostTarget, file.content);
    await chmod(hostTarget, applyModeSpec(mode, 0o644, false));
    await lchown(hostTarget, createdOwner.uid, createdOwner.gid);
    recorder.add(hostTarget);
  }

  run.baselineCurrent = false;
  return { root: run.rootfs, entries: recorder.entries };
}

function rejectUnsupportedFlags(instruction: CopyInstruction | AddInstruction): void {
  const unsupported: string[] = [];
  const single = instruction.sources.length === 1 ? (instruction.sources[0] as string) : '';
  if (
    instruction.kind === 'add' &&
    instruction.checksum !== undefined &&
    !isUrlSource(single) &&
    !isGitLocation(single)
  )
    unsupported.push('--checksum without a single http(s) or git source');
  if (
    instruction.kind === 'add' &&
    instruction.sources.some(
      (s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !isUrlSource(s) && !isGitLocation(s),
    )
  )
    unsupported.push('sources other than http(s) and git URLs');
  if (unsupported.length > 0) {
    throw new EngineError(
      'UNSUPPORTED_INSTRUCTION',
      `${instruction.keyword.toUpperCase()} with ${unsupported.join(', ')} is not supported yet`,
      {
        hint: 'Rewrite the instruction without these options, or fetch the file in a RUN step.',
      },
    );
  }
}

/** Opens the source of a COPY: the build context, or the root filesystem of an earlier stage for --from. */
async function sourceContext(
  instruction: CopyInstruction | AddInstruction,
  services: BuildServices,
): Promise<DirectoryContext> {
  if (instruction.kind !== 'copy' || instruction.from === undefined) return services.context;
  const index = stageIndexOf(instruction.from, services.stageNames);
  if (index === undefined) {
    // Not a stage: an image reference, pulled and unpacked once per build.
    return DirectoryContext.open(await services.imageRootfs(instruction.from), {
      readIgnoreFile: false,
    });
  }
  const stage = services.stages.get(index);
  if (!stage) {
    throw new EngineError(
      'UNKNOWN_STAGE',
      `COPY --from=${instruction.from} names no stage built before this one`,
      {
        hint: 'Name a stage defined above this one (FROM ... AS NAME), its index, or an image reference.',
      },
    );
  }
  return DirectoryContext.open(stage.rootfs, { readIgnoreFile: false });
}

const ROOT: Ownership = { uid: 0, gid: 0 };

async function ownership(run: StageRun, chown: string | undefined): Promise<Ownership | undefined> {
  if (chown === undefined || chown === '') return undefined;
  const identity = await resolveIdentityInRoot(run.rootfs, chown);
  // BuildKit's `readUser` (solver/llbsolver/ops/user_linux.go) takes a user name's gid from
  // /etc/passwd and uses the uid as the gid only for a numeric user given without a group.
  // Docker's Dockerfile reference documents gid = uid for both, but kiln follows the code.
  const numericAlone = !chown.includes(':') && /^\d+$/.test(chown);
  return { uid: identity.uid, gid: numericAlone ? identity.uid : identity.gid };
}

/** Returns the part of a --parents source before its `/./` pivot (normalised), or '' for none. */
function parentsPivot(pattern: string): string {
  const at = pattern.indexOf('/./');
  if (at < 0) return '';
  const prefix = path.posix.normalize(`/${pattern.slice(0, at)}`).slice(1);
  return prefix === '.' ? '' : prefix;
}

/**
 * COPY --parents: each source keeps its path (below the `/./` pivot, when given) under the
 * destination, which is always a directory. BuildKit copies the pivot with include patterns
 * (dockerfile2llb `dispatchCopy`), so fsutil creates the directories between the pivot and each
 * source from the source directories (see {@link copyParentDirectory}), and the destination gets
 * the pivot directory's times.
 */
async function copyWithParents(
  run: StageRun,
  instruction: CopyInstruction,
  source: DirectoryContext,
  matched: ContextEntry[],
  pivots: Map<ContextEntry, string>,
  copyOptionsBelow: (base: string) => CopyOptions,
  createdOwner: Ownership,
): Promise<void> {
  if (instruction.sourceContents.length > 0) {
    throw new EngineError(
      'UNSUPPORTED_INSTRUCTION',
      'COPY --parents with a here-document source is not supported',
      { hint: 'Write the here-document in its own COPY without --parents.' },
    );
  }
  const workingDir = run.meta.config.WorkingDir || '/';
  const destination = path.posix.resolve('/', workingDir, instruction.destination);
  const pivotTimes = new Map<string, Stats>();
  for (const entry of matched) {
    const pivot = pivots.get(entry) ?? '';
    const pivotHost = await source.resolve(pivot);
    const options = copyOptionsBelow(pivotHost);
    const { hostPath: destinationHost } = await ensureDirectory(
      run.rootfs,
      destination,
      options.recorder,
      createdOwner,
    );
    if (!pivotTimes.has(destinationHost)) pivotTimes.set(destinationHost, await stat(pivotHost));

    const relative = path.posix.relative(pivot, path.posix.normalize(entry.relativePath));
    const parts = relative.split('/');
    let target = destination;
    for (const [depth, part] of parts.slice(0, -1).entries()) {
      target = path.posix.join(target, part);
      // The source directory at this depth, found by walking up from the entry as fsutil does.
      const sourceDir = path.join(entry.hostPath, ...parts.slice(depth + 1).map(() => '..'));
      await copyParentDirectory(
        await stat(sourceDir),
        await resolveInRoot(run.rootfs, target),
        options,
      );
    }
    const parentHost = await resolveInRoot(run.rootfs, target);
    await copyEntry(
      entry.hostPath,
      entry.stats,
      path.join(parentHost, path.posix.basename(relative)),
      options,
    );
  }
  for (const [destinationHost, times] of pivotTimes)
    await lutimes(destinationHost, times.atime, times.mtime);
}
