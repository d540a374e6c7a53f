import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { CacheKeySource } from '@kiln/cache';
import { sha256Digest } from '@kiln/oci-spec';
import type { DirectoryContext } from '../context/build-context.js';

/** Options for listing one walked tree in a key's sources. */
export interface TreeKeyOptions {
  /** Puts uid and gid into each entry, for sources whose owners reach the step's result. */
  keepOwner: boolean;
  /** Maps a path relative to the source root to the path the key lists; default: unchanged. */
  keyPath?: (relative: string) => string;
  /**
   * Digests of hard-linked files already read, by device, inode, size and mtime, so that a tree
   * with many links to one file (busybox's /bin) reads it once.
   */
  linkDigests?: Map<string, string>;
}

/**
 * Adds `hostPath` and, for a directory, every entry below it that the source includes (after
 * `.dockerignore` for the build context) to `sources`, each with content digest and mode. A path
 * listed already keeps its first entry, because the same file matched twice is copied once.
 */
export async function addTreeSources(
  source: DirectoryContext,
  hostPath: string,
  stats: Stats,
  options: TreeKeyOptions,
  sources: Map<string, CacheKeySource>,
): Promise<void> {
  const relative = path.relative(source.root, hostPath).split(path.sep).join('/') || '.';
  const keyPath = options.keyPath?.(relative) ?? relative;
  if (!sources.has(keyPath)) {
    sources.set(keyPath, {
      path: keyPath,
      digest: await linkedEntryDigest(hostPath, stats, options.linkDigests),
      mode: stats.mode,
      ...(options.keepOwner ? { uid: stats.uid, gid: stats.gid } : {}),
    });
  }
  if (!stats.isDirectory()) return;
  const names = (await readdir(hostPath)).sort();
  for (const name of names) {
    const child = path.join(hostPath, name);
    const childStats = await lstat(child);
    if (source.includes(child, childStats))
      await addTreeSources(source, child, childStats, options, sources);
  }
}

async function linkedEntryDigest(
  hostPath: string,
  stats: Stats,
  linkDigests: Map<string, string> | undefined,
): Promise<string> {
  if (linkDigests === undefined || !stats.isFile() || stats.nlink < 2)
    return entryDigest(hostPath, stats);
  const id = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  const known = linkDigests.get(id);
  if (known !== undefined) return known;
  const digest = await entryDigest(hostPath, stats);
  linkDigests.set(id, digest);
  return digest;
}

/**
 * Returns the digest of one entry's content: a file's bytes, a symlink's target text, and the
 * digest of nothing for a directory or special file, whose children are listed separately.
 */
// NOTE: every source file is read and hashed on each build; no stat-keyed digest cache exists yet.
export async function entryDigest(hostPath: string, stats: Stats): Promise<string> {
  if (stats.isSymbolicLink()) return sha256Digest(await readlink(hostPath));
  if (!stats.isFile()) return sha256Digest('');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(hostPath)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
