import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheKeySource } from '@kiln/cache';
import { sha256Digest } from '@kiln/oci-spec';
import type { BuildServices } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { CacheableInstruction } from './step-inputs.js';

/**
 * Returns the key sources of a step that reads only from earlier stages, reusing the list an
 * earlier build computed when those stages have the same diffIDs. Equal layers contain equal files, so
 * the list is the same, and a stage whose steps all hit need not be unpacked just to hash it again.
 * Other steps (context, image or no sources) call `compute` every time.
 */
export async function stageSourcesWithMemo(
  instruction: CacheableInstruction,
  /** The instruction's key text, which contains its expanded sources and flags. */
  instructionText: string,
  services: BuildServices,
  compute: () => Promise<CacheKeySource[]>,
): Promise<CacheKeySource[]> {
  const stages = stagesRead(instruction, services);
  if (stages === undefined) return compute();

  const memoKey = sha256Digest(JSON.stringify({ instruction: instructionText, stages }));
  const file = path.join(memoDir(services), `${memoKey.replace(':', '-')}.json`);
  const stored = await readFile(file, 'utf8')
    .then((text) => parseSources(text))
    .catch(() => undefined);
  if (stored !== undefined) return stored;

  const sources = await compute();
  // The memo only saves work. When it cannot be written, the next build hashes the files again.
  await mkdir(path.dirname(file), { recursive: true })
    .then(() => writeFileAtomic(file, JSON.stringify(sources)))
    .catch(() => undefined);
  return sources;
}

/** Returns the memo directory beside the RUN cache mounts: in the cache directory when one is set, else the work directory. */
function memoDir(services: BuildServices): string {
  return path.join(path.dirname(services.cacheMountDir), 'stage-source-keys');
}

/**
 * Lists the stages a COPY --from or a RUN's bind mounts read, with their diffIDs, or undefined when
 * the step reads nothing or also reads the context or an image, whose files the diffIDs do not fix.
 */
function stagesRead(
  instruction: CacheableInstruction,
  services: BuildServices,
): Array<{ from: string; diffIds: readonly string[] }> | undefined {
  const froms: Array<string | undefined> = [];
  if (instruction.kind === 'copy' && instruction.from !== undefined) froms.push(instruction.from);
  if (instruction.kind === 'run')
    for (const mount of instruction.mounts) if (mount.type === 'bind') froms.push(mount.from);
  if (froms.length === 0) return undefined;

  const stages: Array<{ from: string; diffIds: readonly string[] }> = [];
  for (const from of froms) {
    if (from === undefined) return undefined;
    const index = stageIndexOf(from, services.stageNames);
    const stage = index === undefined ? undefined : services.stages.get(index);
    if (stage === undefined) return undefined;
    stages.push({ from: from.toLowerCase(), diffIds: [...stage.image.diffIds] });
  }
  return stages;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Reads a stored list, or undefined when the file is damaged, so the sources are hashed again. */
function parseSources(text: string): CacheKeySource[] | undefined {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return undefined;
  const valid = value.every(
    (entry: unknown) =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as CacheKeySource).path === 'string' &&
      typeof (entry as CacheKeySource).digest === 'string' &&
      DIGEST.test((entry as CacheKeySource).digest),
  );
  return valid ? (value as CacheKeySource[]) : undefined;
}
