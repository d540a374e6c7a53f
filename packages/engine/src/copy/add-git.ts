import { chmod, lchown, lstat, lutimes, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { ContextEntry } from '../context/build-context.js';
import { cloneGitContext, parseGitLocation } from '../context/git-context.js';
import { EngineError } from '../errors.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { copyDirectoryContents } from './copy-into-rootfs.js';
import type { CopyOptions } from './copy-into-rootfs.js';
import { applyModeSpec } from './file-mode.js';

export interface GitSourceOptions {
  /** ADD --keep-git-dir: keep `.git` in what is copied. */
  keepGitDir: boolean;
  /** ADD --checksum for a git source: the commit hash, or a prefix of it, the ref must resolve to. */
  checksum?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Clones an ADD git source (`URL#REF:SUBDIR`, the form of git build contexts) with its submodules
 * into a fresh directory under `scratchDir` and returns the directory to copy. BuildKit's
 * dockerfile2llb `dispatchCopy` copies the whole checkout (or SUBDIR) into the destination.
 */
export async function fetchGitSource(
  source: string,
  scratchDir: string,
  options: GitSourceOptions,
): Promise<ContextEntry> {
  const location = parseGitLocation(source);
  const checkout = path.join(await mkdtemp(path.join(scratchDir, 'add-git-')), 'checkout');
  const commit = await cloneGitContext(
    location,
    checkout,
    options.signal ?? new AbortController().signal,
    { keepGitDir: options.keepGitDir },
  );
  const checksum = options.checksum?.replace(/^sha1:/, '').toLowerCase();
  if (checksum !== undefined && (checksum === '' || !commit.startsWith(checksum))) {
    throw new EngineError(
      'ADD_CHECKSUM_MISMATCH',
      `ADD ${location.display} checked out commit ${commit}, not ${options.checksum ?? ''}`,
      { hint: 'Give --checksum the commit hash the ref points at, or remove --checksum.' },
    );
  }

  const root = location.subdir ? await resolveInRoot(checkout, location.subdir) : checkout;
  const stats = await lstat(root).catch(() => undefined);
  if (!stats?.isDirectory()) {
    throw new EngineError(
      'CONTEXT_FILE_NOT_FOUND',
      `ADD ${location.display}: ${location.subdir ?? '/'} is not a directory in the repository`,
      { hint: 'Name a directory of the repository after the colon: URL#REF:DIR.' },
    );
  }
  return { relativePath: location.display, hostPath: root, stats };
}

/**
 * Copies a checkout from {@link fetchGitSource} into the directory `target`. BuildKit copies the
 * checkout's root without CopyDirContentsOnly, so a destination that this copy created gets the
 * root's owner (or --chown) and mode (with --chmod), as any copied directory, and every
 * destination gets the root's times.
 */
export async function copyGitCheckout(
  checkout: ContextEntry,
  target: string,
  createdByCopy: boolean,
  options: CopyOptions,
): Promise<void> {
  await copyDirectoryContents(checkout.hostPath, target, options);
  if (createdByCopy) {
    const { stats } = checkout;
    await lchown(target, options.owner?.uid ?? stats.uid, options.owner?.gid ?? stats.gid);
    await chmod(target, applyModeSpec(options.mode, stats.mode, true));
  }
  await lutimes(target, checkout.stats.atime, checkout.stats.mtime);
}
