import type { Stats } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
} from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChangeSetEntry } from '@kiln/layer-writer';
import { EngineError } from '../errors.js';
import { resolveInRoot, splitPath } from '../util/rootfs-path.js';
import { applyModeSpec } from './file-mode.js';
import type { ModeSpec } from './file-mode.js';

const execFileAsync = promisify(execFile);

/** Builds the `mknod` type arguments for a FIFO or device: `p`, or `c`/`b` with major and minor. */
function mknodType(stats: Stats): string[] {
  if (stats.isFIFO()) return ['p'];
  // Linux encodes dev_t with the major in bits 8-19 (and 32+) and the minor in bits 0-7 and 20-31.
  const rdev = BigInt(stats.rdev);
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [stats.isCharacterDevice() ? 'c' : 'b', String(major), String(minor)];
}

export interface Ownership {
  uid: number;
  gid: number;
}

/** Collects the change set entries that a COPY produces, parents first, each path once. */
export class CopyRecorder {
  private readonly seen = new Set<string>();
  readonly entries: ChangeSetEntry[] = [];

  constructor(readonly rootfs: string) {}

  add(hostPath: string): void {
    const relative = path.relative(this.rootfs, hostPath).split(path.sep).join('/');
    if (relative === '' || relative.startsWith('..') || this.seen.has(relative)) return;
    this.seen.add(relative);
    this.entries.push({ path: relative, kind: 'add' });
  }
}

/**
 * Creates the missing directories of `dir` (an absolute image path) with mode 0755 and `owner`, and
 * records every ancestor, so the layer carries the parents of what goes into it. Returns the host
 * path and whether anything was created.
 */
export async function ensureDirectory(
  rootfs: string,
  dir: string,
  recorder: CopyRecorder,
  owner: Ownership = { uid: 0, gid: 0 },
): Promise<{ hostPath: string; created: boolean }> {
  let current = '/';
  let created = false;
  for (const part of splitPath(dir)) {
    current = path.posix.join(current, part);
    const hostPath = await resolveInRoot(rootfs, current);
    const stats = await lstat(hostPath).catch(() => undefined);
    if (stats && !stats.isDirectory()) await rm(hostPath, { force: true });
    if (!stats?.isDirectory()) {
      await mkdir(hostPath, { mode: 0o755 });
      await chmod(hostPath, 0o755);
      await lchown(hostPath, owner.uid, owner.gid);
      created = true;
    }
    recorder.add(hostPath);
  }
  return { hostPath: await resolveInRoot(rootfs, dir), created };
}

/** Options that control how {@link copyEntry} writes what it copies. */
export interface CopyOptions {
  /** Owner of every copied entry; undefined keeps the source's uid and gid. */
  owner: Ownership | undefined;
  /** Mode that replaces or changes the source's (--chmod, octal or symbolic). */
  mode?: ModeSpec | undefined;
  recorder: CopyRecorder;
  /** Returns false for source paths to leave out (files excluded by .dockerignore). */
  include?: (sourcePath: string, stats: Stats) => boolean;
  /**
   * Targets already written for source files with several names, by `dev:ino`, so that the other
   * names become hardlinks again, as Docker's copy keeps them. Shared by one instruction.
   */
  hardlinks?: Map<string, string>;
  /** Called for a source entry that is not copied because no layer can hold it (a socket). */
  onSkip?: (sourcePath: string, kind: 'socket') => void;
}

/**
 * Copies one source entry (file, symlink or directory tree) to the host path `target` inside the root
 * filesystem, keeping modification times and modes unless `options.mode` replaces them. Symlinks
 * inside a copied directory are copied as links, never followed.
 */
