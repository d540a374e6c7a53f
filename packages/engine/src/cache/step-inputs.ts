import type { CacheKeyInputs, CacheKeySource } from '@kiln/cache';
import type { Instruction } from '@kiln/dockerfile-parser';
import { formatPlatform } from '@kiln/oci-spec';
import type { Platform } from '@kiln/oci-spec';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { copySourcesForKey } from './copy-sources.js';
import { bindMountSourcesForKey } from './mount-sources.js';
import { stageSourcesWithMemo } from './source-memo.js';

/** Instructions that write to the file system and so get a cache key. */
export type CacheableInstruction = Extract<
  Instruction,
  { kind: 'run' | 'copy' | 'add' | 'workdir' }
>;

/**
 * Returns the text of an expanded instruction for its key: the keyword and every parsed field
 * (flags, mounts, here-document bodies) as JSON, leaving out only where it was written.
 */
export function instructionKeyText(instruction: CacheableInstruction): string {
  const { location: _location, original: _original, keyword: _keyword, ...fields } = instruction;
  return `${instruction.kind.toUpperCase()} ${JSON.stringify(fields)}`;
}

/**
 * Collects the inputs of one step's cache key. Besides the build args and Env a RUN gets, the
 * USER, WORKDIR and SHELL go into `extra`, because RUN, COPY --chown and WORKDIR read them, and so
 * do the build options that change the bytes of a layer. `sources` lists the files a COPY or ADD
 * reads and the files a RUN's bind mounts expose.
 */
export async function stepKeyInputs(
  run: StageRun,
  instruction: CacheableInstruction,
  services: BuildServices,
  parentKey: string,
  platform: Platform,
): Promise<CacheKeyInputs> {
  // Only RUN receives build args and Env as its environment; the other steps read them only
  // through expansion, which the instruction text already shows.
  const buildArgs: Record<string, string> = {};
  if (instruction.kind === 'run')
    for (const [name, value] of run.args) if (value !== undefined) buildArgs[name] = value;
  const config = run.meta.config;
  const extra: Record<string, string> = {
    user: config.User ?? '',
    workdir: config.WorkingDir ?? '',
    compression: `${services.compression}:${services.compressionLevel ?? 'default'}`,
    reproducible: String(services.reproducible),
  };
  if (instruction.kind === 'run') {
    extra.shell = JSON.stringify(run.meta.shell);
    extra.executor = 'chroot';
    extra.ignorePaths = JSON.stringify([...services.ignorePaths].sort());
  }
  let sources: CacheKeySource[] = [];
  if (instruction.kind === 'copy' || instruction.kind === 'add')
    sources = await stageSourcesWithMemo(
      instruction,
      instructionKeyText(instruction),
      services,
      () => copySourcesForKey(instruction, services),
    );
  else if (instruction.kind === 'run')
    sources = await stageSourcesWithMemo(
      instruction,
      instructionKeyText(instruction),
      services,
      () => bindMountSourcesForKey(instruction.mounts, services),
    );
  return {
    parentKey,
    instruction: instructionKeyText(instruction),
    buildArgs,
    env: instruction.kind === 'run' ? (config.Env ?? []) : [],
    platform: formatPlatform(platform),
    sources,
    extra,
  };
}
