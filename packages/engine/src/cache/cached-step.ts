import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { computeCacheKey, explainCacheMiss } from '@kiln/cache';
import type { CacheHit, CacheKeyInputs, CacheMissExplanation } from '@kiln/cache';
import { applyLayer } from '@kiln/layer-writer';
import { MediaType } from '@kiln/oci-spec';
import { EngineError } from '../errors.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';
import type { LayerCache } from './layer-cache.js';
import { instructionKeyText, stepKeyInputs } from './step-inputs.js';
import type { CacheableInstruction } from './step-inputs.js';

/** The layer a step added to the image, or undefined for an empty change set. */
export type StepLayer = { digest: string; size: number } | undefined;

/** Entry a store keeps for a step that changed nothing, so that the step still hits next time. */
const EMPTY_ENTRY = new TextEncoder().encode('{}');

export interface CachedStepOptions {
  /** Text of the history entry; called after a hit has applied its config change. */
  createdBy: () => string;
  /** Runs the step and commits its change set to the image (the miss path). */
  execute: () => Promise<StepLayer>;
}

/**
 * Runs a file-system step through the layer cache. A hit applies the stored layer to the root
 * filesystem and the image without running anything; a miss runs the step, then stores its layer
 * with the key inputs so that a later miss can be explained. Without a cache it only runs the step.
 */
export async function runCachedStep(
  run: StageRun,
  instruction: CacheableInstruction,
  services: BuildServices,
  step: number,
  options: CachedStepOptions,
): Promise<StepLayer> {
  const cache = services.layerCache;
  if (cache === undefined) return options.execute();
  const base = { stage: run.index, step, instruction: instruction.original };

  if (!cache.covers(instruction.kind)) {
    await materializeFor(run, instruction, services);
    const layer = await options.execute();
    cache.advanceUncached(
      run,
      instructionKeyText(instruction),
      layer ? run.image.diffIds.at(-1) : undefined,
    );
    cache.record(run, { ...base, status: 'uncached' });
    return layer;
  }

  const inputs = await stepKeyInputs(
    run,
    instruction,
    services,
    cache.chainKey(run),
    cache.platformOf(run),
  );
  const key = computeCacheKey(inputs);
  const lookup = await cache.lookup(key);
  cache.advance(run, key);
  if (lookup.status === 'hit') {
    const layer = await applyHit(run, instruction, services, lookup, options.createdBy);
    cache.record(run, {
      ...base,
      status: 'hit',
      key,
      source: { store: cache.store.name, createdAt: lookup.record.createdAt },
    });
    return layer;
  }

  let corrupt: string | undefined;
  if (lookup.status === 'corrupt') {
    corrupt = lookup.message;
    cache.warn(`Layer cache entry is damaged and was ignored: ${lookup.message}`);
  }
  const explanation: CacheMissExplanation = await explainCacheMiss(cache.store, inputs);
  await materializeFor(run, instruction, services);
  const layer = await options.execute();
  await storeLayer(cache, run, services, key, inputs, layer, options.createdBy());
  const expired = lookup.status === 'miss' && lookup.reason === 'expired';
  cache.record(run, {
    ...base,
    status: 'miss',
    key,
    explanation,
    ...(corrupt ? { corrupt } : {}),
    ...(expired ? { expired } : {}),
  });
  return layer;
}

/** Applies the deferred changes of the stage and of every stage the instruction reads from. */
async function materializeFor(
  run: StageRun,
  instruction: CacheableInstruction,
  services: BuildServices,
): Promise<void> {
  const cache = services.layerCache;
  if (cache === undefined) return;
  await cache.materialize(run);
  const sources: string[] = [];
  if (instruction.kind === 'copy' && instruction.from !== undefined) sources.push(instruction.from);
  if (instruction.kind === 'run')
    for (const mount of instruction.mounts) if (mount.from !== undefined) sources.push(mount.from);
  for (const source of sources) {
    const index = stageIndexOf(source, services.stageNames);
    const stage = index === undefined ? undefined : services.stages.get(index);
    if (stage !== undefined) await cache.materialize(stage);
  }
}