export async function copyEntry(
  sourcePath: string,
  sourceStats: Stats,
  target: string,
  options: CopyOptions,
): Promise<void> {
  if (sourceStats.isDirectory()) {
    assertNotInside(sourcePath, target);
    const existing = await lstat(target).catch(() => undefined);
    if (existing && !existing.isDirectory()) await rm(target, { force: true });
    if (!existing?.isDirectory()) await mkdir(target);
    options.recorder.add(target);
    await copyDirectoryContents(sourcePath, target, options);
    await applyAttributes(target, sourceStats, options.owner, options.mode);
    return;
  }

  const existing = await lstat(target).catch(() => undefined);
  if (existing?.dev === sourceStats.dev && existing.ino === sourceStats.ino) {
    // The target is the source itself (the same inode); removing it first would lose the data.
    await applyAttributes(target, sourceStats, options.owner, options.mode);
    options.recorder.add(target);
    return;
  }
  if (existing) await rm(target, { recursive: true, force: true });
  if (sourceStats.isSymbolicLink()) {
    await symlink(await readlink(sourcePath), target);
  } else if (sourceStats.isFile()) {
    const inode = sourceStats.nlink > 1 ? `${sourceStats.dev}:${sourceStats.ino}` : undefined;
    const first = inode === undefined ? undefined : options.hardlinks?.get(inode);
    if (first !== undefined) {
      await link(first, target);
      options.recorder.add(target);
      return;
    }
    await copyFile(sourcePath, target);
    if (inode !== undefined) options.hardlinks?.set(inode, target);
  } else if (
    sourceStats.isFIFO() ||
    sourceStats.isCharacterDevice() ||
    sourceStats.isBlockDevice()
  ) {
    // Docker's copy recreates FIFOs and device nodes; Node has no mknod, so the system tool does.
    await execFileAsync('mknod', ['--', target, ...mknodType(sourceStats)]);
  } else {
    // A tar layer has no entry type for a socket, so COPY leaves sockets out and reports each one.
    options.onSkip?.(sourcePath, 'socket');
    return;
  }
  await applyAttributes(target, sourceStats, options.owner, options.mode);
  options.recorder.add(target);
}

/**
 * Copies the entries of the directory `sourcePath` into the existing directory `target`, whose own
 * owner, mode and times stay as they are, as Docker leaves an existing destination directory alone.
 */
export async function copyDirectoryContents(
  sourcePath: string,
  target: string,
  options: CopyOptions,
): Promise<void> {
  assertNotInside(sourcePath, target);
  for (const name of (await readdir(sourcePath)).sort()) {
    const childSource = path.join(sourcePath, name);
    const childStats = await lstat(childSource);
    if (options.include && !options.include(childSource, childStats)) continue;
    await copyEntry(childSource, childStats, path.join(target, name), options);
  }
}

/**
 * Creates or updates the directory `target` as a parent of a `COPY --parents` entry, from the source
 * directory it stands for. BuildKit's fsutil copy (copy/copy.go, `createParentDirs` and
 * `copyDirectoryOnly`) gives a new one the source's owner (or --chown), mode (with --chmod) and
 * times, and sets an existing one to the source's plain mode.
 */
export async function copyParentDirectory(
  sourceStats: Stats,
  target: string,
  options: CopyOptions,
): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    await chmod(target, sourceStats.mode & 0o7777);
  } else {
    if (existing) await rm(target, { force: true });
    await mkdir(target);
    await applyAttributes(target, sourceStats, options.owner, options.mode);
  }
  options.recorder.add(target);
}

/**
 * Raises COPY_INVALID_DESTINATION when `target` is the directory `sourcePath` or lies inside it,
 * because the copy would then read its own output until paths grow too long.
 */
function assertNotInside(sourcePath: string, target: string): void {
  const relative = path.relative(sourcePath, target);
  // An empty relative path is the directory onto itself, which copies each entry onto itself.
  if (relative === '' || relative === '..' || relative.startsWith('../')) return;
  if (path.isAbsolute(relative)) return;
  throw new EngineError(
    'COPY_INVALID_DESTINATION',
    `Copying the directory ${sourcePath} to ${target} would copy it into itself`,
    { hint: 'Copy to a destination outside the source directory.' },
  );
}

async function applyAttributes(
  target: string,
  stats: Stats,
  owner: Ownership | undefined,
  mode: ModeSpec | undefined,
): Promise<void> {
  await lchown(target, owner?.uid ?? stats.uid, owner?.gid ?? stats.gid);
  if (!stats.isSymbolicLink())
    await chmod(target, applyModeSpec(mode, stats.mode, stats.isDirectory()));
  await lutimes(target, stats.atime, stats.mtime);
}
