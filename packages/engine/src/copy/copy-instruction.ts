import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddInstruction, CopyInstruction } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import { DirectoryContext } from '../context/build-context.js';
import type { ContextEntry } from '../context/build-context.js';
import { EngineError } from '../errors.js';
import { resolveIdentityInRoot } from '../run/users.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { extractArchive, isLocalArchive } from './archive.js';
import { downloadUrl, isUrlSource } from './fetch-url.js';
import { DockerIgnore } from '../context/dockerignore.js';
import { applyModeSpec, parseChmod } from './file-mode.js';
import { resolveCopyTargets } from './destination.js';
import {
  CopyRecorder,
  copyDirectoryContents,
  copyEntry,
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
  const source = await sourceContext(instruction, services);
  // Without --chown, context files belong to root and files from a stage keep their owner.
  const chown = await ownership(run, instruction.chown);
  const fromStage = instruction.kind === 'copy' && instruction.from !== undefined;
  const owner = chown ?? (fromStage ? undefined : ROOT);
  const createdOwner = chown ?? ROOT;
  const mode = instruction.chmod === undefined ? undefined : parseChmod(instruction.chmod);
  const recorder = new CopyRecorder(run.rootfs);
  // --exclude takes .dockerignore patterns, matched against paths relative to the source root.
  const exclude =
    instruction.exclude.length > 0 ? DockerIgnore.parse(instruction.exclude.join('\n')) : undefined;
  const excluded = (hostPath: string): boolean =>
    exclude !== undefined &&
    exclude.excludes(path.relative(source.root, hostPath).split(path.sep).join('/'));
  const copyOptions = {
    owner,
    mode,
    recorder,
    include: (file: string, stats: Stats) => source.includes(file, stats) && !excluded(file),
    hardlinks: new Map<string, string>(),
  };

  const matched: ContextEntry[] = [];
  const pivots = new Map<ContextEntry, string>();
  const downloads = new Set<ContextEntry>();
  for (const pattern of instruction.sources) {
    if (instruction.kind === 'add' && isUrlSource(pattern)) {
      const entry = await downloadUrl(pattern, services.scratchDir, {
        checksum: instruction.checksum,
        signal: services.signal,
      });
      downloads.add(entry);
      matched.push(entry);
      continue;
    }
    for (const entry of await source.match(pattern)) {
      if (excluded(entry.hostPath)) continue;
      matched.push(entry);
      pivots.set(entry, parentsPivot(pattern));
    }
  }
  if (instruction.kind === 'copy' && instruction.parents) {
    await copyWithParents(run, instruction, matched, pivots, copyOptions, createdOwner);
    run.baselineCurrent = false;
    return { root: run.rootfs, entries: recorder.entries };
  }
  // ADD unpacks local tar archives (found by their first bytes) into the destination directory.
  const archives = new Set<ContextEntry>();
  if (instruction.kind === 'add') {
    // Downloaded files are never unpacked, as Docker documents for ADD <URL>.
    for (const entry of matched)
      if (!downloads.has(entry) && entry.stats.isFile() && (await isLocalArchive(entry.hostPath)))
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

  for (const [index, entry] of matched.entries()) {
    const target = targets[index];
    if (!target) continue;
    const dir = target.contentsOnly ? target.path : path.posix.dirname(target.path);
    const existedBefore = await lstat(await resolveInRoot(run.rootfs, dir)).then(
      () => true,
      () => false,
    );
    const { hostPath: parentHost } = await ensureDirectory(run.rootfs, dir, recorder, createdOwner);
    // A destination directory that this copy creates for a directory's contents also gets --chmod.
    if (target.contentsOnly && !existedBefore && mode !== undefined)
      await chmod(parentHost, applyModeSpec(mode, 0o755, true));
    if (archives.has(entry)) {
      const unpacked = await mkdtemp(path.join(services.scratchDir, 'add-'));
      try {
        await extractArchive(entry.hostPath, unpacked);
        // Archive members keep their own owners unless --chown is given, and .dockerignore does not apply.
        await copyDirectoryContents(unpacked, parentHost, { owner: chown, mode, recorder });
      } finally {
        await rm(unpacked, { recursive: true, force: true });
      }
    } else if (target.contentsOnly) {
      await copyDirectoryContents(entry.hostPath, parentHost, copyOptions);
    } else {
      const hostTarget = path.join(parentHost, path.posix.basename(target.path));
      await copyEntry(entry.hostPath, entry.stats, hostTarget, copyOptions);
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
  if (
    instruction.kind === 'add' &&
    instruction.checksum !== undefined &&
    !(instruction.sources.length === 1 && isUrlSource(instruction.sources[0] as string))
  )
    unsupported.push('--checksum without a single http(s) source');
  if (
    instruction.kind === 'add' &&
    instruction.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !isUrlSource(s))
  )
    unsupported.push('sources other than http(s) URLs (git)');
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
  const from = instruction.from.toLowerCase();
  const index = services.stageNames.get(from) ?? (/^\d+$/.test(from) ? Number(from) : undefined);
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
  // Docker documents that a --chown without a group uses the uid as the gid.
  return { uid: identity.uid, gid: chown.includes(':') ? identity.gid : identity.uid };
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
 * destination, which is always a directory.
 * NOTE: missing parent directories are created 0755 with the --chown owner; BuildKit copies the
 * source directories' own modes and times for them.
 */
async function copyWithParents(
  run: StageRun,
  instruction: CopyInstruction,
  matched: ContextEntry[],
  pivots: Map<ContextEntry, string>,
  options: CopyOptions,
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
  for (const entry of matched) {
    const pivot = pivots.get(entry) ?? '';
    const relative = path.posix.relative(pivot, path.posix.normalize(entry.relativePath));
    const target = path.posix.join(destination, relative);
    const { hostPath: parentHost } = await ensureDirectory(
      run.rootfs,
      path.posix.dirname(target),
      options.recorder,
      createdOwner,
    );
    await copyEntry(
      entry.hostPath,
      entry.stats,
      path.join(parentHost, path.posix.basename(target)),
      options,
    );
  }
}