/** Stores the step's layer, or an empty entry when it changed nothing; a failure only warns. */
async function storeLayer(
  cache: LayerCache,
  run: StageRun,
  services: BuildServices,
  key: string,
  inputs: CacheKeyInputs,
  layer: StepLayer,
  createdBy: string,
): Promise<void> {
  const annotations = { 'dev.kiln.created-by': createdBy };
  try {
    if (layer === undefined) {
      await cache.store.put(
        key,
        { stream: Readable.from([EMPTY_ENTRY]) },
        { mediaType: MediaType.OciEmptyJson, inputs, annotations },
      );
      return;
    }
    const descriptor = run.image.layers.at(-1);
    await cache.store.put(
      key,
      { path: services.store.path(layer.digest) },
      {
        mediaType: descriptor?.mediaType ?? MediaType.OciLayerGzip,
        digest: layer.digest,
        size: layer.size,
        ...(run.image.diffIds.at(-1) === undefined ? {} : { diffId: run.image.diffIds.at(-1) }),
        inputs,
        annotations,
      },
    );
  } catch (error) {
    cache.warn(
      `Storing the layer of "${createdBy}" in ${cache.store.name} failed: ${(error as Error).message}`,
    );
  }
}

/** Applies a cached layer: copies the blob into the build's blob store, unpacks it, adds it to the image. */
async function applyHit(
  run: StageRun,
  instruction: CacheableInstruction,
  services: BuildServices,
  hit: CacheHit,
  createdBy: () => string,
): Promise<StepLayer> {
  if (instruction.kind === 'workdir') {
    run.meta.config.WorkingDir = path.posix.resolve(
      '/',
      run.meta.config.WorkingDir || '/',
      instruction.path,
    );
  }
  const { descriptor, diffId: recordedDiffId } = hit.record;
  if (descriptor.mediaType === MediaType.OciEmptyJson) {
    run.image.addEmptyLayerHistory(createdBy());
    return undefined;
  }

  if (!(await services.store.has(descriptor.digest))) {
    const dir = path.join(services.scratchDir, 'cache-hits');
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, randomBytes(8).toString('hex'));
    try {
      await pipeline(await hit.open(), createWriteStream(temp));
      await services.store.adopt(descriptor.digest, temp);
    } finally {
      await rm(temp, { force: true });
    }
  }
  const cache = services.layerCache;
  if (cache !== undefined && recordedDiffId !== undefined && cache.isDeferred(run)) {
    // The root filesystem is not unpacked yet; the layer joins the queue and is checked when applied.
    cache.defer(run, async () => {
      await applyVerified(
        services.store.path(descriptor.digest),
        run.rootfs,
        descriptor.digest,
        recordedDiffId,
      );
    });
    run.image.addLayer(
      {
        digest: descriptor.digest,
        size: descriptor.size,
        diffId: recordedDiffId,
        mediaType: descriptor.mediaType,
      },
      createdBy(),
    );
    return { digest: descriptor.digest, size: descriptor.size };
  }
  const diffId = await applyVerified(
    services.store.path(descriptor.digest),
    run.rootfs,
    descriptor.digest,
    recordedDiffId,
  );
  run.image.addLayer(
    { digest: descriptor.digest, size: descriptor.size, diffId, mediaType: descriptor.mediaType },
    createdBy(),
  );
  run.baselineCurrent = false;
  return { digest: descriptor.digest, size: descriptor.size };
}

/** Applies a cached layer file and checks its diffID against the record's. */
async function applyVerified(
  file: string,
  rootfs: string,
  digest: string,
  recordedDiffId: string | undefined,
): Promise<string> {
  const { diffId } = await applyLayer(file, rootfs, { allowDevices: true });
  if (recordedDiffId !== undefined && diffId !== recordedDiffId) {
    throw new EngineError(
      'CACHE_ENTRY_INVALID',
      `Cached layer ${digest} has diffID ${diffId}, but its cache record lists ${recordedDiffId}`,
      { hint: 'Remove the entry from the layer cache and build again.' },
    );
  }
  return diffId;
}
