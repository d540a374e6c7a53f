import type { CacheKeySource } from '@kiln/cache';
import type { AddInstruction, CopyInstruction } from '@kiln/dockerfile-parser';
import { sha256Digest } from '@kiln/oci-spec';
import { isGitLocation, parseGitLocation, remoteRefState } from '../context/git-context.js';
import { downloadUrlOnce, isUrlSource } from '../copy/fetch-url.js';
import type { BuildServices } from '../stage/stage-run.js';
import { openKeySourceRoot } from './source-roots.js';
import { addTreeSources, entryDigest } from './source-tree.js';

/**
 * Lists the source files of a COPY or ADD for its cache key: every file the instruction reads after
 * `.dockerignore`, with content digest and mode. Ownership goes in only where the copy keeps it
 * (`COPY --from` without `--chown`), because context files are written as root or the --chown owner.
 * A `--from` stage or image is keyed by the files the copy reads from it, as BuildKit keys it, so
 * a stage that changed elsewhere still hits.
 */
export async function copySourcesForKey(
  instruction: CopyInstruction | AddInstruction,
  services: BuildServices,
): Promise<CacheKeySource[]> {
  const from = instruction.kind === 'copy' ? instruction.from : undefined;
  const context = await openKeySourceRoot(from, services, `COPY --from=${from}`);
  const keepOwner = from !== undefined && (instruction.chown ?? '') === '';

  const sources = new Map<string, CacheKeySource>();
  const linkDigests = new Map<string, string>();
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
        cacheDir: services.downloadCacheDir,
      });
      const digest = await entryDigest(download.hostPath, download.stats);
      sources.set(pattern, { path: pattern, digest, mode: download.stats.mode });
      continue;
    }
    for (const entry of await context.match(pattern)) {
      await addTreeSources(
        context,
        entry.hostPath,
        entry.stats,
        { keepOwner, linkDigests },
        sources,
      );
    }
  }
  return [...sources.values()];
}
