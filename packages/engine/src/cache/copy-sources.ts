import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { CacheKeySource } from '@kiln/cache';
import type { AddInstruction, CopyInstruction } from '@kiln/dockerfile-parser';
import { sha256Digest } from '@kiln/oci-spec';
import { DirectoryContext } from '../context/build-context.js';
import { isGitLocation, parseGitLocation, remoteRefState } from '../context/git-context.js';
import { downloadUrlOnce, isUrlSource } from '../copy/fetch-url.js';
import type { BuildServices } from '../stage/stage-run.js';

/**
 * Lists the source files of a COPY or ADD for its cache key: every file the instruction reads after
 * `.dockerignore`, with content digest and mode. Ownership goes in only where the copy keeps it
 * (`COPY --from` without `--chown`), because context files are written as root or the --chown owner.
 * A `--from` stage contributes one entry, the digest of its layers' diffIDs, instead of its files.
 */
export async function copySourcesForKey(
  instruction: CopyInstruction | AddInstruction,
  services: BuildServices,
): Promise<CacheKeySource[]> {
  const from = instruction.kind === 'copy' ? instruction.from : undefined;
  if (from !== undefined) {
    const stage = stageOf(from, services);
    if (stage !== undefined) {
      // NOTE: any changed layer of the source stage makes this miss, even when the copied files are equal.
      return [{ path: `from:${from}`, digest: sha256Digest(stage.image.diffIds.join('\n')) }];
    }
  }
  const context =
    from === undefined
      ? services.context
      : await DirectoryContext.open(await services.imageRootfs(from), { readIgnoreFile: false });
  const keepOwner = from !== undefined && (instruction.chown ?? '') === '';

  const sources = new Map<string, CacheKeySource>();
  for (const pattern of instruction.sources) {
    if (instruction.kind === 'add' && isGitLocation(pattern)) {
      // A git source is keyed by what its ref points at on the remote, so a moved branch misses.
      const state = await remoteRefState(
        parseGitLocation(pattern),
        services.signal ?? new AbortController().signal,
      );
      sources.set(pattern, { path: pattern, digest: sha256Digest(state) });
      continue;
    }
    if (instruction.kind === 'add' && isUrlSource(pattern)) {
      // A URL is keyed by the content it serves now, as BuildKit's http source keys it.
      const download = await downloadUrlOnce(services, pattern, services.scratchDir, {
        checksum: instruction.checksum,
        signal: services.signal,
      });
      const digest = await entryDigest(download.hostPath, download.stats);
      sources.set(pattern, { path: pattern, digest, mode: download.stats.mode });
      continue;
    }
    for (const entry of await context.match(pattern)) {
      await addSource(context, entry.hostPath, entry.stats, keepOwner, sources);
    }
  }
  return [...sources.values()];
}

function stageOf(from: string, services: BuildServices) {
  const name = from.toLowerCase();
  const index = services.stageNames.get(name) ?? (/^\d+$/.test(name) ? Number(name) : undefined);
  return index === undefined ? undefined : services.stages.get(index);
}

async function addSource(
  context: DirectoryContext,
  hostPath: string,
  stats: Stats,
  keepOwner: boolean,
  sources: Map<string, CacheKeySource>,
): Promise<void> {
  const relative = path.relative(context.root, hostPath).split(path.sep).join('/') || '.';
  if (!sources.has(relative)) {
    sources.set(relative, {
      path: relative,
      digest: await entryDigest(hostPath, stats),
      mode: stats.mode,
      ...(keepOwner ? { uid: stats.uid, gid: stats.gid } : {}),
    });
  }
  if (!stats.isDirectory()) return;
  const names = (await readdir(hostPath)).sort();
  for (const name of names) {
    const child = path.join(hostPath, name);
    const childStats = await lstat(child);
    if (context.includes(child, childStats))
      await addSource(context, child, childStats, keepOwner, sources);
  }
}

// A directory's own entry carries no content; its children are listed separately.
// NOTE: every source file is read and hashed on each build; no stat-keyed digest cache exists yet.
async function entryDigest(hostPath: string, stats: Stats): Promise<string> {
  if (stats.isSymbolicLink()) return sha256Digest(await readlink(hostPath));
  if (!stats.isFile()) return sha256Digest('');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(hostPath)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
