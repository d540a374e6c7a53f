import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildCacheSummary, BuildResult } from '@kiln/engine';
import type { BuildRecord } from './progress/build-record.js';

/** The document `--metadata-file` writes; field names are stable for tools that read it. */
export interface BuildMetadata {
  /** The destinations the image was pushed to or named as, in flag order. */
  imageNames: string[];
  /** Manifest digest. */
  digest: string;
  configDigest: string;
  mediaType: string;
  durationMs: number;
  stages: Array<{ index: number; name: string | null; base: string; durationMs: number }>;
  steps: Array<{
    stage: number;
    step: number;
    instruction: string;
    line: number;
    durationMs: number;
    cache: string;
    layerSize: number | null;
  }>;
  cache: { hits: number; misses: number };
  /** Per step: hit (with its source) or miss (with the nearest entry and the inputs that differ). */
  layerCache: BuildCacheSummary | null;
  bytesPulled: number;
  bytesPushed: number;
  outputs: BuildResult['outputs'];
}

/** Builds the metadata document from the engine's result and the recorded events. */
export function buildMetadata(
  result: BuildResult,
  record: BuildRecord,
  destinations: string[],
): BuildMetadata {
  return {
    imageNames: destinations,
    digest: result.digest,
    configDigest: result.configDigest,
    mediaType: result.mediaType,
    durationMs: record.durationMs ?? 0,
    stages: record.stages.map((s) => ({
      index: s.index,
      name: s.name ?? null,
      base: s.base,
      durationMs: s.durationMs ?? 0,
    })),
    steps: record.steps.map((s) => ({
      stage: s.stage,
      step: s.step,
      instruction: s.instruction,
      line: s.line,
      durationMs: s.durationMs ?? 0,
      cache: s.cache ?? 'none',
      layerSize: s.layerSize ?? null,
    })),
    cache: { hits: record.cacheHits, misses: record.cacheMisses },
    layerCache: result.cache ?? null,
    bytesPulled: record.bytesPulled,
    bytesPushed: record.bytesPushed,
    outputs: result.outputs,
  };
}

/** Writes the metadata as indented JSON through a temp file and a rename. */
export async function writeMetadataFile(file: string, metadata: BuildMetadata): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(metadata, null, 2)}\n`);
  await rename(temp, file);
}
